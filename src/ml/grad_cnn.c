/* Backward passes of the convolutional family on NCHW (NCW as height 1): Conv (dW from
 * im2col columns, dX by col2im of W^T dY, both through sgemm), MaxPool (the gradient goes
 * to the first maximum of each window, the one the forward pass keeps), AveragePool and
 * GlobalAveragePool (BatchNormalization is in grad_bn.c). The window geometry is re-read from the same
 * attributes ops_conv.c checked; the output size comes from the output tensor. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/grad.h"

struct win {
    int64_t in[2], k[2], s[2], d[2], pb[2], pe[2], out[2];
};

static int ints_attr(struct ml_kernel *k, const char *name, int n, int64_t dflt, int64_t *dst)
{
    const int64_t *v;
    size_t cnt;
    int rc = ml_attr_ints(k, name, &v, &cnt);

    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        dst[i] = v && cnt == (size_t)n ? v[i] : dflt;
    return 0;
}

/* ks: kernel sizes (Conv: from W) or NULL (pools: kernel_shape). */
static int win_of(struct ml_kernel *k, const int64_t *ks, struct win *w)
{
    const struct gtee_ml_tensor *x = k->in[0], *y = k->out[0];
    int n = x->rank - 2, rc;
    int64_t ksz[2] = { 1, 1 }, st[2], dl[2], pads[4];
    const char *ap;

    if (n < 1 || n > 2)
        return ml_fail(k, GTEE_EUNSUPPORTED, "backward: only 1-D and 2-D spatial inputs");
    if ((!ks && (rc = ints_attr(k, "kernel_shape", n, 1, ksz)) < 0) || (rc = ints_attr(k, "strides", n, 1, st)) < 0 ||
        (rc = ints_attr(k, "dilations", n, 1, dl)) < 0 || (rc = ints_attr(k, "pads", 2 * n, 0, pads)) < 0 ||
        (rc = ml_attr_string(k, "auto_pad", "NOTSET", &ap)) < 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        int s = i - (2 - n);
        w->in[i] = s >= 0 ? x->dim[2 + s] : 1;
        w->out[i] = s >= 0 ? y->dim[2 + s] : 1;
        w->k[i] = s >= 0 ? (ks ? ks[s] : ksz[s]) : 1;
        w->s[i] = s >= 0 ? st[s] : 1;
        w->d[i] = s >= 0 ? dl[s] : 1;
        w->pb[i] = s >= 0 ? pads[s] : 0;
        w->pe[i] = s >= 0 ? pads[s + n] : 0;
        if (s >= 0 && !strcmp(ap, "VALID"))
            w->pb[i] = w->pe[i] = 0;
        if (s >= 0 && (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"))) {
            int64_t total = (w->out[i] - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] + 1 - w->in[i];
            total = total < 0 ? 0 : total;
            w->pb[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
        }
    }
    return 0;
}

/* Position of tap t of output o along axis a in the input, or -1 in the padding. */
static inline int64_t tap(const struct win *w, int a, int64_t o, int64_t t)
{
    int64_t p = o * w->s[a] - w->pb[a] + t * w->d[a];
    return p >= 0 && p < w->in[a] ? p : -1;
}

/* cols row r starts at cols + r * ld (ld >= out[0] * out[1]: several samples side by side). */
static void im2col(const float *x, int64_t c, const struct win *w, float *cols, int64_t ld)
{

    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ki = 0; ki < w->k[0]; ki++)
            for (int64_t kj = 0; kj < w->k[1]; kj++) {
                float *row = cols + ((ch * w->k[0] + ki) * w->k[1] + kj) * ld;
                for (int64_t oi = 0; oi < w->out[0]; oi++) {
                    int64_t ii = tap(w, 0, oi, ki);
                    for (int64_t oj = 0; oj < w->out[1]; oj++) {
                        int64_t jj = tap(w, 1, oj, kj);
                        row[oi * w->out[1] + oj] = ii >= 0 && jj >= 0 ? x[(ch * w->in[0] + ii) * w->in[1] + jj] : 0.0f;
                    }
                }
            }
}

/* The adjoint of im2col: dx += the columns' entries at the positions they were read from. */
static void col2im(const float *cols, int64_t c, const struct win *w, float *dx, int64_t ld)
{

    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ki = 0; ki < w->k[0]; ki++)
            for (int64_t kj = 0; kj < w->k[1]; kj++) {
                const float *row = cols + ((ch * w->k[0] + ki) * w->k[1] + kj) * ld;
                for (int64_t oi = 0; oi < w->out[0]; oi++) {
                    int64_t ii = tap(w, 0, oi, ki);
                    if (ii < 0)
                        continue;
                    for (int64_t oj = 0; oj < w->out[1]; oj++) {
                        int64_t jj = tap(w, 1, oj, kj);
                        if (jj >= 0)
                            dx[(ch * w->in[0] + ii) * w->in[1] + jj] += row[oi * w->out[1] + oj];
                    }
                }
            }
}

