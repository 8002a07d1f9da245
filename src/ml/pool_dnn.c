/* MaxPool and AveragePool through oneDNN on a channel-blocked input (dnn.h): the plan keeps
 * a Conv's output blocked when every reader takes it so (layout.c), and the pools between
 * convolutions are among those readers. The output is written blocked when the plan keeps
 * it so, else reordered to NCHW from the node's scratch. NCHW inputs take ops_pool.c.
 * The commonest pool of all, max over 2x2 windows at stride 2 without padding, runs a loop
 * of its own instead: oneDNN 2.6's kernel took 0.66 ms for the CNN's first pool at batch 64
 * (16 channels of 28 x 28, AVX2, one thread), a quarter of the whole model's time in ONNX
 * Runtime, where this loop over whole channel blocks takes a fraction of that. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/dnn.h"
#include "ml/fastmath.h"
#include "ml/geom.h"

struct pool_dnn {
    struct ml_cache base;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    bool blk_out;
    dnnl_memory_desc_t src, user_dst;
};

static void pool_dnn_drop(struct ml_cache *c)
{
    struct pool_dnn *d = (struct pool_dnn *)c;

    ml_dnn_prim_free(&d->pd, &d->prim);
    ml_free(d);
}

/* oneDNN wants dst = (in + pl + pr - extent) / stride + 1: ONNX's end pad gives that in
 * floor mode; ceil_mode's extra window needs a larger right pad, which max pooling and
 * average pooling without the pads counted treat as outside the input, as ONNX does. */
static int64_t right_pad(const struct geom *g, int i)
{
    int64_t ext = (g->k[i] - 1) * g->dil[i] + 1;

    if ((g->in[i] + g->pb[i] + g->pe[i] - ext) / g->stride[i] + 1 == g->out[i])
        return g->pe[i];
    return (g->out[i] - 1) * g->stride[i] + ext - g->in[i] - g->pb[i];
}

bool ml_pool_dnn_takes(const struct ml_kernel *k, const struct geom *g, bool maxp, bool incl)
{
    if (k->in[0]->rank != 4 || g->nsp != 2 || g->out[0] <= 0 || g->out[1] <= 0)
        return false;
    for (int d = 0; d < 4; d++) /* empty tensors are ops_pool.c's */
        if (k->in[0]->dim[d] <= 0)
            return false;
    for (int i = 0; i < 2; i++)
        if (right_pad(g, i) < 0 || (incl && right_pad(g, i) != g->pe[i]))
            return false;
    return maxp || (g->dil[0] == 1 && g->dil[1] == 1);
}

size_t ml_pool_dnn_work(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *y = k->out[0];

    return (size_t)(y->dim[0] * (y->dim[1] + 15) / 16 * 16 * y->dim[2] * y->dim[3]) * sizeof(float);
}

static int pool_dnn_make(const struct ml_kernel *k, const struct geom *g, bool maxp, bool incl,
                         struct pool_dnn **out)
{
    dnnl_dims_t st = { g->stride[0], g->stride[1] }, ker = { g->k[0], g->k[1] };
    dnnl_dims_t dil = { g->dil[0] - 1, g->dil[1] - 1 }, pl = { g->pb[0], g->pb[1] };
    dnnl_dims_t pr = { right_pad(g, 0), right_pad(g, 1) };
    dnnl_alg_kind_t alg = maxp ? dnnl_pooling_max : incl ? dnnl_pooling_avg_include_padding
                                                          : dnnl_pooling_avg_exclude_padding;
    dnnl_memory_desc_t dst;
    dnnl_pooling_v2_desc_t pdsc;
    struct pool_dnn *d = calloc(1, sizeof(*d));
    int rc;

    if (!d)
        return ml_fail(k, GTEE_ENOMEM, "out of memory");
    d->base.drop = pool_dnn_drop;
    d->blk_out = k->blk_out;
    if ((rc = ml_dnn_md4(k, &d->src, k->in[0]->dim, ml_dnn_blocked_tag())) < 0 ||
        (rc = ml_dnn_md4(k, &dst, k->out[0]->dim, ml_dnn_blocked_tag())) < 0 ||
        (rc = ml_dnn_md4(k, &d->user_dst, k->out[0]->dim, k->blk_out ? ml_dnn_blocked_tag() : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_check(k, dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &d->src, &dst, st,
                                                                 ker, dil, pl, pr),
                           "pooling descriptor")) < 0)
        goto out;
    ml_dnn_threads(k->threads);
    rc = ml_dnn_prim_new(k, &pdsc, NULL, NULL, &d->pd, &d->prim, "pooling");
out:
    if (rc < 0)
        pool_dnn_drop(&d->base);
    else
        *out = d;
    return rc;
}

/* 2x2 windows, stride 2, no padding or dilation, floor mode (the last odd row or column
 * is in no window). */
static bool is_max2x2(const struct geom *g, bool maxp)
{
    for (int i = 0; i < 2; i++)
        if (g->k[i] != 2 || g->stride[i] != 2 || g->dil[i] != 1 || g->pb[i] || g->pe[i] || g->out[i] != g->in[i] / 2)
            return false;
    return maxp;
}

