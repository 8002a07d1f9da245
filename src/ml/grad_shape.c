/* Backward passes of the operators that move elements (ONNX operator specs, ai.onnx):
 * Transpose, Slice, Expand (each output element read one input element, so the gradient
 * of that input element is the sum of the output gradients that read it), Gather (the
 * embedding lookup: rows scatter-added into the table), Concat (each input gets its
 * part back), Where (the gradient goes to the operand each element was taken from) and
 * Cast between floats (a copy). docs/ml-training.md derives each. */
#include <string.h>

#include "ml/grad.h"

void ml_grad_bstrides(const struct gtee_ml_tensor *t, const struct gtee_ml_tensor *y, int64_t *st)
{
    int64_t s = 1;

    for (int d = y->rank - 1; d >= 0; d--) {
        int dt = d - (y->rank - t->rank);
        int64_t v = dt >= 0 ? t->dim[dt] : 1;
        st[d] = v == 1 ? 0 : s;
        s *= v;
    }
}

/* dx[base + sum idx[d] st[d]] += dy[i] over the elements i of y in order (idx: i's
 * index in y). */
static void scatter_add(const float *dy, const struct gtee_ml_tensor *y, const int64_t (*st)[GTEE_ML_MAX_RANK],
                        int64_t base, float *dx)
{
    uint64_t n = ml_elems(y);
    int64_t idx[GTEE_ML_MAX_RANK] = { 0 }, off = base;

    for (uint64_t i = 0; i < n; i++) {
        dx[off] += dy[i];
        ml_grad_bnext(y, idx, 1, st, &off);
    }
}

static int need_float(struct ml_kernel *k)
{
    if (k->in[0]->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    return 0;
}

/* y[i0..] = x[i_perm...]: y's axis d walks x's axis perm[d]. */
int ml_grad_transpose(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t xs[GTEE_ML_MAX_RANK], st[GTEE_ML_MAX_RANK];
    const int64_t *p;
    size_t n;
    int rc;

    if (!din[0])
        return 0;
    if ((rc = need_float(k)) < 0 || (rc = ml_attr_ints(k, "perm", &p, &n)) < 0)
        return rc;
    ml_strides(x, xs);
    for (int d = 0; d < x->rank; d++) /* perm checked by the forward pass's infer */
        st[d] = xs[p ? p[d] : x->rank - 1 - d];
    scatter_add(dout[0]->data, k->out[0], &st, 0, din[0]->data);
    return 0;
}

/* Slice-10+: start and step per axis, clamped as the spec says (the output's shape gives
 * the element counts). */
static int slice_geometry(struct ml_kernel *k, int64_t *start, int64_t *step)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const int64_t *st = k->in[1]->data, *ax = ml_in(k, 3) ? ml_in(k, 3)->data : NULL;
    const int64_t *sp = ml_in(k, 4) ? ml_in(k, 4)->data : NULL;
    int64_t n = (int64_t)ml_elems(k->in[1]);
    int rc, a;

    for (int d = 0; d < x->rank; d++) {
        start[d] = 0;
        step[d] = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t dim, b;
        if ((rc = ml_axis(k, ax ? ax[i] : i, x->rank, "axis", &a)) < 0)
            return rc;
        dim = x->dim[a];
        step[a] = sp ? sp[i] : 1;
        b = st[i] < 0 ? (st[i] < -dim ? 0 : st[i] + dim) : st[i];
        if (step[a] > 0)
            b = b > dim ? dim : b;
        else
            b = b > dim - 1 ? dim - 1 : b;
        start[a] = b;
    }
    return 0;
}

int ml_grad_slice(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t xs[GTEE_ML_MAX_RANK], st[GTEE_ML_MAX_RANK], start[GTEE_ML_MAX_RANK], step[GTEE_ML_MAX_RANK], base = 0;
    int rc;

    if (!din[0] || ml_elems(k->out[0]) == 0)
        return 0;
    if ((rc = need_float(k)) < 0 || (rc = slice_geometry(k, start, step)) < 0)
        return rc;
    ml_strides(x, xs);
    for (int d = 0; d < x->rank; d++) {
        base += start[d] * xs[d];
        st[d] = step[d] * xs[d];
    }
    scatter_add(dout[0]->data, k->out[0], &st, base, din[0]->data);
    return 0;
}

