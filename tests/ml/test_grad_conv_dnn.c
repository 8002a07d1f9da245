/* Conv's backward pass through oneDNN (src/ml/grad_conv_dnn.c) against the im2col path
 * (grad_cnn.c) on the same tensors: the CNN's conv2 shape (blocked layouts), strides,
 * ONNX dilations (oneDNN's d - 1), asymmetric pads, channels that are no multiple of the
 * block, no bias. Both paths add into what din already holds; a kept cache gives the same
 * bytes as a fresh one; two threads repeat bytewise; ml_grad_conv takes oneDNN for one
 * group only; a oneDNN failure names the node. */
#include <math.h>

#include "ml/dstest.h"
#include "ml/gradcheck.h"
#include "ml/grad.h"
#include "ml/ml.h"

struct conv_case {
    int64_t n, c, h, w, m, kh, kw;
    int64_t pads[4], strides[2], dil[2];
    bool bias;
    int64_t group; /* 0: the attribute absent (1) */
};

/* Inputs, output gradient and the three gradients of one case. */
struct conv_run {
    struct gtee_ml_tensor x, w, b, y, dy, dx, dw, db;
};

static int64_t out_size(int64_t in, int64_t k, int64_t pb, int64_t pe, int64_t s, int64_t d)
{
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static void tensor4(struct gtee_ml_tensor *t, int64_t a, int64_t b, int64_t c, int64_t d)
{
    *t = (struct gtee_ml_tensor){ .dtype = GTEE_ML_FLOAT, .rank = 4, .dim = { a, b, c, d } };
    t->data = malloc((size_t)(a * b * c * d) * sizeof(float) + 1);
    assert_non_null(t->data);
}

static void run_make(const struct conv_case *cc, struct conv_run *r)
{
    int64_t oh = out_size(cc->h, cc->kh, cc->pads[0], cc->pads[2], cc->strides[0], cc->dil[0]);
    int64_t ow = out_size(cc->w, cc->kw, cc->pads[1], cc->pads[3], cc->strides[1], cc->dil[1]);

    tensor4(&r->x, cc->n, cc->c, cc->h, cc->w);
    tensor4(&r->w, cc->m, cc->c / (cc->group ? cc->group : 1), cc->kh, cc->kw);
    tensor4(&r->dy, cc->n, cc->m, oh, ow);
    tensor4(&r->y, cc->n, cc->m, oh, ow);
    gc_fill(r->x.data, ml_test_elems(&r->x), 3, -1.0f, 1.0f, 0.0f);
    gc_fill(r->w.data, ml_test_elems(&r->w), 5, -0.5f, 0.5f, 0.0f);
    gc_fill(r->dy.data, ml_test_elems(&r->dy), 9, -1.0f, 1.0f, 0.0f);
    tensor4(&r->dx, cc->n, cc->c, cc->h, cc->w);
    tensor4(&r->dw, cc->m, cc->c, cc->kh, cc->kw);
    r->b = (struct gtee_ml_tensor){ .dtype = GTEE_ML_FLOAT, .rank = 1, .dim = { cc->m } };
    r->b.data = calloc((size_t)cc->m, sizeof(float));
    r->db = r->b;
    r->db.data = malloc((size_t)cc->m * sizeof(float));
    assert_non_null(r->b.data);
    assert_non_null(r->db.data);
}

static void run_free(struct conv_run *r)
{
    struct gtee_ml_tensor *all[] = { &r->x, &r->w, &r->b, &r->y, &r->dy, &r->dx, &r->dw, &r->db };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]->data);
}

/* Sets the gradients to seeded values (seed != 0) or zero before a pass adds to them. */
static void run_prefill(struct conv_run *r, uint64_t seed)
{
    struct gtee_ml_tensor *g[] = { &r->dx, &r->dw, &r->db };

    for (int i = 0; i < 3; i++)
        if (seed)
            gc_fill(g[i]->data, ml_test_elems(g[i]), seed + (uint64_t)i, -1.0f, 1.0f, 0.0f);
        else
            memset(g[i]->data, 0, ml_test_elems(g[i]) * sizeof(float));
}

