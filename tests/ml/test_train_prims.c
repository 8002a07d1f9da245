/* Losses and optimizer steps: hand-computed values, the values PyTorch computed for the
 * same inputs (tests/ml/data/train_ref.json, made by tests/ml/gen_train_ref.py), and the
 * refusals of bad arguments. */
#include <jansson.h>
#include <math.h>

#include "gtee/ml_train.h"
#include "ml/dstest.h"

#define REF_FILE "tests/ml/data/train_ref.json"

/* |got - want| <= atol + rtol |want|, with a message naming the case and index. */
static void assert_close(const char *what, size_t i, float got, double want, double rtol, double atol)
{
    if (!(fabs((double)got - want) <= atol + rtol * fabs(want)))
        fail_msg("%s[%zu]: got %.9g, PyTorch %.9g", what, i, (double)got, want);
}

static json_t *load_ref(void)
{
    char path[4096];
    json_error_t jerr;
    json_t *j;

    source_path(REF_FILE, path, sizeof(path));
    j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

/* A JSON array of numbers as a new float array. */
static float *floats(json_t *arr, size_t *n)
{
    float *out;

    assert_true(json_is_array(arr));
    *n = json_array_size(arr);
    out = calloc(*n ? *n : 1, sizeof(float));
    assert_non_null(out);
    for (size_t i = 0; i < *n; i++)
        out[i] = (float)json_number_value(json_array_get(arr, i));
    return out;
}

static float hyper(json_t *c, const char *key)
{
    json_t *v = json_object_get(json_object_get(c, "hyper"), key);

    assert_non_null(v);
    return (float)json_number_value(v);
}

static void test_xent_hand_computed(void **state)
{
    /* equal logits over two classes: loss ln 2, gradient softmax - onehot = (-1/2, 1/2) */
    const float logits[4] = { 0, 0, 3, 3 };
    const int64_t labels[2] = { 0, 1 };
    float loss, grad[4];
    struct gtee_err err = { 0 };

    assert_int_equal(gtee_ml_softmax_xent(logits, labels, 1, 2, &loss, grad, &err), 0);
    assert_close("loss", 0, loss, log(2.0), 1e-7, 0);
    assert_close("grad", 0, grad[0], -0.5, 0, 1e-7);
    assert_close("grad", 1, grad[1], 0.5, 0, 1e-7);
    /* two rows: the mean halves each row's gradient */
    assert_int_equal(gtee_ml_softmax_xent(logits, labels, 2, 2, &loss, grad, &err), 0);
    assert_close("loss", 0, loss, log(2.0), 1e-7, 0);
    assert_close("grad", 3, grad[3], -0.25, 0, 1e-7);
    assert_int_equal(gtee_ml_count_correct(logits, labels, 2, 2), 1); /* ties pick the first */
}

static void test_xent_rejects_bad_labels_and_values(void **state)
{
    const float logits[3] = { 1, 2, 3 };
    const float inf_logits[3] = { 1, INFINITY, 3 };
    int64_t label = 3;
    float loss;
    struct gtee_err err = { 0 };

    assert_failed_with(gtee_ml_softmax_xent(logits, &label, 1, 3, &loss, NULL, &err), &err, GTEE_EINVAL,
                       "loss: label 3 of row 0 is outside 0..2");
    label = -1;
    assert_failed_with(gtee_ml_softmax_xent(logits, &label, 1, 3, &loss, NULL, &err), &err, GTEE_EINVAL,
                       "label -1 of row 0");
    label = 0;
    assert_failed_with(gtee_ml_softmax_xent(inf_logits, &label, 1, 3, &loss, NULL, &err), &err, GTEE_EINVAL,
                       "cross-entropy is not finite");
    assert_failed_with(gtee_ml_softmax_xent(logits, &label, 0, 3, &loss, NULL, &err), &err, GTEE_EINVAL,
                       "empty batch");
}

static void test_xent_matches_pytorch(void **state)
{
    json_t *ref = load_ref(), *c;
    size_t idx;

    json_array_foreach(json_object_get(ref, "xent"), idx, c) {
        size_t n = (size_t)json_integer_value(json_object_get(c, "n"));
        size_t k = (size_t)json_integer_value(json_object_get(c, "c")), len, glen;
        float *logits = floats(json_object_get(c, "logits"), &len);
        float *want = floats(json_object_get(c, "grad"), &glen);
        float *grad = calloc(len, sizeof(float));
        int64_t *labels = calloc(n, sizeof(int64_t));
        float loss;
        struct gtee_err err = { 0 };

        assert_true(len == n * k && glen == len);
        for (size_t i = 0; i < n; i++)
            labels[i] = json_integer_value(json_array_get(json_object_get(c, "labels"), i));
        assert_int_equal(gtee_ml_softmax_xent(logits, labels, n, k, &loss, grad, &err), 0);
        assert_close(json_string_value(json_object_get(c, "name")), 0, loss,
                     json_number_value(json_object_get(c, "loss")), 1e-6, 1e-7);
        for (size_t i = 0; i < len; i++)
            assert_close("xent grad", i, grad[i], want[i], 1e-5, 1e-8);
        free(logits);
        free(want);
        free(grad);
        free(labels);
    }
    json_decref(ref);
}

/* torch.nn.functional.nll_loss on log_softmax outputs: the loss and its gradient -onehot/n;
 * labels out of range and non-finite values are refused. */
static void test_nll_matches_pytorch(void **state)
{
    json_t *ref = load_ref(), *c;
    size_t idx, cases = 0;

    json_array_foreach(json_object_get(ref, "nll"), idx, c) {
        size_t n = (size_t)json_integer_value(json_object_get(c, "n"));
        size_t k = (size_t)json_integer_value(json_object_get(c, "c")), len, glen;
        float *logp = floats(json_object_get(c, "logp"), &len);
        float *want = floats(json_object_get(c, "grad"), &glen);
        float *grad = calloc(len, sizeof(float)), loss, bad[2] = { 0.0f, INFINITY };
        int64_t *labels = calloc(n, sizeof(int64_t)), label = 2, zero = 1;
        struct gtee_err err = { 0 };

        assert_true(len == n * k && glen == len);
        for (size_t i = 0; i < n; i++)
            labels[i] = json_integer_value(json_array_get(json_object_get(c, "labels"), i));
        assert_int_equal(gtee_ml_nll(logp, labels, n, k, &loss, grad, &err), 0);
        assert_close(json_string_value(json_object_get(c, "name")), 0, loss,
                     json_number_value(json_object_get(c, "loss")), 1e-6, 1e-7);
        for (size_t i = 0; i < len; i++)
            assert_close("nll grad", i, grad[i], want[i], 1e-6, 1e-8);
        assert_failed_with(gtee_ml_nll(logp, &label, 1, 2, &loss, NULL, &err), &err, GTEE_EINVAL, "outside 0..1");
        assert_failed_with(gtee_ml_nll(bad, &zero, 1, 2, &loss, NULL, &err), &err, GTEE_EINVAL, "not finite");
        free(logp);
        free(want);
        free(grad);
        free(labels);
        cases++;
    }
    assert_true(cases > 0);
    json_decref(ref);
}

static void test_mse_hand_computed_and_pytorch(void **state)
{
    const float pred[2] = { 1, 4 }, target[2] = { 0, 1 };
    float loss, grad[2];
    struct gtee_err err = { 0 };
    json_t *ref = load_ref(), *c;
    size_t idx;

    /* ((1-0)^2 + (4-1)^2) / 2 = 5; gradient 2 (p - t) / 2 = (1, 3) */
    assert_int_equal(gtee_ml_mse(pred, target, 2, &loss, grad, &err), 0);
    assert_true(loss == 5.0f && grad[0] == 1.0f && grad[1] == 3.0f);
    assert_failed_with(gtee_ml_mse(pred, target, 0, &loss, grad, &err), &err, GTEE_EINVAL, "empty");
    json_array_foreach(json_object_get(ref, "mse"), idx, c) {
        size_t n, m, g;
        float *p = floats(json_object_get(c, "pred"), &n);
        float *t = floats(json_object_get(c, "target"), &m);
        float *want = floats(json_object_get(c, "grad"), &g);
        float *got = calloc(n, sizeof(float));

        assert_true(n == m && n == g);
        assert_int_equal(gtee_ml_mse(p, t, n, &loss, got, &err), 0);
        assert_close("mse loss", 0, loss, json_number_value(json_object_get(c, "loss")), 1e-6, 1e-8);
        for (size_t i = 0; i < n; i++)
            assert_close("mse grad", i, got[i], want[i], 1e-6, 1e-8);
        free(p);
        free(t);
        free(want);
        free(got);
    }
    json_decref(ref);
}

/* Central differences of the loss against the analytic gradient, element by element. */
static void test_loss_gradients_match_finite_differences(void **state)
{
    float z[3 * 5], t[3 * 5], grad[3 * 5], lp, lm, loss;
    int64_t y[3] = { 4, 0, 2 };
    const float h = 1e-2f;
    struct gtee_err err = { 0 };

    for (int i = 0; i < 15; i++) {
        z[i] = sinf((float)i * 1.7f) * 2.0f;
        t[i] = cosf((float)i * 0.9f);
    }
    assert_int_equal(gtee_ml_softmax_xent(z, y, 3, 5, &loss, grad, &err), 0);
    for (size_t i = 0; i < 15; i++) {
        float keep = z[i];

        z[i] = keep + h;
        assert_int_equal(gtee_ml_softmax_xent(z, y, 3, 5, &lp, NULL, &err), 0);
        z[i] = keep - h;
        assert_int_equal(gtee_ml_softmax_xent(z, y, 3, 5, &lm, NULL, &err), 0);
        z[i] = keep;
        assert_close("xent finite difference", i, grad[i], ((double)lp - lm) / (2.0 * h), 1e-2, 2e-4);
    }
    assert_int_equal(gtee_ml_mse(z, t, 15, &loss, grad, &err), 0);
    for (size_t i = 0; i < 15; i++) {
        float keep = z[i];

        z[i] = keep + h;
        assert_int_equal(gtee_ml_mse(z, t, 15, &lp, NULL, &err), 0);
        z[i] = keep - h;
        assert_int_equal(gtee_ml_mse(z, t, 15, &lm, NULL, &err), 0);
        z[i] = keep;
        assert_close("mse finite difference", i, grad[i], ((double)lp - lm) / (2.0 * h), 1e-2, 2e-4);
    }
}

static void test_sgd_and_adam_hand_computed(void **state)
{
    struct gtee_ml_optim_state st;
    struct gtee_ml_sgd sgd = { .lr = 0.1f, .momentum = 0.9f };
    struct gtee_ml_adam adam = { .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
    float p = 1.0f, g = 2.0f;
    struct gtee_err err = { 0 };

    /* step 1: buffer = g = 2, p = 1 - 0.1 * 2 = 0.8; step 2: buffer = 0.9 * 2 + 2 = 3.8,
     * p = 0.8 - 0.38 = 0.42 */
    assert_int_equal(gtee_ml_optim_state_init(&st, 1, 0, &err), 0);
    assert_int_equal(gtee_ml_sgd_step(&p, &g, 1, &st, &sgd, &err), 0);
    assert_close("sgd", 1, p, 0.8, 1e-6, 0);
    assert_int_equal(gtee_ml_sgd_step(&p, &g, 1, &st, &sgd, &err), 0);
    assert_close("sgd", 2, p, 0.42, 1e-6, 0);
    gtee_ml_optim_state_free(&st);
    /* Adam's first step moves by lr * g / (|g| + eps) after bias correction: 1 -> 0.9 */
    p = 1.0f;
    g = 0.5f;
    assert_int_equal(gtee_ml_optim_state_init(&st, 1, 1, &err), 0);
    assert_int_equal(gtee_ml_adam_step(&p, &g, 1, &st, &adam, &err), 0);
    assert_close("adam", 1, p, 0.9, 1e-6, 0);
    gtee_ml_optim_state_free(&st);
}

static void test_optimizers_reject_bad_settings(void **state)
{
    struct gtee_ml_optim_state st;
    struct gtee_ml_sgd sgd = { .lr = 0.1f, .momentum = 0.9f, .dampening = 0.1f, .nesterov = 1 };
    struct gtee_ml_adam adam = { .lr = 0.1f, .beta1 = 1.0f, .beta2 = 0.999f, .eps = 1e-8f };
    float p[2] = { 0 }, g[2] = { 0 };
    struct gtee_err err = { 0 };

    assert_int_equal(gtee_ml_optim_state_init(&st, 2, 0, &err), 0);
    assert_failed_with(gtee_ml_sgd_step(p, g, 2, &st, &sgd, &err), &err, GTEE_EINVAL,
                       "Nesterov momentum needs momentum > 0 and dampening 0");
    sgd.nesterov = 0;
    assert_failed_with(gtee_ml_sgd_step(p, g, 1, &st, &sgd, &err), &err, GTEE_EINVAL,
                       "state made for 2 parameters used for 1");
    /* SGD state has no second moment for Adam */
    assert_failed_with(gtee_ml_adam_step(p, g, 2, &st, &adam, &err), &err, GTEE_EINVAL, "state made for 2");
    gtee_ml_optim_state_free(&st);
    assert_int_equal(gtee_ml_optim_state_init(&st, 2, 1, &err), 0);
    assert_failed_with(gtee_ml_adam_step(p, g, 2, &st, &adam, &err), &err, GTEE_EINVAL, "betas in [0, 1)");
    assert_int_equal(st.step, 0);
    gtee_ml_optim_state_free(&st);
    assert_failed_with(gtee_ml_optim_state_init(&st, 0, 1, &err), &err, GTEE_EINVAL, "bad parameter count 0");
}

static void test_optimizers_match_pytorch(void **state)
{
    json_t *ref = load_ref(), *c;
    size_t idx, cases = 0;

    json_array_foreach(json_object_get(ref, "optim"), idx, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        int is_adam = strcmp(json_string_value(json_object_get(c, "kind")), "adam") == 0;
        struct gtee_ml_sgd sgd = { 0 };
        struct gtee_ml_adam adam = { 0 };
        struct gtee_ml_optim_state st;
        struct gtee_err err = { 0 };
        size_t n, m;
        float *p = floats(json_object_get(c, "params"), &n);
        json_t *step_grads = json_object_get(c, "grads"), *after = json_object_get(c, "after");

        if (is_adam) {
            adam = (struct gtee_ml_adam){ hyper(c, "lr"), hyper(c, "beta1"), hyper(c, "beta2"), hyper(c, "eps"),
                                          hyper(c, "weight_decay"), (int)hyper(c, "decoupled") };
        } else {
            sgd = (struct gtee_ml_sgd){ hyper(c, "lr"), hyper(c, "momentum"), hyper(c, "dampening"),
                                        hyper(c, "weight_decay"), (int)hyper(c, "nesterov") };
        }
        assert_int_equal(gtee_ml_optim_state_init(&st, n, is_adam, &err), 0);
        for (size_t s = 0; s < json_array_size(step_grads); s++) {
            float *g = floats(json_array_get(step_grads, s), &m);
            float *want = floats(json_array_get(after, s), &m);
            char what[128];

            assert_int_equal(m, n);
            if (is_adam)
                assert_int_equal(gtee_ml_adam_step(p, g, n, &st, &adam, &err), 0);
            else
                assert_int_equal(gtee_ml_sgd_step(p, g, n, &st, &sgd, &err), 0);
            snprintf(what, sizeof(what), "%s, step %zu", name, s + 1);
            for (size_t i = 0; i < n; i++)
                assert_close(what, i, p[i], want[i], 1e-6, 1e-7);
            free(g);
            free(want);
        }
        gtee_ml_optim_state_free(&st);
        free(p);
        cases++;
    }
    assert_true(cases >= 8);
    json_decref(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xent_hand_computed),
        cmocka_unit_test(test_xent_rejects_bad_labels_and_values),
        cmocka_unit_test(test_xent_matches_pytorch),
        cmocka_unit_test(test_nll_matches_pytorch),
        cmocka_unit_test(test_mse_hand_computed_and_pytorch),
        cmocka_unit_test(test_loss_gradients_match_finite_differences),
        cmocka_unit_test(test_sgd_and_adam_hand_computed),
        cmocka_unit_test(test_optimizers_reject_bad_settings),
        cmocka_unit_test(test_optimizers_match_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
