/* Conv's forward pass on NCHW: im2col + sgemm per image, then one output pass that adds
 * the bias, a fused residual and applies a fused activation.
 * The work is cut in units that threads share: images when the batch has at least one
 * image per thread, else ranges of output rows of one image. Each thread's im2col matrix is
 * one image's (it stays in the core's cache: batching several images into one larger
 * product measured slower on two threads). A 1x1 convolution with stride 1 and no padding
 * reads the input as its own im2col matrix. */
#include <stdatomic.h>
#include <string.h>

#include "ml/fastmath.h"
#include "ml/geom.h"

/* Multiply-adds of a convolution below which one thread does it all. */
#define ML_CONV_PAR_MIN (1u << 17)

struct conv_plan {
    int64_t n, group, cg, m, mg, kk, sp, oh, ow;
    size_t pieces;  /* threads */
    bool rows;      /* units are output rows (batch smaller than the threads) */
    bool direct;    /* 1x1, stride 1, no padding: no im2col */
    size_t per_piece; /* scratch floats per piece */
};

static void conv_plan(const struct ml_kernel *k, const struct geom *g, int64_t group, struct conv_plan *c)
{
    const struct gtee_ml_tensor *w = k->in[1], *y = k->out[0];
    uint64_t macs;

    memset(c, 0, sizeof(*c));
    c->n = y->dim[0];
    c->group = group;
    c->m = w->dim[0];
    c->mg = c->m / group;
    c->cg = w->dim[1];
    c->kk = c->cg * g->k[0] * g->k[1];
    c->oh = g->out[0];
    c->ow = g->out[1];
    c->sp = c->oh * c->ow;
    c->direct = g->k[0] == 1 && g->k[1] == 1 && g->stride[0] == 1 && g->stride[1] == 1 && !g->pb[0] && !g->pb[1] &&
                !g->pe[0] && !g->pe[1];
    macs = (uint64_t)c->n * (uint64_t)c->m * (uint64_t)c->kk * (uint64_t)c->sp;
    c->pieces = k->threads > 1 && macs >= ML_CONV_PAR_MIN ? (size_t)k->threads : 1;
    c->rows = c->n < (int64_t)c->pieces;
    if (c->rows && (uint64_t)c->n * (uint64_t)c->oh < c->pieces)
        c->pieces = c->n * c->oh > 1 ? (size_t)(c->n * c->oh) : 1;
    c->per_piece = c->direct ? 0 : (size_t)(c->kk * c->sp);
}

size_t ml_conv_work(const struct ml_kernel *k, const struct geom *g, int64_t group)
{
    struct conv_plan c;

    conv_plan(k, g, group, &c);
    return c.per_piece * c.pieces * sizeof(float);
}

/* dst[i] = act(src[i] + bias (+ res[i])) for one output channel's n values; ML_ACT_CLIP
 * bounds to [lo, hi] as the Clip kernel does (max(x, lo) first, a NaN stays NaN). */
ML_HOT static void out_pass(float *dst, const float *src, size_t n, float bias, const float *res, int act, float lo,
                            float hi)
{
    if (act == ML_ACT_CLIP)
        for (size_t i = 0; i < n; i++) {
            float v = src[i] + bias + (res ? res[i] : 0.0f);
            v = v < lo ? lo : v;
            dst[i] = v > hi ? hi : v;
        }
    else if (res && act == ML_ACT_RELU)
        for (size_t i = 0; i < n; i++) {
            float v = src[i] + bias + res[i];
            dst[i] = v < 0.0f ? 0.0f : v; /* NaN stays NaN */
        }
    else if (res)
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i] + bias + res[i];
    else if (act == ML_ACT_RELU)
        for (size_t i = 0; i < n; i++) {
            float v = src[i] + bias;
            dst[i] = v < 0.0f ? 0.0f : v;
        }
    else
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i] + bias;
}

struct conv_job {
    const struct ml_kernel *k;
    const struct geom *g;
    struct conv_plan c;
    _Atomic int rc; /* the first product's failure */
};

static float bias_of(const struct ml_kernel *k, int64_t o)
{
    const struct gtee_ml_tensor *b = ml_in(k, 2);

    return b ? ((const float *)b->data)[o] : 0.0f;
}

/* Output rows [o0, o1) of image i, every group, straight into Y. */
static void conv_rows(struct conv_job *j, float *work, int64_t i, int64_t o0, int64_t o1)
{
    const struct ml_kernel *k = j->k;
    const struct conv_plan *c = &j->c;
    int64_t insz = j->g->in[0] * j->g->in[1], ncol = (o1 - o0) * c->ow, first = o0 * c->ow;
    float *y = (float *)k->out[0]->data + i * c->m * c->sp;
    const float *res = k->res ? (const float *)k->res->data + i * c->m * c->sp : NULL;

    for (int64_t gi = 0; gi < c->group; gi++) {
        const float *xg = (const float *)k->in[0]->data + (i * c->group + gi) * c->cg * insz, *cols = xg + first;
        float *yg = y + gi * c->mg * c->sp + first;
        int64_t ld = c->sp;

        if (!c->direct) {
            ml_im2col_rows(xg, c->cg, j->g, o0, o1, work, ncol);
            cols = work;
            ld = ncol;
        }
        int rc, ok = 0;
        if (ncol && c->mg &&
            (rc = ml_sgemm(1, false, false, (int)c->mg, (int)ncol, (int)c->kk, 1.0f,
                           (const float *)k->in[1]->data + gi * c->mg * c->kk, (int)c->kk, cols, (int)ld, 0.0f, yg,
                           (int)c->sp)) < 0) {
            atomic_compare_exchange_strong(&j->rc, &ok, rc);
            return;
        }
        for (int64_t o = 0; o < c->mg; o++)
            out_pass(yg + o * c->sp, yg + o * c->sp, (size_t)ncol, bias_of(k, gi * c->mg + o),
                     res ? res + (gi * c->mg + o) * c->sp + first : NULL, k->act, k->act_lo, k->act_hi);
    }
}

static void conv_piece(void *arg, size_t piece, size_t lo, size_t hi)
{
    struct conv_job *j = arg;
    const struct conv_plan *c = &j->c;
    float *work = (float *)j->k->work + piece * c->per_piece;

    if (c->rows) { /* units: (image, output row) */
        for (size_t u = lo; u < hi;) {
            int64_t i = (int64_t)u / c->oh, o0 = (int64_t)u % c->oh, o1 = o0 + (int64_t)(hi - u);
            o1 = o1 > c->oh ? c->oh : o1;
            conv_rows(j, work, i, o0, o1);
            u += (size_t)(o1 - o0);
        }
        return;
    }
    for (size_t i = lo; i < hi; i++)
        conv_rows(j, work, (int64_t)i, 0, c->oh);
}

int ml_conv_forward(struct ml_kernel *k, const struct geom *g, int64_t group)
{
    struct conv_job j = { k, g, { 0 }, 0 };

    conv_plan(k, g, group, &j.c);
    /* one OpenBLAS thread per product (set here, before the threads start) */
    int prev = ml_blas_one();
    if (j.c.rows) /* one piece per thread: a product of fewer rows loses more than it balances */
        ml_parallel_slots((int)j.c.pieces, (size_t)(j.c.n * j.c.oh), (size_t)(j.c.n * j.c.oh) / j.c.pieces,
                           conv_piece, &j);
    else
        ml_parallel_slots((int)j.c.pieces, (size_t)j.c.n, 1, conv_piece, &j);
    ml_blas_restore(prev);
    return j.rc < 0 ? ml_gemm_fail(k, j.rc) : 0;
}
