/* ReduceSum (axes as an attribute before opset 13, as an input from 13, with
 * noop_with_empty_axes), ReduceMax and ArgMax (keepdims, select_last_index) of the ONNX
 * operator specs (ai.onnx). Each output element is reduced on its own, the outputs split
 * across threads; sums in double. */
#include <math.h>
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)
#define I64 ML_T(GTEE_ML_INT64)

/* The reduced axes of x (red), keepdims, and whether nothing is reduced (ReduceSum-13's
 * empty axes with noop_with_empty_axes). Returns ML_DEFER when the axes input has no
 * value yet. */
int ml_reduce_axes(const struct ml_kernel *k, bool *red, int64_t *keep, bool *noop)
{
    static const char *const a_attr[] = { "axes", "keepdims", NULL }, *const a_in[] = { "keepdims", "noop_with_empty_axes", NULL };
    static const char *const a_arg[] = { "axis", "keepdims", "select_last_index", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    bool arg = !strcmp(k->node->op_type, "ArgMax"), axes_in = !arg && !strcmp(k->node->op_type, "ReduceSum") && k->model->opset >= 13;
    const int64_t *axes = NULL;
    size_t n = 0;
    int64_t noop_empty = 0, axis = 0;
    int rc, a;

    *noop = false;
    if ((rc = ml_attr_only(k, arg ? a_arg : axes_in ? a_in : a_attr)) < 0 ||
        (rc = ml_need(k, 0, F32 | I64)) < 0 || (rc = ml_attr_int(k, "keepdims", 1, keep)) < 0)
        return rc;
    if (arg) {
        if ((rc = ml_attr_int(k, "axis", 0, &axis)) < 0)
            return rc;
        axes = &axis;
        n = 1;
    } else if (axes_in) {
        const struct gtee_ml_tensor *t = ml_in(k, 1);
        if ((rc = ml_attr_int(k, "noop_with_empty_axes", 0, &noop_empty)) < 0)
            return rc;
        if (t) {
            if ((rc = ml_need(k, 1, I64)) < 0)
                return rc;
            if (t->rank != 1)
                return ml_fail(k, GTEE_EFORMAT, "axes must be 1-D");
            if (!t->data)
                return ML_DEFER;
            axes = ml_i64(t);
            n = (size_t)ml_elems(t);
        }
    } else if (k->n_in > 1) {
        return ml_fail(k, GTEE_EFORMAT, "axes is an attribute before opset 13, not an input");
    } else if ((rc = ml_attr_ints(k, "axes", &axes, &n)) < 0) {
        return rc;
    }
    if (n == 0 && noop_empty) {
        *noop = true;
        axes = NULL;
    }
    for (int d = 0; d < GTEE_ML_MAX_RANK; d++)
        red[d] = !*noop && n == 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = ml_axis(k, axes[i], x->rank, "axis", &a)) < 0)
            return rc;
        red[a] = true;
    }
    if (arg && x->rank == 0)
        return ml_fail(k, GTEE_EFORMAT, "input must have rank >= 1");
    return 0;
}

static int infer_reduce(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    bool red[GTEE_ML_MAX_RANK], noop, arg = !strcmp(k->node->op_type, "ArgMax");
    int64_t keep;
    int rc = ml_reduce_axes(k, red, &keep, &noop);

    if (rc != 0)
        return rc;
    if (!strcmp(k->node->op_type, "ReduceMax"))
        for (int d = 0; d < x->rank; d++)
            if (red[d] && x->dim[d] == 0)
                return ml_fail(k, GTEE_EFORMAT, "ReduceMax over an empty axis %d", d);
    if (arg)
        for (int d = 0; d < x->rank; d++)
            if (red[d] && x->dim[d] == 0)
                return ml_fail(k, GTEE_EFORMAT, "ArgMax over an empty axis %d", d);
    y->dtype = arg ? GTEE_ML_INT64 : x->dtype;
    y->rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!red[d])
            y->dim[y->rank++] = x->dim[d];
        else if (keep)
            y->dim[y->rank++] = 1;
    return 0;
}

enum rkind { R_SUM, R_MAX, R_ARGMAX };

struct reduce_job {
    enum rkind kind;
    bool last;                      /* ArgMax: the last index of the maximum */
    const void *x;
    void *y;
    int nk, nr;                     /* kept and reduced axes */
    int64_t kdim[GTEE_ML_MAX_RANK], kst[GTEE_ML_MAX_RANK]; /* kept: dims, x strides */
    int64_t rdim[GTEE_ML_MAX_RANK], rst[GTEE_ML_MAX_RANK]; /* reduced */
    int64_t cnt;                    /* elements per output */
    int dtype;
};

