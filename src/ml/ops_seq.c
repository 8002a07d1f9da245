/* Range and CumSum (exclusive, reverse) of the ONNX operator specs (ai.onnx), float and
 * int64. CumSum is differentiable (its gradient is the cumulative sum the other way). */
#include <math.h>
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)
#define I64 ML_T(GTEE_ML_INT64)

static double scalar(const struct gtee_ml_tensor *t)
{
    return t->dtype == GTEE_ML_FLOAT ? (double)*(const float *)t->data : (double)*ml_i64(t);
}

/* Range: max(ceil((limit - start) / delta), 0) elements start + i delta. */
static int range_count(const struct ml_kernel *k, int64_t *n)
{
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0)
        return rc;
    for (size_t i = 0; i < 3; i++) {
        if ((rc = ml_need(k, i, F32 | I64)) < 0)
            return rc;
        if (k->in[i]->dtype != k->in[0]->dtype)
            return ml_fail(k, GTEE_EFORMAT, "start, limit and delta have different element types");
        if (k->in[i]->rank > 1 || (k->in[i]->rank == 1 && k->in[i]->dim[0] != 1))
            return ml_fail(k, GTEE_EFORMAT, "input %zu must be a scalar", i);
    }
    for (size_t i = 0; i < 3; i++)
        if (!k->in[i]->data) {
            /* int64 scalars of the graph's inputs are read when the plan is built (shape-like
             * inputs); float ones are not, and the output's length would follow run data */
            if (k->in[0]->dtype == GTEE_ML_FLOAT)
                return ml_fail(k, GTEE_EUNSUPPORTED,
                               "float start, limit and delta must be constants (the output's length would depend on run-time data)");
            return ML_DEFER;
        }
    if (k->in[0]->dtype == GTEE_ML_INT64) { /* exact in integers */
        int64_t s = *ml_i64(k->in[0]), l = *ml_i64(k->in[1]), d = *ml_i64(k->in[2]);
        __int128 span = (__int128)l - s, q;
        if (d == 0)
            return ml_fail(k, GTEE_EFORMAT, "delta is 0");
        q = span / d + ((span % d) != 0 && ((span > 0) == (d > 0)));
        if (q > INT64_MAX)
            return ml_fail(k, GTEE_EFORMAT, "the range has too many elements");
        *n = q > 0 ? (int64_t)q : 0;
        return 0;
    }
    double s = scalar(k->in[0]), l = scalar(k->in[1]), d = scalar(k->in[2]), c;
    if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
        return ml_fail(k, GTEE_EFORMAT, "start, limit and delta must be finite, delta not 0");
    c = ceil((l - s) / d);
    if (c > 9.0e18)
        return ml_fail(k, GTEE_EFORMAT, "the range has too many elements");
    *n = c > 0 ? (int64_t)c : 0;
    return 0;
}

static int infer_range(struct ml_kernel *k)
{
    int64_t n = 0;
    int rc = range_count(k, &n);

    if (rc != 0)
        return rc;
    k->out[0]->dtype = k->in[0]->dtype;
    k->out[0]->rank = 1;
    k->out[0]->dim[0] = n;
    return 0;
}

static int fwd_range(struct ml_kernel *k)
{
    uint64_t n = ml_elems(k->out[0]);

    if (k->in[0]->dtype == GTEE_ML_INT64) {
        int64_t s = *ml_i64(k->in[0]), d = *ml_i64(k->in[2]), *y = k->out[0]->data;
        for (uint64_t i = 0; i < n; i++)
            y[i] = s + (int64_t)i * d;
    } else {
        float s = *(const float *)k->in[0]->data, d = *(const float *)k->in[2]->data, *y = k->out[0]->data;
        for (uint64_t i = 0; i < n; i++)
            y[i] = s + (float)i * d; /* the spec's start + i * delta */
    }
    return 0;
}

