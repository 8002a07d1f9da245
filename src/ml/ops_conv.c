/* Convolutional operators on NCHW (and NCW, as height 1): Conv (im2col + sgemm),
 * MaxPool, AveragePool, GlobalAveragePool, BatchNormalization in inference. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

/* Window geometry of 1 or 2 spatial dims, 1-D mapped to H = 1 (ONNX Conv/Pool specs). */
struct geom {
    int nsp;
    int64_t in[2], k[2], stride[2], dil[2], pb[2], pe[2], out[2];
};

static int ints_n(struct ml_kernel *k, const char *name, size_t want, int64_t dflt, int64_t *dst)
{
    const int64_t *v;
    size_t n;
    int rc;

    if ((rc = ml_attr_ints(k, name, &v, &n)) < 0)
        return rc;
    if (v && n != want)
        return ml_fail(k, GTEE_EFORMAT, "%s has %zu values, expected %zu", name, n, want);
    for (size_t i = 0; i < want; i++)
        dst[i] = v ? v[i] : dflt;
    return 0;
}

/* x: input (rank 3 or 4); ks: kernel sizes (from W for Conv) or NULL to read kernel_shape. */
static int geom_of(struct ml_kernel *k, const struct gtee_ml_tensor *x, const int64_t *ks, bool ceil_ok,
                   struct geom *g)
{
    int64_t ksz[2], st[2], dl[2], pads[4], ceil_mode = 0;
    const char *ap;
    int n, rc;

    if (x->rank != 3 && x->rank != 4)
        return ml_fail(k, GTEE_EUNSUPPORTED, "only 1-D and 2-D spatial inputs are supported (rank %d)", x->rank);
    n = x->rank - 2;
    if ((!ks && (rc = ints_n(k, "kernel_shape", (size_t)n, -1, ksz)) < 0) ||
        (rc = ints_n(k, "strides", (size_t)n, 1, st)) < 0 || (rc = ints_n(k, "dilations", (size_t)n, 1, dl)) < 0 ||
        (rc = ints_n(k, "pads", 2 * (size_t)n, 0, pads)) < 0 || (rc = ml_attr_string(k, "auto_pad", "NOTSET", &ap)) < 0 ||
        (ceil_ok && (rc = ml_attr_int(k, "ceil_mode", 0, &ceil_mode)) < 0))
        return rc;
    memset(g, 0, sizeof(*g));
    g->nsp = n;
    for (int i = 0; i < 2; i++) {
        int s = i - (2 - n); /* index into the model's n dims, < 0 for the added H */
        g->in[i] = s >= 0 ? x->dim[2 + s] : 1;
        g->k[i] = s >= 0 ? (ks ? ks[s] : ksz[s]) : 1;
        g->stride[i] = s >= 0 ? st[s] : 1;
        g->dil[i] = s >= 0 ? dl[s] : 1;
        g->pb[i] = s >= 0 ? pads[s] : 0;
        g->pe[i] = s >= 0 ? pads[s + n] : 0;
        if (g->k[i] < 1 || g->stride[i] < 1 || g->dil[i] < 1 || g->pb[i] < 0 || g->pe[i] < 0 || g->k[i] > (1 << 20) ||
            g->stride[i] > (1 << 20) || g->dil[i] > (1 << 20) || g->pb[i] > (1 << 20) || g->pe[i] > (1 << 20))
            return ml_fail(k, GTEE_EFORMAT, "kernel, strides, dilations or pads out of range");
    }
    for (int i = 0; i < 2; i++) {
        int64_t ext = (g->k[i] - 1) * g->dil[i] + 1, in = g->in[i];
        if (in < 0) {
            g->out[i] = -1;
            continue;
        }
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            int64_t out = (in + g->stride[i] - 1) / g->stride[i];
            int64_t total = (out - 1) * g->stride[i] + ext - in;
            total = total < 0 ? 0 : total;
            g->pb[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            g->pe[i] = total - g->pb[i];
            g->out[i] = out;
            continue;
        }
        if (!strcmp(ap, "VALID"))
            g->pb[i] = g->pe[i] = 0;
        else if (strcmp(ap, "NOTSET"))
            return ml_fail(k, GTEE_EUNSUPPORTED, "auto_pad %s", ap);
        if (in + g->pb[i] + g->pe[i] < ext)
            return ml_fail(k, GTEE_EFORMAT, "the window is larger than the padded input");
        g->out[i] = (in + g->pb[i] + g->pe[i] - ext) / g->stride[i] + 1;
        if (ceil_mode && (in + g->pb[i] + g->pe[i] - ext) % g->stride[i]) {
            g->out[i]++;
            if ((g->out[i] - 1) * g->stride[i] >= in + g->pb[i]) /* a window must start inside */
                g->out[i]--;
        }
    }
    return 0;
}

