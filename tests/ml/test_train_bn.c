/* BatchNormalization trained in training mode (the trainer's GTEE_ML_BN_TRAIN modes):
 * - two SGD steps on tests/ml/grad/bn_torch.onnx match torch.nn.BatchNorm2d in train mode
 *   (tests/ml/gen_bn_ref.py, data/bn_ref.json): loss, gradients of input, scale and bias,
 *   the updated running statistics (PyTorch's unbiased variance, or ONNX's population
 *   variance) and the updated scale and bias;
 * - the exported CNN with BatchNormalization (tests/ml/models/cnn_bn.onnx) trains on
 *   Fashion-MNIST items with batch statistics: its loss falls, its running statistics
 *   move, and ONNX Runtime runs the saved trained model (an inference graph) with the
 *   engine's outputs. */
#include <jansson.h>

#include "ml/gradcheck.h"
#include "ml/ml.h"
#include "ml/ortcheck.h"

static json_t *load_ref(void)
{
    char path[4096];
    json_error_t jerr;
    json_t *j;

    source_path("tests/ml/data/bn_ref.json", path, sizeof(path));
    j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

static void near(const char *what, const float *got, json_t *want, size_t n, double rtol, double atol)
{
    assert_true(json_is_array(want));
    assert_int_equal(json_array_size(want), n);
    for (size_t i = 0; i < n; i++) {
        double w = json_number_value(json_array_get(want, i));
        if (!(fabs((double)got[i] - w) <= atol + rtol * fabs(w)))
            fail_msg("%s[%zu]: engine %.9g, PyTorch %.9g", what, i, (double)got[i], w);
    }
}

/* Parameter or initializer named name: its value in the model and its gradient. */
static float *named(struct gtee_ml_trainer *tr, const char *name, const float **grad)
{
    for (size_t i = 0; i < gtee_ml_trainer_param_count(tr); i++) {
        const char *n;
        struct gtee_ml_tensor v;
        assert_int_equal(gtee_ml_trainer_param(tr, i, &n, &v, grad), 0);
        if (!strcmp(n, name))
            return v.data;
    }
    fail_msg("no parameter %s", name);
    return NULL;
}

/* An initializer's values (the running statistics are initializers, not parameters). */
static float *init_of(const struct gtee_ml_model *m, const char *name)
{
    for (size_t v = 0; v < m->n_values; v++)
        if (m->values[v].kind == ML_VAL_INIT && !strcmp(m->values[v].name, name))
            return m->values[v].decl.data;
    fail_msg("no initializer %s", name);
    return NULL;
}

static struct gtee_ml_model *load(const char *rel)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file(rel, &len);

    if (gtee_ml_model_load(buf, len, NULL, &m, &err) < 0)
        fail_msg("%s: %s", rel, err.msg);
    free(buf);
    return m;
}

static void torch_steps(int mode)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_MSE, .optimizer = GTEE_ML_OPTIM_SGD,
                                       .batchnorm = mode };
    struct gtee_ml_model *m = load("tests/ml/grad/bn_torch.onnx");
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    json_t *ref = load_ref(), *steps = json_object_get(ref, "steps");
    const size_t n = 4 * 3 * 5 * 5;
    float *x = malloc(n * sizeof(float)), *target = malloc(n * sizeof(float));

    assert_non_null(x);
    assert_non_null(target);
    o.sgd.lr = (float)json_number_value(json_object_get(ref, "lr"));
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    assert_int_equal(gtee_ml_trainer_param_count(tr), 3); /* Z, scale, bias */
    for (size_t s = 0; s < json_array_size(steps); s++) {
        json_t *st = json_array_get(steps, s);
        struct gtee_ml_tensor xt = { .dtype = GTEE_ML_FLOAT, .rank = 4, .dim = { 4, 3, 5, 5 }, .data = x };
        const float *gz, *gs, *gb;
        float loss, *z = named(tr, "Z", &gz), *scale = named(tr, "scale", &gs), *bias = named(tr, "bias", &gb);

        for (size_t i = 0; i < n; i++) {
            x[i] = (float)json_number_value(json_array_get(json_object_get(st, "x"), i));
            target[i] = (float)json_number_value(json_array_get(json_object_get(st, "target"), i));
        }
        memset(z, 0, n * sizeof(float)); /* Z stands for the input: not trained between steps */
        if (gtee_ml_trainer_grad(tr, &xt, NULL, target, &loss, NULL, &err) < 0)
            fail_msg("%s", err.msg);
        double want = json_number_value(json_object_get(st, "loss"));
        if (!(fabs((double)loss - want) <= 1e-5 * fabs(want)))
            fail_msg("loss: engine %.9g, PyTorch %.9g", (double)loss, want);
        near("grad x", gz, json_object_get(st, "grad_x"), n, 1e-3, 1e-7);
        near("grad weight", gs, json_object_get(st, "grad_weight"), 3, 1e-4, 1e-7);
        near("grad bias", gb, json_object_get(st, "grad_bias"), 3, 1e-4, 1e-7);
        near("running mean", init_of(m, "mean"), json_object_get(st, "running_mean"), 3, 1e-5, 1e-7);
        near("running var", init_of(m, "var"),
             json_object_get(st, mode == GTEE_ML_BN_TRAIN_UNBIASED ? "running_var" : "running_var_population"), 3,
             1e-5, 1e-7);
        assert_int_equal(gtee_ml_trainer_update(tr, &err), 0);
        near("weight after the step", scale, json_object_get(st, "weight"), 3, 1e-5, 1e-7);
        near("bias after the step", bias, json_object_get(st, "bias"), 3, 1e-5, 1e-7);
    }
    json_decref(ref);
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    free(x);
    free(target);
}

