/* Backward passes of MaxPool and AveragePool (ONNX operator specs) on NCHW and NCW (as
 * height 1). MaxPool sends each output's gradient to the first maximum of its window in
 * row-major tap order (the element the forward pass keeps: a later tap wins only when it
 * is greater); AveragePool spreads dy / count over the window's taps inside the input,
 * count as the forward pass divides by (count_include_pad). The taps of each output row
 * and column are computed once per call, so the inner loops have no bounds tests; the
 * 2x2 stride-2 MaxPool of LeNet-style networks has kernels of its own (pool_row.c).
 * The (image, channel)
 * planes are split across threads. */
#include <stdlib.h>
#include <string.h>

#include "ml/dnn.h"
#include "ml/fastmath.h"
#include "ml/geom.h"
#include "ml/grad.h"
#include "ml/pool_row.h"

/* Taps [lo, hi) of a window starting at start (k taps, dilation d) that lie in [0, n). */
static void taps(int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t l = start < 0 ? (-start + d - 1) / d : 0, h = start >= n ? 0 : start + (k - 1) * d >= n ? (n - 1 - start) / d + 1 : k;

    l = l > k ? k : l;
    *lo = l;
    *hi = h < l ? l : h;
}

/* Per output o along one axis: taps inside the input [t[4o], t[4o+1]) and inside the padded
 * input [t[4o+2], t[4o+3]). */
static void axis_taps(const struct geom *g, int a, int64_t *t)
{
    for (int64_t o = 0; o < g->out[a]; o++) {
        int64_t start = o * g->stride[a] - g->pb[a];
        taps(start, g->k[a], g->dil[a], g->in[a], &t[4 * o], &t[4 * o + 1]);
        taps(start + g->pb[a], g->k[a], g->dil[a], g->in[a] + g->pb[a] + g->pe[a], &t[4 * o + 2], &t[4 * o + 3]);
    }
}

/* MaxPool 2x2, stride 2, no dilation, every window inside the input: planes [p0, p1). */
/* Zeroes what no 2x2 window of a plane covers (a last odd column and row), for a dx the
 * windows set rather than add into: ih x iw positions of bl floats each, oh x ow windows. */
static void clear_outside(float *plane, int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t bl)
{
    for (int64_t i = 0; i < 2 * oh && 2 * ow < iw; i++)
        memset(plane + (i * iw + 2 * ow) * bl, 0, (size_t)((iw - 2 * ow) * bl) * sizeof(float));
    if (ih > 2 * oh)
        memset(plane + 2 * oh * iw * bl, 0, (size_t)((ih - 2 * oh) * iw * bl) * sizeof(float));
}

static void max2x2(const float *x, const float *dy, float *dx, int64_t p0, int64_t p1, const struct geom *g,
                   bool set)
{
    int64_t oh = g->out[0], ow = g->out[1], iw = g->in[1], insz = g->in[0] * iw;

    for (int64_t p = p0; p < p1; p++) {
        for (int64_t oi = 0; oi < oh; oi++) {
            const float *r0 = x + p * insz + 2 * oi * iw;
            float *d0 = dx + p * insz + 2 * oi * iw;

            ml_max2x2_back_row(r0, r0 + iw, dy + (p * oh + oi) * ow, d0, d0 + iw, ow, set);
        }
        if (set)
            clear_outside(dx + p * insz, g->in[0], iw, oh, ow, 1);
    }
}

static void general(const float *x, const float *dy, float *dx, int64_t p0, int64_t p1, const struct geom *g,
                    bool maxp, int64_t incl, const int64_t *ti, const int64_t *tj)
{
    int64_t insz = g->in[0] * g->in[1], osz = g->out[0] * g->out[1], iw = g->in[1];

    for (int64_t p = p0; p < p1; p++) {
        const float *xp = x + p * insz;
        float *dxp = dx + p * insz;
        for (int64_t oi = 0; oi < g->out[0]; oi++) {
            const int64_t *ri = ti + 4 * oi, i0 = oi * g->stride[0] - g->pb[0];
            for (int64_t oj = 0; oj < g->out[1]; oj++) {
                const int64_t *rj = tj + 4 * oj, j0 = oj * g->stride[1] - g->pb[1];
                float gy = dy[p * osz + oi * g->out[1] + oj], best = 0.0f;
                int64_t at = -1, cnt;

                if (maxp) {
                    for (int64_t ki = ri[0]; ki < ri[1]; ki++)
                        for (int64_t kj = rj[0]; kj < rj[1]; kj++) {
                            int64_t off = (i0 + ki * g->dil[0]) * iw + j0 + kj * g->dil[1];
                            if (at < 0 || xp[off] > best) {
                                best = xp[off];
                                at = off;
                            }
                        }
                    if (at >= 0)
                        dxp[at] += gy;
                    continue;
                }
                cnt = incl ? (ri[3] - ri[2]) * (rj[3] - rj[2]) : (ri[1] - ri[0]) * (rj[1] - rj[0]);
                if (!cnt)
                    continue;
                gy /= (float)cnt;
                for (int64_t ki = ri[0]; ki < ri[1]; ki++)
                    for (int64_t kj = rj[0]; kj < rj[1]; kj++)
                        dxp[(i0 + ki * g->dil[0]) * iw + j0 + kj * g->dil[1]] += gy;
            }
        }
    }
}

