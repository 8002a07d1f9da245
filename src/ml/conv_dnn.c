/* Conv's forward pass on 2-D images through oneDNN (dnn.h): its direct kernels on
 * channel-blocked layouts, with the bias, a fused residual (sum post-op) and a fused Relu
 * or Clip (eltwise post-op) applied as the output is written. Grouped convolutions go the
 * same way, with 5-D weights {G, M/G, C/G, kH, kW} (the ONNX [M, C/G, kH, kW] buffer read
 * as goihw): a depthwise one (one input and one output channel per group, mobilenet's)
 * runs oneDNN's depthwise kernel (jit_dw), one whose groups are whole channel blocks its
 * direct kernel, any other its own im2col + sgemm (gemm:jit); the kernel report names the
 * one it chose (ml_conv_dnn_impl). The tensors stay where the plan put
 * them: an NCHW input or output is reordered to and from what the primitive wants in the
 * node's scratch; one the plan keeps blocked (layout.c) is used as it is.
 *
 * Threads: in a trainer's plan the images are split in fixed pieces across the engine's
 * own pool, each piece running oneDNN on one OpenMP thread with its own stream and
 * scratchpad, as the backward pass does (grad_conv_dnn.c): libgomp's workers spin after
 * each of their parallel regions, and between the backward pass's pieces they kept the
 * pool's workers off the cores (a training step at two threads ran several times
 * slower). An inference plan runs each primitive on the node's number of OpenMP threads:
 * there its oneDNN kernels (Conv, the pools between them) follow one another, and splitting
 * the images measured slower at batch 64 on two threads (the pools then on OpenMP and the
 * Conv on the pool: 2.6 ms against 1.0 for the CNN), while at batch 1 only OpenMP can
 * split an image.
 *
 * The primitives are kept in the node's cache for the plan's life, and so are the weights
 * in their layout when the plan's initializers are frozen (inference); a trainer's plan
 * changes them between runs, so there they are reordered on every run (microseconds for a
 * 5x5 layer's). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/dnn.h"
#include "ml/geom.h"

/* A piece of images is worth a thread of its own from this many multiply-adds. */
#define CONV_DNN_PAR_MIN_MACS (1u << 20)

/* The primitive for pieces of mb images, and the reorders around it (NULL: none needed). */
struct fset {
    int64_t mb;
    dnnl_primitive_desc_t pd, src_rpd, dst_rpd, res_rpd;
    dnnl_primitive_t prim, src_r, dst_r, res_r;
    dnnl_memory_desc_t user_src, user_dst, user_res, pad_md;
    const dnnl_memory_desc_t *src_md, *dst_md; /* what the primitive wants (owned by pd) */
};

struct fpiece {
    struct ml_dnn_piece base; /* stream, scratchpad (one primitive at a time), error */
    const struct fset *set;
};

struct conv_dnn {
    struct ml_cache base;
    bool blk_in, blk_out, res;       /* what it was made for */
    int act;                         /* ML_ACT_* */
    float lo, hi;                    /* ML_ACT_CLIP's bounds */
    size_t nsets, npieces, pad_size;
    size_t src_img, dst_img;         /* bytes of one image in the primitive's src and dst layouts */
    struct fset set[2];
    struct fpiece *piece;
    dnnl_memory_desc_t user_w, bias;
    const dnnl_memory_desc_t *w_md;
    void *w; /* the weights in the primitive's layout (frozen plans) */
};

static void set_free(struct fset *s)
{
    ml_dnn_prim_free(&s->pd, &s->prim);
    ml_dnn_prim_free(&s->src_rpd, &s->src_r);
    ml_dnn_prim_free(&s->dst_rpd, &s->dst_r);
    ml_dnn_prim_free(&s->res_rpd, &s->res_r);
}

static void conv_dnn_drop(struct ml_cache *c)
{
    struct conv_dnn *d = (struct conv_dnn *)c;

    for (size_t i = 0; i < 2; i++)
        set_free(&d->set[i]);
    for (size_t i = 0; d->piece && i < d->npieces; i++)
        ml_dnn_piece_free(&d->piece[i].base);
    ml_free(d->piece);
    ml_free(d->w);
    ml_free(d);
}

bool ml_conv_dnn_takes(const struct ml_kernel *k, const struct geom *g, int64_t group)
{
    if (k->in[0]->rank != 4 || g->nsp != 2 || group < 1)
        return false;
    for (int d = 0; d < 4; d++) /* an empty tensor is im2col's (oneDNN's pieces divide by images) */
        if (k->in[0]->dim[d] <= 0 || k->in[1]->dim[d] <= 0)
            return false;
    return g->out[0] > 0 && g->out[1] > 0;
}

