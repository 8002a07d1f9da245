/* Fusions of an inference plan: a node absorbs the nodes that follow it when nothing else
 * reads what is between them, so their passes over memory disappear.
 *   Conv -> BatchNormalization: BN's affine map y = a (x - mean) + beta with
 *     a = scale / sqrt(var + eps) (ONNX BatchNormalization, inference form) is folded
 *     into the Conv: W'[m] = a[m] W[m], B'[m] = a[m] (B[m] - mean[m]) + beta[m];
 *   Conv -> Add (the other input of the same shape, computed before the Conv): the
 *     residual is added in the Conv's output pass;
 *   Conv or Gemm -> Relu: applied in the output pass; Gemm's transposed known B stored
 *     untransposed;
 *   Conv -> Clip of known bounds lo <= hi (ReLU6 as PyTorch exports it, mobilenet's):
 *     applied in the output pass;
 *   MatMul -> Add of a bias along the last axis: added to each row of the product;
 *   the decomposed LayerNorm and GELU that exporters emit: one pass (fuse_norm.c).
 * A trainer never asks for these: it needs every node's output and the original
 * initializers (plan.c, ML_PLAN_FUSE). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/fuse.h"
#include "ml/ml.h"

int ml_fuse_sole_reader(const struct ml_fuser *f, int32_t v, size_t after)
{
    if (v < 0 || f->readers[v] != 1 || f->is_out[v])
        return -1;
    for (size_t i = after + 1; i < f->m->n_nodes; i++) {
        const struct ml_node *n = &f->m->nodes[i];
        for (size_t j = 0; j < n->n_in; j++)
            if (n->in[j] == v)
                return f->p->skip[i] ? -1 : (int)i;
    }
    return -1;
}

bool ml_fuse_is_op(const struct ml_fuser *f, int i, const char *op)
{
    return i >= 0 && f->m->nodes[i].op && !strcmp(f->m->nodes[i].op_type, op);
}

bool ml_fuse_known_f32(const struct ml_plan *p, int32_t v)
{
    return v >= 0 && p->known[v] && p->vals[v].dtype == GTEE_ML_FLOAT && p->vals[v].data;
}

/* Folds BatchNormalization node bn into conv node c (whose fusion record is fu). */
static int fold_bn(struct ml_fuser *f, struct ml_fusion *fu, int bn, struct gtee_err *err)
{
    const struct ml_node *n = &f->m->nodes[bn];
    const struct gtee_ml_tensor *w = fu->in[1], *b = fu->n_in > 2 ? fu->in[2] : NULL;
    const float *sc, *be, *mu, *var;
    int64_t mch = w->dim[0], per = ml_dims_prod(w, 1, w->rank);
    float eps = 1e-5f;
    int rc = 0;

    for (size_t j = 1; j < 5; j++)
        if (!ml_fuse_known_f32(f->p, n->in[j]) || ml_elems(&f->p->vals[n->in[j]]) != (uint64_t)mch)
            return 0;
    for (size_t a = 0; a < n->n_attr; a++)
        if (!strcmp(n->attr[a].name, "epsilon") && n->attr[a].type == ML_ATTR_FLOAT)
            eps = n->attr[a].f;
    sc = f->p->vals[n->in[1]].data;
    be = f->p->vals[n->in[2]].data;
    mu = f->p->vals[n->in[3]].data;
    var = f->p->vals[n->in[4]].data;
    fu->w = *w;
    fu->b = (struct gtee_ml_tensor){ .dtype = GTEE_ML_FLOAT, .rank = 1, .dim = { mch } };
    fu->w.data = malloc((size_t)(mch * per) * sizeof(float) + 1);
    fu->b.data = malloc((size_t)mch * sizeof(float) + 1);
    ENSURE(fu->w.data && fu->b.data, err, GTEE_ENOMEM, "ml: out of memory");
    for (int64_t o = 0; o < mch; o++) {
        float a = sc[o] / sqrtf(var[o] + eps), b0 = b ? ((const float *)b->data)[o] : 0.0f;
        for (int64_t i = 0; i < per; i++)
            ((float *)fu->w.data)[o * per + i] = ((const float *)w->data)[o * per + i] * a;
        ((float *)fu->b.data)[o] = (b0 - mu[o]) * a + be[o];
    }
    fu->in[1] = &fu->w;
    fu->in[2] = &fu->b;
    fu->n_in = 3;
    f->p->skip[bn] = 1;
    rc = 1;
out:
    return rc;
}

