/* MaxPool and AveragePool (ONNX operator specs, ai.onnx) on NCHW and NCW: pads, strides,
 * dilations (MaxPool), ceil_mode, count_include_pad. */
#include <math.h>
#include <string.h>

#include "ml/geom.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

static const char *const pool_attrs[] = { "kernel_shape", "strides", "dilations", "pads", "auto_pad",
                                          "ceil_mode", "count_include_pad", "storage_order", NULL };

static int pool_setup(struct ml_kernel *k, struct geom *g)
{
    int64_t so;
    int rc;

    if ((rc = ml_attr_only(k, pool_attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 ||
        (rc = ml_attr_int(k, "storage_order", 0, &so)) < 0)
        return rc;
    if (!ml_attr(k, "kernel_shape"))
        return ml_fail(k, GTEE_EFORMAT, "kernel_shape is required");
    if (!strcmp(k->node->op_type, "AveragePool") && ml_attr(k, "dilations"))
        return ml_fail(k, GTEE_EUNSUPPORTED, "dilations on AveragePool are not supported");
    return ml_geom(k, k->in[0], NULL, true, g);
}

static int infer_pool(struct ml_kernel *k)
{
    struct geom g;
    int rc = pool_setup(k, &g);

    if (rc == 0)
        ml_geom_out(k->out[0], k->in[0], k->in[0]->dim[1], &g);
    return rc;
}

/* Kernel taps [lo, hi) of one window that fall inside the input (taps at o*s - p + t*d). */
static void taps(int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t l = start < 0 ? (-start + d - 1) / d : 0, h = start + (k - 1) * d >= n ? (n - 1 - start) / d + 1 : k;

    if (start >= n) /* a window wholly in the end padding */
        h = 0;
    l = l > k ? k : l;
    *lo = l;
    *hi = h < l ? l : h;
}

/* Tap ranges per output row and column, computed once per call: [lo, hi) inside the input,
 * and [plo, phi) inside the padded input (count_include_pad). */
static size_t pool_work(const struct ml_kernel *k)
{
    const struct gtee_ml_tensor *y = k->out[0];
    int64_t rows = y->rank == 4 ? y->dim[2] : 1, cols = y->dim[y->rank - 1];

    return (size_t)(rows + cols) * 4 * sizeof(int64_t);
}

static void pool_taps(const struct geom *g, int axis, int64_t *t)
{
    for (int64_t o = 0; o < g->out[axis]; o++) {
        int64_t start = o * g->stride[axis] - g->pb[axis];
        taps(start, g->k[axis], g->dil[axis], g->in[axis], &t[4 * o], &t[4 * o + 1]);
        taps(start + g->pb[axis], g->k[axis], g->dil[axis], g->in[axis] + g->pb[axis] + g->pe[axis], &t[4 * o + 2],
             &t[4 * o + 3]);
    }
}

/* One output row of a pool in the general way: any window clipping, NaN propagation. */
static void pool_row(const float *xp, const struct geom *g, const int64_t *ri, const int64_t *tj, int64_t oi,
                     bool maxp, int64_t incl, int64_t from, int64_t to, float *yrow)
{
    int64_t i0 = oi * g->stride[0] - g->pb[0];

    for (int64_t oj = from; oj < to; oj++) {
        const int64_t *rj = tj + 4 * oj, j0 = oj * g->stride[1] - g->pb[1];
        float acc = maxp ? -INFINITY : 0.0f;
        bool nan = false;
        for (int64_t ki = ri[0]; ki < ri[1]; ki++) {
            const float *row = xp + (i0 + ki * g->dil[0]) * g->in[1] + j0;
            for (int64_t kj = rj[0]; kj < rj[1]; kj++) {
                float v = row[kj * g->dil[1]];
                if (maxp)
                    acc = v > acc ? v : acc;
                else
                    acc += v;
                nan |= v != v;
            }
        }
        if (!maxp) {
            int64_t cnt = incl ? (ri[3] - ri[2]) * (rj[3] - rj[2]) : (ri[1] - ri[0]) * (rj[1] - rj[0]);
            acc = cnt ? acc / (float)cnt : 0.0f;
        }
        yrow[oj] = nan ? NAN : acc;
    }
}

static int fwd_pool(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    bool maxp = !strcmp(k->node->op_type, "MaxPool");
    int64_t incl, *ti = k->work, *tj, lo = 0, hi;
    struct geom g;
    float *y = k->out[0]->data;

    if (pool_setup(k, &g) < 0 || ml_attr_int(k, "count_include_pad", 0, &incl) < 0)
        return GTEE_EFORMAT;
    tj = ti + 4 * g.out[0];
    pool_taps(&g, 0, ti);
    pool_taps(&g, 1, tj);
    /* Columns [lo, hi) whose windows lie wholly inside the input along W. */
    while (lo < g.out[1] && (tj[4 * lo] != 0 || tj[4 * lo + 1] != g.k[1]))
        lo++;
    hi = lo;
    while (hi < g.out[1] && tj[4 * hi] == 0 && tj[4 * hi + 1] == g.k[1])
        hi++;
    int64_t planes = x->dim[0] * x->dim[1], s1 = g.stride[1], d1 = g.dil[1];
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = (const float *)x->data + p * g.in[0] * g.in[1];
        for (int64_t oi = 0; oi < g.out[0]; oi++) {
            const int64_t *ri = ti + 4 * oi, i0 = oi * g.stride[0] - g.pb[0];
            float *yrow = y + (p * g.out[0] + oi) * g.out[1];
            bool nan = false;

            pool_row(xp, &g, ri, tj, oi, maxp, incl, 0, lo, yrow);
            pool_row(xp, &g, ri, tj, oi, maxp, incl, hi, g.out[1], yrow);
            /* interior: one pass per tap over the row, which the compiler vectorizes */
            for (int64_t oj = lo; oj < hi; oj++)
                yrow[oj] = maxp ? -INFINITY : 0.0f;
            for (int64_t ki = ri[0]; ki < ri[1]; ki++) {
                const float *row = xp + (i0 + ki * g.dil[0]) * g.in[1] - g.pb[1];
                for (int64_t kj = 0; kj < g.k[1]; kj++) {
                    const float *src = row + kj * d1;
                    if (maxp)
                        for (int64_t oj = lo; oj < hi; oj++) {
                            float v = src[oj * s1];
                            yrow[oj] = v > yrow[oj] ? v : yrow[oj];
                            nan |= v != v;
                        }
                    else
                        for (int64_t oj = lo; oj < hi; oj++)
                            yrow[oj] += src[oj * s1];
                }
            }
            if (!maxp && hi > lo) {
                int64_t cnt = incl ? (ri[3] - ri[2]) * g.k[1] : (ri[1] - ri[0]) * g.k[1];
                float inv = cnt ? 1.0f / (float)cnt : 0.0f;
                for (int64_t oj = lo; oj < hi; oj++)
                    yrow[oj] = cnt ? yrow[oj] * inv : 0.0f;
            }
            if (nan) /* a NaN in some window: redo the row the general way */
                pool_row(xp, &g, ri, tj, oi, maxp, incl, lo, hi, yrow);
        }
    }
    return 0;
}

const struct ml_op ml_ops_pool[] = {
    { "MaxPool", 8, ML_MAX_OPSET, 1, 1, 1, 1, infer_pool, fwd_pool, pool_work, ml_grad_pool, false },
    { "AveragePool", 7, ML_MAX_OPSET, 1, 1, 1, 1, infer_pool, fwd_pool, pool_work, ml_grad_pool, false },
};
const size_t ml_ops_pool_n = sizeof(ml_ops_pool) / sizeof(ml_ops_pool[0]);
