/* Channel-blocked layouts of inference plans (src/ml/layout.c, conv_dnn.c, pool_dnn.c):
 * on the graphs of tests/ml/layout (gen_layout_models.py) the fused plan, which keeps
 * activations blocked between oneDNN's kernels, gives the unfused plan's outputs (every
 * tensor NCHW, pooling by ops_pool.c) at batch 1 and 3 with one and two threads; the plan
 * keeps blocked exactly the values layout.c promises: a pool geometry oneDNN takes is read
 * and written blocked, one it does not take (count_include_pad with ceil_mode's extra
 * window) and channels that are not a multiple of the block stay NCHW, a graph output is
 * never blocked; ONNX Runtime's agreement on the same files is test_ml_layout_ort.sh. */
#include <math.h>
#include <pthread.h>

#include "gtee/ml.h"
#include "ml/dstest.h"
#include "ml/ml.h"

static struct gtee_ml_model *load(const char *name)
{
    char rel[256], path[4096];
    struct gtee_err err = { 0 };
    struct gtee_ml_model *m = NULL;

    snprintf(rel, sizeof(rel), "tests/ml/layout/%s.onnx", name);
    source_path(rel, path, sizeof(path));
    if (gtee_ml_model_load_file(path, NULL, &m, &err) < 0)
        fail_msg("%s: %s", name, err.msg);
    return m;
}

static void fill(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
}

static float *run(const struct gtee_ml_model *m, const float *x, size_t batch, int threads, bool fuse, size_t *n)
{
    struct gtee_ml_options opt = { threads };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { (int64_t)batch, 3, 9, 9 }, (void *)x }, out;
    struct gtee_err err = { 0 };
    float *y;

    assert_int_equal(gtee_ml_session_new(m, &opt, &s, &err), 0);
    gtee_ml_session_set_fusion(s, fuse);
    for (int rep = 0; rep < 2; rep++) /* the second run uses the kept primitives */
        if (gtee_ml_run(s, &in, 1, &out, 1, &err) < 0)
            fail_msg("run: %s", err.msg);
    *n = (size_t)ml_elems(&out);
    y = malloc(*n * sizeof(float));
    assert_non_null(y);
    memcpy(y, out.data, *n * sizeof(float));
    gtee_ml_session_free(s);
    return y;
}

static size_t blocked_values(const struct gtee_ml_model *m, const float *x, unsigned flags)
{
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 2, 3, 9, 9 }, (void *)x };
    struct gtee_err err = { 0 };
    struct ml_plan p;
    size_t n = 0;

    if (ml_plan_build_flags(m, &in, true, 1, flags, &p, &err) < 0)
        fail_msg("plan: %s", err.msg);
    for (size_t v = 0; p.blocked && v < p.n_values; v++)
        n += p.blocked[v];
    ml_plan_free(&p);
    return n;
}

static void check(const char *name, size_t want_blocked)
{
    struct gtee_ml_model *m = load(name);
    float x[3 * 3 * 9 * 9];

    fill(x, sizeof(x) / sizeof(x[0]), 7);
    if (blocked_values(m, x, ML_PLAN_FUSE) != want_blocked)
        fail_msg("%s: %zu values kept blocked, expected %zu", name, blocked_values(m, x, ML_PLAN_FUSE), want_blocked);
    assert_int_equal(blocked_values(m, x, 0), 0);
    for (size_t batch = 1; batch <= 3; batch += 2)
        for (int threads = 1; threads <= 2; threads++) {
            size_t n1, n2;
            float *got = run(m, x, batch, threads, true, &n1), *want = run(m, x, batch, threads, false, &n2);

            assert_int_equal(n1, n2);
            for (size_t i = 0; i < n1; i++)
                if (!(fabs((double)got[i] - (double)want[i]) <= 1e-5 + 1e-4 * fabs((double)want[i])))
                    fail_msg("%s batch %zu threads %d: [%zu] %.9g blocked, %.9g NCHW", name, batch, threads, i,
                             (double)got[i], (double)want[i]);
            free(got);
            free(want);
        }
    gtee_ml_model_free(m);
}

