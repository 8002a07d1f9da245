/* Backward passes of Split, Tile (ops_split.c), CumSum (ops_seq.c) and GlobalMaxPool
 * (ops_conv.c): docs/ml-training.md. Split's parts add back into their slices of x, Tile's
 * copies add into the element they copied, CumSum's gradient is the cumulative sum of dy
 * in the other direction, GlobalMaxPool's goes to each plane's (first) maximum. */
#include <math.h>
#include <string.h>

#include "ml/grad.h"

int ml_grad_split(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t len[ML_MAX_NODE_IO], outer, inner, dim, at = 0;
    int axis, rc;

    if (!din[0])
        return 0;
    if (x->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    if ((rc = ml_split_parts(k, &axis, len)) != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "split unknown at run time");
    outer = ml_dims_prod(x, 0, axis);
    inner = ml_dims_prod(x, axis + 1, x->rank);
    dim = x->dim[axis];
    for (size_t i = 0; i < k->n_out; i++) {
        if (dout[i]) {
            const float *dy = dout[i]->data;
            float *dx = din[0]->data;
            int64_t w = len[i] * inner;
            for (int64_t o = 0; o < outer; o++)
                for (int64_t e = 0; e < w; e++)
                    dx[(o * dim + at) * inner + e] += dy[o * w + e];
        }
        at += len[i];
    }
    return 0;
}

int ml_grad_tile(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *y = k->out[0];
    const float *dy = dout[0]->data;
    int64_t xs[GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 };
    uint64_t n = ml_elems(y);

    if (!din[0])
        return 0;
    if (x->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    ml_strides(x, xs);
    float *dx = din[0]->data;
    for (uint64_t i = 0; i < n; i++) { /* y's index idx reads x at idx mod x's dims */
        int64_t off = 0;
        for (int d = 0; d < y->rank; d++)
            off += idx[d] % x->dim[d] * xs[d];
        dx[off] += dy[i];
        for (int d = y->rank - 1; d >= 0; d--) {
            if (++idx[d] < y->dim[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

int ml_grad_cumsum(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    int axis = 0;
    bool ex = false, rev = false;
    int rc;

    if (!din[0])
        return 0;
    if (k->in[0]->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    if ((rc = ml_cumsum_setup(k, &axis, &ex, &rev)) != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "axis unknown at run time");
    ml_cumsum_run(dout[0], din[0]->data, axis, ex, !rev, true, k->threads);
    return 0;
}

int ml_grad_gmp(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t planes = x->dim[0] * x->dim[1], sp = ml_dims_prod(x, 2, x->rank);
    const float *X = x->data, *dy = dout[0]->data;

    if (!din[0] || !sp)
        return 0;
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = X + p * sp;
        int64_t best = 0;
        for (int64_t s = 1; s < sp; s++)
            if (!isnan(xp[best]) && (isnan(xp[s]) || xp[s] > xp[best]))
                best = s;
        ((float *)din[0]->data)[p * sp + best] += dy[p];
    }
    return 0;
}
