/* End-to-end training of the exported transformer encoder classifier
 * (tests/ml/models/transformer.onnx: token embedding, positional parameter, two encoder
 * layers with attention, decomposed LayerNorm and GELU, a linear head) on a small
 * synthetic task: 64 seeded sequences of 16 token ids, the class being the tens digit of
 * the first token. A few Adam steps lower the loss; the same seed gives bytewise the same
 * weights, another seed other weights; ONNX Runtime runs the saved trained graph with the
 * engine's outputs. The whole graph's gradient is checked against finite differences
 * first. */
#include "ml/gradcheck.h"
#include "ml/ortcheck.h"

#define SEQ 16
#define ITEMS 64
#define BATCH 16
#define EPOCHS 4

struct run {
    double first, last; /* mean loss of the first and the last epoch */
    float *weights;     /* every parameter, concatenated */
    size_t n_weights;
    struct gtee_ml_model *m;
};

static void make_task(uint64_t seed, int64_t *tokens, int64_t *labels)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

    for (size_t i = 0; i < ITEMS * SEQ; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tokens[i] = (int64_t)((s >> 33) % 100);
    }
    for (size_t i = 0; i < ITEMS; i++)
        labels[i] = tokens[i * SEQ] / 10;
}

static void train(uint64_t seed, struct run *r)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_ADAM,
                                       .adam = { .lr = 3e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f } };
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    int64_t tokens[ITEMS * SEQ], labels[ITEMS];
    size_t len;
    uint8_t *buf = read_source_file("tests/ml/models/transformer.onnx", &len);

    memset(r, 0, sizeof(*r));
    if (gtee_ml_model_load(buf, len, NULL, &r->m, &err) < 0)
        fail_msg("%s", err.msg);
    free(buf);
    make_task(seed, tokens, labels);
    if (gtee_ml_trainer_new(r->m, &o, &tr, &err) < 0)
        fail_msg("%s", err.msg);
    for (int e = 0; e < EPOCHS; e++) {
        double sum = 0;
        for (size_t b = 0; b < ITEMS / BATCH; b++) {
            struct gtee_ml_tensor x = { .dtype = GTEE_ML_INT64, .rank = 2, .dim = { BATCH, SEQ },
                                        .data = tokens + b * BATCH * SEQ };
            float loss;
            if (gtee_ml_trainer_grad(tr, &x, labels + b * BATCH, NULL, &loss, NULL, &err) < 0 ||
                gtee_ml_trainer_update(tr, &err) < 0)
                fail_msg("%s", err.msg);
            assert_true(isfinite(loss));
            sum += loss;
        }
        if (e == 0)
            r->first = sum / (ITEMS / BATCH);
        r->last = sum / (ITEMS / BATCH);
    }
    for (size_t p = 0; p < gtee_ml_trainer_param_count(tr); p++) {
        struct gtee_ml_tensor w;
        size_t n;
        assert_int_equal(gtee_ml_trainer_param(tr, p, NULL, &w, NULL), 0);
        n = (size_t)ml_test_elems(&w);
        r->weights = realloc(r->weights, (r->n_weights + n) * sizeof(float));
        assert_non_null(r->weights);
        memcpy(r->weights + r->n_weights, w.data, n * sizeof(float));
        r->n_weights += n;
    }
    gtee_ml_trainer_free(tr);
}

static void done(struct run *r)
{
    free(r->weights);
    gtee_ml_model_free(r->m);
}

static void test_transformer_trains_reproducibly_and_onnx_runtime_agrees(void **state)
{
    struct run a, b, c;

    (void)state;
    train(1, &a);
    print_message("transformer: mean loss %.4f in the first epoch, %.4f in epoch %d; %zu parameters\n", a.first,
                  a.last, EPOCHS, a.n_weights);
    if (!(a.last < 0.8 * a.first))
        fail_msg("loss did not fall: %g then %g", a.first, a.last);
    train(1, &b);
    assert_int_equal(a.n_weights, b.n_weights);
    assert_memory_equal(a.weights, b.weights, a.n_weights * sizeof(float));
    train(2, &c);
    assert_memory_not_equal(a.weights, c.weights, a.n_weights * sizeof(float));
    oc_agrees(a.m, "tests/ml/models/transformer.onnx", "tests/ml/models/transformer.input.npy", true, "transformer");
    done(&a);
    done(&b);
    done(&c);
}

/* The whole graph's gradient (through Gather, the tied weights, attention, the
 * decomposed LayerNorm and GELU) against central differences of the cross-entropy, on a
 * spread of elements of every parameter. */
static void test_transformer_gradient_matches_finite_differences(void **state)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_SGD };
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    int64_t tokens[ITEMS * SEQ], labels[ITEMS];
    struct gtee_ml_tensor x = { .dtype = GTEE_ML_INT64, .rank = 2, .dim = { 4, SEQ }, .data = tokens };
    size_t len, checked = 0, big = 0;
    uint8_t *buf = read_source_file("tests/ml/models/transformer.onnx", &len);
    const float h = 1e-2f;
    float loss;

    (void)state;
    assert_int_equal(gtee_ml_model_load(buf, len, NULL, &m, &err), 0);
    free(buf);
    make_task(5, tokens, labels);
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    for (size_t p = 0; p < gtee_ml_trainer_param_count(tr); p++) {
        const char *name;
        struct gtee_ml_tensor w;
        const float *g;
        size_t n;

        if (gtee_ml_trainer_grad(tr, &x, labels, NULL, &loss, NULL, &err) < 0)
            fail_msg("%s", err.msg);
        assert_int_equal(gtee_ml_trainer_param(tr, p, &name, &w, &g), 0);
        n = (size_t)ml_test_elems(&w);
        float *grad = malloc(n * sizeof(float));
        assert_non_null(grad);
        memcpy(grad, g, n * sizeof(float));
        for (size_t i = p % 7; i < n; i += n / 12 + 1) {
            float *wi = (float *)w.data + i, keep = *wi, lp, lm;
            double num;
            *wi = keep + h;
            assert_int_equal(gtee_ml_trainer_grad(tr, &x, labels, NULL, &lp, NULL, &err), 0);
            *wi = keep - h;
            assert_int_equal(gtee_ml_trainer_grad(tr, &x, labels, NULL, &lm, NULL, &err), 0);
            *wi = keep;
            num = ((double)lp - (double)lm) / (2.0 * (double)h);
            if (!(fabs(num - (double)grad[i]) <= 5e-2 * (2e-3 + fabs(num))))
                fail_msg("d loss / d %s[%zu]: backward %.7g, finite difference %.7g", name, i, (double)grad[i], num);
            big += fabs(num) > 1e-3;
            checked++;
        }
        free(grad);
    }
    print_message("transformer: %zu gradient elements checked, %zu of them above 1e-3\n", checked, big);
    assert_true(big > checked / 2);
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transformer_gradient_matches_finite_differences),
        cmocka_unit_test(test_transformer_trains_reproducibly_and_onnx_runtime_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
