/* MaxPool and AveragePool (ONNX operator specs, ai.onnx) on NCHW and NCW: pads, strides,
 * dilations (MaxPool), ceil_mode, count_include_pad. */
#include <math.h>
#include <string.h>

#include "ml/fastmath.h"
#include "ml/geom.h"
#include "ml/grad.h"
#include "ml/ml.h"
#include "ml/pool_row.h"

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

/* Scratch: tap ranges per output row and column, computed once per call ([lo, hi) inside
 * the input, [plo, phi) inside the padded input for count_include_pad), then one row of
 * vertical reductions per thread. */
#define POOL_PAR_MIN (1u << 15) /* input elements of a plane group worth a thread */

static int pool_pieces(const struct ml_kernel *k)
{
    uint64_t n = ml_elems(k->in[0]);

    return k->threads > 1 && n >= 2 * POOL_PAR_MIN ? k->threads : 1;
}

static size_t pool_taps_bytes(const struct gtee_ml_tensor *y)
{
    int64_t rows = y->rank == 4 ? y->dim[2] : 1, cols = y->dim[y->rank - 1];

    return ((size_t)(rows + cols) * 4 * sizeof(int64_t) + 63) / 64 * 64;
}

static size_t pool_row_floats(const struct gtee_ml_tensor *x)
{
    return ((size_t)x->dim[x->rank - 1] + 16) / 16 * 16;
}

static size_t pool_work(const struct ml_kernel *k)
{
    return pool_taps_bytes(k->out[0]) + (size_t)pool_pieces(k) * pool_row_floats(k->in[0]) * sizeof(float);
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

/* Output columns [lo, hi) of one row whose windows lie inside the input along W: the
 * window's rows are reduced into t (contiguous, vectorized), then t's taps along W. s and
 * d are the stride and dilation along W (constants where the caller inlines them). */
static inline void pool_interior(const float *xp, const struct geom *g, const int64_t *ri, int64_t i0, bool maxp,
                                 int64_t lo, int64_t hi, int64_t s, int64_t d, float *t, float *yrow)
{
    int64_t c0 = lo * s - g->pb[1], w = (hi - 1 - lo) * s + (g->k[1] - 1) * d + 1;

    if (ri[1] <= ri[0]) {
        for (int64_t c = 0; c < w; c++)
            t[c] = maxp ? -INFINITY : 0.0f;
    } else {
        const float *row = xp + (i0 + ri[0] * g->dil[0]) * g->in[1] + c0;
        for (int64_t c = 0; c < w; c++)
            t[c] = row[c];
        for (int64_t ki = ri[0] + 1; ki < ri[1]; ki++) {
            row = xp + (i0 + ki * g->dil[0]) * g->in[1] + c0;
            if (maxp)
                for (int64_t c = 0; c < w; c++)
                    t[c] = row[c] > t[c] ? row[c] : t[c];
            else
                for (int64_t c = 0; c < w; c++)
                    t[c] += row[c];
        }
    }
    for (int64_t oj = 0; oj < hi - lo; oj++)
        yrow[lo + oj] = t[oj * s];
    for (int64_t kj = 1; kj < g->k[1]; kj++) {
        const float *tk = t + kj * d;
        if (maxp)
            for (int64_t oj = 0; oj < hi - lo; oj++)
                yrow[lo + oj] = tk[oj * s] > yrow[lo + oj] ? tk[oj * s] : yrow[lo + oj];
        else
            for (int64_t oj = 0; oj < hi - lo; oj++)
                yrow[lo + oj] += tk[oj * s];
    }
}

/* Whether x[0, n) holds a NaN: integer operations only, so the loop vectorizes (a NaN's
 * magnitude bits exceed infinity's, which sets bit 31 once 0x007fffff is added). */
static bool has_nan(const float *x, int64_t n)
{
    uint32_t acc = 0;

    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        acc |= (u & 0x7fffffffu) + 0x007fffffu;
    }
    return acc >> 31;
}

struct pool_job {
    const struct ml_kernel *k;
    struct geom g;
    bool maxp, max2x2; /* max2x2: 2x2 windows, stride 2, no padding or dilation */
    int64_t incl, lo, hi;
    const int64_t *ti, *tj;
    float *rows; /* pool_row_floats per piece */
};

