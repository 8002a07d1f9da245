/* Backward pass of Resize (ops_resize.c; docs/ml-training.md): the forward pass is linear in
 * x, each output a weighted sum of source elements, so each output's dy is added back into
 * those sources with the same weights (nearest: into its one source). */
#include "ml/grad.h"

int ml_grad_resize(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *y = k->out[0];
    const float *dy = dout[0]->data;
    int64_t *idx = NULL, xs[GTEE_ML_MAX_RANK], base[GTEE_ML_MAX_RANK] = { 0 }, o[GTEE_ML_MAX_RANK] = { 0 };
    float *w = NULL;
    bool active[GTEE_ML_MAX_RANK];
    uint64_t n = ml_elems(y);
    int r = y->rank, rc;

    if (!din[0] || n == 0)
        return 0;
    if (r == 0) {
        *(float *)din[0]->data += dy[0];
        return 0;
    }
    if ((rc = ml_resize_tables(k, &idx, &w, active)) < 0)
        goto out;
    ml_strides(x, xs);
    for (int d = 1; d < r; d++)
        base[d] = base[d - 1] + y->dim[d - 1];
    float *dx = din[0]->data;
    for (uint64_t i = 0; i < n; i++) {
        int ax[GTEE_ML_MAX_RANK], na = 0;
        int64_t off0 = 0;
        float w0 = 1.0f;
        for (int d = 0; d < r; d++) {
            int64_t e = 2 * (base[d] + o[d]);
            off0 += idx[e] * xs[d];
            if (active[d] && w[e + 1] != 0.0f)
                ax[na++] = d;
            else
                w0 *= w[e];
        }
        for (int m = 0; m < (1 << na); m++) {
            int64_t off = off0;
            float wt = w0;
            for (int q = 0; q < na; q++) {
                int64_t e = 2 * (base[ax[q]] + o[ax[q]]);
                int s = (m >> q) & 1;
                off += (idx[e + s] - idx[e]) * xs[ax[q]];
                wt *= w[e + s];
            }
            dx[off] += wt * dy[i];
        }
        for (int d = r - 1; d >= 0; d--) {
            if (++o[d] < y->dim[d])
                break;
            o[d] = 0;
        }
    }
out:
    ml_free(idx);
    ml_free(w);
    return rc;
}
