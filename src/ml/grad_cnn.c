/* Backward passes of Conv (NCHW, NCW as height 1) and GlobalAveragePool (the pools are in
 * grad_pool.c, BatchNormalization in grad_bn.c). 2-D Conv of one group runs through oneDNN
 * (grad_conv_dnn.c); the rest, here, works per image, as the im2col forward pass does:
 * the image's im2col columns (rebuilt from x with contiguous row copies), dW += dY cols^T
 * and dcols = W^T dY as two small sgemm, then col2im adds dcols back by rows. Per-image
 * products are as fast as one product over the batch's columns side by side
 * (bench/bench_sgemm.c: OpenBLAS's small-matrix kernels) while the columns stay in cache.
 * With several threads the images are split in fixed pieces; each piece sums dW in its
 * own buffer and the pieces are added in order, so the result depends on the thread count
 * only. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ml/fastmath.h"
#include "ml/geom.h"
#include "ml/grad.h"

/* The adjoint of im2col: each column entry is added to the input element it was read from
 * (overlapping windows add up); padding entries are dropped. */
ML_HOT static void col2im(const float *cols, int64_t c, const struct geom *g, float *dx)
{
    int64_t ow = g->out[1], s1 = g->stride[1];

    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ki = 0; ki < g->k[0]; ki++)
            for (int64_t kj = 0; kj < g->k[1]; kj++) {
                int64_t off = kj * g->dil[1] - g->pb[1], lo, hi;
                const float *row = cols + ((ch * g->k[0] + ki) * g->k[1] + kj) * g->out[0] * ow;

                ml_inside_cols(off, s1, g->in[1], ow, &lo, &hi);
                for (int64_t oi = 0; oi < g->out[0]; oi++) {
                    int64_t ii = oi * g->stride[0] - g->pb[0] + ki * g->dil[0];
                    const float *src = row + oi * ow;
                    float *dst = dx + (ch * g->in[0] + ii) * g->in[1] + off;

                    if (ii < 0 || ii >= g->in[0])
                        continue;
                    if (s1 == 1)
                        for (int64_t oj = lo; oj < hi; oj++)
                            dst[oj] += src[oj];
                    else
                        for (int64_t oj = lo; oj < hi; oj++)
                            dst[oj * s1] += src[oj];
                }
            }
}

/* Sum of n floats in 16 interleaved partial sums added in a fixed order at the end (the
 * compiler vectorizes the lanes; the order, and so the result, never changes). */
ML_HOT static float sum_lanes(const float *v, int64_t n)
{
    float lane[16] = { 0 }, acc = 0.0f;
    int64_t i = 0;

    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            lane[j] += v[i + j];
    for (; i < n; i++)
        lane[i & 15] += v[i];
    for (int j = 0; j < 16; j++)
        acc += lane[j];
    return acc;
}

struct conv_bwd {
    struct geom g;
    int64_t group, cg, m, mg, kk, sp, insz;
    bool direct;            /* 1x1 kernel, stride 1, no padding: x is its own column matrix */
    const float *x, *w, *dy;
    float *dx, *dw;         /* NULL: not wanted */
    float *work;            /* per piece: cols, dcols [kk, sp]; with several pieces also a dW [m, kk] */
    size_t piece_floats;
    int threads;            /* of one product: the node's when the images are one piece */
    _Atomic int rc;         /* the first product's failure */
};

static void conv_bwd_images(void *arg, size_t piece, size_t lo, size_t hi)
{
    struct conv_bwd *b = arg;
    float *cols = b->work + piece * b->piece_floats, *dcols = cols + b->kk * b->sp;
    float *dw = piece == 0 ? b->dw : dcols + b->kk * b->sp; /* piece 0 adds into dW itself */
    int mg = (int)b->mg, kk = (int)b->kk, sp = (int)b->sp, rc = 0, ok = 0;

    for (size_t i = lo; i < hi && rc == 0; i++)
        for (int64_t gi = 0; gi < b->group; gi++) {
            const float *xg = b->x + ((int64_t)i * b->group + gi) * b->cg * b->insz;
            const float *dyg = b->dy + ((int64_t)i * b->m + gi * b->mg) * b->sp, *wg = b->w + gi * b->mg * b->kk;
            float *dxg = b->dx ? b->dx + ((int64_t)i * b->group + gi) * b->cg * b->insz : NULL;

            if (b->dw) { /* dW_g [mg, kk] += dY_g [mg, sp] cols^T */
                const float *c = xg;
                if (!b->direct) {
                    ml_im2col_rows(xg, b->cg, &b->g, 0, b->g.out[0], cols, sp);
                    c = cols;
                }
                if ((rc = ml_sgemm(b->threads, false, true, mg, kk, sp, 1.0f, dyg, sp, c, sp, 1.0f,
                                   dw + gi * b->mg * b->kk, kk)) < 0)
                    break;
            }
            if (!dxg)
                continue;
            if (b->direct) { /* dX_g [kk, sp] += W_g^T dY_g */
                if ((rc = ml_sgemm(b->threads, true, false, kk, sp, mg, 1.0f, wg, kk, dyg, sp, 1.0f, dxg, sp)) < 0)
                    break;
                continue;
            }
            if ((rc = ml_sgemm(b->threads, true, false, kk, sp, mg, 1.0f, wg, kk, dyg, sp, 0.0f, dcols, sp)) < 0)
                break;
            col2im(dcols, b->cg, &b->g, dxg);
        }
    if (rc < 0)
        atomic_compare_exchange_strong(&b->rc, &ok, rc);
}

