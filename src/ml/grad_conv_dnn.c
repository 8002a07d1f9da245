/* Conv's backward pass through oneDNN, for 2-D convolutions (rank 4) of one group (the
 * dispatch is in grad_cnn.c's ml_grad_conv; 1-D and grouped convolutions keep its im2col
 * path). Two primitives made with a forward-training hint: backward data (dX) and
 * backward weights (dW with dB). Their operands are created with dnnl_format_tag_any, so
 * oneDNN picks its direct kernels on channel-blocked layouts (nChw16c, OIhw16i16o ...);
 * the engine's NCHW / OIHW tensors are reordered into those layouts on the way in, and
 * the results are reordered back with a sum post-op (dst = reorder(src) + 1 * dst, an
 * exact add) because backward passes accumulate into din.
 *
 * Threads: the images are split in fixed pieces across the engine's own pool, each piece
 * running oneDNN on one OpenMP thread, as the im2col path splits them; the pieces' dW are
 * added in piece order, so results depend on the thread count only. oneDNN's own OpenMP
 * threads would be a third set of waiting threads beside the engine's pool and
 * OpenBLAS's, and libgomp's workers spin after each region: on two cores they kept the
 * other pools' workers off the CPU for a scheduler slice per call (a CNN step at two
 * threads took 55-80 ms instead of 16; docs/performance.md).
 *
 * Everything (descriptors, primitives, reorders, one stream, scratchpad and the scratch of
 * the reordered copies per piece) lives in one struct kept in the node's ML_CACHE_BWD slot:
 * a plan's shapes and thread count never change, and the trainer gives backward passes no
 * workspace, so the buffers are made once per plan rather than on every step. Without a
 * cache slot they are made and dropped within the call. Scratchpads are the caller's
 * (dnnl_scratchpad_mode_user): a primitive may then run on any thread, and at once on
 * several with one scratchpad each. */
#include <stdlib.h>
#include <string.h>

#include "ml/dnn.h"
#include "ml/geom.h"
#include "ml/grad.h"

/* Pieces worth a thread each: every piece needs at least this many multiply-adds. */
#define CONV_DNN_PAR_MIN_MACS (1u << 20)

enum { PART_DATA = 0, PART_WEIGHTS = 1 };
/* a part's operands: data {dY, W} -> dX; weights {X, dY} -> dW */
enum { OP_IN0 = 0, OP_IN1 = 1, OP_OUT = 2, N_OPS = 3 };

/* One operand of a primitive: the layout it wants and the reorder between it and the
 * engine's plain tensor (NULL for an input that already has that layout; for an output,
 * always: a summing reorder). */
struct side {
    dnnl_memory_desc_t md;
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
};

struct part {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    struct side op[N_OPS];
};

/* The primitives for pieces of mb images (pieces differ by one image at most). */
struct set {
    int64_t mb;
    dnnl_memory_desc_t x_md, y_md; /* the engine's X and dX, and dY, at mb: NCHW, or blocked
                                      where the trainer keeps them so (train_blocks.c) */
    dnnl_convolution_desc_t fd, dd, wd;
    dnnl_primitive_desc_t fwd; /* the forward-training hint */
    struct part part[2];
};

struct piece {
    struct ml_dnn_piece base; /* stream, scratchpad (one primitive at a time), error */
    const struct set *set;
    float *buf[2][N_OPS]; /* per part: reordered inputs (NULL: used in place) and the result */
    float *db;            /* the piece's dB */
};

struct conv_dnn {
    struct ml_cache base;
    bool bias;
    int64_t m, xsz, ysz;          /* output channels; floats of one image of X and of dY */
    dnnl_memory_desc_t w_md, b_md; /* OIHW, [M] */
    size_t nsets, npieces, pad_size;
    bool made[2]; /* part made in every set, with its buffers in every piece */
    struct set set[2];
    struct piece *piece;
};

static float *buf_new(size_t bytes)
{
    return aligned_alloc(ML_ALIGN, ml_align_up(bytes) + ML_ALIGN);
}

