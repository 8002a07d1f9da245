/* Units of work (docs/ml.md, "Units of work"): the multiply-accumulates of a run, checked
 * against the layer arithmetic of tests/ml/models/export.py, at two batch sizes; and the
 * trainer's step as three forward passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "gtee/dataset.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"

/* per sample: mlp 784*256 + 256*128 + 128*10; cnn conv 16x28x28 x 1x5x5, conv 32x10x10 x
 * 16x5x5, linear 800x64, 64x10 */
#define MLP_MACS (784ull * 256 + 256 * 128 + 128 * 10)
#define CNN_MACS (16ull * 28 * 28 * 25 + 32ull * 10 * 10 * 16 * 25 + 800 * 64 + 64 * 10)

static uint64_t run_macs(const char *name, int64_t batch)
{
    char path[4096];
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options o = { .threads = 1 };
    float *x = calloc((size_t)batch * 784, sizeof(float));
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { batch, 1, 28, 28 }, x }, y = {0};
    uint64_t macs;

    snprintf(path, sizeof(path), "%s/tests/ml/models/%s.onnx", getenv("GTEE_SOURCE_DIR"), name);
    assert_non_null(x);
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &m, NULL), 0);
    assert_int_equal(gtee_ml_session_new(m, &o, &s, NULL), 0);
    assert_int_equal(gtee_ml_session_macs(s), 0); /* before a run */
    assert_int_equal(gtee_ml_run(s, &in, 1, &y, 1, NULL), 0);
    macs = gtee_ml_session_macs(s);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
    free(x);
    return macs;
}

static void test_macs_of_a_run(void **state)
{
    (void)state;
    assert_int_equal(run_macs("mlp", 1), MLP_MACS);
    assert_int_equal(run_macs("mlp", 4), 4 * MLP_MACS);
    assert_int_equal(run_macs("cnn", 1), CNN_MACS);
    assert_int_equal(run_macs("cnn", 4), 4 * CNN_MACS);
}

static void test_macs_of_a_training_step(void **state)
{
    char path[4096];
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_SGD };
    float x[8 * 784] = {0}, loss;
    int64_t labels[8] = {0};
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 8, 1, 28, 28 }, x };

    (void)state;
    o.sgd.lr = 0.01f;
    snprintf(path, sizeof(path), "%s/tests/ml/models/mlp.onnx", getenv("GTEE_SOURCE_DIR"));
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &m, NULL), 0);
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, NULL), 0);
    assert_int_equal(gtee_ml_trainer_grad(tr, &in, labels, NULL, &loss, NULL, NULL), 0);
    assert_int_equal(gtee_ml_trainer_step_macs(tr), 3 * 8 * MLP_MACS);
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_macs_of_a_run),
        cmocka_unit_test(test_macs_of_a_training_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