/* CumSum along axis (a scalar input): the axis and the flags. */
int ml_cumsum_setup(const struct ml_kernel *k, int *axis, bool *exclusive, bool *reverse)
{
    static const char *const attrs[] = { "exclusive", "reverse", NULL };
    const struct gtee_ml_tensor *a = k->in[1];
    int64_t ex, rev;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32 | I64)) < 0 || (rc = ml_need(k, 1, I64)) < 0 ||
        (rc = ml_attr_int(k, "exclusive", 0, &ex)) < 0 || (rc = ml_attr_int(k, "reverse", 0, &rev)) < 0)
        return rc;
    if (a->rank > 1 || (a->rank == 1 && a->dim[0] != 1))
        return ml_fail(k, GTEE_EFORMAT, "axis must be a scalar");
    if (k->in[0]->rank == 0)
        return ml_fail(k, GTEE_EFORMAT, "input must have rank >= 1");
    *exclusive = ex != 0;
    *reverse = rev != 0;
    if (!a->data)
        return ML_DEFER;
    return ml_axis(k, *ml_i64(a), k->in[0]->rank, "axis", axis);
}

static int infer_cumsum(struct ml_kernel *k)
{
    int axis = 0;
    bool ex = false, rev = false;
    int rc = ml_cumsum_setup(k, &axis, &ex, &rev);

    if (rc < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], k->in[0]->dtype); /* the shape does not need the axis */
    return 0;
}

struct cum_job {
    const void *x;
    void *y;
    int64_t n, inner;
    bool ex, rev, add; /* add: y += (the backward pass), else y = */
    int dtype;
};

static void cum_range(void *arg, size_t lo, size_t hi)
{
    const struct cum_job *j = arg;

    for (size_t line = lo; line < hi; line++) {
        int64_t o = (int64_t)line / j->inner, in = (int64_t)line % j->inner, base = o * j->n * j->inner + in;
        double acc = 0;
        uint64_t iacc = 0;
        for (int64_t t = 0; t < j->n; t++) {
            int64_t p = base + (j->rev ? j->n - 1 - t : t) * j->inner;
            if (j->dtype == GTEE_ML_FLOAT) {
                float v = ((const float *)j->x)[p], *y = (float *)j->y + p;
                if (!j->ex)
                    acc += v;
                *y = j->add ? *y + (float)acc : (float)acc;
                if (j->ex)
                    acc += v;
            } else {
                int64_t v = ((const int64_t *)j->x)[p];
                if (!j->ex)
                    iacc += (uint64_t)v;
                ((int64_t *)j->y)[p] = (int64_t)iacc;
                if (j->ex)
                    iacc += (uint64_t)v;
            }
        }
    }
}

/* y = cumsum(x) (add: y += cumsum(x)) along axis, over the lines of x. */
void ml_cumsum_run(const struct gtee_ml_tensor *x, void *y, int axis, bool ex, bool rev, bool add, int threads)
{
    struct cum_job j = { x->data, y, x->dim[axis], ml_dims_prod(x, axis + 1, x->rank), ex, rev, add, x->dtype };
    size_t lines = (size_t)(ml_dims_prod(x, 0, axis) * j.inner);

    ml_parallel(threads, lines, ML_PAR_MIN / (size_t)(j.n + 1) + 1, cum_range, &j);
}

static int fwd_cumsum(struct ml_kernel *k)
{
    int axis = 0;
    bool ex = false, rev = false;
    int rc = ml_cumsum_setup(k, &axis, &ex, &rev);

    if (rc != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "axis unknown at run time");
    ml_cumsum_run(k->in[0], k->out[0]->data, axis, ex, rev, false, k->threads);
    return 0;
}

const struct ml_op ml_ops_seq[] = {
    { "Range", 11, ML_MAX_OPSET, 3, 3, 1, 1, infer_range, fwd_range, NULL, NULL, false },
    { "CumSum", 11, ML_MAX_OPSET, 2, 2, 1, 1, infer_cumsum, fwd_cumsum, NULL, ml_grad_cumsum, false },
};
const size_t ml_ops_seq_n = sizeof(ml_ops_seq) / sizeof(ml_ops_seq[0]);
