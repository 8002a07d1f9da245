/* A trainer's channel-blocked chains (src/ml/train_blocks.c). On the committed CNN
 * (tests/ml/models/cnn.onnx: Conv 16 -> Relu -> MaxPool 2x2 -> Conv 32 -> Relu -> MaxPool
 * 2x2 -> Gemm -> Relu -> Gemm) the plan keeps blocked the Conv and Relu outputs of its two
 * chains and the first pool's output, which the second Conv reads (five values),
 * and the loss and every parameter's gradient are the bits of the all-NCHW plan, after an
 * Adam step, at batch 1, 5 and 64, on one thread and two. On tests/ml/grad's
 * conv_relu_pool.onnx (9 x 9 images: the pool leaves a row and a column out) the same.
 * The NCHW plan's gradients are checked against finite differences by test_grad_cnn
 * (a check here on random images met windows whose maximum changes within the step). */
#include <math.h>

#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "ml/dnn.h"
#include "ml/dstest.h"
#include "ml/grad.h"
#include "ml/gradcheck.h"

struct grads {
    float loss;
    size_t n, blocked;
    float **g;
    size_t *len;
};

static void grads_free(struct grads *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->g[i]);
    free(r->g);
    free(r->len);
}

/* A step with Adam, then the gradient at the updated weights (so the update's inputs, the
 * first gradients, were the same bits too), on a fresh copy of the model. labels NULL: MSE
 * against targets. */
static void run(const char *file, int threads, bool nchw, const struct gtee_ml_tensor *x, const int64_t *labels,
                const float *targets, struct grads *out)
{
    struct gtee_ml_train_options o = { .threads = threads, .optimizer = GTEE_ML_OPTIM_ADAM,
                                       .loss = labels ? GTEE_ML_LOSS_XENT : GTEE_ML_LOSS_MSE,
                                       .adam = { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f } };
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file(file, &len);

    if (gtee_ml_model_load(buf, len, NULL, &m, &err) < 0)
        fail_msg("%s: %s", file, err.msg);
    free(buf);
    if (gtee_ml_trainer_new(m, &o, &tr, &err) < 0)
        fail_msg("trainer: %s", err.msg);
    ml_trainer_nchw_only(tr, nchw);
    if (gtee_ml_trainer_grad(tr, x, labels, targets, &out->loss, NULL, &err) < 0 ||
        gtee_ml_trainer_update(tr, &err) < 0 ||
        gtee_ml_trainer_grad(tr, x, labels, targets, &out->loss, NULL, &err) < 0)
        fail_msg("%s: step: %s", file, err.msg);
    out->blocked = ml_trainer_blocked(tr);
    out->n = gtee_ml_trainer_param_count(tr);
    out->g = calloc(out->n, sizeof(*out->g));
    out->len = calloc(out->n, sizeof(*out->len));
    assert_non_null(out->g);
    assert_non_null(out->len);
    for (size_t p = 0; p < out->n; p++) {
        struct gtee_ml_tensor w;
        const float *g;

        assert_int_equal(gtee_ml_trainer_param(tr, p, NULL, &w, &g), 0);
        out->len[p] = (size_t)ml_test_elems(&w);
        out->g[p] = malloc(out->len[p] * sizeof(float));
        assert_non_null(out->g[p]);
        memcpy(out->g[p], g, out->len[p] * sizeof(float));
    }
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
}

/* The blocked plan against the NCHW one on x; blocked: the values the former must keep
 * blocked where oneDNN is there. */
static void compare(const char *file, const struct gtee_ml_tensor *x, const int64_t *labels, const float *targets,
                    int threads, size_t blocked)
{
    struct grads plain = { 0 }, blk = { 0 };

    run(file, threads, true, x, labels, targets, &plain);
    run(file, threads, false, x, labels, targets, &blk);
    assert_int_equal(plain.blocked, 0);
    if (ml_dnn_engine())
        assert_int_equal(blk.blocked, blocked);
    if (memcmp(&plain.loss, &blk.loss, sizeof(float)))
        fail_msg("%s, batch %lld, %d thread(s): loss NCHW %.9g, blocked %.9g", file, (long long)x->dim[0], threads,
                 (double)plain.loss, (double)blk.loss);
    assert_int_equal(plain.n, blk.n);
    for (size_t p = 0; p < plain.n; p++) {
        assert_int_equal(plain.len[p], blk.len[p]);
        for (size_t i = 0; i < plain.len[p]; i++)
            if (memcmp(&plain.g[p][i], &blk.g[p][i], sizeof(float)))
                fail_msg("%s, batch %lld, %d thread(s): parameter %zu element %zu: NCHW %.9g, blocked %.9g", file,
                         (long long)x->dim[0], threads, p, i, (double)plain.g[p][i], (double)blk.g[p][i]);
    }
    grads_free(&plain);
    grads_free(&blk);
}

static void cnn(int64_t batch, int threads)
{
    struct gtee_ml_tensor x = { .dtype = GTEE_ML_FLOAT, .rank = 4, .dim = { batch, 1, 28, 28 } };
    size_t n = (size_t)(batch * 28 * 28);
    int64_t *labels = calloc((size_t)batch, sizeof(int64_t));
    float *xv = malloc(n * sizeof(float));

    assert_non_null(labels);
    assert_non_null(xv);
    gc_fill(xv, n, 5, 0.0f, 1.0f, 0.0f);
    for (int64_t i = 0; i < batch; i++)
        labels[i] = (i * 7 + 3) % 10;
    x.data = xv;
    compare("tests/ml/models/cnn.onnx", &x, labels, NULL, threads, 5);
    free(labels);
    free(xv);
}

static void test_cnn_blocked_gives_the_nchw_plans_bits(void **state)
{
    (void)state;
    cnn(5, 1);
    cnn(64, 1);
    cnn(64, 2);
    cnn(1, 2);
}

static void test_odd_images_blocked_give_the_nchw_plans_bits(void **state)
{
    struct gtee_ml_tensor x = { .dtype = GTEE_ML_FLOAT, .rank = 4, .dim = { 2, 3, 9, 9 } };
    float xv[2 * 3 * 9 * 9], t[2 * 16 * 4 * 4];

    (void)state;
    gc_fill(xv, sizeof(xv) / sizeof(xv[0]), 7, -1.0f, 1.0f, 0.3f);
    gc_fill(t, sizeof(t) / sizeof(t[0]), 11, -1.0f, 1.0f, 0.0f);
    x.data = xv;
    compare("tests/ml/grad/conv_relu_pool.onnx", &x, NULL, t, 1, 2);
    compare("tests/ml/grad/conv_relu_pool.onnx", &x, NULL, t, 2, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_blocked_gives_the_nchw_plans_bits),
        cmocka_unit_test(test_odd_images_blocked_give_the_nchw_plans_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
