/* The engine on models exported from PyTorch (tests/ml/export_reference_models.py, run
 * here): an MLP, a CNN (Conv, BatchNormalization, pooling, Flatten) and a transformer
 * encoder, each at batch 1 and 5 through the symbolic batch dimension, against PyTorch's
 * own outputs; threads do not change results; the memory plan shares buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ml_cases.h"

static char models_dir[4096];

static int setup(void **state)
{
    char cmd[8192];
    const char *bin = getenv("GTEE_BINARY_DIR"), *src = getenv("GTEE_SOURCE_DIR");

    (void)state;
    if (!bin || !src)
        return -1;
    snprintf(models_dir, sizeof(models_dir), "%s/ml-models", bin);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/ml/export_reference_models.py %s >/dev/null 2>&1", src,
             models_dir);
    return case_sh(cmd);
}

static void run_model(const char *name, int threads)
{
    char dir[4200], why[512] = "";
    enum case_result r;

    snprintf(dir, sizeof(dir), "%s/%s", models_dir, name);
    r = case_run(dir, threads, 1e-4, 1e-5, why, sizeof(why));
    if (r != CASE_PASS)
        fail_msg("%s (threads %d): %s", name, threads, why);
}

static void test_mlp_matches_pytorch(void **state)
{
    (void)state;
    run_model("mlp", 1);
}

static void test_cnn_matches_pytorch(void **state)
{
    (void)state;
    run_model("cnn", 1);
}

static void test_encoder_matches_pytorch(void **state)
{
    (void)state;
    run_model("encoder", 1);
}

static void test_two_threads_match_pytorch(void **state)
{
    (void)state;
    run_model("mlp", 2);
    run_model("cnn", 2);
}

/* The CNN's intermediates do not all live at once: the arena is smaller than their sum. */
static void test_memory_plan_reuses_buffers(void **state)
{
    char path[4200];
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 3, 1, 28, 28 }, NULL }, out;
    struct gtee_err err = { 0 };
    size_t arena, unplanned;
    static float x[3 * 28 * 28];

    (void)state;
    in.data = x;
    snprintf(path, sizeof(path), "%s/cnn/model.onnx", models_dir);
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &m, &err), 0);
    assert_int_equal(gtee_ml_session_new(m, NULL, &s, &err), 0);
    assert_int_equal(gtee_ml_run(s, &in, 1, &out, 1, &err), 0);
    assert_int_equal(out.dim[0], 3);
    gtee_ml_session_memory(s, &arena, &unplanned);
    assert_true(arena > 0);
    assert_true(arena < unplanned);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

/* A fixed dimension of the declared input shape is enforced, the symbolic one is free. */
static void test_run_rejects_wrong_input_shape(void **state)
{
    char path[4200];
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 2, 1, 28, 27 }, NULL }, out;
    struct gtee_err err = { 0 };
    static float x[2 * 28 * 28];

    (void)state;
    in.data = x;
    snprintf(path, sizeof(path), "%s/mlp/model.onnx", models_dir);
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &m, &err), 0);
    assert_int_equal(gtee_ml_session_new(m, NULL, &s, &err), 0);
    assert_int_equal(gtee_ml_run(s, &in, 1, &out, 1, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "dimension 3 is 27"));
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_matches_pytorch),
        cmocka_unit_test(test_cnn_matches_pytorch),
        cmocka_unit_test(test_encoder_matches_pytorch),
        cmocka_unit_test(test_two_threads_match_pytorch),
        cmocka_unit_test(test_memory_plan_reuses_buffers),
        cmocka_unit_test(test_run_rejects_wrong_input_shape),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