/* Absorbs Add node ad (one input is the Conv's output v) when its other input has the
 * same shape and is ready before the Conv at node c runs. */
static bool take_add(struct ml_fuser *f, struct ml_fusion *fu, int ad, int32_t v, size_t c)
{
    const struct ml_node *n = &f->m->nodes[ad];
    int32_t o = n->in[0] == v ? n->in[1] : n->in[0];
    const struct gtee_ml_tensor *y = &f->p->vals[v], *r;

    if (n->n_in != 2 || o < 0 || o == v || fu->res)
        return false;
    r = &f->p->vals[o];
    if (r->dtype != GTEE_ML_FLOAT || r->rank != y->rank || memcmp(r->dim, y->dim, sizeof(int64_t) * (size_t)y->rank))
        return false;
    if (!f->p->known[o] && f->m->values[o].kind == ML_VAL_NODE) {
        int32_t w = f->p->writer[o] >= 0 ? f->p->writer[o] : f->m->values[o].producer;
        if (w < 0 || (size_t)w >= c)
            return false;
    }
    fu->res = r;
    f->p->skip[ad] = 1;
    return true;
}

/* Clip node c reading v, when its bounds are known before the run (attributes before opset
 * 11, folded scalar inputs from 11) and lo <= hi (with lo > hi the spec's max wins, which
 * the output passes do not model): its bounds in *lo, *hi. */
static bool clip_bounds(const struct ml_fuser *f, int c, int32_t v, float *lo, float *hi)
{
    const struct ml_node *n = &f->m->nodes[c];

    *lo = -INFINITY;
    *hi = INFINITY;
    if (n->n_in < 1 || n->in[0] != v)
        return false;
    if (f->m->opset < 11) {
        for (size_t a = 0; a < n->n_attr; a++) {
            if (n->attr[a].type != ML_ATTR_FLOAT)
                return false;
            if (!strcmp(n->attr[a].name, "min"))
                *lo = n->attr[a].f;
            else if (!strcmp(n->attr[a].name, "max"))
                *hi = n->attr[a].f;
            else
                return false;
        }
    } else {
        if (n->n_attr)
            return false;
        for (size_t j = 1; j < n->n_in && j < 3; j++) {
            int32_t b = n->in[j];
            if (b < 0)
                continue;
            if (!ml_fuse_known_f32(f->p, b) || ml_elems(&f->p->vals[b]) != 1 || f->p->vals[b].rank > 1)
                return false;
            *(j == 1 ? lo : hi) = *(const float *)f->p->vals[b].data;
        }
    }
    return !isnan(*lo) && !isnan(*hi) && *lo <= *hi;
}

/* Conv at node i: BatchNormalization, then Add, then Relu or Clip, each only when it is
 * the sole reader of what comes before. */