/* Pieces worth a thread each: every piece needs at least this many multiply-adds. */
#define CONV_BWD_PAR_MIN_MACS (1u << 20)

static bool nonempty_4d(const struct gtee_ml_tensor *t)
{
    if (t->rank != 4)
        return false;
    for (int d = 0; d < 4; d++)
        if (t->dim[d] <= 0)
            return false;
    return true;
}

/* Which path runs: 2-D convolutions (rank 4) of one group go through oneDNN's direct
 * kernels (grad_conv_dnn.c), as their forward pass does (conv_dnn.c); 1-D ones (rank 3),
 * grouped ones and empty tensors through im2col here. A oneDNN failure is the node's
 * error, never a silent switch to the other path. */
int ml_grad_conv(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    int64_t group;
    int rc;

    if ((rc = ml_attr_int(k, "group", 1, &group)) < 0)
        return rc;
    if (nonempty_4d(k->in[0]) && nonempty_4d(k->in[1]) && nonempty_4d(k->out[0]) && group == 1)
        return ml_grad_conv_dnn(k, dout, din);
    if (k->blk_in || k->blk_out) /* train_blocks.c keeps blocked only what oneDNN takes */
        return ml_fail(k, GTEE_EUNSUPPORTED, "backward: channel-blocked tensors on the im2col path");
    return ml_grad_conv_cols(k, dout, din);
}

int ml_grad_conv_cols(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *wt = k->in[1];
    struct conv_bwd b = { 0 };
    int64_t ks[2] = { 1, 1 }, n = x->dim[0];
    uint64_t macs, product;
    size_t pieces = 1;
    int rc;

    for (int s = 0; s < wt->rank - 2; s++)
        ks[s] = wt->dim[2 + s];
    if ((rc = ml_attr_int(k, "group", 1, &b.group)) < 0 || (rc = ml_geom(k, x, ks, false, &b.g)) < 0)
        return rc;
    b.g.out[0] = k->out[0]->rank == 4 ? k->out[0]->dim[2] : 1; /* as the forward pass made it */
    b.g.out[1] = k->out[0]->dim[k->out[0]->rank - 1];
    b.cg = wt->dim[1];
    b.m = wt->dim[0];
    b.mg = b.m / b.group;
    b.kk = b.cg * b.g.k[0] * b.g.k[1];
    b.sp = b.g.out[0] * b.g.out[1];
    b.insz = b.g.in[0] * b.g.in[1];
    b.x = x->data;
    b.w = wt->data;
    b.dy = dout[0]->data;
    b.dx = din[0] ? din[0]->data : NULL;
    b.dw = din[1] ? din[1]->data : NULL;
    b.direct = b.g.k[0] == 1 && b.g.k[1] == 1 && b.g.stride[0] == 1 && b.g.stride[1] == 1 && !b.g.pb[0] &&
               !b.g.pb[1] && !b.g.pe[0] && !b.g.pe[1];
    if (k->n_in > 2 && k->in[2] && din[2]) /* dB[o] = sum over images and positions of dY */
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = 0; o < b.m; o++)
                ((float *)din[2]->data)[o] += sum_lanes(b.dy + (i * b.m + o) * b.sp, b.sp);
    if ((!b.dx && !b.dw) || !b.sp || !b.kk || !b.mg || !n)
        return 0;
    product = (uint64_t)b.mg * (uint64_t)b.kk * (uint64_t)b.sp; /* multiply-adds of one product */
    macs = product * (uint64_t)b.group * ((b.dx != NULL) + (b.dw != NULL)); /* of one image */
    if (k->threads > 1)
        for (pieces = (size_t)k->threads < (size_t)n ? (size_t)k->threads : (size_t)n;
             pieces > 1 && macs * (uint64_t)n / pieces < CONV_BWD_PAR_MIN_MACS; pieces--)
            ;
    b.piece_floats = (size_t)(2 * b.kk * b.sp + (pieces > 1 ? b.m * b.kk : 0));
    b.work = calloc(pieces * b.piece_floats + 1, sizeof(float)); /* zeroed: the pieces' dW partials */
    if (!b.work)
        return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for %zu column values", pieces * b.piece_floats);
    b.threads = pieces > 1 ? 1 : k->threads;
    int prev = ml_blas_one(); /* one OpenBLAS thread per product: the pieces are the engine's */
    ml_parallel_pieces((int)pieces, (size_t)n, 1, conv_bwd_images, &b);
    ml_blas_restore(prev);
    if (b.rc < 0) {
        ml_free(b.work);
        return ml_gemm_fail(k, b.rc);
    }
    for (size_t p = 1; p < pieces && b.dw; p++) { /* the pieces' dW, added in piece order */
        const float *part = b.work + p * b.piece_floats + 2 * b.kk * b.sp;
        for (int64_t i = 0; i < b.m * b.kk; i++)
            b.dw[i] += part[i];
    }
    ml_free(b.work);
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
