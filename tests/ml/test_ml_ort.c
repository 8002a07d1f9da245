/* Agreement with ONNX Runtime (onnxruntime-node, tests/ml/ort_run_raw.js): the MLP, CNN and
 * transformer-encoder models exported from PyTorch (export_reference_models.py) give the
 * same outputs in the engine as in ONNX Runtime within 1e-4 relative error (plus 1e-6
 * absolute, for values near zero), at batch 1 and 5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ml_cases.h"

static char models_dir[4096];
/* Whether node and onnxruntime-node are installed (as the shell tests ask). */
static bool have_ort;

static int setup(void **state)
{
    char cmd[8192];
    const char *bin = getenv("GTEE_BINARY_DIR"), *src = getenv("GTEE_SOURCE_DIR");

    (void)state;
    if (!bin || !src)
        return -1;
    snprintf(cmd, sizeof(cmd), "command -v node >/dev/null && test -d '%s/npm/node_modules/onnxruntime-node'", src);
    have_ort = case_sh(cmd) == 0;
    if (!have_ort) {
        print_message("SKIP: node or npm/node_modules/onnxruntime-node missing (scripts/install-deps.sh installs them)\n");
        return 0;
    }
    snprintf(models_dir, sizeof(models_dir), "%s/ml-models-ort", bin);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/ml/export_reference_models.py %s >/dev/null 2>&1", src,
             models_dir);
    return case_sh(cmd);
}

static void agree(const char *name, int batch)
{
    char set[4300], cmd[20000], path[4400], why[256];
    const char *src = getenv("GTEE_SOURCE_DIR");
    struct gtee_ml_tensor in = { 0 }, ort = { 0 }, out;
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_err err = { 0 };
    uint8_t *raw;
    size_t len = 0;

    if (!have_ort)
        skip();
    snprintf(set, sizeof(set), "%s/%s/test_data_set_%d", models_dir, name, batch);
    snprintf(cmd, sizeof(cmd), "node %s/tests/ml/ort_run_raw.js %s/%s/model.onnx %s/input_0.bin %s/shape.json %s/ort_0.bin",
             src, models_dir, name, set, set, set);
    assert_int_equal(case_sh(cmd), 0);
    snprintf(path, sizeof(path), "%s/input_0.pb", set);
    assert_int_equal(case_load_pb(path, &in, &err), 0);
    snprintf(path, sizeof(path), "%s/%s/model.onnx", models_dir, name);
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &m, &err), 0);
    assert_int_equal(gtee_ml_session_new(m, NULL, &s, &err), 0);
    if (gtee_ml_run(s, &in, 1, &out, 1, &err) < 0)
        fail_msg("%s: %s", name, err.msg);
    snprintf(path, sizeof(path), "%s/ort_0.bin", set);
    raw = case_read(path, &len);
    assert_non_null(raw);
    ort = out;
    ort.data = raw;
    assert_int_equal(len, ml_elems(&out) * sizeof(float));
    if (case_compare(&out, &ort, 1e-4, 1e-6, why, sizeof(why)) < 0)
        fail_msg("%s batch %d: %s", name, batch, why);
    free(raw);
    free(in.data);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

static void test_mlp_agrees_with_onnxruntime(void **state)
{
    (void)state;
    agree("mlp", 1);
    agree("mlp", 5);
}

static void test_cnn_agrees_with_onnxruntime(void **state)
{
    (void)state;
    agree("cnn", 1);
    agree("cnn", 5);
}

static void test_encoder_agrees_with_onnxruntime(void **state)
{
    (void)state;
    agree("encoder", 1);
    agree("encoder", 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_agrees_with_onnxruntime),
        cmocka_unit_test(test_cnn_agrees_with_onnxruntime),
        cmocka_unit_test(test_encoder_agrees_with_onnxruntime),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
