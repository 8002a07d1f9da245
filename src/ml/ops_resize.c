/* Resize (ONNX operator specs, ai.onnx, opsets 11..17): modes nearest and linear, the
 * coordinate transformations PyTorch emits (half_pixel, pytorch_half_pixel, align_corners,
 * asymmetric), every nearest_mode; scales (constants) or sizes.
 * Each axis gets a table of two source indices and weights per output index (nearest: one
 * with weight 1); an output element is the weighted sum over the corners of the axes that
 * interpolate. The same tables give the backward pass (grad_resize.c). cubic and
 * tf_crop_and_resize and tf_half_pixel_for_nn are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)
#define I64 ML_T(GTEE_ML_INT64)

enum { CT_HALF, CT_PYTORCH, CT_ALIGN, CT_ASYM };
enum { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

struct resize_attrs {
    bool linear;
    int ct, nm;
    double scale[GTEE_ML_MAX_RANK]; /* out / in per axis, as the coordinate transform uses it */
};

static int pick(const struct ml_kernel *k, const char *name, const char *dflt, const char *const *names, int *out)
{
    const char *s;
    int rc = ml_attr_string(k, name, dflt, &s);

    if (rc < 0)
        return rc;
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    return ml_fail(k, GTEE_EUNSUPPORTED, "%s '%s' is not supported", name, s);
}

/* Attributes, and the output shape into y (dims -1 while unknown). ML_DEFER when the
 * scales or sizes have no value yet. */
static int resize_setup(const struct ml_kernel *k, struct resize_attrs *a, struct gtee_ml_tensor *y)
{
    static const char *const attrs[] = { "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                                         "exclude_outside", "extrapolation_value", NULL };
    static const char *const modes[] = { "nearest", "linear", NULL };
    static const char *const cts[] = { "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", NULL };
    static const char *const nms[] = { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL };
    const struct gtee_ml_tensor *x = k->in[0], *sc = ml_in(k, 2), *sz = ml_in(k, 3);
    int mode = 0, rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 ||
        (rc = pick(k, "mode", "nearest", modes, &mode)) < 0 ||
        (rc = pick(k, "coordinate_transformation_mode", "half_pixel", cts, &a->ct)) < 0 ||
        (rc = pick(k, "nearest_mode", "round_prefer_floor", nms, &a->nm)) < 0)
        return rc;
    a->linear = mode == 1;
    if (sc && (rc = ml_need(k, 2, F32)) < 0)
        return rc;
    if (sz && (rc = ml_need(k, 3, I64)) < 0)
        return rc;
    if (sc && sc->rank == 1 && sc->dim[0] == 0)
        sc = NULL; /* an empty scales beside sizes (opset 11's form) */
    if (!!sc == !!sz)
        return ml_fail(k, GTEE_EFORMAT, "exactly one of scales and sizes must be given");
    const struct gtee_ml_tensor *t = sc ? sc : sz;
    if (t->rank != 1 || (t->dim[0] >= 0 && t->dim[0] != x->rank))
        return ml_fail(k, GTEE_EFORMAT, "%s must be 1-D with one entry per input dimension (%d)", sc ? "scales" : "sizes",
                       x->rank);
    if (!t->data) {
        /* int64 sizes from the graph's inputs are read when the plan is built (shape-like
         * inputs); float scales are not, and the output's shape would follow run data */
        if (sc)
            return ml_fail(k, GTEE_EUNSUPPORTED,
                           "scales must be a constant (the output's shape would depend on run-time data)");
        return ML_DEFER;
    }
    ml_set_like(y, x, GTEE_ML_FLOAT);
    for (int d = 0; d < x->rank; d++) {
        if (sc) {
            float s = ((const float *)sc->data)[d];
            double o;
            if (!(s > 0) || !isfinite(s))
                return ml_fail(k, GTEE_EFORMAT, "scales[%d] is %g (must be positive)", d, (double)s);
            o = floor((double)x->dim[d] * s);
            if (x->dim[d] >= 0 && o > 9.0e18)
                return ml_fail(k, GTEE_EFORMAT, "output dimension %d overflows", d);
            y->dim[d] = x->dim[d] < 0 ? -1 : (int64_t)o;
            a->scale[d] = s;
        } else {
            int64_t o = ml_i64(sz)[d];
            if (o < 0)
                return ml_fail(k, GTEE_EFORMAT, "sizes[%d] is negative (%lld)", d, (long long)o);
            y->dim[d] = o;
            a->scale[d] = x->dim[d] > 0 ? (double)o / (double)x->dim[d] : 1.0;
        }
        if (x->dim[d] == 0 && y->dim[d] > 0)
            return ml_fail(k, GTEE_EFORMAT, "axis %d is empty: no element to resize it to %lld from", d,
                           (long long)y->dim[d]);
    }
    return 0;
}

static int infer_resize(struct ml_kernel *k)
{
    struct resize_attrs a;
    int rc;

    if (k->model->opset < 11)
        return ml_fail(k, GTEE_EUNSUPPORTED, "Resize before opset 11 is not supported");
    if ((rc = ml_in(k, 1) ? ml_need(k, 1, F32) : 0) < 0)
        return rc;
    return resize_setup(k, &a, k->out[0]);
}

/* The source coordinate of output index o along an axis, as the ONNX reference computes it. */
static double src_coord(const struct resize_attrs *a, int d, int64_t o, int64_t in, int64_t out)
{
    double s = a->scale[d], ow = s * (double)in; /* the reference's output_width */

    switch (a->ct) {
    case CT_ALIGN:
        return ow == 1 ? 0.0 : (double)o * (double)(in - 1) / (ow - 1);
    case CT_ASYM:
        return (double)o / s;
    case CT_PYTORCH:
        return out == 1 ? -0.5 : ((double)o + 0.5) / s - 0.5;
    default:
        return ((double)o + 0.5) / s - 0.5;
    }
}

