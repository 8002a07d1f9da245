/* ConvTranspose (ONNX operator specs, ai.onnx), 1-D and 2-D: strides, dilations, pads,
 * auto_pad, group, output_padding and output_shape. Each output element gathers the input
 * elements whose taps land on it (y[n, co, o] = sum x[n, ci, i] W[ci, co, k] over
 * i s - pb + k d = o), output planes split across threads. The backward pass is in
 * grad_convt.c. 3-D is refused. */
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

int ml_convt_setup(const struct ml_kernel *k, struct ml_convt *g)
{
    static const char *const attrs[] = { "auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                                         "output_shape", "pads", "strides", NULL };
    const struct gtee_ml_tensor *x = k->in[0], *w = k->in[1], *b = ml_in(k, 2);
    const int64_t *v;
    const char *ap;
    size_t n;
    int rc;

    memset(g, 0, sizeof(*g));
    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 || (rc = ml_need(k, 1, F32)) < 0 ||
        (b && (rc = ml_need(k, 2, F32)) < 0) || (rc = ml_attr_int(k, "group", 1, &g->group)) < 0 ||
        (rc = ml_attr_string(k, "auto_pad", "NOTSET", &ap)) < 0)
        return rc;
    if (x->rank != 3 && x->rank != 4)
        return ml_fail(k, GTEE_EUNSUPPORTED, "only 1-D and 2-D spatial inputs are supported (rank %d)", x->rank);
    if (w->rank != x->rank)
        return ml_fail(k, GTEE_EFORMAT, "W has rank %d, X %d", w->rank, x->rank);
    g->nsp = x->rank - 2;
    if (g->group < 1 || (x->dim[1] >= 0 && x->dim[1] % g->group) || (x->dim[1] >= 0 && w->dim[0] != x->dim[1]))
        return ml_fail(k, GTEE_EFORMAT, "group %lld does not fit %lld input channels and W's %lld", (long long)g->group,
                       (long long)x->dim[1], (long long)w->dim[0]);
    g->cin = x->dim[1];
    g->cout = w->dim[1] * g->group;
    if (b && (b->rank != 1 || b->dim[0] != g->cout))
        return ml_fail(k, GTEE_EFORMAT, "B must have %lld entries", (long long)g->cout);
    for (int d = 0; d < g->nsp; d++) {
        g->in[d] = x->dim[2 + d];
        g->k[d] = w->dim[2 + d];
        g->stride[d] = g->dil[d] = 1;
    }
    if ((rc = ml_attr_ints(k, "kernel_shape", &v, &n)) < 0)
        return rc;
    for (size_t i = 0; v && i < n; i++)
        if (n != (size_t)g->nsp || v[i] != g->k[i])
            return ml_fail(k, GTEE_EFORMAT, "kernel_shape does not match W");
    const char *names[4] = { "strides", "dilations", "output_padding", "pads" };
    int64_t *dst[4] = { g->stride, g->dil, g->opad, g->pads };
    for (int a = 0; a < 4; a++) {
        size_t want = a == 3 ? 2 * (size_t)g->nsp : (size_t)g->nsp;
        if ((rc = ml_attr_ints(k, names[a], &v, &n)) < 0)
            return rc;
        if (!v)
            continue;
        if (n != want)
            return ml_fail(k, GTEE_EFORMAT, "%s has %zu values (expected %zu)", names[a], n, want);
        for (size_t i = 0; i < n; i++) {
            if (v[i] < (a < 2 ? 1 : 0) || v[i] > 65536)
                return ml_fail(k, GTEE_EFORMAT, "%s[%zu] is %lld", names[a], i, (long long)v[i]);
            dst[a][i] = v[i];
        }
    }
    for (int d = 0; d < g->nsp; d++)
        if (g->opad[d] >= g->stride[d] && g->opad[d] >= g->dil[d])
            return ml_fail(k, GTEE_EFORMAT, "output_padding %lld must be below the stride or the dilation",
                           (long long)g->opad[d]);
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER"), upper = !strcmp(ap, "SAME_UPPER");
    if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return ml_fail(k, GTEE_EFORMAT, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
    if (!strcmp(ap, "VALID"))
        memset(g->pads, 0, sizeof(g->pads));
    if ((rc = ml_attr_ints(k, "output_shape", &v, &n)) < 0)
        return rc;
    if (v && n != (size_t)g->nsp && n != (size_t)g->nsp + 2)
        return ml_fail(k, GTEE_EFORMAT, "output_shape has %zu values (expected %d)", n, g->nsp);
    for (int d = 0; d < g->nsp; d++) {
        int64_t full = g->stride[d] * (g->in[d] - 1) + g->opad[d] + (g->k[d] - 1) * g->dil[d] + 1;
        if (g->in[d] < 0)
            return ML_DEFER;
        if (v || same) { /* pads follow from the output size (the spec's total_padding) */
            int64_t want = v ? v[n - (size_t)g->nsp + (size_t)d] : g->in[d] * g->stride[d];
            int64_t total = full - want, half = total >= 0 ? total / 2 : -((1 - total) / 2); /* floor */
            if (want < 0 || want > full + 65536)
                return ml_fail(k, GTEE_EFORMAT, "output_shape %lld is out of range", (long long)want);
            /* a negative total pads the end with outputs no tap reaches (the spec's floor
             * division puts the odd one there) */
            g->pads[d] = upper ? half : total - half;
            g->pads[g->nsp + d] = total - g->pads[d];
        }
        g->out[d] = full - g->pads[d] - g->pads[g->nsp + d];
        if (g->out[d] < 0)
            return ml_fail(k, GTEE_EFORMAT, "spatial dimension %d would be %lld", d, (long long)g->out[d]);
    }
    return 0;
}

static int infer_convt(struct ml_kernel *k)
{
    struct ml_convt g;
    int rc = ml_convt_setup(k, &g);

    if (rc != 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    k->out[0]->dim[1] = g.cout;
    for (int d = 0; d < g.nsp; d++)
        k->out[0]->dim[2 + d] = g.out[d];
    return 0;
}

struct convt_job {
    const struct ml_convt *g;
    const float *x, *w, *b;
    float *y;
};

/* The input index i whose tap t lands on output o along axis d, or -1. */
static inline int64_t src_of(const struct ml_convt *g, int d, int64_t o, int64_t t)
{
    int64_t p = o + g->pads[d] - t * g->dil[d];

    if (p < 0 || p % g->stride[d])
        return -1;
    p /= g->stride[d];
    return p < g->in[d] ? p : -1;
}

static void convt_range(void *arg, size_t lo, size_t hi)
{
    const struct convt_job *j = arg;
    const struct ml_convt *g = j->g;
    int64_t H = g->nsp == 2 ? g->in[0] : 1, Wd = g->in[g->nsp - 1], OH = g->nsp == 2 ? g->out[0] : 1;
    int64_t OW = g->out[g->nsp - 1], KH = g->nsp == 2 ? g->k[0] : 1, KW = g->k[g->nsp - 1];
    int64_t cpg = g->cin / g->group, opg = g->cout / g->group;
    int dh = 0, dw = g->nsp - 1;

    for (size_t plane = lo; plane < hi; plane++) { /* plane = n * cout + co */
        int64_t n = (int64_t)plane / g->cout, co = (int64_t)plane % g->cout, gr = co / opg, cog = co % opg;
        float *y = j->y + (int64_t)plane * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                double acc = j->b ? j->b[co] : 0.0;
                for (int64_t ki = 0; ki < KH; ki++) {
                    int64_t iy = g->nsp == 2 ? src_of(g, dh, oy, ki) : 0;
                    if (iy < 0)
                        continue;
                    for (int64_t kj = 0; kj < KW; kj++) {
                        int64_t ix = src_of(g, dw, ox, kj);
                        if (ix < 0)
                            continue;
                        for (int64_t c = 0; c < cpg; c++) {
                            int64_t ci = gr * cpg + c;
                            acc += (double)j->x[((n * g->cin + ci) * H + iy) * Wd + ix] *
                                   j->w[((ci * opg + cog) * KH + ki) * KW + kj];
                        }
                    }
                }
                y[oy * OW + ox] = (float)acc;
            }
    }
}

static int fwd_convt(struct ml_kernel *k)
{
    struct ml_convt g;
    struct convt_job j;
    int rc = ml_convt_setup(k, &g);

    if (rc != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "shape unknown at run time");
    j = (struct convt_job){ &g, k->in[0]->data, k->in[1]->data, ml_in(k, 2) ? k->in[2]->data : NULL,
                            k->out[0]->data };
    ml_parallel(k->threads, (size_t)(k->in[0]->dim[0] * g.cout), 1, convt_range, &j);
    return 0;
}

const struct ml_op ml_ops_convt[] = {
    { "ConvTranspose", 1, ML_MAX_OPSET, 2, 3, 1, 1, infer_convt, fwd_convt, NULL, ml_grad_convt, false },
};
const size_t ml_ops_convt_n = sizeof(ml_ops_convt) / sizeof(ml_ops_convt[0]);