static int fuse_conv(struct ml_fuser *f, size_t i, struct gtee_err *err)
{
    const struct ml_node *n = &f->m->nodes[i];
    struct ml_fusion *fu = &f->p->fuse[i];
    int32_t v = n->out[0], orig = v;
    int nx, rc = 0;

    if (!ml_fuse_known_f32(f->p, n->in[1]) || (n->n_in > 2 && n->in[2] >= 0 && !ml_fuse_known_f32(f->p, n->in[2])))
        return 0;
    fu->n_in = n->n_in > 2 && n->in[2] >= 0 ? 3 : 2;
    for (size_t j = 0; j < fu->n_in; j++)
        fu->in[j] = &f->p->vals[n->in[j]];
    nx = ml_fuse_sole_reader(f, v, i);
    if (ml_fuse_is_op(f, nx, "BatchNormalization") && f->m->nodes[nx].in[0] == v) {
        TRY(fold_bn(f, fu, nx, err));
        if (f->p->skip[nx]) {
            v = f->m->nodes[nx].out[0];
            nx = ml_fuse_sole_reader(f, v, (size_t)nx);
        }
    }
    if (ml_fuse_is_op(f, nx, "Add") && take_add(f, fu, nx, v, i)) {
        v = f->m->nodes[nx].out[0];
        nx = ml_fuse_sole_reader(f, v, (size_t)nx);
    }
    if (ml_fuse_is_op(f, nx, "Relu")) {
        f->p->skip[nx] = 1;
        fu->act = ML_ACT_RELU;
        v = f->m->nodes[nx].out[0];
    } else if (ml_fuse_is_op(f, nx, "Clip") && clip_bounds(f, nx, v, &fu->act_lo, &fu->act_hi)) {
        f->p->skip[nx] = 1;
        fu->act = ML_ACT_CLIP;
        v = f->m->nodes[nx].out[0];
    }
    if (v != orig) {
        fu->on = true;
        fu->out[0] = &f->p->vals[v];
        f->p->writer[v] = (int32_t)i;
    }
    rc = 0;
out:
    return rc;
}

/* Gemm at node i: a known B given transposed (transB = 1, as exporters write Linear
 * weights) is stored untransposed once, which OpenBLAS multiplies faster; a sole reader
 * Relu is applied in the output pass. */
static int fuse_gemm(struct ml_fuser *f, size_t i, struct gtee_err *err)
{
    const struct ml_node *n = &f->m->nodes[i];
    struct ml_fusion *fu = &f->p->fuse[i];
    const struct gtee_ml_tensor *b = n->n_in > 1 && n->in[1] >= 0 ? &f->p->vals[n->in[1]] : NULL;
    int nx = ml_fuse_sole_reader(f, n->out[0], i);
    bool relu = ml_fuse_is_op(f, nx, "Relu"), tb = false;
    int rc = 0;

    for (size_t a = 0; a < n->n_attr; a++)
        if (!strcmp(n->attr[a].name, "transB") && n->attr[a].type == ML_ATTR_INT)
            tb = n->attr[a].i != 0;
    tb = tb && b && b->rank == 2 && ml_fuse_known_f32(f->p, n->in[1]);
    if (!relu && !tb)
        return 0;
    fu->n_in = n->n_in;
    for (size_t j = 0; j < n->n_in; j++)
        fu->in[j] = n->in[j] >= 0 ? &f->p->vals[n->in[j]] : NULL;
    if (tb) {
        int64_t rows = b->dim[0], cols = b->dim[1]; /* B^T is (N, K); B is (K, N) */
        fu->w = (struct gtee_ml_tensor){ .dtype = GTEE_ML_FLOAT, .rank = 2, .dim = { cols, rows } };
        fu->w.data = malloc((size_t)(rows * cols) * sizeof(float) + 1);
        ENSURE(fu->w.data, err, GTEE_ENOMEM, "ml: out of memory");
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                ((float *)fu->w.data)[c * rows + r] = ((const float *)b->data)[r * cols + c];
        fu->in[1] = &fu->w;
        fu->b_untransposed = true;
    }
    fu->on = true;
    fu->out[0] = &f->p->vals[n->out[0]];
    if (relu) {
        fu->act = ML_ACT_RELU;
        fu->out[0] = &f->p->vals[f->m->nodes[nx].out[0]];
        f->p->writer[f->m->nodes[nx].out[0]] = (int32_t)i;
        f->p->skip[nx] = 1;
    }
out:
    return rc;
}

/* MatMul at node i followed by its sole reader Add of a known bias along the last axis
 * (a linear layer on a sequence): the kernel adds the bias to each row it computes. */
