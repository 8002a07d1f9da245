/* Conv's backward pass through oneDNN, for 2-D convolutions (rank 4) of one group (the
 * dispatch is in grad_cnn.c's ml_grad_conv; 1-D and grouped convolutions keep its im2col
 * path). Two primitives made from a forward-training hint: backward data (dX) and
 * backward weights (dW with dB). Their operands are created with dnnl_format_tag_any, so
 * oneDNN picks its direct kernels on channel-blocked layouts (nChw16c, OIhw16i16o ...);
 * the engine's NCHW / OIHW tensors are reordered into those layouts on the way in, and
 * the results are reordered back with a sum post-op (dst = reorder(src) + 1 * dst, an
 * exact add) because backward passes accumulate into din.
 * Everything (descriptors, primitives, reorders and the scratch of the reordered copies)
 * lives in one struct kept in the node's ML_CACHE_BWD slot: a plan's shapes never change,
 * and the trainer gives backward passes no workspace, so the buffers are made once per plan
 * instead of on every step. Without a cache slot they are made and dropped in the call. */
#include <stdlib.h>
#include <string.h>

#include "ml/dnn.h"
#include "ml/geom.h"
#include "ml/grad.h"

/* One operand of a primitive: the layout it wants, the reorder between it and the engine's
 * plain tensor (NULL when an input already has that layout), and its scratch (NULL when
 * the plain tensor is used as it is). */
struct side {
    dnnl_memory_desc_t md;
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    float *buf;
};

/* A backward primitive with its two inputs and its output. */
struct part {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    struct side in[2], out;
};

struct conv_dnn {
    struct ml_cache base;
    bool bias;
    dnnl_convolution_desc_t fd, dd, wd;
    dnnl_memory_desc_t x_md, w_md, y_md, b_md; /* the engine's: NCHW, OIHW, NCHW, [M] */
    dnnl_primitive_desc_t fwd;                 /* the forward-training hint */
    struct part data, weights;                 /* in: data {dY, W}, weights {X, dY}; out: dX, dW */
    float *db;                                 /* diff bias, [M] */
};

static void side_free(struct side *s)
{
    ml_dnn_prim_free(&s->rpd, &s->r);
    free(s->buf);
    s->buf = NULL;
}

static void part_free(struct part *pt)
{
    ml_dnn_prim_free(&pt->pd, &pt->p);
    for (int i = 0; i < 2; i++)
        side_free(&pt->in[i]);
    side_free(&pt->out);
}

static void conv_dnn_free(struct conv_dnn *cd)
{
    if (!cd)
        return;
    part_free(&cd->data);
    part_free(&cd->weights);
    if (cd->fwd)
        dnnl_primitive_desc_destroy(cd->fwd);
    free(cd->db);
    free(cd);
}

static void conv_dnn_drop(struct ml_cache *c)
{
    conv_dnn_free((struct conv_dnn *)c); /* base is the first member */
}

static float *buf_new(size_t bytes)
{
    return aligned_alloc(ML_ALIGN, (bytes + ML_ALIGN - 1) / ML_ALIGN * ML_ALIGN + ML_ALIGN);
}

/* A reorder from smd to dmd; add: a sum post-op makes it dst += src. */
static int reorder_new(const struct ml_kernel *k, const dnnl_memory_desc_t *smd, const dnnl_memory_desc_t *dmd,
                       bool add, struct side *s)
{
    const struct ml_dnn *d;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st;
    int rc;

    if ((rc = ml_dnn_get(k, &d)) < 0)
        return rc;
    st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success && add && (st = dnnl_post_ops_create(&po)) == dnnl_success &&
        (st = dnnl_post_ops_append_sum(po, 1.0f)) == dnnl_success)
        st = dnnl_primitive_attr_set_post_ops(attr, po);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&s->rpd, smd, d->eng, dmd, d->eng, attr);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&s->r, s->rpd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return ml_dnn_check(k, st, add ? "backward: reorder adding a gradient" : "backward: reorder of an operand");
}

/* Input side: what the primitive wants at q, and a reorder from the plain layout when it
 * differs. */
static int side_in(const struct ml_kernel *k, const_dnnl_primitive_desc_t pd, dnnl_query_t q,
                   const dnnl_memory_desc_t *plain, struct side *s)
{
    const dnnl_memory_desc_t *md = ml_dnn_query(pd, q);

    if (!md)
        return ml_fail(k, GTEE_EIO, "oneDNN: backward: no operand descriptor (query %d)", (int)q);
    s->md = *md;
    if (ml_dnn_same(&s->md, plain))
        return 0;
    if (!(s->buf = buf_new(ml_dnn_size(&s->md))))
        return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for a reordered operand");
    return reorder_new(k, plain, &s->md, false, s);
}

/* Output side: the primitive writes its scratch, a summing reorder adds it to the plain
 * gradient (in every case: oneDNN overwrites its outputs). */