static void set_out(struct gtee_ml_tensor *y, const struct gtee_ml_tensor *x, int64_t c, const struct geom *g)
{
    y->dtype = GTEE_ML_FLOAT;
    y->rank = x->rank;
    y->dim[0] = x->dim[0];
    y->dim[1] = c;
    for (int s = 0; s < g->nsp; s++)
        y->dim[2 + s] = g->out[2 - g->nsp + s];
}

static const char *const conv_attrs[] = { "kernel_shape", "strides", "dilations", "pads", "auto_pad", "group", NULL };

static int conv_setup(struct ml_kernel *k, struct geom *g, int64_t *group)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *b = ml_in(k, 2);
    int64_t ks[2] = { 0, 0 }, ksz[2];
    int rc;

    if ((rc = ml_attr_only(k, conv_attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 || (rc = ml_need(k, 1, F32)) < 0 ||
        (b && (rc = ml_need(k, 2, F32)) < 0) || (rc = ml_attr_int(k, "group", 1, group)) < 0)
        return rc;
    if (w->rank != x->rank || !ml_known(w))
        return ml_fail(k, GTEE_EFORMAT, "W must have the input's rank and a known shape");
    for (int s = 0; s < w->rank - 2; s++)
        ks[s] = w->dim[2 + s];
    if (ml_attr(k, "kernel_shape")) {
        if ((rc = ints_n(k, "kernel_shape", (size_t)(w->rank - 2), 0, ksz)) < 0)
            return rc;
        for (int s = 0; s < w->rank - 2; s++)
            if (ksz[s] != ks[s])
                return ml_fail(k, GTEE_EFORMAT, "kernel_shape differs from W's shape");
    }
    if (*group < 1 || w->dim[0] % *group || (x->dim[1] >= 0 && x->dim[1] != w->dim[1] * *group))
        return ml_fail(k, GTEE_EFORMAT, "channels (%lld) do not match W (%lld x group %lld)", (long long)x->dim[1],
                       (long long)w->dim[1], (long long)*group);
    if (b && (b->rank != 1 || (b->dim[0] >= 0 && b->dim[0] != w->dim[0])))
        return ml_fail(k, GTEE_EFORMAT, "B must have M = %lld elements", (long long)w->dim[0]);
    return geom_of(k, x, ks, false, g);
}

static int infer_conv(struct ml_kernel *k)
{
    struct geom g;
    int64_t group;
    int rc = conv_setup(k, &g, &group);

    if (rc == 0)
        set_out(k->out[0], k->in[0], k->in[1]->dim[0], &g);
    return rc;
}

static size_t conv_work(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *w = k->in[1], *y = k->out[0];
    size_t kk = (size_t)ml_dims_prod(w, 1, w->rank), spatial = (size_t)ml_dims_prod(y, 2, y->rank);

    return kk * spatial * sizeof(float);
}

/* cols[(c, ki, kj), (oi, oj)] = x[c, oi*s - pb + ki*d, ...] or 0 in the padding. Along W the
 * columns whose tap lands inside the input form one range, copied without tests. */
static void im2col(const float *x, int64_t c, const struct geom *g, float *cols)
{
    size_t r = 0;
    int64_t ow = g->out[1], s1 = g->stride[1];

    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ki = 0; ki < g->k[0]; ki++)
            for (int64_t kj = 0; kj < g->k[1]; kj++, r++) {
                float *row = cols + r * (size_t)(g->out[0] * ow);
                int64_t off = kj * g->dil[1] - g->pb[1], lo, hi;
                /* oj in [lo, hi) <=> 0 <= oj*s1 + off < in[1] */
                lo = off >= 0 ? 0 : (-off + s1 - 1) / s1;
                hi = g->in[1] - off <= 0 ? 0 : (g->in[1] - off - 1) / s1 + 1;
                lo = lo > ow ? ow : lo;
                hi = hi > ow ? ow : hi < lo ? lo : hi;
                for (int64_t oi = 0; oi < g->out[0]; oi++) {
                    int64_t ii = oi * g->stride[0] - g->pb[0] + ki * g->dil[0];
                    float *dst = row + oi * ow;
                    if (ii < 0 || ii >= g->in[0]) {
                        memset(dst, 0, sizeof(float) * (size_t)ow);
                        continue;
                    }
                    const float *src = x + (ch * g->in[0] + ii) * g->in[1] + off;
                    for (int64_t oj = 0; oj < lo; oj++)
                        dst[oj] = 0.0f;
                    if (s1 == 1)
                        memcpy(dst + lo, src + lo, sizeof(float) * (size_t)(hi - lo));
                    else
                        for (int64_t oj = lo; oj < hi; oj++)
                            dst[oj] = src[oj * s1];
                    for (int64_t oj = hi; oj < ow; oj++)
                        dst[oj] = 0.0f;
                }
            }
}

