/* Grouped and depthwise convolutions through oneDNN (src/ml/conv_dnn.c): the oneDNN path
 * against the im2col path (conv_fwd.c) on the same tensors, for mobilenet's depthwise
 * shapes (stride 2 with padding, with and without bias, a fused ReLU6 as Clip [0, 6] or a
 * Relu, a fused residual), groups of whole channel blocks, groups of a few channels and a
 * channel multiplier, at batch 1 and 3 on one and two threads, with the weights kept for
 * the plan's life (a second run); on tests/ml/layout's grouped graphs the fused plan
 * absorbs each Clip of known bounds into its Conv and gives the unfused plan's outputs
 * (Clip run on its own), and the kernel report (gtee_ml_session_kernels, `gtee model run
 * --verbose`) names oneDNN's depthwise kernel for a depthwise Conv. ONNX Runtime's
 * agreement on the same graphs is test_ml_layout_ort.sh. */
#include <math.h>

#include "gtee/ml.h"
#include "ml/dstest.h"
#include "ml/geom.h"
#include "ml/gradcheck.h"
#include "ml/ml.h"

struct gcase {
    const char *what;
    int64_t n, c, h, w, m, k, group;
    int64_t pads[4], strides[2];
    bool bias, res;
    int act;
    float lo, hi;
};

static const struct gcase cases[] = {
    { "depthwise, stride 2, padding, bias, ReLU6", 3, 32, 13, 13, 32, 3, 32, { 1, 1, 1, 1 }, { 2, 2 }, true, false,
      ML_ACT_CLIP, 0.0f, 6.0f },
    { "depthwise, stride 1, no bias, Clip", 3, 24, 9, 11, 24, 3, 24, { 1, 1, 1, 1 }, { 1, 1 }, false, false,
      ML_ACT_CLIP, -0.2f, 0.3f },
    { "depthwise, asymmetric pads, stride 2, residual, Relu", 3, 16, 10, 10, 16, 3, 16, { 0, 1, 1, 0 }, { 2, 2 },
      true, true, ML_ACT_RELU, 0.0f, 0.0f },
    { "depthwise, 5x5, few channels (NCHW)", 3, 3, 12, 12, 3, 5, 3, { 2, 2, 2, 2 }, { 2, 2 }, true, false,
      ML_ACT_NONE, 0.0f, 0.0f },
    { "two groups of 16 channels, ReLU6", 3, 32, 8, 8, 32, 3, 2, { 1, 1, 1, 1 }, { 1, 1 }, true, false, ML_ACT_CLIP,
      0.0f, 6.0f },
    { "eight groups of 4 -> 2 channels", 3, 32, 9, 9, 16, 3, 8, { 0, 1, 1, 0 }, { 2, 2 }, false, false, ML_ACT_NONE,
      0.0f, 0.0f },
    { "channel multiplier 4 -> 8", 3, 4, 7, 7, 8, 3, 4, { 1, 1, 1, 1 }, { 1, 1 }, true, false, ML_ACT_RELU, 0.0f,
      0.0f },
};

struct grun {
    struct gtee_ml_tensor x, w, b, r, y;
    void *work;
};

static void tensor(struct gtee_ml_tensor *t, int rank, int64_t a, int64_t b, int64_t c, int64_t d, uint64_t seed)
{
    *t = (struct gtee_ml_tensor){ .dtype = GTEE_ML_FLOAT, .rank = rank, .dim = { a, b, c, d } };
    t->data = malloc((size_t)ml_test_elems(t) * sizeof(float) + 1);
    assert_non_null(t->data);
    if (seed) /* values around the Clip bounds above: every branch of the activation runs */
        gc_fill(t->data, (size_t)ml_test_elems(t), seed, -2.0f, 2.0f, 0.0f);
}

/* One forward pass of case gc on batch n through the oneDNN path (dnn) or im2col. */
static void run_pass(const struct gcase *gc, int64_t n, bool dnn, int threads, struct ml_cache **cache, int reps,
                     struct grun *r)
{
    int64_t pads[4], strides[2];
    struct ml_attr attr[] = {
        { .name = "pads", .type = ML_ATTR_INTS, .n = 4, .ints = pads },
        { .name = "strides", .type = ML_ATTR_INTS, .n = 2, .ints = strides },
        { .name = "group", .type = ML_ATTR_INT, .i = gc->group },
    };
    struct ml_node node = { .name = "grouped", .op_type = "Conv", .file_index = 2, .n_in = gc->bias ? 3 : 2,
                            .n_out = 1, .n_attr = 3, .attr = attr };
    struct gtee_ml_tensor *in[3] = { &r->x, &r->w, &r->b }, *out[1] = { &r->y };
    struct gtee_err err = { 0 };
    struct ml_kernel k = { .node = &node, .n_in = node.n_in, .n_out = 1, .in = in, .out = out, .threads = threads,
                           .act = gc->act, .act_lo = gc->lo, .act_hi = gc->hi, .res = gc->res ? &r->r : NULL,
                           .cache = cache, .frozen = cache != NULL, .err = &err };
    int64_t ks[2] = { gc->k, gc->k };
    struct geom g;
    int prev;