/* Part p's primitives in every set and its buffers in every piece. */
static void part_free(struct conv_dnn *cd, int p)
{
    for (size_t i = 0; i < cd->npieces && cd->piece; i++)
        for (int o = 0; o < N_OPS; o++) {
            ml_free(cd->piece[i].buf[p][o]);
            cd->piece[i].buf[p][o] = NULL;
        }
    for (size_t s = 0; s < 2; s++) {
        struct part *pt = &cd->set[s].part[p];
        ml_dnn_prim_free(&pt->pd, &pt->p);
        for (int o = 0; o < N_OPS; o++)
            ml_dnn_prim_free(&pt->op[o].rpd, &pt->op[o].r);
    }
    cd->made[p] = false;
}

static void conv_dnn_free(struct conv_dnn *cd)
{
    if (!cd)
        return;
    part_free(cd, PART_DATA);
    part_free(cd, PART_WEIGHTS);
    for (size_t i = 0; i < cd->npieces && cd->piece; i++) {
        struct piece *pc = &cd->piece[i];
        ml_free(pc->db);
        ml_dnn_piece_free(&pc->base);
    }
    ml_free(cd->piece);
    for (size_t s = 0; s < 2; s++)
        if (cd->set[s].fwd)
            dnnl_primitive_desc_destroy(cd->set[s].fwd);
    ml_free(cd);
}

static void conv_dnn_drop(struct ml_cache *c)
{
    conv_dnn_free((struct conv_dnn *)c); /* base is the first member */
}

/* Primitive attributes: scratchpads given by the caller; add: a sum post-op (dst += src). */
static dnnl_status_t attr_new(bool add, dnnl_primitive_attr_t *attr)
{
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(attr);

    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && add && (st = dnnl_post_ops_create(&po)) == dnnl_success &&
        (st = dnnl_post_ops_append_sum(po, 1.0f)) == dnnl_success)
        st = dnnl_primitive_attr_set_post_ops(*attr, po);
    if (po)
        dnnl_post_ops_destroy(po);
    return st;
}

/* Runs reorder s from src (layout smd) to dst (layout dmd) on the piece's stream. */
static int reorder_run(const struct ml_kernel *k, const struct piece *pc, const struct side *s,
                       const dnnl_memory_desc_t *smd, const void *src, const dnnl_memory_desc_t *dmd, void *dst)
{
    struct ml_dnn_arg a[3] = { { DNNL_ARG_FROM, smd, (void *)src }, { DNNL_ARG_TO, dmd, dst } };

    return ml_dnn_piece_exec(k, &pc->base, s->rpd, s->r, a, 2);
}

/* The reorder between plain and the operand's layout (to it for inputs, adding from it
 * for outputs); inputs already in the plain layout get none. */
static int side_new(const struct ml_kernel *k, struct conv_dnn *cd, const_dnnl_primitive_desc_t pd, dnnl_query_t q,
                    const dnnl_memory_desc_t *plain, bool out, struct side *s)
{
    const dnnl_memory_desc_t *md = ml_dnn_query(pd, q);
    dnnl_primitive_attr_t attr = NULL;
    int rc;

    if (!md)
        return ml_fail(k, GTEE_EIO, "oneDNN: backward: no operand descriptor (query %d)", (int)q);
    s->md = *md;
    if (!out && ml_dnn_same(&s->md, plain))
        return 0;
    if ((rc = ml_dnn_check(k, attr_new(out, &attr), "backward: reorder attributes")) < 0)
        return rc;
    rc = ml_dnn_reorder_new(k, out ? &s->md : plain, out ? plain : &s->md, attr, &s->rpd, &s->r);
    dnnl_primitive_attr_destroy(attr);
    if (rc == 0)
        ml_dnn_pad_max(&cd->pad_size, s->rpd);
    return rc;
}

/* Makes part p of every set and its buffers in every piece (on failure, none of them:
 * the next call tries again from nothing). */
