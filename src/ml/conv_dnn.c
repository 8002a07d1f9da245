/* Conv's forward pass on 2-D images through oneDNN (dnn.h): its direct kernels on
 * channel-blocked layouts, with the bias, a fused residual (sum post-op) and a fused Relu
 * (eltwise post-op) applied as the output is written. The tensors stay where the plan put
 * them: an NCHW input or output is reordered to and from what the primitive wants in the
 * node's scratch; one the plan keeps blocked (layout.c) is used as it is.
 * The primitive is kept in the node's cache for the plan's life, and so are the weights in
 * its layout when the plan's initializers are frozen (inference); a trainer's plan changes
 * them between runs, so there they are reordered on every run (microseconds for a 5x5
 * layer's). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/dnn.h"
#include "ml/geom.h"

struct conv_dnn {
    struct ml_cache base;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    bool blk_in, blk_out, res, relu; /* what it was made for */
    dnnl_memory_desc_t user_src, user_dst, user_w, bias;
    void *w;                          /* the weights in the primitive's layout (frozen plans) */
};

static void conv_dnn_drop(struct ml_cache *c)
{
    struct conv_dnn *d = (struct conv_dnn *)c;

    ml_dnn_prim_free(&d->pd, &d->prim);
    free(d->w);
    free(d);
}

bool ml_conv_dnn_takes(const struct ml_kernel *k, const struct geom *g, int64_t group)
{
    return k->in[0]->rank == 4 && g->nsp == 2 && group == 1;
}

/* Padded sizes bound what a blocked layout of any block up to 16 needs. */
static size_t up16(int64_t c)
{
    return (size_t)((c + 15) / 16 * 16);
}

static size_t align_up(size_t b)
{
    return (b + ML_ALIGN - 1) / ML_ALIGN * ML_ALIGN;
}

size_t ml_conv_dnn_work(const struct ml_kernel *k, const struct geom *g)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1];
    size_t src = (size_t)x->dim[0] * up16(x->dim[1]) * (size_t)(g->in[0] * g->in[1]);
    size_t dst = (size_t)x->dim[0] * up16(w->dim[0]) * (size_t)(g->out[0] * g->out[1]);
    size_t wt = up16(w->dim[0]) * up16(w->dim[1]) * (size_t)(g->k[0] * g->k[1]);

    return align_up(src * 4) + align_up(dst * 4) + align_up(wt * 4);
}

static int conv_dnn_make(const struct ml_kernel *k, const struct geom *g, struct conv_dnn **out)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *y = k->out[0], *b = ml_in(k, 2);
    dnnl_memory_desc_t src, wany, dst;
    dnnl_convolution_desc_t cd;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_dims_t strides = { g->stride[0], g->stride[1] }, dil = { g->dil[0] - 1, g->dil[1] - 1 };
    dnnl_dims_t pl = { g->pb[0], g->pb[1] }, pr = { g->pe[0], g->pe[1] };
    dnnl_format_tag_t blk = ml_dnn_blocked_tag();
    struct conv_dnn *d = calloc(1, sizeof(*d));
    int rc;

    if (!d)
        return ml_fail(k, GTEE_ENOMEM, "out of memory");
    d->base.drop = conv_dnn_drop;
    d->blk_in = k->blk_in;
    d->blk_out = k->blk_out;
    d->res = k->res != NULL;
    d->relu = k->act == ML_ACT_RELU;
    /* A few input channels (a first layer's 1 or 3): oneDNN's kernels for that case read
     * NCHW directly; more: let it pick its blocked layout. */
    if ((rc = ml_dnn_md4(k, &d->user_src, x->dim, k->blk_in ? blk : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &src, x->dim, k->blk_in ? blk : x->dim[1] < ml_dnn_block() ? dnnl_nchw
                                                                                     : dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &d->user_w, w->dim, dnnl_oihw)) < 0 ||
        (rc = ml_dnn_md4(k, &wany, w->dim, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &d->user_dst, y->dim, k->blk_out ? blk : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &dst, y->dim, k->blk_out ? blk : dnnl_format_tag_any)) < 0)
        goto out;
    if (b && (rc = ml_dnn_check(k, dnnl_memory_desc_init_by_tag(&d->bias, 1, (dnnl_dims_t){ w->dim[0] }, dnnl_f32,
                                                                 dnnl_x),
                                "bias descriptor")) < 0)
        goto out;
    if ((rc = ml_dnn_check(k, dnnl_dilated_convolution_forward_desc_init(
                                  &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany,
                                  b ? &d->bias : NULL, &dst, strides, dil, pl, pr),
                           "convolution descriptor")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_attr_create(&attr), "attributes")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_post_ops_create(&po), "post-ops")) < 0)
        goto out;
    if (d->res && (rc = ml_dnn_check(k, dnnl_post_ops_append_sum(po, 1.0f), "sum post-op")) < 0)
        goto out;
    if (d->relu && (rc = ml_dnn_check(k, dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f),
                                      "relu post-op")) < 0)
        goto out;
    if ((rc = ml_dnn_check(k, dnnl_primitive_attr_set_post_ops(attr, po), "post-ops")) < 0)
        goto out;
    ml_dnn_threads(k->threads);
    rc = ml_dnn_prim_new(k, &cd, attr, NULL, &d->pd, &d->prim, "convolution");
