/* Test helper: writes a trained model as ONNX (gtee_ml_model_save), runs it in the engine
 * on a .npy input of tests/ml/models/, and has ONNX Runtime (tests/ml/ort_run.js,
 * onnxruntime-node) run the written file on the same input and compare its output with
 * the engine's (rtol 1e-4, atol 1e-5). Skips when node or onnxruntime-node is missing. */
#ifndef GTEE_TESTS_ML_ORTCHECK_H
#define GTEE_TESTS_ML_ORTCHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "gtee/dataset.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "ml/dstest.h"

static inline void oc_agrees(const struct gtee_ml_model *m, const char *model_rel, const char *input_rel, bool i64,
                             const char *tag)
{
    char dir[4096], onnx_path[4400], ours[4400], ort[4400], input[4096], cmd[16384], src[4096];
    const char *bin = getenv("GTEE_BINARY_DIR");
    struct gtee_err err = { 0 };
    struct gtee_array a = { 0 };
    struct gtee_ml_tensor x = { 0 }, y;
    struct gtee_ml_session *s = NULL;
    uint8_t *orig, *out = NULL;
    size_t len, out_len = 0, dims[GTEE_ML_MAX_RANK];
    FILE *f;

    assert_non_null(bin);
    snprintf(dir, sizeof(dir), "%s/ml-trained", bin);
    mkdir(dir, 0755);
    snprintf(onnx_path, sizeof(onnx_path), "%s/%s.onnx", dir, tag);
    snprintf(ours, sizeof(ours), "%s/%s.ours.npy", dir, tag);
    snprintf(ort, sizeof(ort), "%s/%s.ort.npy", dir, tag);
    orig = read_source_file(model_rel, &len);
    if (gtee_ml_model_save(m, orig, len, &out, &out_len, &err) < 0)
        fail_msg("save: %s", err.msg);
    free(orig);
    f = fopen(onnx_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(out, 1, out_len, f), out_len);
    fclose(f);
    free(out);

    source_path(input_rel, input, sizeof(input));
    if (gtee_npy_load(input, i64 ? GTEE_ARRAY_I64 : GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err) < 0)
        fail_msg("%s: %s", input, err.msg);
    x.dtype = i64 ? GTEE_ML_INT64 : GTEE_ML_FLOAT;
    x.rank = (int)a.ndim;
    for (size_t d = 0; d < a.ndim; d++)
        x.dim[d] = (int64_t)a.dims[d];
    x.data = i64 ? (void *)a.i64 : (void *)a.f32;
    if (gtee_ml_session_new(m, NULL, &s, &err) < 0 || gtee_ml_run(s, &x, 1, &y, 1, &err) < 0)
        fail_msg("%s: run: %s", tag, err.msg);
    for (int d = 0; d < y.rank; d++)
        dims[d] = (size_t)y.dim[d];
    if (gtee_npy_save_f32(ours, y.data, dims, (size_t)y.rank, &err) < 0)
        fail_msg("%s", err.msg);
    gtee_ml_session_free(s);
    gtee_array_free(&a);

    source_path("", src, sizeof(src));
    snprintf(cmd, sizeof(cmd), "command -v node >/dev/null && test -d '%s/npm/node_modules/onnxruntime-node'", src);
    if (system(cmd) != 0) {
        print_message("note: ONNX Runtime comparison skipped (node or onnxruntime-node missing)\n");
        skip();
    }
    snprintf(cmd, sizeof(cmd), "node '%s/tests/ml/ort_run.js' '%s' '%s' '%s' --expect '%s'", src, onnx_path, input, ort,
             ours);
    if (system(cmd) != 0)
        fail_msg("%s: ONNX Runtime's output of the trained model differs from the engine's (%s)", tag, cmd);
}

#endif