static int fwd_conv(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *b = ml_in(k, 2);
    struct geom g;
    int64_t group;
    float *y = k->out[0]->data;

    if (conv_setup(k, &g, &group) < 0)
        return GTEE_EFORMAT;
    int64_t n = x->dim[0], cg = w->dim[1], m = w->dim[0], mg = m / group;
    int64_t kk = cg * g.k[0] * g.k[1], sp = g.out[0] * g.out[1], insz = g.in[0] * g.in[1];
    bool direct = g.k[0] == 1 && g.k[1] == 1 && g.stride[0] == 1 && g.stride[1] == 1 && !g.pb[0] && !g.pb[1] &&
                  !g.pe[0] && !g.pe[1];

    for (int64_t i = 0; i < n; i++)
        for (int64_t gi = 0; gi < group; gi++) {
            const float *xg = (const float *)x->data + (i * group + gi) * cg * insz;
            const float *cols = xg;
            float *yg = y + (i * m + gi * mg) * sp;
            if (!direct) {
                im2col(xg, cg, &g, k->work);
                cols = k->work;
            }
            if (sp && mg)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)sp, (int)kk, 1.0f,
                            (const float *)w->data + gi * mg * kk, (int)kk, cols, (int)sp, 0.0f, yg, (int)sp);
            for (int64_t o = 0; o < mg && b; o++)
                for (int64_t s = 0; s < sp; s++)
                    yg[o * sp + s] += ((const float *)b->data)[gi * mg + o];
        }
    return 0;
}

static const char *const pool_attrs[] = { "kernel_shape", "strides", "dilations", "pads", "auto_pad",
                                          "ceil_mode", "count_include_pad", "storage_order", NULL };

