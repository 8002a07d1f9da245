/* Split (split sizes as an attribute before opset 13, as an optional input from 13; equal
 * parts when absent) and Tile (repeats as an input) of the ONNX operator specs (ai.onnx):
 * operators that move elements, any element type. Backward passes in grad_split.c. */
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define ANY (ML_T(GTEE_ML_FLOAT) | ML_T(GTEE_ML_INT64) | ML_T(GTEE_ML_BOOL))
#define I64 ML_T(GTEE_ML_INT64)

/* The axis and each output's length along it. ML_DEFER while the split input (or the
 * axis's length, for equal parts) is not known. */
int ml_split_parts(const struct ml_kernel *k, int *axis, int64_t *len)
{
    static const char *const a_old[] = { "axis", "split", NULL }, *const a_new[] = { "axis", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    bool v13 = k->model->opset >= 13;
    const int64_t *split = NULL;
    size_t ns = 0;
    int64_t ax, sum = 0;
    int rc;

    if ((rc = ml_attr_only(k, v13 ? a_new : a_old)) < 0 || (rc = ml_need(k, 0, ANY)) < 0 ||
        (rc = ml_attr_int(k, "axis", 0, &ax)) < 0)
        return rc;
    if (x->rank == 0)
        return ml_fail(k, GTEE_EFORMAT, "input must have rank >= 1");
    if ((rc = ml_axis(k, ax, x->rank, "axis", axis)) < 0)
        return rc;
    if (v13 && ml_in(k, 1)) {
        const struct gtee_ml_tensor *t = k->in[1];
        if ((rc = ml_need(k, 1, I64)) < 0)
            return rc;
        if (t->rank != 1)
            return ml_fail(k, GTEE_EFORMAT, "split must be 1-D");
        if (!t->data)
            return ML_DEFER;
        split = ml_i64(t);
        ns = (size_t)ml_elems(t);
    } else if (!v13) {
        if (k->n_in > 1)
            return ml_fail(k, GTEE_EFORMAT, "split is an attribute before opset 13, not an input");
        if ((rc = ml_attr_ints(k, "split", &split, &ns)) < 0)
            return rc;
    }
    int64_t dim = x->dim[*axis];
    if (split) {
        if (ns != k->n_out)
            return ml_fail(k, GTEE_EFORMAT, "split has %zu entries for %zu outputs", ns, k->n_out);
        for (size_t i = 0; i < ns; i++) {
            if (split[i] < 0)
                return ml_fail(k, GTEE_EFORMAT, "split[%zu] is negative (%lld)", i, (long long)split[i]);
            if (__builtin_add_overflow(sum, split[i], &sum))
                return ml_fail(k, GTEE_EFORMAT, "split overflows");
            len[i] = split[i];
        }
        if (dim >= 0 && sum != dim)
            return ml_fail(k, GTEE_EFORMAT, "split sums to %lld, the axis has %lld", (long long)sum, (long long)dim);
        return 0;
    }
    if (dim < 0)
        return ML_DEFER;
    if (dim % (int64_t)k->n_out)
        return ml_fail(k, GTEE_EFORMAT, "axis of %lld does not split into %zu equal parts", (long long)dim, k->n_out);
    for (size_t i = 0; i < k->n_out; i++)
        len[i] = dim / (int64_t)k->n_out;
    return 0;
}

static int infer_split(struct ml_kernel *k)
{
    int64_t len[ML_MAX_NODE_IO];
    int axis, rc = ml_split_parts(k, &axis, len);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < k->n_out; i++)
        if (k->out[i]) {
            ml_set_like(k->out[i], k->in[0], k->in[0]->dtype);
            k->out[i]->dim[axis] = len[i];
        }
    return 0;
}

static int fwd_split(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    size_t esz = gtee_ml_dtype_size(x->dtype);
    int64_t len[ML_MAX_NODE_IO], outer, inner, dim, at = 0;
    int axis, rc = ml_split_parts(k, &axis, len);

    if (rc != 0)
        return rc < 0 ? rc : ml_fail(k, GTEE_EFORMAT, "split unknown at run time");
    outer = ml_dims_prod(x, 0, axis);
    inner = ml_dims_prod(x, axis + 1, x->rank);
    dim = x->dim[axis];
    for (size_t i = 0; i < k->n_out; i++) {
        if (k->out[i] && len[i] * inner > 0)
            for (int64_t o = 0; o < outer; o++)
                memcpy((uint8_t *)k->out[i]->data + (size_t)(o * len[i] * inner) * esz,
                       (const uint8_t *)x->data + (size_t)((o * dim + at) * inner) * esz, (size_t)(len[i] * inner) * esz);
        at += len[i];
    }
    return 0;
}