struct max2_job {
    const float *x;
    float *y;
    int64_t c, ih, iw, oh, ow, bl;
    bool blk_out;
};

/* The larger of a and b; a NaN wins, as in ops_pool.c (ONNX's MaxPool propagates it). */
static inline float max_nan(float a, float b)
{
    return b > a || b != b ? b : a;
}

/* Planes [lo, hi) of [N * C / BL] blocked planes of ih x iw x BL floats, BL a constant so
 * that the loop over a block becomes vector instructions; each output row is made blocked
 * (in y itself, or in t to be scattered to NCHW). */
#define MAX2X2_BLK(BL)                                                                                         \
    ML_HOT static void max2x2_row##BL(const float *restrict r0, const float *restrict r1, float *restrict y,   \
                                      int64_t ow)                                                              \
    {                                                                                                          \
        for (int64_t oj = 0; oj < ow; oj++)                                                                    \
            for (int l = 0; l < BL; l++)                                                                       \
                y[oj * BL + l] = max_nan(max_nan(max_nan(r0[2 * oj * BL + l], r0[(2 * oj + 1) * BL + l]),       \
                                                 r1[2 * oj * BL + l]),                                         \
                                         r1[(2 * oj + 1) * BL + l]);                                           \
    }                                                                                                          \
    static void max2x2_b##BL(const struct max2_job *j, float *t, size_t lo, size_t hi)                         \
    {                                                                                                          \
        for (size_t p = lo; p < hi; p++) {                                                                     \
            const float *xp = j->x + (int64_t)p * j->ih * j->iw * BL;                                          \
            int64_t n = (int64_t)p / (j->c / BL), c0 = (int64_t)p % (j->c / BL) * BL;                          \
            for (int64_t oi = 0; oi < j->oh; oi++) {                                                           \
                const float *r0 = xp + 2 * oi * j->iw * BL;                                                    \
                float *yb = j->y + ((int64_t)p * j->oh + oi) * j->ow * BL;                                     \
                max2x2_row##BL(r0, r0 + j->iw * BL, j->blk_out ? yb : t, j->ow);                               \
                if (!j->blk_out)                                                                               \
                    for (int64_t oj = 0; oj < j->ow; oj++)                                                     \
                        for (int l = 0; l < BL; l++)                                                           \
                            j->y[((n * j->c + c0 + l) * j->oh + oi) * j->ow + oj] = t[oj * BL + l];            \
            }                                                                                                  \
        }                                                                                                      \
    }
MAX2X2_BLK(8)
MAX2X2_BLK(16)

static int max2x2_blk(const struct ml_kernel *k, const struct geom *g)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct max2_job j = { x->data, k->out[0]->data, x->dim[1], g->in[0], g->in[1], g->out[0], g->out[1],
                          ml_dnn_block(), k->blk_out };
    size_t planes = (size_t)(x->dim[0] * (x->dim[1] / j.bl));
    float *t = NULL;

    /* on the calling thread: this pool sits between oneDNN's kernels, whose OpenMP workers
     * spin for a while after each (libgomp), so a second thread of the engine's pool got
     * no core (the CNN at batch 64 on two threads: 1.55 ms serial, 1.56 to 1.91 split) */
    if (!k->blk_out && !(t = malloc((size_t)(g->out[1] * j.bl) * sizeof(float) + 1)))
        return ml_fail(k, GTEE_ENOMEM, "out of memory for a row of MaxPool's output");
    if (j.bl == 16)
        max2x2_b16(&j, t, 0, planes);
    else
        max2x2_b8(&j, t, 0, planes);
    free(t);
    return 0;
}

int ml_pool_dnn_forward(struct ml_kernel *k, const struct geom *g, bool maxp, bool incl)
{
    struct pool_dnn *d = k->cache ? (struct pool_dnn *)k->cache[ML_CACHE_FWD] : NULL;
    const dnnl_memory_desc_t *dst_md;
    void *dst;
    int rc;

    if (is_max2x2(g, maxp) && k->in[0]->dim[1] % ml_dnn_block() == 0) {
        return max2x2_blk(k, g);
    }
    if (d && d->blk_out != k->blk_out) {
        d->base.drop(&d->base);
        k->cache[ML_CACHE_FWD] = NULL;
        d = NULL;
    }
    if (!d) {
        if ((rc = pool_dnn_make(k, g, maxp, incl, &d)) < 0)
            return rc;
        if (k->cache)
            k->cache[ML_CACHE_FWD] = &d->base;
    }
    dst_md = ml_dnn_query(d->pd, dnnl_query_dst_md);
    dst = ml_dnn_same(dst_md, &d->user_dst) ? k->out[0]->data : k->work;
    ml_dnn_threads(k->threads);
    TRY(ml_dnn_exec(k, d->prim,
                    (const struct ml_dnn_arg[]){ { DNNL_ARG_SRC, &d->src, k->in[0]->data }, { DNNL_ARG_DST, dst_md, dst } },
                    2));
    if (dst != k->out[0]->data)
        TRY(ml_dnn_reorder(k, dst_md, dst, &d->user_dst, k->out[0]->data));
out:
    if (!k->cache)
        d->base.drop(&d->base);
    return rc;
}
