/* Shape operators that only relabel or create data: Reshape, Flatten, Squeeze, Unsqueeze,
 * Shape, Constant, ConstantOfShape, Expand (ONNX operator specs, ai.onnx). */
#include <stdlib.h>
#include <string.h>

#include "ml/bcast.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define ANY (ML_T(GTEE_ML_FLOAT) | ML_T(GTEE_ML_INT64) | ML_T(GTEE_ML_BOOL))
#define I64 ML_T(GTEE_ML_INT64)

static int fwd_copy(struct ml_kernel *k)
{
    size_t bytes = (size_t)ml_elems(k->in[0]) * gtee_ml_dtype_size(k->in[0]->dtype);

    if (bytes && k->out[0]->data != k->in[0]->data)
        memcpy(k->out[0]->data, k->in[0]->data, bytes);
    return 0;
}

/* A 1-D int64 input holding a shape or a list of axes: its length, and its values when
 * known (NULL otherwise). */
static int list_input(struct ml_kernel *k, size_t i, int64_t *len, const int64_t **vals)
{
    const struct gtee_ml_tensor *t = ml_in(k, i);
    int rc;

    *len = 0;
    *vals = NULL;
    if ((rc = ml_need(k, i, I64)) < 0)
        return rc;
    if (t->rank != 1)
        return ml_fail(k, GTEE_EFORMAT, "input %zu must be 1-D", i);
    *len = t->dim[0];
    *vals = t->data;
    return 0;
}

static int infer_reshape(struct ml_kernel *k)
{
    static const char *const attrs[] = { "allowzero", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    int64_t len, allowzero, known = 1, infer_at = -1;
    const int64_t *s;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_int(k, "allowzero", 0, &allowzero)) < 0 ||
        (rc = ml_need(k, 0, ANY)) < 0 || (rc = list_input(k, 1, &len, &s)) < 0)
        return rc;
    if (len < 0 || len > GTEE_ML_MAX_RANK)
        return ml_fail(k, GTEE_EUNSUPPORTED, "target shape has %lld dimensions", (long long)len);
    ml_set_like(y, x, x->dtype);
    y->rank = (int)len;
    for (int d = 0; d < y->rank; d++) {
        if (!s) {
            y->dim[d] = -1;
            continue;
        }
        if (s[d] == 0 && !allowzero) {
            if (d >= x->rank)
                return ml_fail(k, GTEE_EFORMAT, "shape[%d] is 0 but the input has rank %d", d, x->rank);
            y->dim[d] = x->dim[d];
        } else if (s[d] == -1) {
            if (infer_at >= 0)
                return ml_fail(k, GTEE_EFORMAT, "more than one -1 in the target shape");
            infer_at = d;
            y->dim[d] = -1;
            continue;
        } else if (s[d] < -1) {
            return ml_fail(k, GTEE_EFORMAT, "shape[%d] is %lld", d, (long long)s[d]);
        } else {
            y->dim[d] = s[d];
        }
        if (y->dim[d] < 0)
            known = 0;
        else if (known && __builtin_mul_overflow(known, y->dim[d], &known))
            return ml_fail(k, GTEE_EFORMAT, "target shape overflows");
    }
    if (s && ml_known(x) && known) {
        int64_t total = ml_dims_prod(x, 0, x->rank);
        if (infer_at >= 0) {
            if (known == 0 || total % known)
                return ml_fail(k, GTEE_EFORMAT, "cannot infer the -1 dimension");
            y->dim[infer_at] = total / known;
        } else if (total != known) {
            return ml_fail(k, GTEE_EFORMAT, "%lld elements cannot take a shape of %lld", (long long)total,
                           (long long)known);
        }
    }
    return 0;
}