static int side_out(const struct ml_kernel *k, const_dnnl_primitive_desc_t pd, dnnl_query_t q,
                    const dnnl_memory_desc_t *plain, struct side *s)
{
    const dnnl_memory_desc_t *md = ml_dnn_query(pd, q);

    if (!md)
        return ml_fail(k, GTEE_EIO, "oneDNN: backward: no result descriptor (query %d)", (int)q);
    s->md = *md;
    if (!(s->buf = buf_new(ml_dnn_size(&s->md))))
        return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for a gradient in oneDNN's layout");
    return reorder_new(k, &s->md, plain, true, s);
}

static int part_data(const struct ml_kernel *k, struct conv_dnn *cd)
{
    struct part *pt = &cd->data;
    int rc;

    if ((rc = ml_dnn_prim_new(k, &cd->dd, NULL, cd->fwd, &pt->pd, &pt->p, "backward data (dX) descriptor")) < 0 ||
        (rc = side_in(k, pt->pd, dnnl_query_diff_dst_md, &cd->y_md, &pt->in[0])) < 0 ||
        (rc = side_in(k, pt->pd, dnnl_query_weights_md, &cd->w_md, &pt->in[1])) < 0)
        return rc;
    return side_out(k, pt->pd, dnnl_query_diff_src_md, &cd->x_md, &pt->out);
}

static int part_weights(const struct ml_kernel *k, struct conv_dnn *cd)
{
    struct part *pt = &cd->weights;
    int rc;

    if ((rc = ml_dnn_prim_new(k, &cd->wd, NULL, cd->fwd, &pt->pd, &pt->p, "backward weights (dW) descriptor")) < 0 ||
        (rc = side_in(k, pt->pd, dnnl_query_src_md, &cd->x_md, &pt->in[0])) < 0 ||
        (rc = side_in(k, pt->pd, dnnl_query_diff_dst_md, &cd->y_md, &pt->in[1])) < 0)
        return rc;
    return side_out(k, pt->pd, dnnl_query_diff_weights_md, &cd->w_md, &pt->out);
}

/* The three convolution descriptors and the forward hint; the primitives come when a
 * gradient first needs them (a first layer's dX is usually never wanted). */
static int conv_dnn_new(const struct ml_kernel *k, const struct geom *g, struct conv_dnn **out)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *y = k->out[0];
    dnnl_dims_t strides = { g->stride[0], g->stride[1] }, dil = { g->dil[0] - 1, g->dil[1] - 1 }; /* 0: dense */
    dnnl_dims_t pl = { g->pb[0], g->pb[1] }, pr = { g->pe[0], g->pe[1] }, bd = { w->dim[0] };
    dnnl_memory_desc_t xa, wa, ya, ba;
    const struct ml_dnn *d;
    struct conv_dnn *cd = calloc(1, sizeof(*cd));
    int rc;

    *out = NULL;
    if (!cd)
        return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for the oneDNN cache");
    cd->base.drop = conv_dnn_drop;
    cd->bias = k->n_in > 2 && k->in[2];
    if ((rc = ml_dnn_get(k, &d)) < 0 || (rc = ml_dnn_md4(k, &cd->x_md, x->dim, dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &cd->w_md, w->dim, dnnl_oihw)) < 0 || (rc = ml_dnn_md4(k, &cd->y_md, y->dim, dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &xa, x->dim, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &wa, w->dim, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &ya, y->dim, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_check(k, dnnl_memory_desc_init_by_tag(&cd->b_md, 1, bd, dnnl_f32, dnnl_a), "bias descriptor")) < 0)
        goto out;
    ba = cd->b_md;
    if ((rc = ml_dnn_check(k,
                           dnnl_dilated_convolution_forward_desc_init(&cd->fd, dnnl_forward_training,
                                                                      dnnl_convolution_direct, &xa, &wa,
                                                                      cd->bias ? &ba : NULL, &ya, strides, dil, pl, pr),
                           "forward hint descriptor")) < 0 ||
        (rc = ml_dnn_check(k,
                           dnnl_dilated_convolution_backward_data_desc_init(&cd->dd, dnnl_convolution_direct, &xa, &wa,
                                                                            &ya, strides, dil, pl, pr),
                           "backward data descriptor")) < 0 ||
        (rc = ml_dnn_check(k,
                           dnnl_dilated_convolution_backward_weights_desc_init(&cd->wd, dnnl_convolution_direct, &xa,
                                                                               &wa, cd->bias ? &ba : NULL, &ya,
                                                                               strides, dil, pl, pr),
                           "backward weights descriptor")) < 0 ||
        (rc = ml_dnn_check(k, dnnl_primitive_desc_create(&cd->fwd, &cd->fd, NULL, d->eng, NULL), "forward hint")) < 0)
        goto out;
    if (cd->bias && !(cd->db = buf_new((size_t)w->dim[0] * sizeof(float)))) {
        rc = ml_fail(k, GTEE_ENOMEM, "backward: out of memory for the bias gradient");
        goto out;
    }
    *out = cd;
    cd = NULL;
out:
    conv_dnn_free(cd);
    return rc;
}

