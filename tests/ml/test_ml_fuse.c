/* Fusions of inference plans (src/ml/fuse.c): on the committed reference models with
 * BatchNormalization (cnn_bn, resnet) the fused plan gives the unfused plan's outputs and
 * PyTorch's, at batch 1 (output rows split across threads), 4 and 24 (images across
 * threads), with one and two threads; the plan really absorbs BatchNormalization, Relu and
 * the residual Add; the transformer's decomposed LayerNorm and GELU run fused with the
 * unfused results; the trainer's plan fuses nothing and keeps every intermediate. */
#include <math.h>

#include "gtee/ml.h"
#include "ml/dstest.h"
#include "ml/ml.h"

struct ref {
    struct gtee_ml_model *m;
    struct gtee_array x, want; /* 4 sample rows and PyTorch's outputs for them */
};

static void ref_load(const char *name, struct ref *r)
{
    char rel[256], path[4096];
    struct gtee_err err = { 0 };

    memset(r, 0, sizeof(*r));
    snprintf(rel, sizeof(rel), "tests/ml/models/%s.onnx", name);
    source_path(rel, path, sizeof(path));
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &r->m, &err), 0);
    snprintf(rel, sizeof(rel), "tests/ml/models/%s.input.npy", name);
    source_path(rel, path, sizeof(path));
    assert_int_equal(gtee_npy_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &r->x, &err), 0);
    snprintf(rel, sizeof(rel), "tests/ml/models/%s.torch.npy", name);
    source_path(rel, path, sizeof(path));
    assert_int_equal(gtee_npy_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &r->want, &err), 0);
    assert_int_equal(r->x.ndim, 4);
    assert_int_equal(r->x.dims[0], 4);
}

static void ref_free(struct ref *r)
{
    gtee_ml_model_free(r->m);
    gtee_array_free(&r->x);
    gtee_array_free(&r->want);
}

/* Runs batch images (sample row i % 4 for image i); returns the outputs in a new buffer. */
static float *run(const struct ref *r, size_t batch, int threads, bool fuse, size_t *n_out)
{
    struct gtee_ml_options opt = { threads };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { (int64_t)batch, 0, 0, 0 }, NULL }, out;
    struct gtee_err err = { 0 };
    size_t row = r->x.count / 4;
    float *x = malloc(batch * row * sizeof(float)), *y;

    assert_non_null(x);
    for (int d = 1; d < 4; d++)
        in.dim[d] = (int64_t)r->x.dims[d];
    for (size_t i = 0; i < batch; i++)
        memcpy(x + i * row, r->x.f32 + (i % 4) * row, row * sizeof(float));
    in.data = x;
    assert_int_equal(gtee_ml_session_new(r->m, &opt, &s, &err), 0);
    gtee_ml_session_set_fusion(s, fuse);
    if (gtee_ml_run(s, &in, 1, &out, 1, &err) < 0)
        fail_msg("run: %s", err.msg);
    *n_out = (size_t)(out.dim[0] * out.dim[1]);
    y = malloc(*n_out * sizeof(float));
    assert_non_null(y);
    memcpy(y, out.data, *n_out * sizeof(float));
    gtee_ml_session_free(s);
    free(x);
    return y;
}

static void assert_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - (double)want[i]) <= atol + rtol * fabs((double)want[i])))
            fail_msg("%s[%zu]: %.9g, expected %.9g", what, i, (double)got[i], (double)want[i]);
}