/* oneDNN's kernels for blocked tensors: one group, a depthwise convolution, or groups of
 * whole channel blocks. Other groupings have only its reference kernel on a blocked input
 * (measured: 2.6.3, AVX2), so their tensors stay NCHW, where its gemm kernel takes them. */
bool ml_conv_dnn_blockable(const struct ml_kernel *k, const struct geom *g, int64_t group)
{
    int64_t cg = k->in[1]->dim[1], mg = k->in[1]->dim[0] / group, bl = ml_dnn_block();

    if (!ml_conv_dnn_takes(k, g, group))
        return false;
    return group == 1 || (cg == 1 && mg == 1) || (cg % bl == 0 && mg % bl == 0);
}

/* Padded sizes bound what a blocked layout of any block up to 16 needs. */
static size_t up16(int64_t c)
{
    return (size_t)((c + 15) / 16 * 16);
}

size_t ml_conv_dnn_work(const struct ml_kernel *k, const struct geom *g, int64_t group)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1];
    size_t src = (size_t)x->dim[0] * up16(x->dim[1]) * (size_t)(g->in[0] * g->in[1]);
    size_t dst = (size_t)x->dim[0] * up16(w->dim[0]) * (size_t)(g->out[0] * g->out[1]);
    /* grouped weights are blocked within each group (Goihw16g for a depthwise one) */
    size_t per = group > 1 && w->dim[1] == 1 && w->dim[0] == group ? 1 : up16(w->dim[0] / group) * up16(w->dim[1]);
    size_t wt = (group > 1 && per == 1 ? up16(group) : (size_t)group) * per * (size_t)(g->k[0] * g->k[1]);

    return ml_align_up(src * 4) + ml_align_up(dst * 4) + ml_align_up(wt * 4);
}

static size_t pieces_for(const struct ml_kernel *k, const struct geom *g)
{
    const struct gtee_ml_tensor *w = k->in[1];
    uint64_t n = (uint64_t)k->in[0]->dim[0], t = k->threads > 1 ? (uint64_t)k->threads : 1;
    uint64_t macs = (uint64_t)w->dim[0] * (uint64_t)w->dim[1] * (uint64_t)(w->dim[2] * w->dim[3]) *
                    (uint64_t)(g->out[0] * g->out[1]) * n;

    if (k->frozen || n < t)
        return 1; /* oneDNN's OpenMP threads split the work (omp_threads) */
    while (t > 1 && macs / t < CONV_DNN_PAR_MIN_MACS)
        t--;
    return (size_t)t;
}

/* OpenMP threads of one primitive: one per piece when the images are split, else the node's. */
static int omp_threads(const struct ml_kernel *k, const struct conv_dnn *d)
{
    return d->npieces > 1 ? 1 : k->threads;
}

/* The weights' descriptor: [M, C/G, kH, kW] for one group, {G, M/G, C/G, kH, kW} for more. */
static int weights_md(const struct ml_kernel *k, int64_t group, dnnl_memory_desc_t *md, dnnl_format_tag_t tag)
{
    const int64_t *w = k->in[1]->dim;
    dnnl_dims_t d = { group, w[0] / group, w[1], w[2], w[3] };

    if (group == 1)
        return ml_dnn_md4(k, md, w, tag);
    return ml_dnn_check(k, dnnl_memory_desc_init_by_tag(md, 5, d, dnnl_f32, tag == dnnl_oihw ? dnnl_goihw : tag),
                        "weights descriptor");
}

static int set_new(const struct ml_kernel *k, const struct geom *g, int64_t group, struct conv_dnn *d, int64_t mb,
                   struct fset *s)
{
    const struct gtee_ml_tensor *x = k->in[0], *y = k->out[0], *b = ml_in(k, 2);
    int64_t xd[4] = { mb, x->dim[1], x->dim[2], x->dim[3] }, yd[4] = { mb, y->dim[1], y->dim[2], y->dim[3] };
    dnnl_memory_desc_t src, wany, dst;
    dnnl_convolution_desc_t cd;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_t attr = NULL, rattr = NULL;
    dnnl_dims_t strides = { g->stride[0], g->stride[1] }, dil = { g->dil[0] - 1, g->dil[1] - 1 };
    dnnl_dims_t pl = { g->pb[0], g->pb[1] }, pr = { g->pe[0], g->pe[1] };
    dnnl_format_tag_t blk = ml_dnn_blocked_tag();
    int rc;