/* MaxPool 2x2 backward on a channel-blocked x and dx ([N][C / BL][H][W][BL], as a trainer
 * keeps a Conv -> Relu -> MaxPool chain: train_blocks.c) with dy NCHW or blocked too: a
 * window's four taps are four runs of BL channels, so the loop over the block is vector
 * instructions.
 * The same comparisons and additions per element as ml_max2x2_back_row_c. Planes [p0, p1)
 * of the N * C / BL blocked ones. */
struct blk_bwd {
    const float *x, *dy;
    float *dx;
    int64_t c, ih, iw, oh, ow;
    bool set, relu; /* relu: dx is a Relu's input gradient (ml_kernel's relu_in) */
    bool dy_blk;    /* dy blocked as x (the pool's output is: train_blocks.c), else NCHW */
};

/* One window's 4 x BL taps; set and relu as blk_bwd's. Inlined with constants in the common
 * case (set, relu: a chain's first gradient), the loop is selects only and becomes vector
 * instructions (restrict: the taps, the gradients and dx do not overlap). */
#define MAX2X2_WINDOW(BL)                                                                                              \
    static inline __attribute__((always_inline)) void window##BL(const float *restrict x0,                             \
                                                                 const float *restrict x1,                             \
                                                                 const float *restrict g, float *restrict d0,          \
                                                                 float *restrict d1, bool set, bool relu)              \
    {                                                                                                                  \
        for (int l = 0; l < BL; l++) {                                                                                 \
            float a = x0[l], b = x0[BL + l], c = x1[l], d = x1[BL + l], m = b > a ? b : a;                             \
            float wa = b > a ? 0.0f : g[l], wb = b > a ? g[l] : 0.0f, wc, wd;                                          \
            wa = c > m ? 0.0f : wa;                                                                                    \
            wb = c > m ? 0.0f : wb;                                                                                    \
            wc = c > m ? g[l] : 0.0f;                                                                                  \
            m = c > m ? c : m;                                                                                         \
            wa = d > m ? 0.0f : wa;                                                                                    \
            wb = d > m ? 0.0f : wb;                                                                                    \
            wc = d > m ? 0.0f : wc;                                                                                    \
            wd = d > m ? g[l] : 0.0f;                                                                                  \
            if (relu) { /* nothing where the winner's Relu input was not positive */                                   \
                float mx = d > m ? d : m;                                                                              \
                wa = mx > 0.0f ? wa : 0.0f;                                                                            \
                wb = mx > 0.0f ? wb : 0.0f;                                                                            \
                wc = mx > 0.0f ? wc : 0.0f;                                                                            \
                wd = mx > 0.0f ? wd : 0.0f;                                                                            \
            }                                                                                                          \
            d0[l] = (set ? 0.0f : d0[l]) + wa;                                                                         \
            d0[BL + l] = (set ? 0.0f : d0[BL + l]) + wb;                                                               \
            d1[l] = (set ? 0.0f : d1[l]) + wc;                                                                         \
            d1[BL + l] = (set ? 0.0f : d1[BL + l]) + wd;                                                               \
        }                                                                                                              \
    }
MAX2X2_WINDOW(8)
MAX2X2_WINDOW(16)

/* Planes [p0, p1): each window's taps and its BL gradients, gathered from dy's planes. */
#define MAX2X2_PLANES(BL, SET, RELU)                                                                                   \
    int64_t cb = job->c / BL, plane = job->ih * job->iw * BL;                                                          \
    float g[BL];                                                                                                       \
    for (size_t p = p0; p < p1; p++) {                                                                                 \
        const float *xp = job->x + (int64_t)p * plane;                                                                 \
        float *dp = job->dx + (int64_t)p * plane;                                                                      \
        const float *gy = job->dy + ((int64_t)p / cb * job->c + (int64_t)p % cb * BL) * job->oh * job->ow;             \
        for (int64_t oi = 0; oi < job->oh; oi++) {                                                                     \
            for (int64_t oj = 0; oj < job->ow; oj++) {                                                                 \
                int64_t at = (2 * oi * job->iw + 2 * oj) * BL;                                                         \
                if (job->dy_blk) /* the block's gradients side by side */                                              \
                    memcpy(g, job->dy + (((int64_t)p * job->oh + oi) * job->ow + oj) * BL, sizeof(g));                 \
                else /* the block's channels are planes apart in dy */                                                 \
                    for (int l = 0; l < BL; l++)                                                                       \
                        g[l] = gy[(int64_t)l * job->oh * job->ow + oi * job->ow + oj];                                 \
                window##BL(xp + at, xp + at + job->iw * BL, g, dp + at, dp + at + job->iw * BL, SET, RELU);            \
            }                                                                                                          \
        }                                                                                                              \
        if (job->set)                                                                                                  \
            clear_outside(dp, job->ih, job->iw, job->oh, job->ow, BL);                                                 \
    }