static int infer_flatten(struct ml_kernel *k)
{
    static const char *const attrs[] = { "axis", NULL };
    const struct gtee_ml_tensor *x = k->in[0];
    int64_t axis;
    int rc, a;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, ANY)) < 0 ||
        (rc = ml_attr_int(k, "axis", 1, &axis)) < 0)
        return rc;
    if (axis == x->rank)
        a = x->rank;
    else if ((rc = ml_axis(k, axis, x->rank, "axis", &a)) < 0)
        return rc;
    k->out[0]->dtype = x->dtype;
    k->out[0]->rank = 2;
    k->out[0]->dim[0] = ml_dims_prod(x, 0, a);
    k->out[0]->dim[1] = ml_dims_prod(x, a, x->rank);
    return 0;
}

/* Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13. */
static int axes_of(struct ml_kernel *k, const int64_t **axes, int64_t *n)
{
    static const char *const attrs[] = { "axes", NULL };
    size_t na;
    int rc;

    if (k->model->opset < 13) {
        if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_ints(k, "axes", axes, &na)) < 0)
            return rc;
        *n = (int64_t)na;
        return 0;
    }
    if ((rc = ml_attr_only(k, NULL)) < 0)
        return rc;
    *axes = NULL;
    *n = 0;
    if (!ml_in(k, 1))
        return 0;
    if ((rc = list_input(k, 1, n, axes)) < 0)
        return rc;
    if (!*axes)
        return ML_DEFER;
    return 0;
}

static int infer_squeeze(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    bool drop[GTEE_ML_MAX_RANK] = { false };
    const int64_t *axes;
    int64_t n;
    int rc, a;

    if ((rc = ml_need(k, 0, ANY)) < 0 || (rc = axes_of(k, &axes, &n)) != 0)
        return rc;
    for (int64_t i = 0; i < n; i++) {
        if ((rc = ml_axis(k, axes[i], x->rank, "axis", &a)) < 0)
            return rc;
        if (x->dim[a] > 1 || x->dim[a] == 0)
            return ml_fail(k, GTEE_EFORMAT, "axis %d has size %lld, not 1", a, (long long)x->dim[a]);
        drop[a] = true;
    }
    for (int d = 0; d < x->rank && !axes; d++) {
        if (x->dim[d] < 0)
            return ml_fail(k, GTEE_EUNSUPPORTED, "without axes, dimension %d must be known", d);
        drop[d] = x->dim[d] == 1;
    }
    y->dtype = x->dtype;
    y->rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d])
            y->dim[y->rank++] = x->dim[d];
    return 0;
}

static int infer_unsqueeze(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    bool add[GTEE_ML_MAX_RANK] = { false };
    const int64_t *axes;
    int64_t n;
    int rc, a, r, src = 0;

    if ((rc = ml_need(k, 0, ANY)) < 0 || (rc = axes_of(k, &axes, &n)) != 0)
        return rc;
    if (!axes || n < 1 || x->rank + n > GTEE_ML_MAX_RANK)
        return ml_fail(k, GTEE_EFORMAT, "axes missing, or the result would have rank over %d", GTEE_ML_MAX_RANK);
    r = x->rank + (int)n;
    for (int64_t i = 0; i < n; i++) {
        if ((rc = ml_axis(k, axes[i], r, "axis", &a)) < 0)
            return rc;
        if (add[a])
            return ml_fail(k, GTEE_EFORMAT, "axis %d repeated", a);
        add[a] = true;
    }
    y->dtype = x->dtype;
    y->rank = r;
    for (int d = 0; d < r; d++)
        y->dim[d] = add[d] ? 1 : x->dim[src++];
    return 0;
}

static int shape_range(struct ml_kernel *k, int *lo, int *hi)
{
    static const char *const attrs[] = { "start", "end", NULL };
    int64_t s, e, r = k->in[0]->rank;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_int(k, "start", 0, &s)) < 0 ||
        (rc = ml_attr_int(k, "end", r, &e)) < 0)
        return rc;
    s = s < 0 ? s + r : s;
    e = e < 0 ? e + r : e;
    *lo = (int)(s < 0 ? 0 : s > r ? r : s);
    *hi = (int)(e < 0 ? 0 : e > r ? r : e);
    if (*hi < *lo)
        *hi = *lo;
    return 0;
}