static void fused_matches_unfused(const char *name)
{
    static const size_t batches[] = { 1, 4, 24 };
    struct ref r;

    ref_load(name, &r);
    for (size_t b = 0; b < 3; b++)
        for (int threads = 1; threads <= 2; threads++) {
            size_t n1, n2, cls = r.want.count / 4;
            float *fused = run(&r, batches[b], threads, true, &n1);
            float *plain = run(&r, batches[b], threads, false, &n2);
            char what[128];

            assert_int_equal(n1, n2);
            snprintf(what, sizeof(what), "%s batch %zu threads %d fused vs unfused", name, batches[b], threads);
            assert_close(what, fused, plain, n1, 1e-4, 1e-5);
            for (size_t i = 0; i < batches[b]; i++) {
                snprintf(what, sizeof(what), "%s batch %zu threads %d image %zu vs PyTorch", name, batches[b],
                         threads, i);
                assert_close(what, fused + i * cls, r.want.f32 + (i % 4) * cls, cls, 1e-4, 1e-5);
            }
            free(fused);
            free(plain);
        }
    ref_free(&r);
}

static void test_fused_cnn_bn_matches_unfused(void **state)
{
    (void)state;
    fused_matches_unfused("cnn_bn");
}

static void test_fused_resnet_matches_unfused(void **state)
{
    (void)state;
    fused_matches_unfused("resnet");
}

static size_t count_op(const struct gtee_ml_model *m, const uint8_t *skip, const char *op)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].op_type, op) && (!skip || skip[i]))
            n++;
    return n;
}

static void build(const struct ref *r, unsigned flags, struct ml_plan *p)
{
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 4, 0, 0, 0 }, r->x.f32 };
    struct gtee_err err = { 0 };

    for (int d = 1; d < 4; d++)
        in.dim[d] = (int64_t)r->x.dims[d];
    if (ml_plan_build_flags(r->m, &in, true, 1, flags, p, &err) < 0)
        fail_msg("plan: %s", err.msg);
}

/* Every BatchNormalization follows a Conv and every Relu a Conv, a Gemm or a residual Add
 * in these models: the fused plan runs none of them, nor the Adds; the Gemms' weights are
 * stored untransposed. */
static void test_inference_plan_absorbs_bn_relu_add(void **state)
{
    static const char *const names[] = { "cnn_bn", "resnet" };

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        struct ml_plan p;
        struct ref r;
        size_t fused = 0;

        ref_load(names[k], &r);
        build(&r, ML_PLAN_FUSE, &p);
        assert_non_null(p.skip);
        assert_int_equal(count_op(r.m, p.skip, "BatchNormalization"), count_op(r.m, NULL, "BatchNormalization"));
        assert_int_equal(count_op(r.m, p.skip, "Relu"), count_op(r.m, NULL, "Relu"));
        assert_int_equal(count_op(r.m, p.skip, "Add"), count_op(r.m, NULL, "Add"));
        assert_int_equal(count_op(r.m, p.skip, "Conv"), 0);
        for (size_t i = 0; i < r.m->n_nodes; i++) {
            fused += p.fuse[i].on;
            if (!strcmp(r.m->nodes[i].op_type, "Gemm")) /* Linear: known B, transB = 1 */
                assert_true(p.fuse[i].on && p.fuse[i].b_untransposed);
        }
        assert_true(fused > 0);
        ml_plan_free(&p);
        ref_free(&r);
    }
}

/* The trainer builds its plan with ml_plan_build (train.c): nothing fused, every node's
 * output has its own tensor in the arena, the Conv reads the original initializers. */
static void test_training_plan_is_not_fused(void **state)
{
    struct ml_plan p;
    struct ref r;
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { 4, 1, 28, 28 }, NULL };
    struct gtee_err err = { 0 };

    (void)state;
    ref_load("cnn_bn", &r);
    in.data = r.x.f32;
    assert_int_equal(ml_plan_build(r.m, &in, true, 1, &p, &err), 0);
    assert_null(p.fuse);
    assert_null(p.skip);
    assert_null(p.writer);
    for (size_t i = 0; i < r.m->n_nodes; i++) {
        const struct ml_node *n = &r.m->nodes[i];
        struct ml_kernel k;

        ml_plan_kernel(r.m, &p, i, &k);
        assert_int_equal(k.act, ML_ACT_NONE);
        assert_null(k.res);
        assert_ptr_equal(k.out[0], &p.vals[n->out[0]]);
        assert_true(p.offset[n->out[0]] != SIZE_MAX || p.view[n->out[0]] >= 0);
        for (size_t j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0)
                assert_ptr_equal(k.in[j], &p.vals[n->in[j]]);
    }
    ml_plan_free(&p);
    ref_free(&r);
}