static int part_make(const struct ml_kernel *k, struct conv_dnn *cd, int p)
{
    static const dnnl_query_t qs[2][N_OPS] = {
        { dnnl_query_diff_dst_md, dnnl_query_weights_md, dnnl_query_diff_src_md },
        { dnnl_query_src_md, dnnl_query_diff_dst_md, dnnl_query_diff_weights_md },
    };
    dnnl_primitive_attr_t attr = NULL;
    int rc;

    if ((rc = ml_dnn_check(k, attr_new(false, &attr), "backward: attributes")) < 0)
        return rc;
    for (size_t s = 0; s < cd->nsets && rc == 0; s++) {
        struct set *set = &cd->set[s];
        struct part *pt = &set->part[p];
        const dnnl_memory_desc_t *plain[2][N_OPS] = { { &set->y_md, &cd->w_md, &set->x_md },
                                                      { &set->x_md, &set->y_md, &cd->w_md } };

        if ((rc = ml_dnn_prim_new(k, p == PART_DATA ? (void *)&set->dd : (void *)&set->wd, attr, set->fwd, &pt->pd,
                                  &pt->p, p == PART_DATA ? "backward data (dX)" : "backward weights (dW)")) < 0)
            break;
        ml_dnn_pad_max(&cd->pad_size, pt->pd);
        for (int o = 0; o < N_OPS && rc == 0; o++)
            rc = side_new(k, cd, pt->pd, qs[p][o], plain[p][o], o == OP_OUT, &pt->op[o]);
    }
    dnnl_primitive_attr_destroy(attr);
    for (size_t i = 0; i < cd->npieces && rc == 0; i++) {
        struct piece *pc = &cd->piece[i];
        const struct part *pt = &pc->set->part[p];
        for (int o = 0; o < N_OPS; o++)
            if (pt->op[o].r && !(pc->buf[p][o] = buf_new(ml_dnn_size(&pt->op[o].md))))
                return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for an operand in oneDNN's layout");
        if ((rc = ml_dnn_piece_pad(k, &pc->base, cd->pad_size)) < 0) /* the largest made so far */
            return rc;
    }
    return rc;
}

static int part_new(const struct ml_kernel *k, struct conv_dnn *cd, int p)
{
    int rc = part_make(k, cd, p);

    if (rc < 0)
        part_free(cd, p);
    cd->made[p] = rc == 0;
    return rc;
}

/* The descriptors of a set of mb images. */
static int set_new(const struct ml_kernel *k, const struct geom *g, struct conv_dnn *cd, int64_t mb, struct set *set)
{
    const struct gtee_ml_tensor *w = k->in[1], *y = k->out[0];
    const int64_t xd[4] = { mb, k->in[0]->dim[1], k->in[0]->dim[2], k->in[0]->dim[3] };
    const int64_t yd[4] = { mb, y->dim[1], y->dim[2], y->dim[3] };
    dnnl_dims_t strides = { g->stride[0], g->stride[1] }, dil = { g->dil[0] - 1, g->dil[1] - 1 }; /* 0: dense */
    dnnl_dims_t pl = { g->pb[0], g->pb[1] }, pr = { g->pe[0], g->pe[1] };
    dnnl_memory_desc_t xa, wa, ya, ba = cd->b_md;
    const struct ml_dnn *d;
    int rc;

    set->mb = mb;
    if ((rc = ml_dnn_get(k, &d)) < 0 ||
        (rc = ml_dnn_md4(k, &set->x_md, xd, k->blk_in ? ml_dnn_blocked_tag() : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &set->y_md, yd, k->blk_out ? ml_dnn_blocked_tag() : dnnl_nchw)) < 0 ||
        (rc = ml_dnn_md4(k, &xa, xd, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &wa, w->dim, dnnl_format_tag_any)) < 0 ||
        (rc = ml_dnn_md4(k, &ya, yd, dnnl_format_tag_any)) < 0)
        return rc;
    if ((rc = ml_dnn_check(k,
                           dnnl_dilated_convolution_forward_desc_init(&set->fd, dnnl_forward_training,
                                                                      dnnl_convolution_direct, &xa, &wa,
                                                                      cd->bias ? &ba : NULL, &ya, strides, dil, pl, pr),
                           "forward hint descriptor")) < 0 ||
        (rc = ml_dnn_check(k,
                           dnnl_dilated_convolution_backward_data_desc_init(&set->dd, dnnl_convolution_direct, &xa, &wa,
                                                                            &ya, strides, dil, pl, pr),
                           "backward data descriptor")) < 0 ||
        (rc = ml_dnn_check(k,
                           dnnl_dilated_convolution_backward_weights_desc_init(&set->wd, dnnl_convolution_direct, &xa,
                                                                               &wa, cd->bias ? &ba : NULL, &ya,
                                                                               strides, dil, pl, pr),
                           "backward weights descriptor")) < 0)
        return rc;
    return ml_dnn_check(k, dnnl_primitive_desc_create(&set->fwd, &set->fd, NULL, d->eng, NULL), "forward hint");
}