static void reduce_range(void *arg, size_t lo, size_t hi)
{
    const struct reduce_job *j = arg;

    for (size_t o = lo; o < hi; o++) {
        int64_t base = 0, rem = (int64_t)o, idx[GTEE_ML_MAX_RANK] = { 0 }, off = 0, best_i = 0, bi = 0;
        double sum = 0;
        float bf = -INFINITY;
        bool first = true;

        for (int d = j->nk - 1; d >= 0; d--) {
            base += (rem % j->kdim[d]) * j->kst[d];
            rem /= j->kdim[d];
        }
        for (int64_t i = 0; i < j->cnt; i++) {
            int64_t p = base + off;
            if (j->dtype == GTEE_ML_FLOAT) {
                float v = ((const float *)j->x)[p];
                if (j->kind == R_SUM)
                    sum += v;
                else if (first || (!isnan(bf) && (isnan(v) || v > bf || (j->last && v == bf)))) {
                    bf = v; /* a NaN wins and stays, as NumPy's max and argmax */
                    best_i = i;
                }
            } else {
                int64_t v = ((const int64_t *)j->x)[p];
                if (j->kind == R_SUM)
                    bi = (int64_t)((uint64_t)(first ? 0 : bi) + (uint64_t)v); /* wraps, as Add does */
                else if (first || v > bi || (j->last && v == bi)) {
                    bi = v;
                    best_i = i;
                }
            }
            first = false;
            for (int d = j->nr - 1; d >= 0; d--) { /* odometer over the reduced axes */
                off += j->rst[d];
                if (++idx[d] < j->rdim[d])
                    break;
                off -= j->rst[d] * idx[d];
                idx[d] = 0;
            }
        }
        if (j->kind == R_ARGMAX) { /* the index along the one reduced axis */
            ((int64_t *)j->y)[o] = best_i;
        } else if (j->dtype == GTEE_ML_FLOAT) {
            ((float *)j->y)[o] = j->kind == R_SUM ? (float)sum : bf;
        } else {
            ((int64_t *)j->y)[o] = bi;
        }
    }
}

/* Splits x's axes into kept and reduced ones (red), with x's strides, for reduce_range. */
void ml_reduce_split(const struct gtee_ml_tensor *x, const bool *red, int64_t *kdim, int64_t *kst, int *nk,
                     int64_t *rdim, int64_t *rst, int *nr, int64_t *cnt)
{
    int64_t st[GTEE_ML_MAX_RANK];

    ml_strides(x, st);
    *nk = *nr = 0;
    *cnt = 1;
    for (int d = 0; d < x->rank; d++)
        if (red[d]) {
            rdim[*nr] = x->dim[d];
            rst[(*nr)++] = st[d];
            *cnt *= x->dim[d];
        } else {
            kdim[*nk] = x->dim[d];
            kst[(*nk)++] = st[d];
        }
}

static int fwd_reduce(struct ml_kernel *k)
{
    const char *op = k->node->op_type;
    struct reduce_job j = { .x = k->in[0]->data, .y = k->out[0]->data, .dtype = k->in[0]->dtype };
    bool red[GTEE_ML_MAX_RANK], noop;
    int64_t keep = 1, last = 0;
    size_t ny = (size_t)ml_elems(k->out[0]);
    int rc = ml_reduce_axes(k, red, &keep, &noop);

    if (rc != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "axes unknown at run time");
    j.kind = !strcmp(op, "ReduceSum") ? R_SUM : !strcmp(op, "ReduceMax") ? R_MAX : R_ARGMAX;
    if (j.kind == R_ARGMAX && (rc = ml_attr_int(k, "select_last_index", 0, &last)) < 0)
        return rc;
    j.last = last != 0;
    ml_reduce_split(k->in[0], red, j.kdim, j.kst, &j.nk, j.rdim, j.rst, &j.nr, &j.cnt);
    ml_parallel(k->threads, ny, ML_PAR_MIN / (size_t)(j.cnt + 1) + 1, reduce_range, &j);
    return 0;
}

const struct ml_op ml_ops_reduce_ext[] = {
    { "ReduceSum", 1, ML_MAX_OPSET, 1, 2, 1, 1, infer_reduce, fwd_reduce, NULL, ml_grad_reduce_sum, false },
    { "ReduceMax", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_reduce, fwd_reduce, NULL, ml_grad_reduce_max, false },
    { "ArgMax", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_reduce, fwd_reduce, NULL, NULL, false },
};
const size_t ml_ops_reduce_ext_n = sizeof(ml_ops_reduce_ext) / sizeof(ml_ops_reduce_ext[0]);
