/* Helpers every operator uses: node-naming errors, attribute reads, input checks, axes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ml/ml.h"

int ml_fail(const struct ml_kernel *k, int code, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return GTEE_FAIL(k->err, code, "ml: node '%s' (#%zu, %s): %s", k->node->name, k->node->file_index,
                     k->node->op_type, why);
}

const struct ml_attr *ml_attr(const struct ml_kernel *k, const char *name)
{
    for (size_t i = 0; i < k->node->n_attr; i++)
        if (!strcmp(k->node->attr[i].name, name))
            return &k->node->attr[i];
    return NULL;
}

static int attr_typed(const struct ml_kernel *k, const char *name, int type, const struct ml_attr **a)
{
    *a = ml_attr(k, name);
    if (*a && (*a)->type != type)
        return ml_fail(k, GTEE_EFORMAT, "attribute '%s' has type %d, expected %d", name, (*a)->type, type);
    return 0;
}

int ml_attr_int(const struct ml_kernel *k, const char *name, int64_t dflt, int64_t *out)
{
    const struct ml_attr *a;
    int rc = attr_typed(k, name, ML_ATTR_INT, &a);

    *out = a ? a->i : dflt;
    return rc;
}

int ml_attr_float(const struct ml_kernel *k, const char *name, float dflt, float *out)
{
    const struct ml_attr *a;
    int rc = attr_typed(k, name, ML_ATTR_FLOAT, &a);

    *out = a ? a->f : dflt;
    return rc;
}

int ml_attr_ints(const struct ml_kernel *k, const char *name, const int64_t **v, size_t *n)
{
    const struct ml_attr *a;
    int rc = attr_typed(k, name, ML_ATTR_INTS, &a);

    *v = a ? a->ints : NULL;
    *n = a ? a->n : 0;
    return rc;
}

int ml_attr_string(const struct ml_kernel *k, const char *name, const char *dflt, const char **out)
{
    const struct ml_attr *a;
    int rc = attr_typed(k, name, ML_ATTR_STRING, &a);

    *out = a ? a->s : dflt;
    return rc;
}

int ml_attr_only(const struct ml_kernel *k, const char *const *allowed)
{
    for (size_t i = 0; i < k->node->n_attr; i++) {
        const char *name = k->node->attr[i].name;
        size_t j = 0;

        while (allowed && allowed[j] && strcmp(allowed[j], name))
            j++;
        if (!allowed || !allowed[j])
            return ml_fail(k, GTEE_EUNSUPPORTED, "attribute '%s' is not supported", name);
    }
    return 0;
}

struct gtee_ml_tensor *ml_in(const struct ml_kernel *k, size_t i)
{
    return i < k->n_in ? k->in[i] : NULL;
}

struct gtee_ml_tensor *ml_out(const struct ml_kernel *k, size_t i)
{
    return i < k->n_out ? k->out[i] : NULL;
}

int ml_need(const struct ml_kernel *k, size_t i, unsigned dtype_mask)
{
    const struct gtee_ml_tensor *t = ml_in(k, i);

    if (!t)
        return ml_fail(k, GTEE_EFORMAT, "input %zu is required", i);
    if (t->dtype < 0 || t->dtype > 31 || !(dtype_mask & (1u << t->dtype)))
        return ml_fail(k, GTEE_EUNSUPPORTED, "input %zu has element type %s (not supported here)", i,
                       gtee_ml_dtype_name(t->dtype));
    return 0;
}

int ml_axis(const struct ml_kernel *k, int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return ml_fail(k, GTEE_EFORMAT, "%s %lld is out of range for rank %d", what, (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

bool ml_known(const struct gtee_ml_tensor *t)
{
    for (int i = 0; i < t->rank; i++)
        if (t->dim[i] < 0)
            return false;
    return true;
}

void ml_set_like(struct gtee_ml_tensor *dst, const struct gtee_ml_tensor *src, int dtype)
{
    dst->dtype = dtype;
    dst->rank = src->rank;
    memcpy(dst->dim, src->dim, sizeof(dst->dim));
}

int64_t ml_dims_prod(const struct gtee_ml_tensor *t, int from, int to)
{
    int64_t p = 1;

    for (int i = from; i < to; i++) {
        if (t->dim[i] < 0 || __builtin_mul_overflow(p, t->dim[i], &p))
            return -1; /* unknown, or beyond int64 (a hostile model's dims): not a size */
    }
    return p;
}

uint64_t ml_elems(const struct gtee_ml_tensor *t)
{
    uint64_t n = 1;

    for (int i = 0; i < t->rank; i++)
        n *= (uint64_t)t->dim[i];
    return n;
}

void ml_strides(const struct gtee_ml_tensor *t, int64_t *s)
{
    int64_t acc = 1;

    for (int d = t->rank - 1; d >= 0; d--) {
        s[d] = acc;
        acc *= t->dim[d];
    }
}

const int64_t *ml_i64(const struct gtee_ml_tensor *t)
{
    return t && t->dtype == GTEE_ML_INT64 ? (const int64_t *)t->data : NULL;
}
