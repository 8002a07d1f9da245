/* Backward passes of ReduceSum and ReduceMax (ops_reduce_ext.c; docs/ml-training.md):
 * ReduceSum hands each output's gradient to every element it summed, ReduceMax to the
 * element that won (the first of equal maxima, as the forward pass picks it). */
#include <math.h>

#include "ml/grad.h"

int ml_grad_reduce_sum(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *dy = dout[0]->data;
    bool red[GTEE_ML_MAX_RANK], noop;
    int64_t ost[GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, acc = 1, off = 0, keep;
    int rc;

    if (!din[0])
        return 0;
    if (x->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    if ((rc = ml_reduce_axes(k, red, &keep, &noop)) != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "axes unknown at run time");
    for (int d = x->rank - 1; d >= 0; d--) {
        ost[d] = red[d] ? 0 : acc;
        acc *= red[d] ? 1 : x->dim[d];
    }
    uint64_t n = ml_elems(x);
    float *dx = din[0]->data;
    for (uint64_t i = 0; i < n; i++) {
        dx[i] += dy[off];
        for (int d = x->rank - 1; d >= 0; d--) {
            idx[d]++;
            off += ost[d];
            if (idx[d] < x->dim[d])
                break;
            off -= ost[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}

int ml_grad_reduce_max(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *X = x->data, *dy = dout[0]->data;
    bool red[GTEE_ML_MAX_RANK], noop;
    int64_t kdim[GTEE_ML_MAX_RANK], kst[GTEE_ML_MAX_RANK], rdim[GTEE_ML_MAX_RANK], rst[GTEE_ML_MAX_RANK], cnt, keep;
    int nk, nr, rc;

    if (!din[0])
        return 0;
    if (x->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    if ((rc = ml_reduce_axes(k, red, &keep, &noop)) != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "axes unknown at run time");
    ml_reduce_split(x, red, kdim, kst, &nk, rdim, rst, &nr, &cnt);
    uint64_t ny = ml_elems(k->out[0]);
    float *dx = din[0]->data;
    for (uint64_t o = 0; o < ny; o++) {
        int64_t base = 0, rem = (int64_t)o, idx[GTEE_ML_MAX_RANK] = { 0 }, off = 0, best = -1;
        float bv = 0;

        for (int d = nk - 1; d >= 0; d--) {
            base += (rem % kdim[d]) * kst[d];
            rem /= kdim[d];
        }
        for (int64_t i = 0; i < cnt; i++) {
            float v = X[base + off];
            if (best < 0 || (!isnan(bv) && (isnan(v) || v > bv))) {
                bv = v;
                best = base + off;
            }
            for (int d = nr - 1; d >= 0; d--) {
                off += rst[d];
                if (++idx[d] < rdim[d])
                    break;
                off -= rst[d] * idx[d];
                idx[d] = 0;
            }
        }
        if (best >= 0)
            dx[best] += dy[o];
    }
    return 0;
}