/* The transformer encoder's decomposed LayerNorms (5: two per layer and the last) and
 * GELUs (one per layer) run as one kernel each, its linear layers' MatMul absorbs the bias
 * Add, and the results are the unfused ones within a tight tolerance (LayerNorm repeats the
 * nodes' float operations; GELU takes 1 + erf from erfc directly; the Gemms' weights stored
 * untransposed may round the last bits differently). */
static void test_transformer_layernorm_gelu_fused(void **state)
{
    char path[4096];
    struct gtee_ml_model *m = NULL;
    struct gtee_array tok = { 0 };
    struct gtee_err err = { 0 };
    struct ml_plan p;
    size_t ln = 0, gelu = 0, linear = 0;

    (void)state;
    source_path("tests/ml/models/transformer.onnx", path, sizeof(path));
    assert_int_equal(gtee_ml_model_load_file(path, NULL, &m, &err), 0);
    source_path("tests/ml/models/transformer.input.npy", path, sizeof(path));
    assert_int_equal(gtee_npy_load(path, GTEE_ARRAY_I64, GTEE_NORM_NONE, &tok, &err), 0);
    assert_int_equal(tok.ndim, 2);
    struct gtee_ml_tensor in = { GTEE_ML_INT64, 2, { (int64_t)tok.dims[0], (int64_t)tok.dims[1] }, tok.i64 };
    assert_int_equal(ml_plan_build_flags(m, &in, true, 1, ML_PLAN_FUSE, &p, &err), 0);
    for (size_t i = 0; i < m->n_nodes; i++) {
        if (!p.fuse[i].on)
            continue;
        ln += !strcmp(m->nodes[i].op_type, "ReduceMean");
        gelu += !strcmp(m->nodes[i].op_type, "Div");
        linear += !strcmp(m->nodes[i].op_type, "MatMul");
    }
    assert_int_equal(ln, 5);
    assert_int_equal(gelu, 2);
    assert_int_equal(linear, 6); /* in_proj, linear1, linear2 of each layer, with their bias Add */
    assert_int_equal(count_op(m, p.skip, "Sqrt"), count_op(m, NULL, "Sqrt"));
    assert_int_equal(count_op(m, p.skip, "Erf"), count_op(m, NULL, "Erf"));
    ml_plan_free(&p);
    for (int threads = 1; threads <= 2; threads++) {
        struct gtee_ml_options opt = { threads };
        struct gtee_ml_session *s1 = NULL, *s2 = NULL;
        struct gtee_ml_tensor y1, y2;

        assert_int_equal(gtee_ml_session_new(m, &opt, &s1, &err), 0);
        assert_int_equal(gtee_ml_session_new(m, &opt, &s2, &err), 0);
        gtee_ml_session_set_fusion(s2, false);
        assert_int_equal(gtee_ml_run(s1, &in, 1, &y1, 1, &err), 0);
        assert_int_equal(gtee_ml_run(s2, &in, 1, &y2, 1, &err), 0);
        assert_int_equal(ml_elems(&y1), ml_elems(&y2));
        assert_close("transformer fused vs unfused", y1.data, y2.data, (size_t)ml_elems(&y1), 1e-5, 1e-6);
        gtee_ml_session_free(s1);
        gtee_ml_session_free(s2);
    }
    gtee_array_free(&tok);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_cnn_bn_matches_unfused),
        cmocka_unit_test(test_fused_resnet_matches_unfused),
        cmocka_unit_test(test_inference_plan_absorbs_bn_relu_add),
        cmocka_unit_test(test_training_plan_is_not_fused),
        cmocka_unit_test(test_transformer_layernorm_gelu_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