    memcpy(pads, gc->pads, sizeof(pads));
    memcpy(strides, gc->strides, sizeof(strides));
    tensor(&r->x, 4, n, gc->c, gc->h, gc->w, 3);
    tensor(&r->w, 4, gc->m, gc->c / gc->group, gc->k, gc->k, 5);
    tensor(&r->b, 1, gc->m, 0, 0, 0, 7);
    if (ml_op_find("Conv")->infer(&k) < 0 || ml_geom(&k, &r->x, ks, false, &g) < 0)
        fail_msg("%s: %s", gc->what, err.msg);
    tensor(&r->y, 4, n, gc->m, r->y.dim[2], r->y.dim[3], 0);
    tensor(&r->r, 4, n, gc->m, r->y.dim[2], r->y.dim[3], 9);
    assert_true(ml_conv_dnn_takes(&k, &g, gc->group)); /* every 2-D grouping is oneDNN's now */
    r->work = aligned_alloc(ML_ALIGN, ml_align_up(dnn ? ml_conv_dnn_work(&k, &g, gc->group)
                                                     : ml_conv_work(&k, &g, gc->group)) +
                                          ML_ALIGN);
    assert_non_null(r->work);
    k.work = r->work;
    prev = ml_blas_one();
    for (int i = 0; i < reps; i++) /* a second run uses the kept primitives and weights */
        if ((dnn ? ml_conv_dnn_forward(&k, &g, gc->group) : ml_conv_forward(&k, &g, gc->group)) < 0)
            fail_msg("%s: %s", gc->what, err.msg);
    ml_blas_restore(prev);
    if (dnn && cache && gc->c == gc->group && gc->m == gc->group) {
        const char *impl = ml_conv_dnn_impl(&k);
        /* x86-64 has SSE4.1 at least: one of oneDNN's depthwise kernels, jit_dw, or on some
         * AVX-512 CPUs (AMD's family 26, say) brdgmm_dw, its batch-reduce form */
        assert_non_null(impl);
        if (!strstr(impl, "jit_dw") && !strstr(impl, "brdgmm_dw") && !(gc->c < 8 && strstr(impl, "gemm")))
            fail_msg("%s: oneDNN chose %s, not its depthwise kernel", gc->what, impl);
    }
}

static void run_free(struct grun *r)
{
    struct gtee_ml_tensor *all[] = { &r->x, &r->w, &r->b, &r->r, &r->y };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]->data);
    free(r->work);
}

static void assert_close(const char *what, const struct gtee_ml_tensor *got, const struct gtee_ml_tensor *want)
{
    const float *g = got->data, *w = want->data;
    uint64_t n = ml_test_elems(want);

    for (uint64_t i = 0; i < n; i++)
        if (!(fabsf(g[i] - w[i]) <= 1e-5f + 1e-5f * fabsf(w[i])))
            fail_msg("%s [%llu]: oneDNN %.9g, im2col %.9g", what, (unsigned long long)i, (double)g[i], (double)w[i]);
}

static void test_grouped_convs_match_im2col(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        for (int64_t n = 1; n <= 3; n += 2)
            for (int threads = 1; threads <= 2; threads++) {
                struct grun ref, got;
                struct ml_cache *cache[2] = { NULL, NULL };

                run_pass(&cases[c], n, false, 1, NULL, 1, &ref);
                run_pass(&cases[c], n, true, threads, NULL, 1, &got); /* nothing kept */
                assert_close(cases[c].what, &got.y, &ref.y);
                run_free(&got);
                run_pass(&cases[c], n, true, threads, cache, 2, &got); /* kept primitives and weights */
                assert_non_null(cache[ML_CACHE_FWD]);
                assert_close(cases[c].what, &got.y, &ref.y);
                cache[ML_CACHE_FWD]->drop(cache[ML_CACHE_FWD]);
                run_free(&got);
                run_free(&ref);
            }
}

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

/* Runs graph m on x ([3, 3, 9, 9]); its outputs copied into a new buffer, and the kernel
 * report into report (when not NULL). */