out:
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (rc < 0)
        conv_dnn_drop(&d->base);
    else
        *out = d;
    return rc;
}

/* The kept primitive when it was made for this node's layouts and fusions. */
static int conv_dnn_get(const struct ml_kernel *k, const struct geom *g, struct conv_dnn **out)
{
    struct conv_dnn *d = k->cache ? (struct conv_dnn *)k->cache[ML_CACHE_FWD] : NULL;
    int rc;

    if (d && d->blk_in == k->blk_in && d->blk_out == k->blk_out && d->res == (k->res != NULL) &&
        d->relu == (k->act == ML_ACT_RELU)) {
        *out = d;
        return 0;
    }
    if ((rc = conv_dnn_make(k, g, out)) < 0)
        return rc;
    if (k->cache) {
        if (d)
            d->base.drop(&d->base);
        k->cache[ML_CACHE_FWD] = &(*out)->base;
    }
    return 0;
}

int ml_conv_dnn_forward(struct ml_kernel *k, const struct geom *g)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *y = k->out[0], *b = ml_in(k, 2);
    const dnnl_memory_desc_t *src_md, *w_md, *dst_md;
    dnnl_memory_desc_t res_md;
    struct conv_dnn *d = NULL;
    uint8_t *work = k->work;
    void *src, *wt, *dst;
    int rc;

    if ((rc = conv_dnn_get(k, g, &d)) < 0)
        return rc;
    src_md = ml_dnn_query(d->pd, dnnl_query_src_md);
    w_md = ml_dnn_query(d->pd, dnnl_query_weights_md);
    dst_md = ml_dnn_query(d->pd, dnnl_query_dst_md);
    ml_dnn_threads(k->threads);
    /* scratch: [src in the primitive's layout][dst in it][weights in it], as ml_conv_dnn_work sized */
    src = x->data;
    if (!ml_dnn_same(src_md, &d->user_src)) {
        src = work;
        TRY(ml_dnn_reorder(k, &d->user_src, x->data, src_md, src));
    }
    work += align_up(ml_dnn_size(src_md));
    dst = ml_dnn_same(dst_md, &d->user_dst) ? y->data : work;
    work += align_up(ml_dnn_size(dst_md));
    wt = work;
    if (k->frozen && k->cache && !d->w) {
        d->w = aligned_alloc(ML_ALIGN, align_up(ml_dnn_size(w_md)));
        ENSURE(d->w, k->err, GTEE_ENOMEM, "ml: out of memory for Conv weights");
        TRY(ml_dnn_reorder(k, &d->user_w, w->data, w_md, d->w));
    }
    if (d->w)
        wt = d->w;
    else
        TRY(ml_dnn_reorder(k, &d->user_w, w->data, w_md, wt));
    if (d->res) { /* the sum post-op adds to what dst holds: the residual, in dst's layout */
        TRY(ml_dnn_md4(k, &res_md, k->res->dim, k->blk_res ? ml_dnn_blocked_tag() : dnnl_nchw));
        TRY(ml_dnn_reorder(k, &res_md, k->res->data, dst_md, dst));
    }
    TRY(ml_dnn_exec(k, d->prim,
                        (const struct ml_dnn_arg[]){ { DNNL_ARG_SRC, src_md, src },
                                                     { DNNL_ARG_WEIGHTS, w_md, wt },
                                                     { DNNL_ARG_DST, dst_md, dst },
                                                     { DNNL_ARG_BIAS, &d->bias, b ? b->data : NULL } },
                        b ? 4 : 3));
    if (dst != y->data)
        TRY(ml_dnn_reorder(k, dst_md, dst, &d->user_dst, y->data));
out:
    if (!k->cache && d)
        d->base.drop(&d->base);
    return rc;
}