    s->mb = mb;
    /* A few input channels (a first layer's 1 or 3) of one group: oneDNN's kernels for that
     * case read NCHW directly; more, or groups: let it pick its layout (its depthwise kernel
     * reads blocked channels only). */
    if ((rc = ml_dnn_md4(k, &s->user_src, xd, k->blk_in ? blk : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &src, xd, k->blk_in ? blk : group == 1 && x->dim[1] < ml_dnn_block() ? dnnl_nchw
                                                                                              : dnnl_format_tag_any)) < 0 ||
        (rc = weights_md(k, group, &wany, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &s->user_dst, yd, k->blk_out ? blk : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &s->user_res, yd, k->blk_res ? blk : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &dst, yd, k->blk_out ? blk : dnnl_format_tag_any)) < 0)
        goto out;
    if ((rc = ml_dnn_check(k, dnnl_dilated_convolution_forward_desc_init(
                                  &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany,
                                  b ? &d->bias : NULL, &dst, strides, dil, pl, pr),
                           "convolution descriptor")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_attr_create(&attr), "attributes")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
                           "scratchpad mode")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_post_ops_create(&po), "post-ops")) < 0)
        goto out;
    if (d->res && (rc = ml_dnn_check(k, dnnl_post_ops_append_sum(po, 1.0f), "sum post-op")) < 0)
        goto out;
    if (d->act == ML_ACT_RELU &&
        (rc = ml_dnn_check(k, dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "relu post-op")) < 0)
        goto out;
    /* clip: min(max(x, alpha), beta) for alpha <= beta (fuse.c fuses no other) */
    if (d->act == ML_ACT_CLIP &&
        (rc = ml_dnn_check(k, dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, d->lo, d->hi), "clip post-op")) < 0)
        goto out;
    if ((rc = ml_dnn_check(k, dnnl_primitive_attr_set_post_ops(attr, po), "post-ops")) < 0)
        goto out;
    ml_dnn_threads(omp_threads(k, d));
    if ((rc = ml_dnn_prim_new(k, &cd, attr, NULL, &s->pd, &s->prim, "convolution")) < 0)
        goto out;
    ml_dnn_pad_max(&d->pad_size, s->pd);
    s->src_md = ml_dnn_query(s->pd, dnnl_query_src_md);
    s->dst_md = ml_dnn_query(s->pd, dnnl_query_dst_md);
    /* the reorders take the same scratchpad mode (no post-ops): any may run on any thread */
    if ((rc = ml_dnn_check(k, dnnl_primitive_attr_create(&rattr), "attributes")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_attr_set_scratchpad_mode(rattr, dnnl_scratchpad_mode_user),
                           "scratchpad mode")) < 0)
        goto out;
    if (!ml_dnn_same(s->src_md, &s->user_src) &&
        (rc = ml_dnn_reorder_new(k, &s->user_src, s->src_md, rattr, &s->src_rpd, &s->src_r)) < 0)
        goto out;
    if (!ml_dnn_same(s->dst_md, &s->user_dst) &&
        (rc = ml_dnn_reorder_new(k, s->dst_md, &s->user_dst, rattr, &s->dst_rpd, &s->dst_r)) < 0)
        goto out;
    if (d->res && (rc = ml_dnn_reorder_new(k, &s->user_res, s->dst_md, rattr, &s->res_rpd, &s->res_r)) < 0)
        goto out;
    for (dnnl_primitive_desc_t r[3] = { s->src_rpd, s->dst_rpd, s->res_rpd }, *p = r; p < r + 3; p++)
        if (*p)
            ml_dnn_pad_max(&d->pad_size, *p);
    d->src_img = ml_dnn_size(s->src_md) / (size_t)mb;
    d->dst_img = ml_dnn_size(s->dst_md) / (size_t)mb;
    d->w_md = ml_dnn_query(s->pd, dnnl_query_weights_md);
out:
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (rattr)
        dnnl_primitive_attr_destroy(rattr);
    return rc;
}

