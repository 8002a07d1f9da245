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
#include "ml/dnn.h"
#include "ml/dstest.h"
#include "ml/geom.h"
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

/* The blocked 2x2 stride-2 max pool (pool_dnn.c's own loop) on an odd-sized input,
 * against the plain definition, writing blocked and NCHW; a NaN in a window wins, as
 * ops_pool.c has it, whichever of the four places it takes. */
static void test_blocked_max2x2_and_nan(void **state)
{
    int64_t bl = ml_dnn_block(), n = 2, c = 2 * bl, h = 7, w = 9, oh = 3, ow = 4, ks[2] = { 2, 2 }, st[2] = { 2, 2 };
    struct ml_attr attr[] = { { .name = "kernel_shape", .type = ML_ATTR_INTS, .n = 2, .ints = ks },
                              { .name = "strides", .type = ML_ATTR_INTS, .n = 2, .ints = st } };
    struct ml_node node = { .name = "pool", .op_type = "MaxPool", .n_in = 1, .n_out = 1, .n_attr = 2, .attr = attr };
    struct gtee_ml_tensor x = { GTEE_ML_FLOAT, 4, { n, c, h, w }, NULL }, y = { GTEE_ML_FLOAT, 4, { n, c, oh, ow }, NULL };
    struct gtee_ml_tensor *in[1] = { &x }, *out[1] = { &y };
    struct gtee_err err = { 0 };
    struct ml_kernel k = { .node = &node, .n_in = 1, .n_out = 1, .in = in, .out = out, .threads = 1, .blk_in = true,
                           .err = &err };
    float *plain = malloc((size_t)(n * c * h * w) * sizeof(float)), *want = malloc((size_t)(n * c * oh * ow) * 4);
    struct geom g;

    assert_non_null(plain);
    assert_non_null(want);
    x.data = malloc((size_t)(n * c * h * w) * sizeof(float));
    y.data = malloc((size_t)(n * c * oh * ow) * sizeof(float));
    assert_non_null(x.data);
    assert_non_null(y.data);
    fill(plain, (size_t)(n * c * h * w), 23);
    for (int64_t ch = 0; ch < 4; ch++) /* channel ch: a NaN at place ch of window (1, 1) */
        plain[(ch * h + 2 + ch / 2) * w + 2 + ch % 2] = NAN;
    for (int64_t i = 0; i < n * c * h * w; i++) { /* NCHW -> [N][C / B][H][W][B] */
        int64_t wi = i % w, hi = i / w % h, ch = i / (w * h) % c, im = i / (w * h * c);
        ((float *)x.data)[(((im * (c / bl) + ch / bl) * h + hi) * w + wi) * bl + ch % bl] = plain[i];
    }
    for (int64_t p = 0; p < n * c; p++)
        for (int64_t oi = 0; oi < oh; oi++)
            for (int64_t oj = 0; oj < ow; oj++) {
                float m = -INFINITY;
                for (int64_t d = 0; d < 4; d++) {
                    float v = plain[(p * h + 2 * oi + d / 2) * w + 2 * oj + d % 2];
                    m = isnan(v) || isnan(m) ? NAN : v > m ? v : m;
                }
                want[(p * oh + oi) * ow + oj] = m;
            }
    assert_int_equal(ml_geom(&k, &x, NULL, true, &g), 0);
    k.work = malloc(ml_pool_dnn_work(&k) + 1); /* the scratch its contract gives it */
    assert_non_null(k.work);
    for (int blk_out = 0; blk_out < 2; blk_out++) {
        k.blk_out = blk_out;
        if (ml_pool_dnn_forward(&k, &g, true, false) < 0)
            fail_msg("%s", err.msg);
        for (int64_t i = 0; i < n * c * oh * ow; i++) {
            int64_t oj = i % ow, oi = i / ow % oh, ch = i / (ow * oh) % c, im = i / (ow * oh * c);
            float got = ((float *)y.data)[blk_out ? (((im * (c / bl) + ch / bl) * oh + oi) * ow + oj) * bl + ch % bl : i];
            if (!(got == want[i] || (isnan(got) && isnan(want[i]))))
                fail_msg("%s output [%lld]: %g, expected %g", blk_out ? "blocked" : "NCHW", (long long)i, (double)got,
                         (double)want[i]);
        }
    }
    free(plain);
    free(want);
    free(k.work);
    free(x.data);
    free(y.data);
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
        cmocka_unit_test(test_blocked_max2x2_and_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