int ml_grad_conv(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *wt = k->in[1];
    const float *dy = dout[0]->data, *W = wt->data;
    int64_t ks[2] = { 1, 1 }, group;
    struct win w;
    float *cols = NULL, *dcols = NULL;
    int rc;

    for (int s = 0; s < wt->rank - 2; s++)
        ks[s] = wt->dim[2 + s];
    if ((rc = ml_attr_int(k, "group", 1, &group)) < 0 || (rc = win_of(k, ks, &w)) < 0)
        return rc;
    int64_t n = x->dim[0], cg = wt->dim[1], m = wt->dim[0], mg = m / group;
    int64_t kk = cg * w.k[0] * w.k[1], sp = w.out[0] * w.out[1], insz = w.in[0] * w.in[1];

    if (k->n_in > 2 && k->in[2] && din[2]) /* dB[o] = sum over samples and positions of dY */
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = 0; o < m; o++) {
                float acc = 0.0f;
                for (int64_t s = 0; s < sp; s++)
                    acc += dy[(i * m + o) * sp + s];
                ((float *)din[2]->data)[o] += acc;
            }
    if ((!din[0] && !din[1]) || !sp || !kk || !mg || !n)
        return 0;
    /* Samples are taken in chunks side by side, so that each product is one large sgemm:
     * cols [kk, chunk * sp], dY_g as [mg, chunk * sp]. The chunk depends on the shapes
     * only, so the summation order (and the result) is the same on every run. */
    int64_t chunk = (int64_t)(((size_t)1 << 22) / (size_t)(kk * sp));
    chunk = chunk < 1 ? 1 : chunk > n ? n : chunk;
    size_t cap = (size_t)(kk * sp * chunk);
    float *dyt = malloc((size_t)(mg * sp * chunk) * sizeof(float) + 1);
    cols = malloc(cap * sizeof(float) + 1);
    dcols = malloc(cap * sizeof(float) + 1);
    if (!cols || !dcols || !dyt) {
        free(cols);
        free(dcols);
        free(dyt);
        return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for %zu columns", cap);
    }
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int64_t cnt = n - i0 < chunk ? n - i0 : chunk, ld = cnt * sp;
        for (int64_t gi = 0; gi < group; gi++) {
            for (int64_t i = 0; i < cnt; i++)
                for (int64_t o = 0; o < mg; o++)
                    memcpy(dyt + o * ld + i * sp, dy + ((i0 + i) * m + gi * mg + o) * sp, (size_t)sp * sizeof(float));
            if (din[1]) { /* dW_g += dY_g cols^T */
                for (int64_t i = 0; i < cnt; i++)
                    im2col((const float *)x->data + ((i0 + i) * group + gi) * cg * insz, cg, &w, cols + i * sp, ld);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mg, (int)kk, (int)ld, 1.0f, dyt, (int)ld,
                            cols, (int)ld, 1.0f, (float *)din[1]->data + gi * mg * kk, (int)kk);
            }
            if (din[0]) { /* dcols = W_g^T dY_g, scattered back */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)ld, (int)mg, 1.0f, W + gi * mg * kk,
                            (int)kk, dyt, (int)ld, 0.0f, dcols, (int)ld);
                for (int64_t i = 0; i < cnt; i++)
                    col2im(dcols + i * sp, cg, &w, (float *)din[0]->data + ((i0 + i) * group + gi) * cg * insz, ld);
            }
        }
    }
    free(cols);
    free(dcols);
    free(dyt);
    return 0;
}

