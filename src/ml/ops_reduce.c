/* Reductions and normalizations: ReduceMean, Softmax, LogSoftmax, LayerNormalization (ONNX
 * operator specs, ai.onnx). Sums are accumulated in double so long rows keep float accuracy. */
#include <math.h>
#include <string.h>

#include "ml/fastmath.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

static int reduce_axes(struct ml_kernel *k, bool *red, int64_t *keep)
{
    static const char *const attrs[] = { "axes", "keepdims", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    const int64_t *axes;
    size_t n;
    int rc, a;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 ||
        (rc = ml_attr_ints(k, "axes", &axes, &n)) < 0 || (rc = ml_attr_int(k, "keepdims", 1, keep)) < 0)
        return rc;
    for (int d = 0; d < GTEE_ML_MAX_RANK; d++)
        red[d] = !axes;
    for (size_t i = 0; axes && i < n; i++) {
        if ((rc = ml_axis(k, axes[i], x->rank, "axis", &a)) < 0)
            return rc;
        red[a] = true;
    }
    return 0;
}

static int infer_reduce_mean(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    bool red[GTEE_ML_MAX_RANK];
    int64_t keep;
    int rc = reduce_axes(k, red, &keep);

    if (rc < 0)
        return rc;
    y->dtype = GTEE_ML_FLOAT;
    y->rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!red[d])
            y->dim[y->rank++] = x->dim[d];
        else if (keep)
            y->dim[y->rank++] = 1;
    return 0;
}

ML_HOT static int fwd_reduce_mean(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *xp = x->data;
    float *yp = k->out[0]->data;
    size_t ostride[GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, n = (size_t)ml_elems(x), ny, acc = 1, cnt = 1;
    bool red[GTEE_ML_MAX_RANK];
    int64_t keep;
    int r = x->rank;

    if (reduce_axes(k, red, &keep) < 0)
        return GTEE_EFORMAT;
    ny = (size_t)ml_elems(k->out[0]);
    int first = r; /* reduced axes a suffix [first, r): one contiguous row per output */
    while (first > 0 && red[first - 1])
        first--;
    bool suffix = first < r;
    for (int d = 0; d < first; d++)
        suffix = suffix && !red[d];
    if (suffix) {
        size_t len = ny ? n / ny : 0;
        for (size_t o = 0; o < ny; o++) {
            const float *row = xp + o * len;
            double lane[8] = { 0 }, sum = 0; /* eight partial sums: a loop the compiler vectorizes */
            size_t i = 0;
            for (; i + 8 <= len; i += 8)
                for (int l = 0; l < 8; l++)
                    lane[l] += row[i + l];
            for (; i < len; i++)
                sum += row[i];
            for (int l = 0; l < 8; l++)
                sum += lane[l];
            yp[o] = len ? (float)(sum / (double)len) : NAN;
        }
        return 0;
    }
    /* reduced axes one block [first, last] between kept ones: rows of `inner` summed along
     * `mid`, in the order the general loop below visits them */
    int lo_ax = 0, hi_ax = r;
    while (lo_ax < r && !red[lo_ax])
        lo_ax++;
    while (hi_ax > lo_ax && !red[hi_ax - 1])
        hi_ax--;
    bool block = lo_ax < hi_ax;
    for (int d = lo_ax; d < hi_ax; d++)
        block = block && red[d];
    size_t inner = (size_t)ml_dims_prod(x, hi_ax, r), mid = (size_t)ml_dims_prod(x, lo_ax, hi_ax);
    if (block && inner <= 1024) {
        size_t outer = (size_t)ml_dims_prod(x, 0, lo_ax);
        double row[1024];
        for (size_t o = 0; o < outer; o++) {
            for (size_t j = 0; j < inner; j++)
                row[j] = 0;
            for (size_t q = 0; q < mid; q++) {
                const float *xr = xp + (o * mid + q) * inner;
                for (size_t j = 0; j < inner; j++)
                    row[j] += xr[j];
            }
            for (size_t j = 0; j < inner; j++)
                yp[o * inner + j] = mid ? (float)(row[j] / (double)mid) : NAN;
        }
        return 0;
    }
    for (int d = r - 1; d >= 0; d--) {
        ostride[d] = red[d] ? 0 : acc;
        acc *= red[d] ? 1 : (size_t)x->dim[d];
        cnt *= red[d] ? (size_t)x->dim[d] : 1;
    }
    double sums[1024], *s = ny <= 1024 ? sums : NULL;
    if (s)
        memset(s, 0, ny * sizeof(double));
    else
        memset(yp, 0, ny * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        size_t o = 0;
        for (int d = 0; d < r; d++)
            o += idx[d] * ostride[d];
        if (s)
            s[o] += xp[i];
        else
            yp[o] += xp[i];
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < (size_t)x->dim[d])
                break;
            idx[d] = 0;
        }
    }
    for (size_t o = 0; o < ny; o++)
        yp[o] = cnt ? (float)((s ? s[o] : yp[o]) / (double)cnt) : NAN;
    return 0;
}