static int infer_shape(struct ml_kernel *k)
{
    int rc, lo, hi;

    if ((rc = ml_need(k, 0, ANY)) < 0 || (rc = shape_range(k, &lo, &hi)) < 0)
        return rc;
    k->out[0]->dtype = GTEE_ML_INT64;
    k->out[0]->rank = 1;
    k->out[0]->dim[0] = hi - lo;
    return 0;
}

static int fwd_shape(struct ml_kernel *k)
{
    int lo, hi;

    if (shape_range(k, &lo, &hi) < 0)
        return GTEE_EFORMAT;
    for (int d = lo; d < hi; d++)
        ((int64_t *)k->out[0]->data)[d - lo] = k->in[0]->dim[d];
    return 0;
}

/* Constant's value as a tensor; value_float(s)/value_int(s) are built in place. */
static int constant_value(struct ml_kernel *k, struct gtee_ml_tensor *t, const void **data)
{
    static const char *const attrs[] = { "value", "value_float", "value_floats", "value_int", "value_ints", NULL };
    const struct ml_attr *a = NULL;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0)
        return rc;
    if (k->node->n_attr != 1)
        return ml_fail(k, GTEE_EFORMAT, "exactly one value attribute is required");
    a = &k->node->attr[0];
    memset(t, 0, sizeof(*t));
    switch (a->type) {
    case ML_ATTR_TENSOR:
        if (!a->t)
            return ml_fail(k, GTEE_EUNSUPPORTED, "value: unsupported tensor");
        ml_set_like(t, a->t, a->t->dtype);
        *data = a->t->data;
        return 0;
    case ML_ATTR_FLOAT: t->dtype = GTEE_ML_FLOAT; *data = &a->f; return 0;
    case ML_ATTR_INT: t->dtype = GTEE_ML_INT64; *data = &a->i; return 0;
    case ML_ATTR_FLOATS: t->dtype = GTEE_ML_FLOAT; t->rank = 1; t->dim[0] = (int64_t)a->n; *data = a->floats; return 0;
    case ML_ATTR_INTS: t->dtype = GTEE_ML_INT64; t->rank = 1; t->dim[0] = (int64_t)a->n; *data = a->ints; return 0;
    default:
        return ml_fail(k, GTEE_EUNSUPPORTED, "attribute '%s' of an unsupported kind", a->name);
    }
}

static int infer_constant(struct ml_kernel *k)
{
    struct gtee_ml_tensor t;
    const void *d = NULL;
    int rc = constant_value(k, &t, &d);

    if (rc == 0)
        ml_set_like(k->out[0], &t, t.dtype);
    return rc;
}

static int fwd_constant(struct ml_kernel *k)
{
    struct gtee_ml_tensor t;
    const void *d = NULL;
    size_t bytes;

    if (constant_value(k, &t, &d) < 0)
        return GTEE_EFORMAT;
    bytes = (size_t)ml_elems(&t) * gtee_ml_dtype_size(t.dtype);
    if (bytes)
        memcpy(k->out[0]->data, d, bytes);
    return 0;
}

static int infer_constant_of_shape(struct ml_kernel *k)
{
    static const char *const attrs[] = { "value", NULL };
    const struct ml_attr *v = ml_attr(k, "value");
    const int64_t *s;
    int64_t len;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = list_input(k, 0, &len, &s)) < 0)
        return rc;
    if (v && (v->type != ML_ATTR_TENSOR || !v->t || ml_elems(v->t) != 1))
        return ml_fail(k, GTEE_EUNSUPPORTED, "value must be a one-element float, int64 or bool tensor");
    if (len < 0 || len > GTEE_ML_MAX_RANK)
        return ml_fail(k, GTEE_EUNSUPPORTED, "shape has %lld dimensions", (long long)len);
    k->out[0]->dtype = v ? v->t->dtype : GTEE_ML_FLOAT;
    k->out[0]->rank = (int)len;
    for (int d = 0; d < len; d++) {
        if (s && s[d] < 0)
            return ml_fail(k, GTEE_EFORMAT, "shape[%d] is negative", d);
        k->out[0]->dim[d] = s ? s[d] : -1;
    }
    return 0;
}