/* Tile: out dim d = x dim d * repeats[d]. */
static int tile_repeats(const struct ml_kernel *k, const int64_t **rep)
{
    const struct gtee_ml_tensor *x = k->in[0], *r = k->in[1];
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, ANY)) < 0 || (rc = ml_need(k, 1, I64)) < 0)
        return rc;
    if (r->rank != 1 || (r->dim[0] >= 0 && r->dim[0] != x->rank))
        return ml_fail(k, GTEE_EFORMAT, "repeats must be 1-D with one entry per input dimension (%d)", x->rank);
    if (!r->data)
        return ML_DEFER;
    *rep = ml_i64(r);
    for (int d = 0; d < x->rank; d++)
        if ((*rep)[d] < 0)
            return ml_fail(k, GTEE_EFORMAT, "repeats[%d] is negative (%lld)", d, (long long)(*rep)[d]);
    return 0;
}

static int infer_tile(struct ml_kernel *k)
{
    const int64_t *rep = NULL;
    int rc = tile_repeats(k, &rep);

    if (rc != 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], k->in[0]->dtype);
    for (int d = 0; d < k->in[0]->rank; d++)
        if (k->in[0]->dim[d] >= 0 && __builtin_mul_overflow(k->in[0]->dim[d], rep[d], &k->out[0]->dim[d]))
            return ml_fail(k, GTEE_EFORMAT, "output dimension %d overflows", d);
    return 0;
}

struct tile_job {
    const struct gtee_ml_tensor *x, *y;
    size_t esz;
};

/* Each output row (all but the last axis) reads the x row at its index modulo x's dims. */
static void tile_range(void *arg, size_t lo, size_t hi)
{
    const struct tile_job *j = arg;
    const struct gtee_ml_tensor *x = j->x, *y = j->y;
    int r = y->rank;
    int64_t xs[GTEE_ML_MAX_RANK], wx = x->dim[r - 1], wy = y->dim[r - 1];

    ml_strides(x, xs);
    for (size_t row = lo; row < hi; row++) {
        int64_t rem = (int64_t)row, off = 0;
        for (int d = r - 2; d >= 0; d--) {
            off += (rem % y->dim[d]) % x->dim[d] * xs[d];
            rem /= y->dim[d];
        }
        uint8_t *dst = (uint8_t *)y->data + (size_t)row * (size_t)wy * j->esz;
        const uint8_t *src = (const uint8_t *)x->data + (size_t)off * j->esz;
        for (int64_t c = 0; c < wy; c += wx)
            memcpy(dst + (size_t)c * j->esz, src, (size_t)wx * j->esz);
    }
}

static int fwd_tile(struct ml_kernel *k)
{
    struct tile_job j = { k->in[0], k->out[0], gtee_ml_dtype_size(k->in[0]->dtype) };
    const struct gtee_ml_tensor *y = k->out[0];

    if (ml_elems(y) == 0)
        return 0;
    if (y->rank == 0) {
        memcpy(y->data, k->in[0]->data, j.esz);
        return 0;
    }
    ml_parallel(k->threads, (size_t)(ml_elems(y) / (uint64_t)y->dim[y->rank - 1]),
                ML_PAR_MIN / (size_t)y->dim[y->rank - 1] + 1, tile_range, &j);
    return 0;
}

const struct ml_op ml_ops_split[] = {
    { "Split", 2, ML_MAX_OPSET, 1, 2, 1, ML_MAX_NODE_IO, infer_split, fwd_split, NULL, ml_grad_split, false },
    { "Tile", 6, ML_MAX_OPSET, 2, 2, 1, 1, infer_tile, fwd_tile, NULL, ml_grad_tile, false },
};
const size_t ml_ops_split_n = sizeof(ml_ops_split) / sizeof(ml_ops_split[0]);
