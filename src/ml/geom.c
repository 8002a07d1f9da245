/* Window geometry shared by Conv and the pools (ONNX Conv, MaxPool, AveragePool specs):
 * kernel, strides, dilations, explicit or automatic pads, output sizes, ceil_mode. */
#include <string.h>

#include "ml/geom.h"
#include "ml/ml.h"

int ml_geom_ints(struct ml_kernel *k, const char *name, size_t want, int64_t dflt, int64_t *dst)
{
    const int64_t *v;
    size_t n;
    int rc;

    if ((rc = ml_attr_ints(k, name, &v, &n)) < 0)
        return rc;
    if (v && n != want)
        return ml_fail(k, GTEE_EFORMAT, "%s has %zu values, expected %zu", name, n, want);
    for (size_t i = 0; i < want; i++)
        dst[i] = v ? v[i] : dflt;
    return 0;
}


/* 1-D is mapped to H = 1 so one code path serves both. */
int ml_geom(struct ml_kernel *k, const struct gtee_ml_tensor *x, const int64_t *ks, bool ceil_ok,
                   struct geom *g)
{
    int64_t ksz[2], st[2], dl[2], pads[4], ceil_mode = 0;
    const char *ap;
    int n, rc;

    if (x->rank != 3 && x->rank != 4)
        return ml_fail(k, GTEE_EUNSUPPORTED, "only 1-D and 2-D spatial inputs are supported (rank %d)", x->rank);
    n = x->rank - 2;
    if ((!ks && (rc = ml_geom_ints(k, "kernel_shape", (size_t)n, -1, ksz)) < 0) ||
        (rc = ml_geom_ints(k, "strides", (size_t)n, 1, st)) < 0 || (rc = ml_geom_ints(k, "dilations", (size_t)n, 1, dl)) < 0 ||
        (rc = ml_geom_ints(k, "pads", 2 * (size_t)n, 0, pads)) < 0 || (rc = ml_attr_string(k, "auto_pad", "NOTSET", &ap)) < 0 ||
        (ceil_ok && (rc = ml_attr_int(k, "ceil_mode", 0, &ceil_mode)) < 0))
        return rc;
    memset(g, 0, sizeof(*g));
    g->nsp = n;
    for (int i = 0; i < 2; i++) {
        int s = i - (2 - n); /* index into the model's n dims, < 0 for the added H */
        g->in[i] = s >= 0 ? x->dim[2 + s] : 1;
        g->k[i] = s >= 0 ? (ks ? ks[s] : ksz[s]) : 1;
        g->stride[i] = s >= 0 ? st[s] : 1;
        g->dil[i] = s >= 0 ? dl[s] : 1;
        g->pb[i] = s >= 0 ? pads[s] : 0;
        g->pe[i] = s >= 0 ? pads[s + n] : 0;
        if (g->k[i] < 1 || g->stride[i] < 1 || g->dil[i] < 1 || g->pb[i] < 0 || g->pe[i] < 0 || g->k[i] > (1 << 20) ||
            g->stride[i] > (1 << 20) || g->dil[i] > (1 << 20) || g->pb[i] > (1 << 20) || g->pe[i] > (1 << 20))
            return ml_fail(k, GTEE_EFORMAT, "kernel, strides, dilations or pads out of range");
    }
    for (int i = 0; i < 2; i++) {
        int64_t ext = (g->k[i] - 1) * g->dil[i] + 1, in = g->in[i];
        if (in < 0) {
            g->out[i] = -1;
            continue;
        }
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            int64_t out = (in + g->stride[i] - 1) / g->stride[i];
            int64_t total = (out - 1) * g->stride[i] + ext - in;
            total = total < 0 ? 0 : total;
            g->pb[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            g->pe[i] = total - g->pb[i];
            g->out[i] = out;
            continue;
        }
        if (!strcmp(ap, "VALID"))
            g->pb[i] = g->pe[i] = 0;
        else if (strcmp(ap, "NOTSET"))
            return ml_fail(k, GTEE_EUNSUPPORTED, "auto_pad %s", ap);
        if (in + g->pb[i] + g->pe[i] < ext)
            return ml_fail(k, GTEE_EFORMAT, "the window is larger than the padded input");
        g->out[i] = (in + g->pb[i] + g->pe[i] - ext) / g->stride[i] + 1;
        if (ceil_mode && (in + g->pb[i] + g->pe[i] - ext) % g->stride[i]) {
            g->out[i]++;
            if ((g->out[i] - 1) * g->stride[i] >= in + g->pb[i]) /* a window must start inside */
                g->out[i]--;
        }
    }
    return 0;
}

void ml_geom_out(struct gtee_ml_tensor *y, const struct gtee_ml_tensor *x, int64_t c, const struct geom *g)
{
    y->dtype = GTEE_ML_FLOAT;
    y->rank = x->rank;
    y->dim[0] = x->dim[0];
    y->dim[1] = c;
    for (int s = 0; s < g->nsp; s++)
        y->dim[2 + s] = g->out[2 - g->nsp + s];
}