/* y = x broadcast to the target shape: dx = dy summed over the broadcast axes. */
int ml_grad_expand(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    int64_t st[GTEE_ML_MAX_RANK];
    int rc;

    if (!din[0])
        return 0;
    if ((rc = need_float(k)) < 0)
        return rc;
    ml_grad_bstrides(k->in[0], k->out[0], st);
    scatter_add(dout[0]->data, k->out[0], &st, 0, din[0]->data);
    return 0;
}

/* y[outer, i, inner] = x[outer, idx[i], inner]: row idx[i] of the table gets dy's row i
 * added (indices repeat: their rows add up). */
int ml_grad_gather(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const int64_t *idx = k->in[1]->data;
    const float *dy = dout[0]->data;
    size_t n = (size_t)ml_elems(k->in[1]), outer, inner;
    int64_t axis, dim;
    int rc, a;

    if (!din[0])
        return 0;
    if ((rc = need_float(k)) < 0 || (rc = ml_attr_int(k, "axis", 0, &axis)) < 0 ||
        (rc = ml_axis(k, axis, x->rank, "axis", &a)) < 0)
        return rc;
    dim = x->dim[a];
    outer = (size_t)ml_dims_prod(x, 0, a);
    inner = (size_t)ml_dims_prod(x, a + 1, x->rank);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < n; i++) {
            int64_t j = idx[i] < 0 ? idx[i] + dim : idx[i]; /* range checked by the forward pass */
            float *dx = (float *)din[0]->data + (o * (size_t)dim + (size_t)j) * inner;
            const float *g = dy + (o * n + i) * inner;
            for (size_t t = 0; t < inner; t++)
                dx[t] += g[t];
        }
    return 0;
}

/* Input i's part of each output row along the axis goes back to it. */
int ml_grad_concat(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *y = k->out[0];
    const float *dy = dout[0]->data;
    size_t outer, yrow, off = 0;
    int64_t axis;
    int rc, a;

    if ((rc = ml_attr_int(k, "axis", 0, &axis)) < 0 || (rc = ml_axis(k, axis, y->rank, "axis", &a)) < 0)
        return rc;
    outer = (size_t)ml_dims_prod(y, 0, a);
    yrow = (size_t)ml_dims_prod(y, a, y->rank);
    for (size_t i = 0; i < k->n_in; i++) {
        size_t xrow = (size_t)ml_dims_prod(k->in[i], a, k->in[i]->rank);
        if (din[i] && k->in[i]->dtype == GTEE_ML_FLOAT)
            for (size_t o = 0; o < outer; o++) {
                float *dx = (float *)din[i]->data + o * xrow;
                const float *g = dy + o * yrow + off;
                for (size_t t = 0; t < xrow; t++)
                    dx[t] += g[t];
            }
        off += xrow;
    }
    return 0;
}

/* y = cond ? X : Y (broadcast): dX gets dy where cond holds, dY where it does not. */
int ml_grad_where(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *y = k->out[0];
    const uint8_t *c = k->in[0]->data;
    const float *dy = dout[0]->data;
    float *dX = din[1] ? din[1]->data : NULL, *dY = din[2] ? din[2]->data : NULL;
    int64_t st[3][GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, off[3] = { 0, 0, 0 };
    uint64_t n = ml_elems(y);

    if (y->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    for (int j = 0; j < 3; j++)
        ml_grad_bstrides(k->in[j], y, st[j]);
    for (uint64_t i = 0; i < n; i++) {
        if (c[off[0]]) {
            if (dX)
                dX[off[1]] += dy[i];
        } else if (dY) {
            dY[off[2]] += dy[i];
        }
        ml_grad_bnext(y, idx, 3, st, off);
    }
    return 0;
}

/* Float to float is a copy; a cast from or to an integer type carries no gradient (the
 * trainer never asks: only float values carry one). */
int ml_grad_cast(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    if (!din[0])
        return 0;
    if (k->in[0]->dtype != GTEE_ML_FLOAT || k->out[0]->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a cast to or from a non-float type");
    return ml_grad_copy(k, dout, din);
}