/* One backward pass of the Conv node described by cc through fn. */
static int run_pass(const struct conv_case *cc, struct conv_run *r, ml_backward_fn fn, int threads,
                    struct ml_cache **cache, struct gtee_err *err)
{
    int64_t pads[4], strides[2], dil[2];
    struct ml_attr attr[] = {
        { .name = "pads", .type = ML_ATTR_INTS, .n = 4, .ints = pads },
        { .name = "strides", .type = ML_ATTR_INTS, .n = 2, .ints = strides },
        { .name = "dilations", .type = ML_ATTR_INTS, .n = 2, .ints = dil },
        { .name = "group", .type = ML_ATTR_INT, .i = cc->group },
    };
    struct ml_node node = { .name = "conv_under_test", .op_type = "Conv", .file_index = 3, .n_in = cc->bias ? 3 : 2,
                            .n_out = 1, .n_attr = cc->group ? 4 : 3, .attr = attr };
    struct gtee_ml_tensor *in[3] = { &r->x, &r->w, &r->b }, *out[1] = { &r->y };
    struct gtee_ml_tensor *dout[1] = { &r->dy }, *din[3] = { &r->dx, &r->dw, &r->db };
    struct ml_kernel k = { .node = &node, .n_in = node.n_in, .n_out = 1, .in = in, .out = out, .threads = threads,
                           .cache = cache, .err = err };

    memcpy(pads, cc->pads, sizeof(pads));
    memcpy(strides, cc->strides, sizeof(strides));
    memcpy(dil, cc->dil, sizeof(dil));
    return fn(&k, dout, din);
}

/* |got - want| <= tol * (largest |want|) for every element. */
static void assert_close(const char *what, const struct gtee_ml_tensor *got, const struct gtee_ml_tensor *want,
                         float tol)
{
    const float *g = got->data, *w = want->data;
    uint64_t n = ml_test_elems(want);
    float big = 0.0f;

    for (uint64_t i = 0; i < n; i++)
        big = fabsf(w[i]) > big ? fabsf(w[i]) : big;
    assert_true(big > 0.0f);
    for (uint64_t i = 0; i < n; i++)
        if (!(fabsf(g[i] - w[i]) <= tol * big))
            fail_msg("%s[%llu]: oneDNN %.9g, im2col %.9g (largest %.9g)", what, (unsigned long long)i, (double)g[i],
                     (double)w[i], (double)big);
}

/* The oneDNN path adds the same gradients as the im2col path to seeded din values. */
static void check_case(const struct conv_case *cc, int threads)
{
    struct conv_run ref, got;
    struct gtee_err err = { 0 };
    struct ml_cache *cache[2] = { NULL, NULL };

    run_make(cc, &ref);
    run_make(cc, &got);
    run_prefill(&ref, 101); /* the same starting values in both */
    run_prefill(&got, 101);
    if (run_pass(cc, &ref, ml_grad_conv_cols, 1, NULL, &err) < 0 ||
        run_pass(cc, &got, ml_grad_conv_dnn, threads, cache, &err) < 0)
        fail_msg("%s", err.msg);
    assert_non_null(cache[ML_CACHE_BWD]); /* the primitives were kept in the node's slot */
    assert_close("dX", &got.dx, &ref.dx, 1e-5f);
    assert_close("dW", &got.dw, &ref.dw, 1e-5f);
    if (cc->bias)
        assert_close("dB", &got.db, &ref.db, 1e-5f);
    cache[ML_CACHE_BWD]->drop(cache[ML_CACHE_BWD]);
    run_free(&ref);
    run_free(&got);
}

static void test_conv_dnn_matches_im2col_on_the_cnn_conv2(void **state)
{
    /* tests/ml/models/cnn.onnx's second convolution at batch 64: nChw16c / OIhw16i16o */
    const struct conv_case cc = { 64, 16, 14, 14, 32, 5, 5, { 2, 2, 2, 2 }, { 1, 1 }, { 1, 1 }, true, 0 };

    const struct conv_case odd = { 5, 16, 14, 14, 32, 5, 5, { 2, 2, 2, 2 }, { 1, 1 }, { 1, 1 }, true, 0 };

    (void)state;
    check_case(&cc, 1);
    check_case(&cc, 2);
    check_case(&odd, 2); /* pieces of 2 and 3 images: two sets of primitives */
}

static void test_conv_dnn_matches_im2col_with_strides_dilations_and_asymmetric_pads(void **state)
{
    const struct conv_case cases[] = {
        { 3, 16, 11, 9, 32, 3, 2, { 1, 0, 2, 3 }, { 2, 1 }, { 2, 3 }, true, 0 },
        { 2, 5, 8, 7, 3, 3, 3, { 0, 2, 1, 0 }, { 1, 2 }, { 1, 2 }, false, 0 }, /* channels no multiple of 16 */
        { 2, 32, 6, 6, 16, 1, 1, { 0, 0, 0, 0 }, { 1, 1 }, { 1, 1 }, true, 0 },
        { 1, 1, 28, 28, 16, 5, 5, { 2, 2, 2, 2 }, { 1, 1 }, { 1, 1 }, true, 0 }, /* the CNN's conv1 */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i], 1);
}

/* The cached primitives give what fresh ones give, bytewise, on a second pass with other
 * values; two threads repeat bytewise from run to run. */