/* Softmax over [outer, n, inner]: before opset 13 the input is coerced to 2-D at axis
 * (default 1); from 13 it runs along one axis (default -1). */
static int softmax_dims(struct ml_kernel *k, size_t *outer, size_t *n, size_t *inner)
{
    static const char *const attrs[] = { "axis", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    bool v13 = k->model->opset >= 13;
    int64_t axis;
    int rc, a;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 ||
        (rc = ml_attr_int(k, "axis", v13 ? -1 : 1, &axis)) < 0)
        return rc;
    if (x->rank == 0)
        return ml_fail(k, GTEE_EFORMAT, "input must have rank >= 1");
    if ((rc = ml_axis(k, axis, x->rank, "axis", &a)) < 0)
        return rc;
    *outer = (size_t)ml_dims_prod(x, 0, a);
    *n = (size_t)(v13 ? ml_dims_prod(x, a, a + 1) : ml_dims_prod(x, a, x->rank));
    *inner = v13 ? (size_t)ml_dims_prod(x, a + 1, x->rank) : 1;
    return 0;
}

static int infer_softmax(struct ml_kernel *k)
{
    size_t o = 0, n = 0, i = 0;
    int rc = softmax_dims(k, &o, &n, &i);

    if (rc == 0)
        ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    return rc;
}

struct softmax_job {
    const float *x;
    float *y;
    size_t n, inner;
};