/* stem Conv output, pool output, 1x1 Conv output (read by GlobalAveragePool) */
static void test_max_pool_k2s2_blocked(void **state) { (void)state; check("pool_max_k2s2", 3); }
static void test_max_pool_pads_ceil_blocked(void **state) { (void)state; check("pool_max_k3s2_pad_ceil", 3); }
static void test_max_pool_dilated_blocked(void **state) { (void)state; check("pool_max_dilated", 3); }
static void test_avg_pool_exclude_pad_ceil_blocked(void **state) { (void)state; check("pool_avg_excl_ceil", 3); }
static void test_avg_pool_include_pad_blocked(void **state) { (void)state; check("pool_avg_incl", 3); }
/* oneDNN's padding would be counted in the extra window: the pool runs on NCHW, so the
 * stem's output stays NCHW; only the 1x1 Conv's output is blocked */
static void test_avg_pool_include_pad_ceil_stays_nchw(void **state) { (void)state; check("pool_avg_incl_ceil", 1); }
/* the pool reads blocked and writes the graph output as NCHW */
static void test_pool_writing_graph_output(void **state) { (void)state; check("pool_out", 1); }
/* stem output (read by a Conv and as the residual), both block Convs' outputs, the last Conv's */
static void test_residual_block_blocked(void **state) { (void)state; check("residual", 4); }
static void test_channels_off_the_block_stay_nchw(void **state) { (void)state; check("conv20", 0); }

/* A batch of no images: Conv and the pools take their NCHW kernels (oneDNN's pieces would
 * divide by the image count), and the run gives an empty output. */
static void test_empty_batch_runs(void **state)
{
    struct gtee_ml_model *m = load("residual");
    struct gtee_ml_options opt = { 2 };
    struct gtee_ml_session *s = NULL;
    struct gtee_err err = { 0 };
    float x[1] = { 0 };
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 0, 3, 9, 9 }, x }, out;

    (void)state;
    assert_int_equal(gtee_ml_session_new(m, &opt, &s, &err), 0);
    if (gtee_ml_run(s, &in, 1, &out, 1, &err) < 0)
        fail_msg("run: %s", err.msg);
    assert_int_equal(out.dim[0], 0);
    assert_int_equal(out.dim[1], 32);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

/* Two sessions of one model on two threads at once (a host serving two requests): each
 * keeps its own primitives and streams, the shared stream takes one call at a time, and
 * every run gives the result of a run alone. */
struct twin {
    const struct gtee_ml_model *m;
    const float *x, *want;
    size_t n;
    int bad;
};

static void *twin_run(void *arg)
{
    struct twin *t = arg;
    struct gtee_ml_options opt = { 1 };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 3, 3, 9, 9 }, (void *)t->x }, out;
    struct gtee_err err = { 0 };

    if (gtee_ml_session_new(t->m, &opt, &s, &err) < 0) {
        t->bad = 1;
        return NULL;
    }
    for (int rep = 0; rep < 30 && !t->bad; rep++)
        if (gtee_ml_run(s, &in, 1, &out, 1, &err) < 0 || ml_elems(&out) != t->n ||
            memcmp(out.data, t->want, t->n * sizeof(float)))
            t->bad = 1;
    gtee_ml_session_free(s);
    return NULL;
}

static void test_two_sessions_on_two_threads(void **state)
{
    static const char *const names[] = { "pool_max_k3s2_pad_ceil", "residual" };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct gtee_ml_model *m = load(names[i]);
        float x[3 * 3 * 9 * 9];
        size_t n;
        float *want;
        struct twin t[2];
        pthread_t th[2];

        fill(x, sizeof(x) / sizeof(x[0]), 11);
        want = run(m, x, 3, 1, true, &n);
        for (int j = 0; j < 2; j++) {
            t[j] = (struct twin){ m, x, want, n, 0 };
            assert_int_equal(pthread_create(&th[j], NULL, twin_run, &t[j]), 0);
        }
        for (int j = 0; j < 2; j++) {
            pthread_join(th[j], NULL);
            if (t[j].bad)
                fail_msg("%s: thread %d got another result than a run alone", names[i], j);
        }
        free(want);
        gtee_ml_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_pool_k2s2_blocked),
        cmocka_unit_test(test_max_pool_pads_ceil_blocked),
        cmocka_unit_test(test_max_pool_dilated_blocked),
        cmocka_unit_test(test_avg_pool_exclude_pad_ceil_blocked),
        cmocka_unit_test(test_avg_pool_include_pad_blocked),
        cmocka_unit_test(test_avg_pool_include_pad_ceil_stays_nchw),
        cmocka_unit_test(test_pool_writing_graph_output),
        cmocka_unit_test(test_residual_block_blocked),
        cmocka_unit_test(test_channels_off_the_block_stay_nchw),
        cmocka_unit_test(test_empty_batch_runs),
        cmocka_unit_test(test_two_sessions_on_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
