/* Convolutional operators on NCHW (and NCW, as height 1): Conv (checks here, forward pass
 * in conv_dnn.c for 2-D images, conv_fwd.c for the rest), GlobalAveragePool, BatchNormalization in inference. Pooling is in ops_pool.c. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ml/dnn.h"
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

static size_t conv_work(const struct ml_kernel *k)
{
    struct ml_kernel kk = *k;
    struct geom g;
    int64_t group;

    kk.err = NULL;
    if (conv_setup(&kk, &g, &group) < 0)
        return 0;
    return ml_conv_dnn_takes(k, &g, group) ? ml_conv_dnn_work(k, &g, group) : ml_conv_work(k, &g, group);
}

bool ml_conv_blockable(const struct ml_kernel *k)
{
    struct ml_kernel kk = *k;
    struct geom g;
    int64_t group;

    kk.err = NULL;
    return conv_setup(&kk, &g, &group) == 0 && ml_conv_dnn_blockable(&kk, &g, group);
}

static int fwd_conv(struct ml_kernel *k)
{
    struct geom g;
    int64_t group;

    if (conv_setup(k, &g, &group) < 0)
        return GTEE_EFORMAT;
    return ml_conv_dnn_takes(k, &g, group) ? ml_conv_dnn_forward(k, &g, group) : ml_conv_forward(k, &g, group);
}

int ml_conv_describe(const struct ml_kernel *k, char *buf, size_t len)
{
    struct ml_kernel kk = *k;
    const int64_t *w = k->in[1]->dim;
    struct geom g;
    int64_t group;
    const char *impl, *why;
    int n, t;

    kk.err = NULL;
    if (conv_setup(&kk, &g, &group) < 0)
        return -1;
    n = snprintf(buf, len, "Conv '%s' %lldx%lldx%lldx%lld group %lld stride %lld: ", k->node->name, (long long)w[0],
                 (long long)w[1], (long long)(g.nsp > 1 ? w[2] : 1), (long long)w[g.nsp > 1 ? 3 : 2], (long long)group,
                 (long long)g.stride[g.nsp > 1 ? 1 : 0]);
    if (n < 0 || (size_t)n >= len)
        return -1;
    if (ml_conv_dnn_takes(k, &g, group)) {
        impl = ml_conv_dnn_impl(k);
        why = group == 1 ? "" : w[1] == 1 && w[0] == group ? ", depthwise" : ", grouped";
        t = snprintf(buf + n, len - (size_t)n, "oneDNN %s%s%s", impl ? impl : "(not run yet)", why,
                     k->blk_in ? ", channel-blocked input" : "");
    } else {
        why = k->in[0]->rank != 4 ? "a 1-D convolution: the oneDNN path takes 2-D images" : "an empty tensor";
        t = snprintf(buf + n, len - (size_t)n, "im2col + sgemm, per group and image (%s)", why);
    }
    if (t < 0 || (size_t)(n += t) >= len)
        return -1;
    if (k->act == ML_ACT_CLIP)
        t = snprintf(buf + n, len - (size_t)n, "%s, Clip [%g, %g] fused\n", k->res ? ", residual Add" : "",
                     (double)k->act_lo, (double)k->act_hi);
    else
        t = snprintf(buf + n, len - (size_t)n, "%s%s\n", k->res ? ", residual Add" : "",
                     k->act == ML_ACT_RELU ? ", Relu fused" : "");
    return t < 0 ? -1 : n + t;
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

/* A channel-blocked input (layout.c): [N][C / B][H][W][B], with C a multiple of B. Its
 * output [N, C, 1, 1] is the same in either layout. */
static void gap_blocked(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t nb = x->dim[0] * x->dim[1], sp = x->dim[2] * x->dim[3], bl = ml_dnn_block();
    float *y = k->out[0]->data;

    for (int64_t p = 0; p < nb; p += bl) { /* p: first channel of a block, over all images */
        const float *xb = (const float *)x->data + p * sp;
        double acc[16] = { 0 };
        for (int64_t s = 0; s < sp; s++)
            for (int64_t l = 0; l < bl; l++)
                acc[l] += xb[s * bl + l];
        for (int64_t l = 0; l < bl; l++)
            y[p + l] = sp ? (float)(acc[l] / (double)sp) : 0.0f;
    }
}

static int fwd_gap(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t planes = x->dim[0] * x->dim[1], sp = ml_dims_prod(x, 2, x->rank);

    if (k->blk_in) {
        gap_blocked(k);
        return 0;
    }
    for (int64_t p = 0; p < planes; p++) {
        double acc = 0;
        for (int64_t s = 0; s < sp; s++)
            acc += ((const float *)x->data)[p * sp + s];
        ((float *)k->out[0]->data)[p] = sp ? (float)(acc / (double)sp) : 0.0f;
    }
    return 0;
}

/* GlobalMaxPool: each plane's maximum (a NaN wins, as NumPy's max), planes split across
 * threads. */
struct gmp_job {
    const float *x;
    float *y;
    int64_t sp;
};

static void gmp_range(void *arg, size_t lo, size_t hi)
{
    const struct gmp_job *j = arg;

    for (size_t p = lo; p < hi; p++) {
        const float *xp = j->x + (int64_t)p * j->sp;
        float m = j->sp ? xp[0] : -INFINITY;
        for (int64_t s = 1; s < j->sp && !isnan(m); s++)
            m = xp[s] > m || isnan(xp[s]) ? xp[s] : m;
        j->y[p] = m;
    }
}

static int fwd_gmp(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gmp_job j = { x->data, k->out[0]->data, ml_dims_prod(x, 2, x->rank) };

    ml_parallel(k->threads, (size_t)(x->dim[0] * x->dim[1]), ML_PAR_MIN / (size_t)(j.sp + 1) + 1, gmp_range, &j);
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
    { "GlobalMaxPool", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_gap, fwd_gmp, NULL, ml_grad_gmp, false },
    { "BatchNormalization", 7, ML_MAX_OPSET, 5, 5, 1, 1, infer_bn, fwd_bn, NULL, ml_grad_bn, false },
};
const size_t ml_ops_conv_n = sizeof(ml_ops_conv) / sizeof(ml_ops_conv[0]);
