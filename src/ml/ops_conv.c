/* Convolutional operators on NCHW (and NCW, as height 1): Conv (im2col + sgemm),
 * GlobalAveragePool, BatchNormalization in inference. Pooling is in ops_pool.c. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "ml/geom.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

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
        if ((rc = ml_geom_ints(k, "kernel_shape", (size_t)(w->rank - 2), 0, ksz)) < 0)
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
    return ml_geom(k, x, ks, false, g);
}

static int infer_conv(struct ml_kernel *k)
{
    struct geom g;
    int64_t group;
    int rc = conv_setup(k, &g, &group);

    if (rc == 0)
        ml_geom_out(k->out[0], k->in[0], k->in[1]->dim[0], &g);
    return rc;
}

/* Images (times groups) are split across threads when each has enough work; each thread
 * has its own im2col matrix, and the products then run one OpenBLAS thread each. */
#define CONV_PAR_MIN_MACS (1u << 18)

static int conv_pieces(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *w = k->in[1], *y = k->out[0];
    uint64_t macs = (uint64_t)ml_dims_prod(w, 0, w->rank) * (uint64_t)ml_dims_prod(y, 2, y->rank);

    if (k->threads <= 1 || y->dim[0] < 2 || macs < CONV_PAR_MIN_MACS)
        return 1;
    return k->threads < y->dim[0] ? k->threads : (int)y->dim[0];
}

static size_t conv_work(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *w = k->in[1], *y = k->out[0];
    size_t kk = (size_t)ml_dims_prod(w, 1, w->rank), spatial = (size_t)ml_dims_prod(y, 2, y->rank);

    return kk * spatial * sizeof(float) * (size_t)conv_pieces(k);
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

struct conv_job {
    const struct ml_kernel *k;
    struct geom g;
    int64_t group;
    bool direct;
};

/* Images [lo, hi) of the batch, into scratch piece `piece`. */
static void conv_images(void *arg, size_t piece, size_t lo, size_t hi)
{
    const struct conv_job *j = arg;
    const struct ml_kernel *k = j->k;
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *b = ml_in(k, 2);
    const struct geom *g = &j->g;
    int64_t cg = w->dim[1], m = w->dim[0], mg = m / j->group;
    int64_t kk = cg * g->k[0] * g->k[1], sp = g->out[0] * g->out[1], insz = g->in[0] * g->in[1];
    float *y = k->out[0]->data, *work = (float *)k->work + piece * (size_t)(kk * sp);

    for (size_t i = lo; i < hi; i++)
        for (int64_t gi = 0; gi < j->group; gi++) {
            const float *xg = (const float *)x->data + ((int64_t)i * j->group + gi) * cg * insz;
            const float *cols = xg;
            float *yg = y + ((int64_t)i * m + gi * mg) * sp;
            if (!j->direct) {
                im2col(xg, cg, g, work);
                cols = work;
            }
            if (sp && mg)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)sp, (int)kk, 1.0f,
                            (const float *)w->data + gi * mg * kk, (int)kk, cols, (int)sp, 0.0f, yg, (int)sp);
            for (int64_t o = 0; o < mg && b; o++)
                for (int64_t s = 0; s < sp; s++)
                    yg[o * sp + s] += ((const float *)b->data)[gi * mg + o];
        }
}

static int fwd_conv(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *w = k->in[1];
    struct conv_job j = { .k = k };
    int pieces = conv_pieces(k);

    if (conv_setup(k, &j.g, &j.group) < 0)
        return GTEE_EFORMAT;
    j.direct = j.g.k[0] == 1 && j.g.k[1] == 1 && j.g.stride[0] == 1 && j.g.stride[1] == 1 && !j.g.pb[0] &&
               !j.g.pb[1] && !j.g.pe[0] && !j.g.pe[1];
    /* several pieces: one OpenBLAS thread per product (set here, before the threads start) */
    ml_blas_threads(pieces > 1 ? 1 : k->threads,
                    (uint64_t)(w->dim[0] / j.group) * (uint64_t)ml_dims_prod(k->out[0], 2, k->out[0]->rank) *
                        (uint64_t)ml_dims_prod(w, 1, w->rank));
    ml_parallel_pieces(pieces, (size_t)k->in[0]->dim[0], 1, conv_images, &j);
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
    { "GlobalAveragePool", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_gap, fwd_gap, NULL, ml_grad_gap, false },
    { "BatchNormalization", 7, ML_MAX_OPSET, 5, 5, 1, 1, infer_bn, fwd_bn, NULL, ml_grad_bn, false },
};
const size_t ml_ops_conv_n = sizeof(ml_ops_conv) / sizeof(ml_ops_conv[0]);