static void test_bn_training_steps_match_pytorch_batchnorm2d(void **state)
{
    (void)state;
    torch_steps(GTEE_ML_BN_TRAIN_UNBIASED);
}

static void test_bn_training_steps_update_running_var_as_onnx_specifies(void **state)
{
    (void)state;
    torch_steps(GTEE_ML_BN_TRAIN);
}

static void test_bn_frozen_mode_keeps_running_statistics(void **state)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_MSE, .optimizer = GTEE_ML_OPTIM_SGD,
                                       .sgd = { .lr = 0.1f } };
    struct gtee_ml_model *m = load("tests/ml/grad/bn_torch.onnx");
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    float x[300], target[300], loss, mean[3], var[3];
    struct gtee_ml_tensor xt = { .dtype = GTEE_ML_FLOAT, .rank = 4, .dim = { 4, 3, 5, 5 }, .data = x };

    gc_fill(x, 300, 5, -1.0f, 2.0f, 0.0f);
    gc_fill(target, 300, 6, -1.0f, 1.0f, 0.0f);
    memcpy(mean, init_of(m, "mean"), sizeof(mean));
    memcpy(var, init_of(m, "var"), sizeof(var));
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    assert_int_equal(gtee_ml_trainer_grad(tr, &xt, NULL, target, &loss, NULL, &err), 0);
    assert_memory_equal(mean, init_of(m, "mean"), sizeof(mean));
    assert_memory_equal(var, init_of(m, "var"), sizeof(var));
    o.batchnorm = 7;
    gtee_ml_trainer_free(tr);
    tr = NULL;
    assert_failed_with(gtee_ml_trainer_new(m, &o, &tr, &err), &err, GTEE_EINVAL, "BatchNormalization mode");
    gtee_ml_model_free(m);
}

#define FMNIST "/usr/share/datasets/fashion-mnist"
#define N_ITEMS 640

static void test_cnn_bn_trains_with_batch_statistics_and_onnx_runtime_agrees(void **state)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_ADAM,
                                       .adam = { .lr = 2e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f },
                                       .batchnorm = GTEE_ML_BN_TRAIN_UNBIASED };
    struct gtee_array xa = { 0 }, ya = { 0 };
    struct gtee_dataset ds = { 0 };
    struct gtee_err err = { 0 };
    struct gtee_ml_model *m;
    struct gtee_ml_trainer *tr = NULL;
    double loss[3];
    float mean0[16], mean1[16];

    (void)state;
    if (gtee_idx_load(FMNIST "/train-images-idx3-ubyte.gz", GTEE_ARRAY_F32, GTEE_NORM_UNIT_U8, &xa, &err) < 0 ||
        gtee_idx_load(FMNIST "/train-labels-idx1-ubyte.gz", GTEE_ARRAY_I64, GTEE_NORM_NONE, &ya, &err) < 0) {
        print_message("note: %s missing (Debian package dataset-fashion-mnist): %s\n", FMNIST, err.msg);
        gtee_array_free(&xa);
        skip();
    }
    ds.n = N_ITEMS;
    ds.item_ndim = 2;
    ds.item_dims[0] = 28;
    ds.item_dims[1] = 28;
    ds.item_len = 784;
    ds.num_classes = 10;
    ds.x = xa.f32;
    ds.y = ya.i64;
    m = load("tests/ml/models/cnn_bn.onnx");
    memcpy(mean0, init_of(m, "features.1.running_mean"), sizeof(mean0));
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    for (int e = 0; e < 3; e++) {
        struct gtee_ml_epoch_stats st;
        if (gtee_ml_train_epoch(tr, &ds, (uint64_t)e, 64, 1, NULL, NULL, &st, &err) < 0)
            fail_msg("%s", err.msg);
        loss[e] = st.loss;
        assert_true(isfinite(st.loss));
    }
    if (!(loss[2] < loss[0] * 0.8))
        fail_msg("training loss did not fall: %g %g %g", loss[0], loss[1], loss[2]);
    print_message("cnn_bn epoch losses %.4f %.4f %.4f\n", loss[0], loss[1], loss[2]);
    memcpy(mean1, init_of(m, "features.1.running_mean"), sizeof(mean1));
    assert_memory_not_equal(mean0, mean1, sizeof(mean0));
    gtee_ml_trainer_free(tr);
    gtee_array_free(&xa);
    gtee_array_free(&ya);
    oc_agrees(m, "tests/ml/models/cnn_bn.onnx", "tests/ml/models/cnn_bn.input.npy", false, "cnn_bn");
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_training_steps_match_pytorch_batchnorm2d),
        cmocka_unit_test(test_bn_training_steps_update_running_var_as_onnx_specifies),
        cmocka_unit_test(test_bn_frozen_mode_keeps_running_statistics),
        cmocka_unit_test(test_cnn_bn_trains_with_batch_statistics_and_onnx_runtime_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