/* The operand's data in the layout the primitive wants: the plain tensor itself, or its
 * reordered copy. */
static int feed(const struct ml_kernel *k, const struct side *s, const dnnl_memory_desc_t *plain, const void *src,
                void **ptr)
{
    *ptr = (void *)src;
    if (!s->r)
        return 0;
    *ptr = s->buf;
    return ml_dnn_exec(k, s->r, (const struct ml_dnn_arg[]){ { DNNL_ARG_FROM, plain, (void *)src }, { DNNL_ARG_TO, &s->md, s->buf } }, 2);
}

static int run(const struct ml_kernel *k, struct conv_dnn *cd, const float *dy, struct gtee_ml_tensor **din)
{
    struct part *pd = &cd->data, *pw = &cd->weights;
    bool want_d = din[0], want_w = din[1] || (cd->bias && din[2]);
    void *dyd = NULL, *w = NULL, *x = NULL, *dyw = NULL;
    int rc;

    if (want_d && !pd->p && (rc = part_data(k, cd)) < 0)
        return rc;
    if (want_w && !pw->p && (rc = part_weights(k, cd)) < 0)
        return rc;
    if (want_d) {
        if ((rc = feed(k, &pd->in[0], &cd->y_md, dy, &dyd)) < 0 ||
            (rc = feed(k, &pd->in[1], &cd->w_md, k->in[1]->data, &w)) < 0 ||
            (rc = ml_dnn_exec(k, pd->p,
                              (const struct ml_dnn_arg[]){ { DNNL_ARG_DIFF_DST, &pd->in[0].md, dyd },
                                                           { DNNL_ARG_WEIGHTS, &pd->in[1].md, w },
                                                           { DNNL_ARG_DIFF_SRC, &pd->out.md, pd->out.buf } },
                              3)) < 0 ||
            (rc = ml_dnn_exec(k, pd->out.r,
                              (const struct ml_dnn_arg[]){ { DNNL_ARG_FROM, &pd->out.md, pd->out.buf },
                                                           { DNNL_ARG_TO, &cd->x_md, din[0]->data } },
                              2)) < 0)
            return rc;
    }
    if (!want_w)
        return 0;
    if (want_d && ml_dnn_same(&pw->in[1].md, &pd->in[0].md))
        dyw = dyd; /* both want dY in the same layout: reordered once */
    else if ((rc = feed(k, &pw->in[1], &cd->y_md, dy, &dyw)) < 0)
        return rc;
    if ((rc = feed(k, &pw->in[0], &cd->x_md, k->in[0]->data, &x)) < 0 ||
        (rc = ml_dnn_exec(k, pw->p,
                          (const struct ml_dnn_arg[]){ { DNNL_ARG_SRC, &pw->in[0].md, x },
                                                       { DNNL_ARG_DIFF_DST, &pw->in[1].md, dyw },
                                                       { DNNL_ARG_DIFF_WEIGHTS, &pw->out.md, pw->out.buf },
                                                       { DNNL_ARG_DIFF_BIAS, &cd->b_md, cd->db } },
                          cd->bias ? 4 : 3)) < 0)
        return rc;
    if (din[1] && (rc = ml_dnn_exec(k, pw->out.r,
                                    (const struct ml_dnn_arg[]){ { DNNL_ARG_FROM, &pw->out.md, pw->out.buf },
                                                                 { DNNL_ARG_TO, &cd->w_md, din[1]->data } },
                                    2)) < 0)
        return rc;
    if (cd->bias && din[2])
        for (int64_t o = 0; o < k->in[1]->dim[0]; o++)
            ((float *)din[2]->data)[o] += cd->db[o];
    return 0;
}

int ml_grad_conv_dnn(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1];
    int64_t ks[2] = { w->dim[2], w->dim[3] };
    struct conv_dnn *cd = NULL;
    struct geom g;
    int rc;

    if (k->blk_in || k->blk_out)
        return ml_fail(k, GTEE_EUNSUPPORTED, "backward: channel-blocked tensors (inference plans only)");
    if (!din[0] && !din[1] && !(k->n_in > 2 && din[2]))
        return 0;
    if (!ml_elems(x) || !ml_elems(w) || !ml_elems(k->out[0])) /* nothing to add (oneDNN wants non-empty tensors) */
        return 0;
    if ((rc = ml_geom(k, x, ks, false, &g)) < 0)
        return rc;
    ml_dnn_threads(k->threads); /* before creating (oneDNN balances the work then) and running */
    if (k->cache && k->cache[ML_CACHE_BWD])
        cd = (struct conv_dnn *)k->cache[ML_CACHE_BWD];
    else if ((rc = conv_dnn_new(k, &g, &cd)) < 0)
        return rc;
    else if (k->cache)
        k->cache[ML_CACHE_BWD] = &cd->base;
    rc = run(k, cd, dout[0]->data, din);
    if (!k->cache)
        conv_dnn_free(cd);
    return rc;
}