ML_HOT static void pool_planes(void *arg, size_t piece, size_t p0, size_t p1)
{
    const struct pool_job *j = arg;
    const struct geom *g = &j->g;
    const int64_t *ti = j->ti, *tj = j->tj;
    int64_t lo = j->lo, hi = j->hi, s1 = g->stride[1], d1 = g->dil[1];
    float *t = j->rows + piece * pool_row_floats(j->k->in[0]);

    for (size_t p = p0; p < p1; p++) {
        const float *xp = (const float *)j->k->in[0]->data + (int64_t)p * g->in[0] * g->in[1];
        /* max drops NaN: a plane holding one goes the general way, which propagates it */
        bool nan = j->maxp && has_nan(xp, g->in[0] * g->in[1]);
        if (j->max2x2 && !nan) {
            float *y = (float *)j->k->out[0]->data + (int64_t)p * g->out[0] * g->out[1];
            for (int64_t oi = 0; oi < g->out[0]; oi++)
                ml_max2x2_fwd_row(xp + 2 * oi * g->in[1], xp + (2 * oi + 1) * g->in[1], y + oi * g->out[1],
                                  g->out[1]);
            continue;
        }
        for (int64_t oi = 0; oi < g->out[0]; oi++) {
            const int64_t *ri = ti + 4 * oi, i0 = oi * g->stride[0] - g->pb[0];
            float *yrow = (float *)j->k->out[0]->data + ((int64_t)p * g->out[0] + oi) * g->out[1];

            if (nan) {
                pool_row(xp, g, ri, tj, oi, j->maxp, j->incl, 0, g->out[1], yrow);
                continue;
            }
            pool_row(xp, g, ri, tj, oi, j->maxp, j->incl, 0, lo, yrow);
            pool_row(xp, g, ri, tj, oi, j->maxp, j->incl, hi, g->out[1], yrow);
            if (hi <= lo)
                continue;
            if (s1 == 2 && d1 == 1)
                pool_interior(xp, g, ri, i0, j->maxp, lo, hi, 2, 1, t, yrow);
            else if (s1 == 1 && d1 == 1)
                pool_interior(xp, g, ri, i0, j->maxp, lo, hi, 1, 1, t, yrow);
            else
                pool_interior(xp, g, ri, i0, j->maxp, lo, hi, s1, d1, t, yrow);
            if (!j->maxp) {
                int64_t cnt = j->incl ? (ri[3] - ri[2]) * g->k[1] : (ri[1] - ri[0]) * g->k[1];
                float inv = cnt ? 1.0f / (float)cnt : 0.0f;
                for (int64_t oj = lo; oj < hi; oj++)
                    yrow[oj] = cnt ? yrow[oj] * inv : 0.0f;
            }
        }
    }
}

static int fwd_pool(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct pool_job j = { .k = k, .maxp = !strcmp(k->node->op_type, "MaxPool") };
    int64_t *ti = k->work, *tj;

    if (pool_setup(k, &j.g) < 0 || ml_attr_int(k, "count_include_pad", 0, &j.incl) < 0)
        return GTEE_EFORMAT;
    if (k->blk_in) /* the plan kept the input blocked only where oneDNN takes it (layout.c) */
        return ml_pool_dnn_forward(k, &j.g, j.maxp, j.incl != 0);
    j.max2x2 = j.maxp && j.g.nsp == 2;
    for (int a = 0; a < 2; a++) /* every window whole inside the input: out = floor(in / 2) */
        j.max2x2 = j.max2x2 && j.g.k[a] == 2 && j.g.stride[a] == 2 && j.g.dil[a] == 1 && !j.g.pb[a] &&
                   j.g.out[a] * 2 <= j.g.in[a] && (j.g.out[a] - 1) * 2 + 2 <= j.g.in[a];
    tj = ti + 4 * j.g.out[0];
    pool_taps(&j.g, 0, ti);
    pool_taps(&j.g, 1, tj);
    j.ti = ti;
    j.tj = tj;
    j.rows = (float *)((uint8_t *)k->work + pool_taps_bytes(k->out[0]));
    /* Columns [lo, hi) whose windows lie wholly inside the input along W. */
    while (j.lo < j.g.out[1] && (tj[4 * j.lo] != 0 || tj[4 * j.lo + 1] != j.g.k[1]))
        j.lo++;
    j.hi = j.lo;
    while (j.hi < j.g.out[1] && tj[4 * j.hi] == 0 && tj[4 * j.hi + 1] == j.g.k[1])
        j.hi++;
    ml_parallel_slots(pool_pieces(k), (size_t)(x->dim[0] * x->dim[1]),
                       POOL_PAR_MIN / (size_t)(j.g.in[0] * j.g.in[1] + 1) + 1, pool_planes, &j);
    return 0;
}

bool ml_pool_blockable(const struct ml_kernel *k)
{
    struct ml_kernel kk = *k;
    struct geom g;
    int64_t incl;

    kk.err = NULL;
    return pool_setup(&kk, &g) == 0 && ml_attr_int(&kk, "count_include_pad", 0, &incl) == 0 &&
           ml_pool_dnn_takes(&kk, &g, !strcmp(k->node->op_type, "MaxPool"), incl != 0);
}

bool ml_pool_max2x2(const struct ml_kernel *k)
{
    struct ml_kernel kk = *k;
    struct geom g;
    int64_t ceil = 0;

    kk.err = NULL;
    if (strcmp(k->node->op_type, "MaxPool") || k->in[0]->rank != 4 || pool_setup(&kk, &g) != 0 ||
        ml_attr_int(&kk, "ceil_mode", 0, &ceil) != 0 || ceil)
        return false;
    for (int i = 0; i < 2; i++)
        if (g.k[i] != 2 || g.stride[i] != 2 || g.dil[i] != 1 || g.pb[i] || g.pe[i] || g.in[i] < 2)
            return false;
    return true;
}

const struct ml_op ml_ops_pool[] = {
    { "MaxPool", 8, ML_MAX_OPSET, 1, 1, 1, 1, infer_pool, fwd_pool, pool_work, ml_grad_pool, false },
    { "AveragePool", 7, ML_MAX_OPSET, 1, 1, 1, 1, infer_pool, fwd_pool, pool_work, ml_grad_pool, false },
};
const size_t ml_ops_pool_n = sizeof(ml_ops_pool) / sizeof(ml_ops_pool[0]);
