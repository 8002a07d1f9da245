/* Test helper (header-only, included by tests/ml/test_*.c): runs a directory laid out as
 * ONNX's backend node tests (model.onnx, test_data_set_N/input_K.pb, output_K.pb) and
 * compares the engine's outputs with the expected ones within a tolerance. */
#ifndef GTEE_TESTS_ML_CASES_H
#define GTEE_TESTS_ML_CASES_H

/* Not every test uses every helper. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/ml.h"
#include "ml/ml.h"

enum case_result { CASE_PASS = 0, CASE_REFUSED = 1, CASE_FAIL = 2 };

static uint8_t *case_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Reads a TensorProto file; returns 0, or a negative code with err filled. */
static int case_load_pb(const char *path, struct gtee_ml_tensor *t, struct gtee_err *err)
{
    size_t len = 0;
    uint8_t *buf = case_read(path, &len);
    int rc;

    if (!buf)
        return GTEE_FAIL(err, GTEE_EIO, "cannot read %s", path);
    rc = ml_tensor_proto_read(buf, len, NULL, t, NULL, err);
    free(buf);
    return rc;
}

/* Element i of t as double (float, int64 or bool). */
static double case_num(const struct gtee_ml_tensor *t, size_t i)
{
    if (t->dtype == GTEE_ML_FLOAT)
        return ((const float *)t->data)[i];
    if (t->dtype == GTEE_ML_INT64)
        return (double)((const int64_t *)t->data)[i];
    return ((const uint8_t *)t->data)[i];
}

/* |got - want| <= atol + rtol * |want| everywhere (NaN matches NaN); same dtype and shape. */
static int case_compare(const struct gtee_ml_tensor *got, const struct gtee_ml_tensor *want, double rtol,
                        double atol, char *why, size_t why_len)
{
    size_t n = 1;

    if (got->dtype != want->dtype || got->rank != want->rank) {
        snprintf(why, why_len, "type/rank %s/%d, expected %s/%d", gtee_ml_dtype_name(got->dtype), got->rank,
                 gtee_ml_dtype_name(want->dtype), want->rank);
        return -1;
    }
    for (int d = 0; d < got->rank; d++) {
        if (got->dim[d] != want->dim[d]) {
            snprintf(why, why_len, "dimension %d is %lld, expected %lld", d, (long long)got->dim[d],
                     (long long)want->dim[d]);
            return -1;
        }
        n *= (size_t)want->dim[d];
    }
    for (size_t i = 0; i < n; i++) {
        double g = case_num(got, i), w = case_num(want, i);
        if (isnan(w) && isnan(g))
            continue;
        if (isinf(w) && g == w)
            continue;
        if (!(fabs(g - w) <= atol + rtol * fabs(w))) {
            snprintf(why, why_len, "element %zu is %.9g, expected %.9g", i, g, w);
            return -1;
        }
    }
    return 0;
}

static int case_count(const char *dir, const char *prefix)
{
    char path[4096];
    int n = 0;
    FILE *f;

    for (;; n++) {
        snprintf(path, sizeof(path), "%s/%s_%d.pb", dir, prefix, n);
        f = fopen(path, "rb");
        if (!f)
            return n;
        fclose(f);
    }
}

/* Runs every test_data_set_* of dir. why gets the reason of a refusal or failure. */
static enum case_result case_run(const char *dir, int threads, double rtol, double atol, char *why, size_t why_len)
{
    struct gtee_ml_tensor in[16], want[16], got[16];
    struct gtee_ml_options opt = { threads };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    enum case_result res = CASE_FAIL;
    char path[8300];
    struct dirent **ents = NULL;
    int nents, n_in = 0, n_out = 0, sets = 0;
    size_t len = 0;
    uint8_t *buf;

    memset(in, 0, sizeof(in));
    memset(want, 0, sizeof(want));
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    buf = case_read(path, &len);
    if (!buf) {
        snprintf(why, why_len, "cannot read %s", path);
        return CASE_FAIL;
    }
    if (gtee_ml_model_load(buf, len, NULL, &m, &err) < 0) {
        free(buf);
        snprintf(why, why_len, "%s", err.msg);
        return err.code == GTEE_EUNSUPPORTED ? CASE_REFUSED : CASE_FAIL;
    }
    free(buf);
    if (gtee_ml_session_new(m, &opt, &s, &err) < 0) {
        snprintf(why, why_len, "%s", err.msg);
        goto out;
    }
    nents = scandir(dir, &ents, NULL, alphasort);
    for (int e = 0; e < nents; e++) {
        char set[4096];
        bool ok = true;

        if (strncmp(ents[e]->d_name, "test_data_set_", 14)) {
            continue;
        }
        snprintf(set, sizeof(set), "%s/%s", dir, ents[e]->d_name);
        n_in = case_count(set, "input");
        n_out = case_count(set, "output");
        if (n_in > 16 || n_out > 16) {
            snprintf(why, why_len, "too many inputs or outputs");
            ok = false;
        }
        for (int i = 0; ok && i < n_in; i++) {
            snprintf(path, sizeof(path), "%s/input_%d.pb", set, i);
            ok = case_load_pb(path, &in[i], &err) == 0;
            if (!ok) /* an input type we do not take: the model would have been refused */
                snprintf(why, why_len, "input %d: %s", i, err.msg);
        }
        for (int i = 0; ok && i < n_out; i++) {
            snprintf(path, sizeof(path), "%s/output_%d.pb", set, i);
            ok = case_load_pb(path, &want[i], &err) == 0;
            if (!ok)
                snprintf(why, why_len, "output %d: %s", i, err.msg);
        }
        if (ok && gtee_ml_run(s, in, (size_t)n_in, got, (size_t)n_out, &err) < 0) {
            snprintf(why, why_len, "%s: %s", ents[e]->d_name, err.msg);
            ok = false;
        }
        for (int i = 0; ok && i < n_out; i++) {
            char w[256];
            if (case_compare(&got[i], &want[i], rtol, atol, w, sizeof(w)) < 0) {
                snprintf(why, why_len, "%s output %d: %s", ents[e]->d_name, i, w);
                ok = false;
            }
        }
        for (int i = 0; i < 16; i++) {
            free(in[i].data);
            free(want[i].data);
            in[i].data = want[i].data = NULL;
        }
        if (!ok) {
            sets = -1;
            break;
        }
        sets++;
    }
    for (int e = 0; e < nents; e++)
        free(ents[e]);
    free(ents);
    if (sets < 0)
        goto out;
    if (!sets)
        snprintf(why, why_len, "no test data sets");
    else
        res = CASE_PASS;
out:
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
    return res;
}

/* Runs a shell command; 0 when it exits 0. */
static int case_sh(const char *cmd)
{
    int st = system(cmd);
    return st == 0 ? 0 : -1;
}

#endif