static int fwd_constant_of_shape(struct ml_kernel *k)
{
    const struct ml_attr *v = ml_attr(k, "value");
    size_t n = (size_t)ml_elems(k->out[0]), esz = gtee_ml_dtype_size(k->out[0]->dtype);
    uint8_t *y = k->out[0]->data;

    if (!v) {
        memset(y, 0, n * esz);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(y + i * esz, v->t->data, esz);
    return 0;
}

static int infer_expand(struct ml_kernel *k)
{
    struct gtee_ml_tensor target = { 0 };
    const struct gtee_ml_tensor *ins[2] = { k->in[0], &target };
    const int64_t *s;
    int64_t len;
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, ANY)) < 0 || (rc = list_input(k, 1, &len, &s)) < 0)
        return rc;
    if (len < 0 || len > GTEE_ML_MAX_RANK)
        return ml_fail(k, GTEE_EUNSUPPORTED, "shape has %lld dimensions", (long long)len);
    target.rank = (int)len;
    for (int d = 0; d < len; d++) {
        if (s && s[d] < 0)
            return ml_fail(k, GTEE_EFORMAT, "shape[%d] is negative", d);
        /* unknown target dims: 1 would let the input's dim through, which is a lower bound only */
        target.dim[d] = s ? s[d] : -1;
    }
    if ((rc = ml_bcast_shape(k, ins, 2, k->out[0])) < 0)
        return rc;
    k->out[0]->dtype = k->in[0]->dtype;
    return 0;
}

static void copy_row(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    size_t esz = *(const size_t *)c;

    if (st[0])
        memcpy(o, in[0], n * esz);
    else
        for (size_t i = 0; i < n; i++)
            memcpy((uint8_t *)o + i * esz, in[0], esz);
}

static int fwd_expand(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[1] = { k->in[0] };
    size_t esz = gtee_ml_dtype_size(k->in[0]->dtype);

    ml_bcast_run(ins, 1, k->out[0], copy_row, &esz, k->threads);
    return 0;
}

const struct ml_op ml_ops_shape[] = {
    { "Reshape", 5, ML_MAX_OPSET, 2, 2, 1, 1, infer_reshape, fwd_copy, NULL, ml_grad_copy, false },
    { "Flatten", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_flatten, fwd_copy, NULL, ml_grad_copy, false },
    { "Squeeze", 1, ML_MAX_OPSET, 1, 2, 1, 1, infer_squeeze, fwd_copy, NULL, ml_grad_copy, false },
    { "Unsqueeze", 1, ML_MAX_OPSET, 1, 2, 1, 1, infer_unsqueeze, fwd_copy, NULL, ml_grad_copy, false },
    { "Shape", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_shape, fwd_shape, NULL, NULL, true },
    { "Constant", 1, ML_MAX_OPSET, 0, 0, 1, 1, infer_constant, fwd_constant, NULL, NULL, false },
    { "ConstantOfShape", 9, ML_MAX_OPSET, 1, 1, 1, 1, infer_constant_of_shape, fwd_constant_of_shape, NULL, NULL,
      false },
    { "Expand", 8, ML_MAX_OPSET, 2, 2, 1, 1, infer_expand, fwd_expand, NULL, ml_grad_expand, false },
};
const size_t ml_ops_shape_n = sizeof(ml_ops_shape) / sizeof(ml_ops_shape[0]);