static int64_t clampi(int64_t v, int64_t n)
{
    return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/* Per axis d and output index o: sources i[2 o], i[2 o + 1] and their weights. */
int ml_resize_tables(const struct ml_kernel *k, int64_t **idx, float **w, bool *active)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor y;
    struct resize_attrs a;
    int64_t total = 0;
    int rc = resize_setup(k, &a, &y);

    if (rc != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "scales or sizes unknown at run time");
    for (int d = 0; d < x->rank; d++)
        total += y.dim[d];
    *idx = malloc((size_t)(2 * total + 1) * sizeof(int64_t));
    *w = malloc((size_t)(2 * total + 1) * sizeof(float));
    if (!*idx || !*w)
        return ml_fail(k, GTEE_ENOMEM, "out of memory");
    int64_t at = 0;
    for (int d = 0; d < x->rank; d++) {
        int64_t in = x->dim[d], out = y.dim[d];
        active[d] = false;
        for (int64_t o = 0; o < out; o++, at++) {
            double c = src_coord(&a, d, o, in, out);
            int64_t *ip = *idx + 2 * at;
            float *wp = *w + 2 * at;
            if (a.linear) {
                double f = floor(c), r = c - f;
                ip[0] = clampi((int64_t)f, in);
                ip[1] = clampi((int64_t)f + 1, in);
                wp[0] = (float)(1.0 - r);
                wp[1] = (float)r;
            } else {
                double f = floor(c), r = c - f, n;
                switch (a.nm) {
                case NM_FLOOR: n = f; break;
                case NM_CEIL: n = ceil(c); break;
                case NM_ROUND_CEIL: n = r >= 0.5 ? f + 1 : f; break;
                default: n = r > 0.5 ? f + 1 : f; break;
                }
                ip[0] = ip[1] = clampi((int64_t)n, in);
                wp[0] = 1.0f;
                wp[1] = 0.0f;
            }
            active[d] |= wp[1] != 0.0f;
        }
    }
    return 0;
}

struct resize_job {
    const struct gtee_ml_tensor *x, *y;
    const int64_t *idx;
    const float *w;
    int64_t base[GTEE_ML_MAX_RANK]; /* each axis's first table entry */
    const bool *active;
};

/* One output row (all axes but the last) per step. */
static void resize_range(void *arg, size_t lo, size_t hi)
{
    const struct resize_job *j = arg;
    const struct gtee_ml_tensor *x = j->x, *y = j->y;
    int r = y->rank, last = r - 1;
    int64_t xs[GTEE_ML_MAX_RANK], wy = y->dim[last];
    const float *X = x->data;
    float *Y = y->data;

    ml_strides(x, xs);
    for (size_t row = lo; row < hi; row++) {
        int64_t rem = (int64_t)row, o[GTEE_ML_MAX_RANK];
        for (int d = last - 1; d >= 0; d--) {
            o[d] = rem % y->dim[d];
            rem /= y->dim[d];
        }
        for (int64_t c = 0; c < wy; c++) {
            int ax[GTEE_ML_MAX_RANK], na = 0;
            int64_t off0 = 0;
            float w0 = 1.0f;
            double acc = 0;
            o[last] = c;
            for (int d = 0; d < r; d++) {
                int64_t e = 2 * (j->base[d] + o[d]);
                off0 += j->idx[e] * xs[d];
                if (j->active[d] && j->w[e + 1] != 0.0f)
                    ax[na++] = d;
                else
                    w0 *= j->w[e];
            }
            for (int m = 0; m < (1 << na); m++) { /* the corners of the interpolating axes */
                int64_t off = off0;
                float wt = w0;
                for (int q = 0; q < na; q++) {
                    int64_t e = 2 * (j->base[ax[q]] + o[ax[q]]);
                    int s = (m >> q) & 1;
                    off += (j->idx[e + s] - j->idx[e]) * xs[ax[q]];
                    wt *= j->w[e + s];
                }
                acc += (double)wt * X[off];
            }
            Y[(int64_t)row * wy + c] = (float)acc;
        }
    }
}

static int fwd_resize(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *y = k->out[0];
    struct resize_job j = { k->in[0], y, NULL, NULL, { 0 }, NULL };
    bool active[GTEE_ML_MAX_RANK];
    int64_t *idx = NULL;
    float *w = NULL;
    int rc;

    if (ml_elems(y) == 0)
        return 0;
    if (y->rank == 0) {
        *(float *)y->data = *(const float *)k->in[0]->data;
        return 0;
    }
    if ((rc = ml_resize_tables(k, &idx, &w, active)) < 0)
        goto out;
    j.idx = idx;
    j.w = w;
    j.active = active;
    for (int d = 1; d < y->rank; d++)
        j.base[d] = j.base[d - 1] + y->dim[d - 1];
    ml_parallel(k->threads, (size_t)(ml_elems(y) / (uint64_t)y->dim[y->rank - 1]),
                ML_PAR_MIN / 4 / (size_t)y->dim[y->rank - 1] + 1, resize_range, &j);
out:
    ml_free(idx);
    ml_free(w);
    return rc;
}

const struct ml_op ml_ops_resize[] = {
    { "Resize", 10, ML_MAX_OPSET, 1, 4, 1, 1, infer_resize, fwd_resize, NULL, ml_grad_resize, false },
};
const size_t ml_ops_resize_n = sizeof(ml_ops_resize) / sizeof(ml_ops_resize[0]);