/* How many pieces: one per thread, fewer when a piece would have too little work. */
static size_t pieces_for(const struct ml_kernel *k, const struct geom *g)
{
    const struct gtee_ml_tensor *w = k->in[1];
    uint64_t n = (uint64_t)k->in[0]->dim[0], pieces = k->threads > 1 ? (uint64_t)k->threads : 1;
    uint64_t macs = (uint64_t)w->dim[0] * (uint64_t)w->dim[1] * (uint64_t)(w->dim[2] * w->dim[3]) *
                    (uint64_t)(g->out[0] * g->out[1]) * 2 * n; /* dX and dW of the batch */

    pieces = pieces < n ? pieces : n;
    while (pieces > 1 && macs / pieces < CONV_DNN_PAR_MIN_MACS)
        pieces--;
    return (size_t)pieces;
}

static int conv_dnn_new(const struct ml_kernel *k, const struct geom *g, struct conv_dnn **out)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *y = k->out[0];
    dnnl_dims_t bd = { w->dim[0] };
    const struct ml_dnn *d;
    struct conv_dnn *cd = calloc(1, sizeof(*cd));
    int64_t n = x->dim[0];
    int rc;

    *out = NULL;
    if (!cd)
        return ml_fail(k, GTEE_ENOMEM, "backward: out of memory for the oneDNN cache");
    cd->base.drop = conv_dnn_drop;
    cd->bias = k->n_in > 2 && k->in[2];
    cd->m = w->dim[0];
    cd->xsz = x->dim[1] * x->dim[2] * x->dim[3];
    cd->ysz = y->dim[1] * y->dim[2] * y->dim[3];
    cd->npieces = pieces_for(k, g);
    if ((rc = ml_dnn_get(k, &d)) < 0 || (rc = ml_dnn_md4(k, &cd->w_md, w->dim, dnnl_oihw)) < 0 ||
        (rc = ml_dnn_check(k, dnnl_memory_desc_init_by_tag(&cd->b_md, 1, bd, dnnl_f32, dnnl_a), "bias descriptor")) < 0)
        goto out;
    /* piece i covers images [n i / t, n (i + 1) / t) (ml_parallel_pieces): sizes floor and ceil of n / t */
    cd->nsets = n % (int64_t)cd->npieces ? 2 : 1;
    for (size_t s = 0; s < cd->nsets; s++)
        if ((rc = set_new(k, g, cd, n / (int64_t)cd->npieces + (int64_t)s, &cd->set[s])) < 0)
            goto out;
    if (!(cd->piece = calloc(cd->npieces, sizeof(*cd->piece)))) {
        rc = ml_fail(k, GTEE_ENOMEM, "backward: out of memory for the pieces");
        goto out;
    }
    for (size_t i = 0; i < cd->npieces; i++) {
        struct piece *pc = &cd->piece[i];
        int64_t mb = n * (int64_t)(i + 1) / (int64_t)cd->npieces - n * (int64_t)i / (int64_t)cd->npieces;
        if ((rc = ml_dnn_piece_init(k, &pc->base)) < 0)
            goto out;
        pc->set = &cd->set[mb == cd->set[0].mb ? 0 : 1];
        if (cd->bias && !(pc->db = buf_new((size_t)cd->m * sizeof(float)))) {
            rc = ml_fail(k, GTEE_ENOMEM, "backward: out of memory for the bias gradient");
            goto out;
        }
    }
    *out = cd;
    cd = NULL;