static float *run_graph(const struct gtee_ml_model *m, const float *x, int threads, bool fuse, size_t *n,
                        char *report, size_t len)
{
    struct gtee_ml_options opt = { threads };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 3, 3, 9, 9 }, (void *)x }, out;
    struct gtee_err err = { 0 };
    float *y;

    assert_int_equal(gtee_ml_session_new(m, &opt, &s, &err), 0);
    gtee_ml_session_set_fusion(s, fuse);
    for (int rep = 0; rep < 2; rep++)
        if (gtee_ml_run(s, &in, 1, &out, 1, &err) < 0)
            fail_msg("run: %s", err.msg);
    if (report && gtee_ml_session_kernels(s, report, len, &err) < 0)
        fail_msg("kernels: %s", err.msg);
    *n = (size_t)ml_elems(&out);
    y = malloc(*n * sizeof(float));
    assert_non_null(y);
    memcpy(y, out.data, *n * sizeof(float));
    gtee_ml_session_free(s);
    return y;
}

/* The graphs' Clips (ReLU6 as exported: min and max inputs) fold into the Conv before them. */
static void test_plan_absorbs_clip(void **state)
{
    static const char *const names[] = { "group_dw_clip", "group_dw_input" };
    float x[3 * 3 * 9 * 9];

    (void)state;
    gc_fill(x, sizeof(x) / sizeof(x[0]), 13, -1.0f, 1.0f, 0.0f);
    for (size_t i = 0; i < 2; i++) {
        struct gtee_ml_model *m = load(names[i]);
        struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 3, 3, 9, 9 }, x };
        struct gtee_err err = { 0 };
        struct ml_plan p;
        size_t clips = 0, absorbed = 0;

        if (ml_plan_build_flags(m, &in, true, 1, ML_PLAN_FUSE, &p, &err) < 0)
            fail_msg("plan: %s", err.msg);
        for (size_t j = 0; j < m->n_nodes; j++)
            if (!strcmp(m->nodes[j].op_type, "Clip")) {
                clips++;
                absorbed += p.skip[j];
            }
        assert_true(clips > 0);
        assert_int_equal(absorbed, clips);
        ml_plan_free(&p);
        gtee_ml_model_free(m);
    }
}

/* Fused (Clip in the Conv's post-op, tensors blocked between oneDNN's kernels) against
 * unfused (every node on its own, NCHW), with one and two threads. */
static void test_fused_grouped_graphs_match_unfused(void **state)
{
    static const char *const names[] = { "group_dw_clip", "group_dw_input", "group_blocks", "group_multiplier" };
    float x[3 * 3 * 9 * 9];

    (void)state;
    gc_fill(x, sizeof(x) / sizeof(x[0]), 17, -1.0f, 1.0f, 0.0f);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct gtee_ml_model *m = load(names[i]);
        for (int threads = 1; threads <= 2; threads++) {
            size_t n1, n2;
            float *a = run_graph(m, x, threads, true, &n1, NULL, 0), *b = run_graph(m, x, threads, false, &n2, NULL, 0);

            assert_int_equal(n1, n2);
            for (size_t j = 0; j < n1; j++)
                if (!(fabsf(a[j] - b[j]) <= 1e-5f + 1e-5f * fabsf(b[j])))
                    fail_msg("%s [%zu]: fused %.9g, unfused %.9g", names[i], j, (double)a[j], (double)b[j]);
            free(a);
            free(b);
        }
        gtee_ml_model_free(m);
    }
}

/* The report has a line per Conv; a depthwise one runs oneDNN's depthwise kernel. */
static void test_kernel_report_names_depthwise_kernel(void **state)
{
    struct gtee_ml_model *m = load("group_dw_clip");
    char report[8192];
    float x[3 * 3 * 9 * 9], *y;
    size_t n, convs = 0;

    (void)state;
    gc_fill(x, sizeof(x) / sizeof(x[0]), 19, -1.0f, 1.0f, 0.0f);
    y = run_graph(m, x, 1, true, &n, report, sizeof(report));
    for (const char *l = report; (l = strstr(l, "Conv '")); l++)
        convs++;
    assert_int_equal(convs, 5);
    if (!strstr(report, "16x1x3x3 group 16 stride 2: oneDNN jit_dw") ||
        !strstr(report, "32x1x3x3 group 32 stride 1: oneDNN jit_dw") || strstr(report, "im2col"))
        fail_msg("report:\n%s", report);
    if (!strstr(report, "Clip [0, 0.25] fused"))
        fail_msg("no fused Clip in the report:\n%s", report);
    free(y);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouped_convs_match_im2col),
        cmocka_unit_test(test_plan_absorbs_clip),
        cmocka_unit_test(test_fused_grouped_graphs_match_unfused),
        cmocka_unit_test(test_kernel_report_names_depthwise_kernel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