static int pool_setup(struct ml_kernel *k, struct geom *g)
{
    int64_t so;
    int rc;

    if ((rc = ml_attr_only(k, pool_attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 ||
        (rc = ml_attr_int(k, "storage_order", 0, &so)) < 0)
        return rc;
    if (!ml_attr(k, "kernel_shape"))
        return ml_fail(k, GTEE_EFORMAT, "kernel_shape is required");
    if (!strcmp(k->node->op_type, "AveragePool") && ml_attr(k, "dilations"))
        return ml_fail(k, GTEE_EUNSUPPORTED, "dilations on AveragePool are not supported");
    return geom_of(k, k->in[0], NULL, true, g);
}

static int infer_pool(struct ml_kernel *k)
{
    struct geom g;
    int rc = pool_setup(k, &g);

    if (rc == 0)
        set_out(k->out[0], k->in[0], k->in[0]->dim[1], &g);
    return rc;
}

/* Kernel taps [lo, hi) of one window that fall inside the input (taps at o*s - p + t*d). */
static void taps(int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t l = start < 0 ? (-start + d - 1) / d : 0, h = start + (k - 1) * d >= n ? (n - 1 - start) / d + 1 : k;

    if (start >= n) /* a window wholly in the end padding */
        h = 0;
    l = l > k ? k : l;
    *lo = l;
    *hi = h < l ? l : h;
}

/* Tap ranges per output row and column, computed once per call: [lo, hi) inside the input,
 * and [plo, phi) inside the padded input (count_include_pad). */
static size_t pool_work(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *y = k->out[0];
    int64_t rows = y->rank == 4 ? y->dim[2] : 1, cols = y->dim[y->rank - 1];

    return (size_t)(rows + cols) * 4 * sizeof(int64_t);
}

static void pool_taps(const struct geom *g, int axis, int64_t *t)
{
    for (int64_t o = 0; o < g->out[axis]; o++) {
        int64_t start = o * g->stride[axis] - g->pb[axis];
        taps(start, g->k[axis], g->dil[axis], g->in[axis], &t[4 * o], &t[4 * o + 1]);
        taps(start + g->pb[axis], g->k[axis], g->dil[axis], g->in[axis] + g->pb[axis] + g->pe[axis], &t[4 * o + 2],
             &t[4 * o + 3]);
    }
}

/* One output row of a pool in the general way: any window clipping, NaN propagation. */
static void pool_row(const float *xp, const struct geom *g, const int64_t *ri, const int64_t *tj, int64_t oi,
                     bool maxp, int64_t incl, int64_t from, int64_t to, float *yrow)
{
    int64_t i0 = oi * g->stride[0] - g->pb[0];

    for (int64_t oj = from; oj < to; oj++) {
        const int64_t *rj = tj + 4 * oj, j0 = oj * g->stride[1] - g->pb[1];
        float acc = maxp ? -INFINITY : 0.0f;
        bool nan = false;
        for (int64_t ki = ri[0]; ki < ri[1]; ki++) {
            const float *row = xp + (i0 + ki * g->dil[0]) * g->in[1] + j0;
            for (int64_t kj = rj[0]; kj < rj[1]; kj++) {
                float v = row[kj * g->dil[1]];
                if (maxp)
                    acc = v > acc ? v : acc;
                else
                    acc += v;
                nan |= v != v;
            }
        }
        if (!maxp) {
            int64_t cnt = incl ? (ri[3] - ri[2]) * (rj[3] - rj[2]) : (ri[1] - ri[0]) * (rj[1] - rj[0]);
            acc = cnt ? acc / (float)cnt : 0.0f;
        }
        yrow[oj] = nan ? NAN : acc;
    }
}

static int fwd_pool(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    bool maxp = !strcmp(k->node->op_type, "MaxPool");
    int64_t incl, *ti = k->work, *tj, lo = 0, hi;
    struct geom g;
    float *y = k->out[0]->data;

    if (pool_setup(k, &g) < 0 || ml_attr_int(k, "count_include_pad", 0, &incl) < 0)
        return GTEE_EFORMAT;
    tj = ti + 4 * g.out[0];
    pool_taps(&g, 0, ti);
    pool_taps(&g, 1, tj);
    /* Columns [lo, hi) whose windows lie wholly inside the input along W. */
    while (lo < g.out[1] && (tj[4 * lo] != 0 || tj[4 * lo + 1] != g.k[1]))
        lo++;
    hi = lo;
    while (hi < g.out[1] && tj[4 * hi] == 0 && tj[4 * hi + 1] == g.k[1])
        hi++;
    int64_t planes = x->dim[0] * x->dim[1], s1 = g.stride[1], d1 = g.dil[1];
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = (const float *)x->data + p * g.in[0] * g.in[1];
        for (int64_t oi = 0; oi < g.out[0]; oi++) {
            const int64_t *ri = ti + 4 * oi, i0 = oi * g.stride[0] - g.pb[0];
            float *yrow = y + (p * g.out[0] + oi) * g.out[1];
            bool nan = false;

            pool_row(xp, &g, ri, tj, oi, maxp, incl, 0, lo, yrow);
            pool_row(xp, &g, ri, tj, oi, maxp, incl, hi, g.out[1], yrow);
            /* interior: one pass per tap over the row, which the compiler vectorizes */
            for (int64_t oj = lo; oj < hi; oj++)
                yrow[oj] = maxp ? -INFINITY : 0.0f;
            for (int64_t ki = ri[0]; ki < ri[1]; ki++) {
                const float *row = xp + (i0 + ki * g.dil[0]) * g.in[1] - g.pb[1];
                for (int64_t kj = 0; kj < g.k[1]; kj++) {
                    const float *src = row + kj * d1;
                    if (maxp)
                        for (int64_t oj = lo; oj < hi; oj++) {
                            float v = src[oj * s1];
                            yrow[oj] = v > yrow[oj] ? v : yrow[oj];
                            nan |= v != v;
                        }
                    else
                        for (int64_t oj = lo; oj < hi; oj++)
                            yrow[oj] += src[oj * s1];
                }
            }
            if (!maxp && hi > lo) {
                int64_t cnt = incl ? (ri[3] - ri[2]) * g.k[1] : (ri[1] - ri[0]) * g.k[1];
                float inv = cnt ? 1.0f / (float)cnt : 0.0f;
                for (int64_t oj = lo; oj < hi; oj++)
                    yrow[oj] = cnt ? yrow[oj] * inv : 0.0f;
            }
            if (nan) /* a NaN in some window: redo the row the general way */
                pool_row(xp, &g, ri, tj, oi, maxp, incl, lo, hi, yrow);
        }
    }
    return 0;
}

static int infer_gap(struct ml_kernel *k)
{
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, F32)) < 0)
        return rc;
    if (k->in[0]->rank < 3)
        return ml_fail(k, GTEE_EFORMAT, "input must have rank >= 3");
    ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    for (int d = 2; d < k->in[0]->rank; d++)
        k->out[0]->dim[d] = 1;
    return 0;
}