out:
    conv_dnn_free(cd);
    return rc;
}

/* An input in the layout the primitive wants: the plain tensor itself, or its reordered
 * copy. */
static int feed(const struct ml_kernel *k, const struct piece *pc, const struct side *s,
                const dnnl_memory_desc_t *plain, const float *src, float *buf, const void **ptr)
{
    *ptr = src;
    if (!s->r)
        return 0;
    *ptr = buf;
    return reorder_run(k, pc, s, plain, src, &s->md, buf);
}

/* A primitive with its three operands (and dB) and the piece's scratchpad. */
static int exec_part(const struct ml_kernel *k, const struct piece *pc, const struct part *pt, const int *args,
                     const void *const *ptr, const dnnl_memory_desc_t *b_md, float *db)
{
    struct ml_dnn_arg a[5];
    int n = 0;

    for (int o = 0; o < N_OPS; o++)
        a[n++] = (struct ml_dnn_arg){ args[o], &pt->op[o].md, (void *)ptr[o] };
    if (db)
        a[n++] = (struct ml_dnn_arg){ DNNL_ARG_DIFF_BIAS, b_md, db };
    return ml_dnn_piece_exec(k, &pc->base, pt->pd, pt->p, a, n);
}

struct job {
    const struct ml_kernel *k;
    struct conv_dnn *cd;
    const float *x, *w, *dy;
    float *dx;
    bool want_d, want_w;
};

/* Images [lo, hi): dX added in place (pieces own disjoint images), dW and dB into the
 * piece's buffers. */
static int piece_run(const struct job *j, struct piece *pc, int64_t lo, const struct ml_kernel *k)
{
    static const int args[2][N_OPS] = { { DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC },
                                        { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS } };
    const struct conv_dnn *cd = j->cd;
    const struct set *set = pc->set;
    const struct part *pd = &set->part[PART_DATA], *pw = &set->part[PART_WEIGHTS];
    const float *dy = j->dy + lo * cd->ysz, *x = j->x + lo * cd->xsz;
    const void *in[N_OPS] = { NULL, NULL, NULL }, *dyd = NULL;
    int rc;

    if (j->want_d) {
        if ((rc = feed(k, pc, &pd->op[OP_IN0], &set->y_md, dy, pc->buf[PART_DATA][OP_IN0], &in[OP_IN0])) < 0 ||
            (rc = feed(k, pc, &pd->op[OP_IN1], &cd->w_md, j->w, pc->buf[PART_DATA][OP_IN1], &in[OP_IN1])) < 0)
            return rc;
        dyd = in[OP_IN0];
        in[OP_OUT] = pc->buf[PART_DATA][OP_OUT];
        if ((rc = exec_part(k, pc, pd, args[PART_DATA], in, NULL, NULL)) < 0 ||
            (rc = reorder_run(k, pc, &pd->op[OP_OUT], &pd->op[OP_OUT].md, in[OP_OUT], &set->x_md,
                              j->dx + lo * cd->xsz)) < 0)
            return rc;
    }
    if (!j->want_w)
        return 0;
    if ((rc = feed(k, pc, &pw->op[OP_IN0], &set->x_md, x, pc->buf[PART_WEIGHTS][OP_IN0], &in[OP_IN0])) < 0)
        return rc;
    if (dyd && ml_dnn_same(&pw->op[OP_IN1].md, &pd->op[OP_IN0].md))
        in[OP_IN1] = dyd; /* both want dY in the same layout: reordered once */
    else if ((rc = feed(k, pc, &pw->op[OP_IN1], &set->y_md, dy, pc->buf[PART_WEIGHTS][OP_IN1], &in[OP_IN1])) < 0)
        return rc;
    in[OP_OUT] = pc->buf[PART_WEIGHTS][OP_OUT];
    return exec_part(k, pc, pw, args[PART_WEIGHTS], in, &cd->b_md, cd->bias ? pc->db : NULL);
}