static void fuse_matmul(struct ml_fuser *f, size_t i)
{
    const struct ml_node *n = &f->m->nodes[i];
    struct ml_fusion *fu = &f->p->fuse[i];
    const struct gtee_ml_tensor *y = &f->p->vals[n->out[0]], *b;
    int nx = ml_fuse_sole_reader(f, n->out[0], i);
    int32_t bv;

    if (!ml_fuse_is_op(f, nx, "Add") || f->m->nodes[nx].n_in != 2 || y->rank < 1)
        return;
    bv = f->m->nodes[nx].in[0] == n->out[0] ? f->m->nodes[nx].in[1] : f->m->nodes[nx].in[0];
    if (bv == n->out[0] || !ml_fuse_known_f32(f->p, bv))
        return;
    b = &f->p->vals[bv];
    if (b->rank < 1 || b->rank > y->rank || b->dim[b->rank - 1] != y->dim[y->rank - 1] ||
        (int64_t)ml_elems(b) != y->dim[y->rank - 1])
        return;
    fu->n_in = 3;
    fu->in[0] = &f->p->vals[n->in[0]];
    fu->in[1] = &f->p->vals[n->in[1]];
    fu->in[2] = &f->p->vals[bv];
    fu->on = true;
    fu->out[0] = &f->p->vals[f->m->nodes[nx].out[0]];
    f->p->writer[f->m->nodes[nx].out[0]] = (int32_t)i;
    f->p->skip[nx] = 1;
}

int ml_plan_fuse(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err)
{
    struct ml_fuser f = { m, p, NULL, NULL };
    int rc = 0;

    p->fuse = calloc(m->n_nodes + 1, sizeof(*p->fuse));
    p->skip = calloc(m->n_nodes + 1, 1);
    p->writer = malloc((m->n_values + 1) * sizeof(*p->writer));
    f.readers = calloc(m->n_values + 1, sizeof(*f.readers));
    f.is_out = calloc(m->n_values + 1, sizeof(*f.is_out));
    ENSURE(p->fuse && p->skip && p->writer && f.readers && f.is_out, err, GTEE_ENOMEM, "ml: out of memory");
    for (size_t v = 0; v < m->n_values; v++)
        p->writer[v] = -1;
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t j = 0; j < m->nodes[i].n_in; j++)
            if (m->nodes[i].in[j] >= 0)
                f.readers[m->nodes[i].in[j]]++;
    for (size_t i = 0; i < m->n_outputs; i++)
        f.is_out[m->outputs[i]] = true;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];

        if (p->skip[i] || !n->op || n->n_out != 1 || n->out[0] < 0 || p->known[n->out[0]] ||
            p->vals[n->out[0]].dtype != GTEE_ML_FLOAT)
            continue;
        if (!strcmp(n->op_type, "Conv"))
            TRY(fuse_conv(&f, i, err));
        else if (!strcmp(n->op_type, "Gemm"))
            TRY(fuse_gemm(&f, i, err));
        else if (!strcmp(n->op_type, "MatMul"))
            fuse_matmul(&f, i);
        else if (!strcmp(n->op_type, "ReduceMean"))
            ml_fuse_layernorm(&f, i);
        else if (!strcmp(n->op_type, "Div"))
            ml_fuse_gelu(&f, i);
    }
    /* what the absorbed nodes produced is never written: no slice for it */
    for (size_t i = 0; i < m->n_nodes; i++)
        if (p->skip[i])
            for (size_t j = 0; j < m->nodes[i].n_in; j++) {
                int32_t v = m->nodes[i].in[j];
                if (v >= 0 && m->values[v].kind == ML_VAL_NODE && p->writer[v] < 0 && !p->known[v] &&
                    (size_t)m->values[v].producer < m->n_nodes &&
                    (p->skip[m->values[v].producer] || p->fuse[m->values[v].producer].on) &&
                    !f.is_out[v])
                    p->writer[v] = ML_WRITER_NONE;
            }
out:
    ml_free(f.readers);
    ml_free(f.is_out);
    return rc;
}
