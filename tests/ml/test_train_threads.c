/* Training with two threads (tests/ml/models/cnn.onnx, a batch of 16): the Conv backward
 * pass then splits the images in two pieces whose weight gradients are summed in a fixed
 * order, and OpenBLAS runs the larger products on two threads. Its gradients must match
 * the one-thread gradients up to float rounding (a wrong split or a lost piece would
 * change them by whole images' contributions), and repeat bytewise from run to run. */
#include "ml/gradcheck.h"

#define BATCH 16

/* Every parameter's gradient after one forward and backward pass, concatenated. */
static float *cnn_grads(int threads, size_t *n_out)
{
    struct gtee_ml_train_options o = { .threads = threads, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_SGD,
                                       .sgd = { .lr = 0.1f } };
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    struct gtee_ml_io io;
    struct gtee_ml_tensor x;
    int64_t labels[BATCH];
    float *xv, *all = NULL, loss;
    size_t len, n = 0, correct;
    uint8_t *buf = read_source_file("tests/ml/models/cnn.onnx", &len);

    if (gtee_ml_model_load(buf, len, NULL, &m, &err) < 0)
        fail_msg("%s", err.msg);
    free(buf);
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    assert_int_equal(gtee_ml_model_io(m, 0, 0, &io), 0);
    x = io.type;
    x.dim[0] = BATCH;
    xv = malloc((size_t)ml_test_elems(&x) * sizeof(float));
    assert_non_null(xv);
    gc_fill(xv, (size_t)ml_test_elems(&x), 5, 0.0f, 1.0f, 0.0f); /* pixels in [0, 1) */
    for (int i = 0; i < BATCH; i++)
        labels[i] = (i * 7) % 10;
    x.data = xv;
    if (gtee_ml_trainer_grad(tr, &x, labels, NULL, &loss, &correct, &err) < 0)
        fail_msg("%s", err.msg);
    for (size_t p = 0; p < gtee_ml_trainer_param_count(tr); p++) {
        struct gtee_ml_tensor t;
        const float *g;
        size_t k;

        assert_int_equal(gtee_ml_trainer_param(tr, p, NULL, &t, &g), 0);
        k = (size_t)ml_test_elems(&t);
        all = realloc(all, (n + k) * sizeof(float));
        assert_non_null(all);
        memcpy(all + n, g, k * sizeof(float));
        n += k;
    }
    *n_out = n;
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    free(xv);
    return all;
}

static void test_cnn_gradients_with_two_threads_match_one_thread(void **state)
{
    size_t n1, n2, nonzero = 0;
    float *g1 = cnn_grads(1, &n1), *g2 = cnn_grads(2, &n2), big = 0.0f;

    (void)state;
    assert_int_equal(n1, n2);
    assert_int_equal(n1, 65162); /* every parameter of the network */
    for (size_t i = 0; i < n1; i++)
        big = fabsf(g1[i]) > big ? fabsf(g1[i]) : big;
    assert_true(big > 0.0f);
    for (size_t i = 0; i < n1; i++) {
        if (!(fabsf(g1[i] - g2[i]) <= 1e-4f * big))
            fail_msg("gradient %zu: one thread %.9g, two threads %.9g (largest %.9g)", i, (double)g1[i], (double)g2[i],
                     (double)big);
        nonzero += g1[i] != 0.0f;
    }
    assert_true(nonzero > n1 / 2); /* the comparison saw real gradients */
    free(g1);
    free(g2);
}

static void test_cnn_gradients_with_two_threads_repeat_bytewise(void **state)
{
    size_t n1, n2;
    float *a = cnn_grads(2, &n1), *b = cnn_grads(2, &n2);

    (void)state;
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1 * sizeof(float));
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_gradients_with_two_threads_match_one_thread),
        cmocka_unit_test(test_cnn_gradients_with_two_threads_repeat_bytewise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