static void test_conv_dnn_cache_and_two_threads_repeat_bytewise(void **state)
{
    const struct conv_case cc = { 16, 16, 14, 14, 32, 5, 5, { 2, 2, 2, 2 }, { 1, 1 }, { 1, 1 }, true, 0 };
    struct conv_run a, b;
    struct gtee_err err = { 0 };

    (void)state;
    run_make(&cc, &a);
    run_make(&cc, &b);
    for (int threads = 1; threads <= 2; threads++) {
        struct ml_cache *cache[2] = { NULL, NULL };
        run_prefill(&a, 0);
        assert_int_equal(run_pass(&cc, &a, ml_grad_conv_dnn, threads, cache, &err), 0);
        gc_fill(a.dy.data, ml_test_elems(&a.dy), 13 + (uint64_t)threads, -1.0f, 1.0f, 0.0f);
        gc_fill(b.dy.data, ml_test_elems(&b.dy), 13 + (uint64_t)threads, -1.0f, 1.0f, 0.0f);
        run_prefill(&a, 0);
        run_prefill(&b, 0);
        assert_int_equal(run_pass(&cc, &a, ml_grad_conv_dnn, threads, cache, &err), 0); /* kept primitives */
        assert_int_equal(run_pass(&cc, &b, ml_grad_conv_dnn, threads, NULL, &err), 0);  /* made and dropped */
        assert_memory_equal(a.dx.data, b.dx.data, ml_test_elems(&a.dx) * sizeof(float));
        assert_memory_equal(a.dw.data, b.dw.data, ml_test_elems(&a.dw) * sizeof(float));
        assert_memory_equal(a.db.data, b.db.data, ml_test_elems(&a.db) * sizeof(float));
        cache[ML_CACHE_BWD]->drop(cache[ML_CACHE_BWD]);
    }
    run_free(&a);
    run_free(&b);
}

/* ml_grad_conv takes oneDNN's path (which keeps its primitives in the node's backward
 * cache) for 2-D Conv of one group only; a grouped Conv keeps the im2col path. */
static void test_conv_backward_picks_onednn_for_one_group_only(void **state)
{
    const struct conv_case cases[] = {
        { 2, 16, 8, 8, 16, 3, 3, { 1, 1, 1, 1 }, { 1, 1 }, { 1, 1 }, true, 1 },
        { 2, 16, 8, 8, 16, 3, 3, { 1, 1, 1, 1 }, { 1, 1 }, { 1, 1 }, true, 2 },
    };
    struct gtee_err err = { 0 };

    (void)state;
    for (int i = 0; i < 2; i++) {
        struct ml_cache *cache[2] = { NULL, NULL };
        struct conv_run ref, got;
        run_make(&cases[i], &ref);
        run_make(&cases[i], &got);
        run_prefill(&ref, 0);
        run_prefill(&got, 0);
        assert_int_equal(run_pass(&cases[i], &ref, ml_grad_conv_cols, 1, NULL, &err), 0);
        assert_int_equal(run_pass(&cases[i], &got, ml_grad_conv, 1, cache, &err), 0);
        assert_close("dX", &got.dx, &ref.dx, 1e-5f);
        assert_close("dW", &got.dw, &ref.dw, 1e-5f);
        if (i == 0) {
            assert_non_null(cache[ML_CACHE_BWD]);
            cache[ML_CACHE_BWD]->drop(cache[ML_CACHE_BWD]);
        } else {
            assert_null(cache[ML_CACHE_BWD]);
            assert_memory_equal(got.dw.data, ref.dw.data, ml_test_elems(&ref.dw) * sizeof(float)); /* the same code */
        }
        run_free(&ref);
        run_free(&got);
    }
}

static void test_conv_dnn_failure_names_the_node(void **state)
{
    const struct conv_case cc = { 2, 16, 8, 8, 16, 3, 3, { 1, 1, 1, 1 }, { 1, 1 }, { 1, 1 }, true, 0 };
    struct conv_run r;
    struct gtee_err err = { 0 };

    (void)state;
    run_make(&cc, &r);
    run_prefill(&r, 0);
    r.y.dim[3] = r.dy.dim[3] = 7; /* an output width the geometry does not give (8) */
    assert_true(run_pass(&cc, &r, ml_grad_conv_dnn, 1, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "node 'conv_under_test' (#3, Conv)"));
    assert_non_null(strstr(err.msg, "oneDNN"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_dnn_matches_im2col_on_the_cnn_conv2),
        cmocka_unit_test(test_conv_dnn_matches_im2col_with_strides_dilations_and_asymmetric_pads),
        cmocka_unit_test(test_conv_dnn_cache_and_two_threads_repeat_bytewise),
        cmocka_unit_test(test_conv_backward_picks_onednn_for_one_group_only),
        cmocka_unit_test(test_conv_dnn_failure_names_the_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