static int fwd_gap(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t planes = x->dim[0] * x->dim[1], sp = ml_dims_prod(x, 2, x->rank);

    for (int64_t p = 0; p < planes; p++) {
        double acc = 0;
        for (int64_t s = 0; s < sp; s++)
            acc += ((const float *)x->data)[p * sp + s];
        ((float *)k->out[0]->data)[p] = sp ? (float)(acc / (double)sp) : 0.0f;
    }
    return 0;
}

static int infer_bn(struct ml_kernel *k)
{
    static const char *const attrs[] = { "epsilon", "momentum", "training_mode", "spatial", "is_test", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t training, spatial;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_int(k, "training_mode", 0, &training)) < 0 ||
        (rc = ml_attr_int(k, "spatial", 1, &spatial)) < 0)
        return rc;
    if (training || !spatial)
        return ml_fail(k, GTEE_EUNSUPPORTED, "training mode and spatial=0 are not supported");
    for (size_t i = 0; i < 5; i++)
        if ((rc = ml_need(k, i, F32)) < 0)
            return rc;
    if (x->rank < 2)
        return ml_fail(k, GTEE_EFORMAT, "input must have rank >= 2");
    for (size_t i = 1; i < 5; i++)
        if (k->in[i]->rank != 1 || (x->dim[1] >= 0 && k->in[i]->dim[0] >= 0 && k->in[i]->dim[0] != x->dim[1]))
            return ml_fail(k, GTEE_EFORMAT, "input %zu must be 1-D with C elements", i);
    ml_set_like(k->out[0], x, GTEE_ML_FLOAT);
    return 0;
}

static int fwd_bn(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *sc = k->in[1]->data, *bi = k->in[2]->data, *mu = k->in[3]->data, *var = k->in[4]->data;
    int64_t n = x->dim[0], c = x->dim[1], sp = ml_dims_prod(x, 2, x->rank);
    float eps;

    if (ml_attr_float(k, "epsilon", 1e-5f, &eps) < 0)
        return GTEE_EFORMAT;
    for (int64_t ch = 0; ch < c; ch++) {
        float a = sc[ch] / sqrtf(var[ch] + eps), b = bi[ch] - mu[ch] * a;
        for (int64_t i = 0; i < n; i++) {
            const float *xp = (const float *)x->data + (i * c + ch) * sp;
            float *yp = (float *)k->out[0]->data + (i * c + ch) * sp;
            for (int64_t s = 0; s < sp; s++)
                yp[s] = xp[s] * a + b;
        }
    }
    return 0;
}

const struct ml_op ml_ops_conv[] = {
    { "Conv", 1, ML_MAX_OPSET, 2, 3, 1, 1, infer_conv, fwd_conv, conv_work, ml_grad_conv, false },
    { "MaxPool", 8, ML_MAX_OPSET, 1, 1, 1, 1, infer_pool, fwd_pool, pool_work, ml_grad_pool, false },
    { "AveragePool", 7, ML_MAX_OPSET, 1, 1, 1, 1, infer_pool, fwd_pool, pool_work, ml_grad_pool, false },
    { "GlobalAveragePool", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_gap, fwd_gap, NULL, ml_grad_gap, false },
    { "BatchNormalization", 7, ML_MAX_OPSET, 5, 5, 1, 1, infer_bn, fwd_bn, NULL, ml_grad_bn, false },
};
const size_t ml_ops_conv_n = sizeof(ml_ops_conv) / sizeof(ml_ops_conv[0]);