static void piece_fn(void *arg, size_t i, size_t lo, size_t hi)
{
    const struct job *j = arg;
    struct piece *pc = &j->cd->piece[i];
    struct ml_kernel k = *j->k;

    k.err = &pc->base.err; /* pieces fail on their own records; the first is reported */
    ml_dnn_threads(1);
    if ((int64_t)(hi - lo) != pc->set->mb) /* the split the sets were made for */
        pc->base.rc = ml_fail(&k, GTEE_EINVAL, "backward: piece %zu has %zu images, expected %lld", i, hi - lo,
                              (long long)pc->set->mb);
    else
        pc->base.rc = piece_run(j, pc, (int64_t)lo, &k);
}

static int run(const struct ml_kernel *k, struct conv_dnn *cd, const float *dy, struct gtee_ml_tensor **din)
{
    struct job j = { k, cd, k->in[0]->data, k->in[1]->data, dy, din[0] ? din[0]->data : NULL, din[0] != NULL,
                     din[1] || (cd->bias && din[2]) };
    int rc;

    if ((j.want_d && !cd->made[PART_DATA] && (rc = part_new(k, cd, PART_DATA)) < 0) ||
        (j.want_w && !cd->made[PART_WEIGHTS] && (rc = part_new(k, cd, PART_WEIGHTS)) < 0))
        return rc;
    for (size_t i = 0; i < cd->npieces; i++)
        ml_dnn_piece_start(&cd->piece[i].base);
    ml_parallel_pieces((int)cd->npieces, (size_t)k->in[0]->dim[0], 1, piece_fn, &j);
    for (size_t i = 0; i < cd->npieces; i++)
        if ((rc = ml_dnn_piece_raise(k, &cd->piece[i].base, i)) < 0)
            return rc;
    for (size_t i = 0; i < cd->npieces && j.want_w; i++) { /* the pieces' dW and dB, added in piece order */
        const struct piece *pc = &cd->piece[i];
        const struct side *o = &pc->set->part[PART_WEIGHTS].op[OP_OUT];
        if (din[1] && (rc = reorder_run(k, pc, o, &o->md, pc->buf[PART_WEIGHTS][OP_OUT], &cd->w_md, din[1]->data)) < 0)
            return rc;
        if (cd->bias && din[2])
            for (int64_t c = 0; c < cd->m; c++)
                ((float *)din[2]->data)[c] += pc->db[c];
    }
    return 0;
}

int ml_grad_conv_dnn(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1];
    int64_t ks[2] = { w->dim[2], w->dim[3] };
    struct conv_dnn *cd = NULL;
    const struct ml_dnn *d;
    struct geom g;
    int rc;

    if (!din[0] && !din[1] && !(k->n_in > 2 && din[2]))
        return 0;
    if (!ml_elems(x) || !ml_elems(w) || !ml_elems(k->out[0])) /* nothing to add (oneDNN wants non-empty tensors) */
        return 0;
    if ((rc = ml_geom(k, x, ks, false, &g)) < 0 || (rc = ml_dnn_get(k, &d)) < 0) /* loads oneDNN */
        return rc;
    g.out[0] = k->out[0]->dim[2]; /* as the forward pass made it */
    g.out[1] = k->out[0]->dim[3];
    ml_dnn_threads(1); /* before creating (oneDNN balances its work then) and running: see the top */
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