static int conv_dnn_make(const struct ml_kernel *k, const struct geom *g, int64_t group, struct conv_dnn **out)
{
    const struct gtee_ml_tensor *w = k->in[1], *b = ml_in(k, 2);
    int64_t n = k->in[0]->dim[0];
    struct conv_dnn *d = calloc(1, sizeof(*d));
    int rc;

    if (!d)
        return ml_fail(k, GTEE_ENOMEM, "out of memory");
    d->base.drop = conv_dnn_drop;
    d->blk_in = k->blk_in;
    d->blk_out = k->blk_out;
    d->res = k->res != NULL;
    d->act = k->act;
    d->lo = k->act_lo;
    d->hi = k->act_hi;
    d->npieces = pieces_for(k, g);
    if ((rc = weights_md(k, group, &d->user_w, dnnl_oihw)) < 0)
        goto out;
    if (b && (rc = ml_dnn_check(k, dnnl_memory_desc_init_by_tag(&d->bias, 1, (dnnl_dims_t){ w->dim[0] }, dnnl_f32,
                                                                 dnnl_x),
                                "bias descriptor")) < 0)
        goto out;
    /* piece i covers images [n i / t, n (i + 1) / t) (ml_parallel_pieces): floor and ceil of n / t */
    d->nsets = n % (int64_t)d->npieces ? 2 : 1;
    for (size_t s = 0; s < d->nsets; s++)
        if ((rc = set_new(k, g, group, d, n / (int64_t)d->npieces + (int64_t)s, &d->set[s])) < 0)
            goto out;
    d->piece = calloc(d->npieces, sizeof(*d->piece));
    ENSURE(d->piece, k->err, GTEE_ENOMEM, "ml: out of memory for Conv's pieces");
    for (size_t i = 0; i < d->npieces; i++) {
        struct fpiece *pc = &d->piece[i];
        int64_t mb = n * (int64_t)(i + 1) / (int64_t)d->npieces - n * (int64_t)i / (int64_t)d->npieces;

        TRY(ml_dnn_piece_init(k, &pc->base));
        TRY(ml_dnn_piece_pad(k, &pc->base, d->pad_size));
        pc->set = &d->set[mb == d->set[0].mb ? 0 : 1];
    }
out:
    if (rc < 0)
        conv_dnn_drop(&d->base);
    else
        *out = d;
    return rc;
}

/* The kept primitives when they were made for this node's layouts and fusions. */
static int conv_dnn_get(const struct ml_kernel *k, const struct geom *g, int64_t group, struct conv_dnn **out)
{
    struct conv_dnn *d = k->cache ? (struct conv_dnn *)k->cache[ML_CACHE_FWD] : NULL;
    int rc;

    if (d && d->blk_in == k->blk_in && d->blk_out == k->blk_out && d->res == (k->res != NULL) && d->act == k->act &&
        (k->act != ML_ACT_CLIP || (d->lo == k->act_lo && d->hi == k->act_hi))) {
        *out = d;
        return 0;
    }
    if ((rc = conv_dnn_make(k, g, group, out)) < 0)
        return rc;
    if (k->cache) {
        if (d)
            d->base.drop(&d->base);
        k->cache[ML_CACHE_FWD] = &(*out)->base;
    }
    return 0;
}

struct fjob {
    const struct ml_kernel *k;
    struct conv_dnn *d;
    uint8_t *src_buf, *dst_buf; /* whole-batch scratch in the primitive's layouts */
    const void *w;
};