ML_HOT static void softmax_range(void *arg, size_t lo, size_t hi)
{
    const struct softmax_job *j = arg;

    if (j->inner == 1) { /* rows along the last axis: contiguous loops, the same sums */
        for (size_t r = lo; r < hi; r++) {
            const float *x = j->x + r * j->n;
            float *y = j->y + r * j->n, mx = -INFINITY, sum = 0, inv;
            for (size_t i = 0; i < j->n; i++)
                mx = x[i] > mx ? x[i] : mx;
            for (size_t i = 0; i < j->n; i++)
                y[i] = ml_expf(x[i] - mx);
            for (size_t i = 0; i < j->n; i++)
                sum += y[i];
            inv = 1.0f / sum;
            for (size_t i = 0; i < j->n; i++)
                y[i] *= inv;
        }
        return;
    }
    for (size_t r = lo; r < hi; r++) {
        size_t o = r / j->inner, in = r % j->inner, base = o * j->n * j->inner + in;
        float mx = -INFINITY, sum = 0;
        for (size_t i = 0; i < j->n; i++) {
            float v = j->x[base + i * j->inner];
            mx = v > mx ? v : mx; /* a NaN in the row makes every exp, so the row, NaN */
        }
        for (size_t i = 0; i < j->n; i++) {
            float e = ml_expf(j->x[base + i * j->inner] - mx);
            j->y[base + i * j->inner] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        for (size_t i = 0; i < j->n; i++)
            j->y[base + i * j->inner] *= inv;
    }
}

static int fwd_softmax(struct ml_kernel *k)
{
    struct softmax_job j = { k->in[0]->data, k->out[0]->data, 0, 0 };
    size_t outer = 0;

    if (softmax_dims(k, &outer, &j.n, &j.inner) < 0)
        return GTEE_EFORMAT;
    ml_parallel(k->threads, outer * j.inner, ML_PAR_MIN / 8 / (j.n + 1) + 1, softmax_range, &j);
    return 0;
}

/* LogSoftmax on the same rows as Softmax: y = x - max - log(sum exp(x - max)), the sum in
 * double (a classifier's log-probabilities; exp(y) sums to one). */
ML_HOT static void logsoftmax_range(void *arg, size_t lo, size_t hi)
{
    const struct softmax_job *j = arg;

    for (size_t r = lo; r < hi; r++) {
        size_t o = r / j->inner, in = r % j->inner, base = o * j->n * j->inner + in;
        float mx = -INFINITY, lse;
        double sum = 0;
        for (size_t i = 0; i < j->n; i++) {
            float v = j->x[base + i * j->inner];
            mx = v > mx ? v : mx; /* a NaN in the row makes the row NaN */
        }
        for (size_t i = 0; i < j->n; i++)
            sum += (double)ml_expf(j->x[base + i * j->inner] - mx);
        lse = mx + (float)log(sum);
        for (size_t i = 0; i < j->n; i++)
            j->y[base + i * j->inner] = j->x[base + i * j->inner] - lse;
    }
}

static int fwd_logsoftmax(struct ml_kernel *k)
{
    struct softmax_job j = { k->in[0]->data, k->out[0]->data, 0, 0 };
    size_t outer = 0;

    if (softmax_dims(k, &outer, &j.n, &j.inner) < 0)
        return GTEE_EFORMAT;
    ml_parallel(k->threads, outer * j.inner, ML_PAR_MIN / 8 / (j.n + 1) + 1, logsoftmax_range, &j);
    return 0;
}

/* LayerNormalization (opset 17): normalize over dims [axis, rank). */
static int ln_setup(struct ml_kernel *k, int *axis, size_t *rows, size_t *n, float *eps)
{
    static const char *const attrs[] = { "axis", "epsilon", "stash_type", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t ax, stash;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 || (rc = ml_need(k, 1, F32)) < 0 ||
        (ml_in(k, 2) && (rc = ml_need(k, 2, F32)) < 0) || (rc = ml_attr_int(k, "axis", -1, &ax)) < 0 ||
        (rc = ml_attr_float(k, "epsilon", 1e-5f, eps)) < 0 || (rc = ml_attr_int(k, "stash_type", 1, &stash)) < 0)
        return rc;
    if (stash != 1)
        return ml_fail(k, GTEE_EUNSUPPORTED, "stash_type %lld", (long long)stash);
    if ((rc = ml_axis(k, ax, x->rank, "axis", axis)) < 0)
        return rc;
    for (size_t i = 1; i < 3; i++) {
        const struct gtee_ml_tensor *t = ml_in(k, i);
        if (!t)
            continue;
        if (t->rank > x->rank - *axis)
            return ml_fail(k, GTEE_EFORMAT, "input %zu has a rank over the normalized dims", i);
        for (int d = 0; d < t->rank; d++) {
            int64_t xd = x->dim[x->rank - t->rank + d];
            if (t->dim[d] >= 0 && xd >= 0 && t->dim[d] != xd)
                return ml_fail(k, GTEE_EUNSUPPORTED, "input %zu must match the normalized dims", i);
        }
        if (ml_known(t) && ml_known(x) && (int64_t)ml_elems(t) != ml_dims_prod(x, *axis, x->rank))
            return ml_fail(k, GTEE_EUNSUPPORTED, "input %zu must have the normalized dims' shape", i);
    }
    *rows = (size_t)ml_dims_prod(x, 0, *axis);
    *n = (size_t)ml_dims_prod(x, *axis, x->rank);
    return 0;
}

static int infer_ln(struct ml_kernel *k)
{
    size_t rows, n;
    float eps;
    int axis, rc = ln_setup(k, &axis, &rows, &n, &eps);

    if (rc < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    for (size_t i = 1; i < 3; i++)
        if (ml_out(k, i)) {
            ml_set_like(k->out[i], k->in[0], GTEE_ML_FLOAT);
            for (int d = axis; d < k->in[0]->rank; d++)
                k->out[i]->dim[d] = 1;
        }
    return 0;
}

ML_HOT static int fwd_ln(struct ml_kernel *k)
{
    const float *x = k->in[0]->data, *sc = k->in[1]->data, *b = ml_in(k, 2) ? k->in[2]->data : NULL;
    float *y = k->out[0]->data, eps;
    size_t rows, n;
    int axis;

    if (ln_setup(k, &axis, &rows, &n, &eps) < 0)
        return GTEE_EFORMAT;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        double mean = 0, var = 0;
        for (size_t i = 0; i < n; i++)
            mean += xr[i];
        mean = n ? mean / (double)n : 0;
        for (size_t i = 0; i < n; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var = n ? var / (double)n : 0;
        float inv = (float)(1.0 / sqrt(var + eps));
        for (size_t i = 0; i < n; i++)
            y[r * n + i] = (float)(xr[i] - mean) * inv * sc[i] + (b ? b[i] : 0.0f);
        if (ml_out(k, 1))
            ((float *)k->out[1]->data)[r] = (float)mean;
        if (ml_out(k, 2))
            ((float *)k->out[2]->data)[r] = inv;
    }
    return 0;
}

const struct ml_op ml_ops_reduce[] = {
    { "ReduceMean", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_reduce_mean, fwd_reduce_mean, NULL, ml_grad_reduce_mean, false },
    { "Softmax", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_softmax, fwd_softmax, NULL, ml_grad_softmax, false },
    { "LogSoftmax", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_softmax, fwd_logsoftmax, NULL, ml_grad_logsoftmax, false },
    { "LayerNormalization", 17, ML_MAX_OPSET, 2, 3, 1, 3, infer_ln, fwd_ln, NULL, ml_grad_layernorm, false },
};
const size_t ml_ops_reduce_n = sizeof(ml_ops_reduce) / sizeof(ml_ops_reduce[0]);