#define MAX2X2_BACK_BLK(BL)                                                                                            \
    ML_HOT static void back_fast##BL(const struct blk_bwd *restrict job, size_t p0, size_t p1)                         \
    {                                                                                                                  \
        MAX2X2_PLANES(BL, true, true)                                                                                  \
    }                                                                                                                  \
    static void back_any##BL(const struct blk_bwd *restrict job, size_t p0, size_t p1)                                 \
    {                                                                                                                  \
        MAX2X2_PLANES(BL, job->set, job->relu)                                                                         \
    }
MAX2X2_BACK_BLK(8)
MAX2X2_BACK_BLK(16)

static void blk_planes_fn(void *arg, size_t lo, size_t hi)
{
    const struct blk_bwd *b = arg;

    bool fast = b->set && b->relu;

    if (ml_dnn_block() == 16)
        (fast ? back_fast16 : back_any16)(b, lo, hi);
    else
        (fast ? back_fast8 : back_any8)(b, lo, hi);
}

/* One call's planes, split across threads: each plane's dX is its own, so the split
 * changes nothing in the results. */
struct pool_bwd {
    const float *x, *dy;
    float *dx;
    const struct geom *g;
    bool maxp, fast, set; /* set: dx is not cleared (ml_kernel's din_unset) */
    int64_t incl;
    const int64_t *ti, *tj;
};

static void planes_fn(void *arg, size_t lo, size_t hi)
{
    const struct pool_bwd *b = arg;

    if (b->fast) {
        max2x2(b->x, b->dy, b->dx, (int64_t)lo, (int64_t)hi, b->g, b->set);
        return;
    }
    if (b->set)
        memset(b->dx + lo * (size_t)(b->g->in[0] * b->g->in[1]), 0,
               (hi - lo) * (size_t)(b->g->in[0] * b->g->in[1]) * sizeof(float));
    general(b->x, b->dy, b->dx, (int64_t)lo, (int64_t)hi, b->g, b->maxp, b->incl, b->ti, b->tj);
}

int ml_grad_pool(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *y = k->out[0];
    bool maxp = !strcmp(k->node->op_type, "MaxPool");
    int64_t incl = 0, *ti = NULL;
    struct pool_bwd b;
    struct geom g;
    size_t per;
    int rc;

    if (!din[0])
        return 0;
    if ((rc = ml_geom(k, x, NULL, true, &g)) < 0 || (rc = ml_attr_int(k, "count_include_pad", 0, &incl)) < 0)
        return rc;
    g.out[0] = y->rank == 4 ? y->dim[2] : 1; /* as the forward pass made it */
    g.out[1] = y->dim[y->rank - 1];
    if (k->relu_in && !k->blk_in)
        return ml_fail(k, GTEE_EUNSUPPORTED, "backward: a Relu applied by a Conv before an NCHW pool");
    if (k->blk_in || k->blk_out) {
        struct blk_bwd bb = { x->data, dout[0]->data, din[0]->data, x->dim[1], g.in[0], g.in[1], g.out[0], g.out[1],
                              (k->din_unset & 1u) != 0, k->relu_in, k->blk_out };

        if (!k->blk_in || !ml_pool_max2x2(k) || x->dim[1] % ml_dnn_block())
            return ml_fail(k, GTEE_EUNSUPPORTED, "backward: a channel-blocked input to a pool other than MaxPool 2x2");
        per = (size_t)(ML_PAR_MIN / (uint64_t)(g.in[0] * g.in[1] * ml_dnn_block())) + 1;
        ml_parallel(k->threads, (size_t)(x->dim[0] * (x->dim[1] / ml_dnn_block())), per, blk_planes_fn, &bb);
        return 0;
    }
    b = (struct pool_bwd){ x->data, dout[0]->data, din[0]->data, &g, maxp, false, (k->din_unset & 1u) != 0, incl,
                           NULL, NULL };
    b.fast = maxp && g.k[0] == 2 && g.k[1] == 2 && g.stride[0] == 2 && g.stride[1] == 2 && g.dil[0] == 1 &&
             g.dil[1] == 1 && !g.pb[0] && !g.pb[1] && 2 * g.out[0] <= g.in[0] && 2 * g.out[1] <= g.in[1];
    if (!b.fast) {
        ti = malloc((size_t)(g.out[0] + g.out[1]) * 4 * sizeof(int64_t) + 1);
        if (!ti)
            return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for the window taps");
        axis_taps(&g, 0, ti);
        axis_taps(&g, 1, ti + 4 * g.out[0]);
        b.ti = ti;
        b.tj = ti + 4 * g.out[0];
    }
    /* a thread's share: at least ML_PAR_MIN input elements */
    per = (size_t)(ML_PAR_MIN / (uint64_t)(g.in[0] * g.in[1] > 0 ? g.in[0] * g.in[1] : 1)) + 1;
    ml_parallel(k->threads, (size_t)(x->dim[0] * x->dim[1]), per, planes_fn, &b);
    ml_free(ti);
    return 0;
}