/* Images [lo, lo + mb) of the batch. */
static int piece_run(const struct fjob *j, const struct fpiece *pc, int64_t lo, const struct ml_kernel *k)
{
    const struct conv_dnn *d = j->d;
    const struct fset *s = pc->set;
    const struct gtee_ml_tensor *x = k->in[0], *y = k->out[0], *b = ml_in(k, 2);
    size_t xi = (size_t)(x->dim[1] * x->dim[2] * x->dim[3]) * 4, yi = (size_t)(y->dim[1] * y->dim[2] * y->dim[3]) * 4;
    void *usrc = (uint8_t *)x->data + (size_t)lo * xi, *udst = (uint8_t *)y->data + (size_t)lo * yi;
    void *src = s->src_r ? j->src_buf + (size_t)lo * d->src_img : usrc;
    void *dst = s->dst_r ? j->dst_buf + (size_t)lo * d->dst_img : udst;
    struct ml_dnn_arg a[6];
    int rc;

    if (s->src_r) {
        a[0] = (struct ml_dnn_arg){ DNNL_ARG_FROM, &s->user_src, usrc };
        a[1] = (struct ml_dnn_arg){ DNNL_ARG_TO, s->src_md, src };
        if ((rc = ml_dnn_piece_exec(k, &pc->base, s->src_rpd, s->src_r, a, 2)) < 0)
            return rc;
    }
    if (d->res) { /* the sum post-op adds to what dst holds: the residual, in dst's layout */
        a[0] = (struct ml_dnn_arg){ DNNL_ARG_FROM, &s->user_res, (uint8_t *)k->res->data + (size_t)lo * yi };
        a[1] = (struct ml_dnn_arg){ DNNL_ARG_TO, s->dst_md, dst };
        if ((rc = ml_dnn_piece_exec(k, &pc->base, s->res_rpd, s->res_r, a, 2)) < 0)
            return rc;
    }
    a[0] = (struct ml_dnn_arg){ DNNL_ARG_SRC, s->src_md, src };
    a[1] = (struct ml_dnn_arg){ DNNL_ARG_WEIGHTS, d->w_md, (void *)j->w };
    a[2] = (struct ml_dnn_arg){ DNNL_ARG_DST, s->dst_md, dst };
    a[3] = (struct ml_dnn_arg){ DNNL_ARG_BIAS, &d->bias, b ? b->data : NULL };
    if ((rc = ml_dnn_piece_exec(k, &pc->base, s->pd, s->prim, a, b ? 4 : 3)) < 0)
        return rc;
    if (s->dst_r) {
        a[0] = (struct ml_dnn_arg){ DNNL_ARG_FROM, s->dst_md, dst };
        a[1] = (struct ml_dnn_arg){ DNNL_ARG_TO, &s->user_dst, udst };
        rc = ml_dnn_piece_exec(k, &pc->base, s->dst_rpd, s->dst_r, a, 2);
    }
    return rc;
}

static void piece_fn(void *arg, size_t i, size_t lo, size_t hi)
{
    const struct fjob *j = arg;
    struct fpiece *pc = &j->d->piece[i];
    struct ml_kernel k = *j->k;

    k.err = &pc->base.err; /* pieces fail on their own records; the first is reported */
    ml_dnn_threads(omp_threads(j->k, j->d));
    if ((int64_t)(hi - lo) != pc->set->mb) /* the split the sets were made for */
        pc->base.rc = ml_fail(&k, GTEE_EINVAL, "piece %zu has %zu images, expected %lld", i, hi - lo,
                              (long long)pc->set->mb);
    else
        pc->base.rc = piece_run(j, pc, (int64_t)lo, &k);
}

int ml_conv_dnn_forward(struct ml_kernel *k, const struct geom *g, int64_t group)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1];
    struct conv_dnn *d = NULL;
    struct fjob j = { k, NULL, NULL, NULL, NULL };
    uint8_t *work = k->work;
    int rc;

    if ((rc = conv_dnn_get(k, g, group, &d)) < 0)
        return rc;
    j.d = d;
    /* scratch: [src in the primitive's layout][dst in it][weights in it], as ml_conv_dnn_work sized */
    j.src_buf = work;
    j.dst_buf = work + ml_align_up(d->src_img * (size_t)x->dim[0]);
    j.w = j.dst_buf + ml_align_up(d->dst_img * (size_t)x->dim[0]);
    if (k->frozen && k->cache && !d->w) {
        d->w = aligned_alloc(ML_ALIGN, ml_align_up(ml_dnn_size(d->w_md)));
        ENSURE(d->w, k->err, GTEE_ENOMEM, "ml: out of memory for Conv weights");
        TRY(ml_dnn_reorder(k, &d->user_w, w->data, d->w_md, d->w));
    }
    if (d->w)
        j.w = d->w;
    else
        TRY(ml_dnn_reorder(k, &d->user_w, w->data, d->w_md, (void *)j.w));
    for (size_t i = 0; i < d->npieces; i++)
        ml_dnn_piece_start(&d->piece[i].base);
    ml_parallel_pieces((int)d->npieces, (size_t)x->dim[0], 1, piece_fn, &j);
    for (size_t i = 0; i < d->npieces; i++)
        TRY(ml_dnn_piece_raise(k, &d->piece[i].base, i));
out:
    if (!k->cache && d)
        d->base.drop(&d->base);
    return rc;
}

const char *ml_conv_dnn_impl(const struct ml_kernel *k)
{
    const struct conv_dnn *d = k->cache ? (const struct conv_dnn *)k->cache[ML_CACHE_FWD] : NULL;
    const char *impl = NULL;

    if (!d || !d->set[0].pd ||
        dnnl_primitive_desc_query(d->set[0].pd, dnnl_query_impl_info_str, 0, (void *)&impl) != dnnl_success)
        return NULL;
    return impl;
}