/* Taps of a window along one axis that lie in [0, n) when it starts at start. */
static int64_t inside(int64_t start, int64_t kk, int64_t d, int64_t n)
{
    int64_t c = 0;

    for (int64_t t = 0; t < kk; t++)
        c += start + t * d >= 0 && start + t * d < n;
    return c;
}

int ml_grad_pool(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    bool maxp = !strcmp(k->node->op_type, "MaxPool");
    const float *dy = dout[0]->data, *X = x->data;
    int64_t incl = 0;
    struct win w;
    int rc;

    if (!din[0])
        return 0;
    if ((rc = win_of(k, NULL, &w)) < 0 || (rc = ml_attr_int(k, "count_include_pad", 0, &incl)) < 0)
        return rc;
    int64_t planes = x->dim[0] * x->dim[1], insz = w.in[0] * w.in[1], osz = w.out[0] * w.out[1];
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = X + p * insz;
        float *dx = (float *)din[0]->data + p * insz;
        for (int64_t oi = 0; oi < w.out[0]; oi++)
            for (int64_t oj = 0; oj < w.out[1]; oj++) {
                float g = dy[p * osz + oi * w.out[1] + oj], best = -INFINITY;
                int64_t at = -1, cnt;
                if (maxp) {
                    for (int64_t ki = 0; ki < w.k[0]; ki++) {
                        int64_t ii = tap(&w, 0, oi, ki);
                        for (int64_t kj = 0; kj < w.k[1] && ii >= 0; kj++) {
                            int64_t jj = tap(&w, 1, oj, kj);
                            if (jj >= 0 && (at < 0 || xp[ii * w.in[1] + jj] > best)) {
                                best = xp[ii * w.in[1] + jj];
                                at = ii * w.in[1] + jj;
                            }
                        }
                    }
                    if (at >= 0)
                        dx[at] += g;
                    continue;
                }
                if (incl)
                    cnt = inside(oi * w.s[0], w.k[0], w.d[0], w.in[0] + w.pb[0] + w.pe[0]) *
                          inside(oj * w.s[1], w.k[1], w.d[1], w.in[1] + w.pb[1] + w.pe[1]);
                else
                    cnt = inside(oi * w.s[0] - w.pb[0], w.k[0], w.d[0], w.in[0]) *
                          inside(oj * w.s[1] - w.pb[1], w.k[1], w.d[1], w.in[1]);
                if (!cnt)
                    continue;
                g /= (float)cnt;
                for (int64_t ki = 0; ki < w.k[0]; ki++) {
                    int64_t ii = tap(&w, 0, oi, ki);
                    for (int64_t kj = 0; kj < w.k[1] && ii >= 0; kj++) {
                        int64_t jj = tap(&w, 1, oj, kj);
                        if (jj >= 0)
                            dx[ii * w.in[1] + jj] += g;
                    }
                }
            }
    }
    return 0;
}

int ml_grad_gap(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t planes = x->dim[0] * x->dim[1], sp = ml_dims_prod(x, 2, x->rank);
    const float *dy = dout[0]->data;

    if (!din[0] || !sp)
        return 0;
    for (int64_t p = 0; p < planes; p++) {
        float g = dy[p] / (float)sp, *dx = (float *)din[0]->data + p * sp;
        for (int64_t s = 0; s < sp; s++)
            dx[s] += g;
    }
    return 0;
}
