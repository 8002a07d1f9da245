/* Operators that move data between positions: Transpose, Concat, Slice, Gather (ONNX
 * operator specs, ai.onnx). All are type-generic (they copy elements of any size). */
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define ANY (ML_T(GTEE_ML_FLOAT) | ML_T(GTEE_ML_INT64) | ML_T(GTEE_ML_BOOL))
#define I64 ML_T(GTEE_ML_INT64)

static int perm_of(struct ml_kernel *k, int rank, int *perm)
{
    static const char *const attrs[] = { "perm", NULL };
    bool seen[GTEE_ML_MAX_RANK] = { false };
    const int64_t *p;
    size_t n;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_ints(k, "perm", &p, &n)) < 0)
        return rc;
    if (p && n != (size_t)rank)
        return ml_fail(k, GTEE_EFORMAT, "perm has %zu entries for rank %d", n, rank);
    for (int d = 0; d < rank; d++) {
        perm[d] = p ? (int)p[d] : rank - 1 - d;
        if (p && (p[d] < 0 || p[d] >= rank || seen[p[d]]))
            return ml_fail(k, GTEE_EFORMAT, "perm is not a permutation");
        if (p)
            seen[p[d]] = true;
    }
    return 0;
}

static int infer_transpose(struct ml_kernel *k)
{
    int perm[GTEE_ML_MAX_RANK], rc;

    if ((rc = ml_need(k, 0, ANY)) < 0 || (rc = perm_of(k, k->in[0]->rank, perm)) < 0)
        return rc;
    k->out[0]->dtype = k->in[0]->dtype;
    k->out[0]->rank = k->in[0]->rank;
    for (int d = 0; d < k->in[0]->rank; d++)
        k->out[0]->dim[d] = k->in[0]->dim[perm[d]];
    return 0;
}

/* dst[0, n) = src[0, n): short rows (an attention head's 16 floats) in whole 8-float moves,
 * the last one overlapping, instead of a memcpy call per row. */
static inline void copy_f32(float *dst, const float *src, int64_t n)
{
    int64_t i = 0;

    if (n < 8 || n > 256) {
        memcpy(dst, src, sizeof(float) * (size_t)n);
        return;
    }
    for (; i + 8 <= n; i += 8)
        memcpy(dst + i, src + i, 8 * sizeof(float));
    if (i < n)
        memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
}

/* Copies y[idx] = x[sum idx[d] * stride[d] + base] over y's dims, inner dim as a loop. */
static void strided_copy(const uint8_t *x, size_t base, const int64_t *stride, uint8_t *y,
                         const struct gtee_ml_tensor *yt, size_t esz)
{
    size_t n = (size_t)ml_elems(yt), idx[GTEE_ML_MAX_RANK] = { 0 };
    int r = yt->rank;

    if (n == 0)
        return;
    if (r == 0) {
        memcpy(y, x + base * esz, esz);
        return;
    }
    if (esz == 4 && r >= 2 && stride[r - 1] != 1 && stride[r - 2] == 1) {
        /* each output plane [a, i] = x[a + i * s] is a transposed block of x: read x along a
         * (contiguous), not along i (one cache line per element, lines that alias in L1) */
        int64_t rows = yt->dim[r - 2], cols = yt->dim[r - 1], s = stride[r - 1];
        for (size_t o = 0; o < n; o += (size_t)(rows * cols)) {
            int64_t off = (int64_t)base;
            const float *src;
            float *dst = (float *)(void *)y + o;
            for (int d = 0; d < r - 2; d++)
                off += (int64_t)idx[d] * stride[d];
            src = (const float *)(const void *)x + off;
            for (int64_t i = 0; i < cols; i++)
                for (int64_t a = 0; a < rows; a++)
                    dst[a * cols + i] = src[a + i * s];
            for (int d = r - 3; d >= 0; d--) {
                if (++idx[d] < (size_t)yt->dim[d])
                    break;
                idx[d] = 0;
            }
        }
        return;
    }
    for (size_t o = 0; o < n; o += (size_t)yt->dim[r - 1]) {
        int64_t off = (int64_t)base;
        for (int d = 0; d < r - 1; d++)
            off += (int64_t)idx[d] * stride[d];
        if (stride[r - 1] == 1 && esz == 4)
            copy_f32((float *)(void *)y + o, (const float *)(const void *)x + off, yt->dim[r - 1]);
        else if (stride[r - 1] == 1)
            memcpy(y + o * esz, x + (size_t)off * esz, (size_t)yt->dim[r - 1] * esz);
        else if (esz == 4) {
            const float *src = (const float *)(const void *)x + off;
            float *dst = (float *)(void *)y + o;
            for (int64_t i = 0; i < yt->dim[r - 1]; i++)
                dst[i] = src[i * stride[r - 1]];
        }
        else
            for (int64_t i = 0; i < yt->dim[r - 1]; i++)
                memcpy(y + (o + (size_t)i) * esz, x + (size_t)(off + i * stride[r - 1]) * esz, esz);
        for (int d = r - 2; d >= 0; d--) {
            if (++idx[d] < (size_t)yt->dim[d])
                break;
            idx[d] = 0;
        }
    }
}

static int fwd_transpose(struct ml_kernel *k)
{
    int64_t xs[GTEE_ML_MAX_RANK], ys[GTEE_ML_MAX_RANK];
    int perm[GTEE_ML_MAX_RANK];

    if (perm_of(k, k->in[0]->rank, perm) < 0)
        return GTEE_EFORMAT;
    ml_strides(k->in[0], xs);
    for (int d = 0; d < k->in[0]->rank; d++)
        ys[d] = xs[perm[d]];
    strided_copy(k->in[0]->data, 0, ys, k->out[0]->data, k->out[0], gtee_ml_dtype_size(k->in[0]->dtype));
    return 0;
}

static int infer_concat(struct ml_kernel *k)
{
    static const char *const attrs[] = { "axis", NULL };
    const struct gtee_ml_tensor *x0 = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    int64_t axis;
    int rc, a;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_int(k, "axis", 0, &axis)) < 0 ||
        (rc = ml_need(k, 0, ANY)) < 0)
        return rc;
    if (!ml_attr(k, "axis"))
        return ml_fail(k, GTEE_EFORMAT, "axis is required");
    if ((rc = ml_axis(k, axis, x0->rank, "axis", &a)) < 0)
        return rc;
    ml_set_like(y, x0, x0->dtype);
    for (size_t i = 1; i < k->n_in; i++) {
        const struct gtee_ml_tensor *x = k->in[i];
        if ((rc = ml_need(k, i, ML_T(x0->dtype))) < 0)
            return rc;
        if (x->rank != x0->rank)
            return ml_fail(k, GTEE_EFORMAT, "input %zu has rank %d, input 0 has %d", i, x->rank, x0->rank);
        for (int d = 0; d < x->rank; d++) {
            if (d == a)
                y->dim[d] = (y->dim[d] < 0 || x->dim[d] < 0) ? -1 : y->dim[d] + x->dim[d];
            else if (y->dim[d] < 0)
                y->dim[d] = x->dim[d];
            else if (x->dim[d] >= 0 && x->dim[d] != y->dim[d])
                return ml_fail(k, GTEE_EFORMAT, "input %zu dimension %d differs", i, d);
        }
    }
    return 0;
}

static int fwd_concat(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *y = k->out[0];
    size_t esz = gtee_ml_dtype_size(y->dtype), outer, yrow, off = 0;
    int64_t axis;
    int a;

    if (ml_attr_int(k, "axis", 0, &axis) < 0 || ml_axis(k, axis, y->rank, "axis", &a) < 0)
        return GTEE_EFORMAT;
    outer = (size_t)ml_dims_prod(y, 0, a);
    yrow = (size_t)ml_dims_prod(y, a, y->rank) * esz;
    for (size_t i = 0; i < k->n_in; i++) {
        const struct gtee_ml_tensor *x = k->in[i];
        size_t xrow = (size_t)ml_dims_prod(x, a, x->rank) * esz;
        for (size_t o = 0; o < outer && xrow; o++)
            memcpy((uint8_t *)y->data + o * yrow + off, (const uint8_t *)x->data + o * xrow, xrow);
        off += xrow;
    }
    return 0;
}

/* Slice (opset 10+): per axis, start/step and the element count, clamped as the spec says. */
struct slice {
    int64_t start[GTEE_ML_MAX_RANK], step[GTEE_ML_MAX_RANK], count[GTEE_ML_MAX_RANK];
};

static int slice_params(struct ml_kernel *k, struct slice *s, bool *known)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const int64_t *st = ml_i64(k->in[1]), *en = ml_i64(k->in[2]), *ax = NULL, *sp = NULL;
    bool set[GTEE_ML_MAX_RANK] = { false };
    int64_t n;
    int rc, a;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, ANY)) < 0 || (rc = ml_need(k, 1, I64)) < 0 ||
        (rc = ml_need(k, 2, I64)) < 0 || (ml_in(k, 3) && (rc = ml_need(k, 3, I64)) < 0) ||
        (ml_in(k, 4) && (rc = ml_need(k, 4, I64)) < 0))
        return rc;
    n = k->in[1]->rank == 1 ? k->in[1]->dim[0] : -2;
    for (size_t i = 2; i <= 4; i++)
        if (ml_in(k, i) && (k->in[i]->rank != 1 || (n >= 0 && k->in[i]->dim[0] >= 0 && k->in[i]->dim[0] != n)))
            return ml_fail(k, GTEE_EFORMAT, "starts, ends, axes and steps must be 1-D of one length");
    if (n == -2)
        return ml_fail(k, GTEE_EFORMAT, "starts must be 1-D");
    ax = ml_in(k, 3) ? ml_i64(k->in[3]) : NULL;
    sp = ml_in(k, 4) ? ml_i64(k->in[4]) : NULL;
    *known = st && en && (!ml_in(k, 3) || ax) && (!ml_in(k, 4) || sp) && n >= 0;
    for (int d = 0; d < x->rank; d++) {
        s->start[d] = 0;
        s->step[d] = 1;
        s->count[d] = x->dim[d];
    }
    if (!*known)
        return 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t dim, b, e, step = sp ? sp[i] : 1;
        if ((rc = ml_axis(k, ax ? ax[i] : i, x->rank, "axis", &a)) < 0)
            return rc;
        if (set[a] || step == 0)
            return ml_fail(k, GTEE_EFORMAT, "axis %d repeated or step 0", a);
        set[a] = true;
        dim = x->dim[a];
        s->step[a] = step;
        if (dim < 0) {
            s->count[a] = -1;
            continue;
        }
        b = st[i] < 0 ? (st[i] < -dim ? 0 : st[i] + dim) : st[i];
        e = en[i] < 0 ? (en[i] < -dim ? -1 : en[i] + dim) : en[i];
        if (step > 0) {
            b = b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            s->count[a] = e > b ? (e - b - 1) / step + 1 : 0;
        } else {
            b = b > dim - 1 ? dim - 1 : b;
            e = e > dim - 1 ? dim - 1 : e;
            s->count[a] = b > e ? (int64_t)((uint64_t)(b - e - 1) / ((uint64_t)(-(step + 1)) + 1) + 1) : 0;
        }
        s->start[a] = b;
    }
    return 0;
}

static int infer_slice(struct ml_kernel *k)
{
    struct slice s;
    bool known;
    int rc = slice_params(k, &s, &known);

    if (rc < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], k->in[0]->dtype);
    for (int d = 0; d < k->in[0]->rank; d++)
        k->out[0]->dim[d] = known ? s.count[d] : -1;
    return 0;
}

static int fwd_slice(struct ml_kernel *k)
{
    int64_t xs[GTEE_ML_MAX_RANK], ys[GTEE_ML_MAX_RANK], base = 0;
    struct slice s;
    bool known;

    if (slice_params(k, &s, &known) < 0)
        return GTEE_EFORMAT;
    ml_strides(k->in[0], xs);
    for (int d = 0; d < k->in[0]->rank; d++) {
        base += s.start[d] * xs[d];
        ys[d] = s.step[d] * xs[d];
    }
    strided_copy(k->in[0]->data, (size_t)base, ys, k->out[0]->data, k->out[0], gtee_ml_dtype_size(k->in[0]->dtype));
    return 0;
}

static int infer_gather(struct ml_kernel *k)
{
    static const char *const attrs[] = { "axis", NULL };
    const struct gtee_ml_tensor *x = k->in[0], *idx = k->in[1];
    struct gtee_ml_tensor *y = k->out[0];
    int64_t axis;
    int rc, a;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_int(k, "axis", 0, &axis)) < 0 ||
        (rc = ml_need(k, 0, ANY)) < 0 || (rc = ml_need(k, 1, I64)) < 0 ||
        (rc = ml_axis(k, axis, x->rank, "axis", &a)) < 0)
        return rc;
    if (x->rank - 1 + idx->rank > GTEE_ML_MAX_RANK)
        return ml_fail(k, GTEE_EUNSUPPORTED, "result rank over %d", GTEE_ML_MAX_RANK);
    y->dtype = x->dtype;
    y->rank = 0;
    for (int d = 0; d < a; d++)
        y->dim[y->rank++] = x->dim[d];
    for (int d = 0; d < idx->rank; d++)
        y->dim[y->rank++] = idx->dim[d];
    for (int d = a + 1; d < x->rank; d++)
        y->dim[y->rank++] = x->dim[d];
    return 0;
}

static int fwd_gather(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const int64_t *idx = k->in[1]->data;
    size_t esz = gtee_ml_dtype_size(x->dtype), n = (size_t)ml_elems(k->in[1]), outer, inner;
    uint8_t *y = k->out[0]->data;
    int64_t axis, dim;
    int a;

    if (ml_attr_int(k, "axis", 0, &axis) < 0 || ml_axis(k, axis, x->rank, "axis", &a) < 0)
        return GTEE_EFORMAT;
    dim = x->dim[a];
    outer = (size_t)ml_dims_prod(x, 0, a);
    inner = (size_t)ml_dims_prod(x, a + 1, x->rank) * esz;
    /* Indices are data (the model's or the caller's): one out of range is malformed input. */
    for (size_t i = 0; i < n; i++)
        if (idx[i] < -dim || idx[i] >= dim)
            return ml_fail(k, GTEE_EFORMAT, "index %lld (element %zu of the indices) is out of range for axis %d of size %lld",
                           (long long)idx[i], i, a, (long long)dim);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < n; i++) {
            int64_t j = idx[i] < 0 ? idx[i] + dim : idx[i];
            memcpy(y + (o * n + i) * inner, (const uint8_t *)x->data + (o * (size_t)dim + (size_t)j) * inner, inner);
        }
    return 0;
}

const struct ml_op ml_ops_layout[] = {
    { "Transpose", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_transpose, fwd_transpose, NULL, ml_grad_transpose, false },
    { "Concat", 4, ML_MAX_OPSET, 1, ML_MAX_NODE_IO, 1, 1, infer_concat, fwd_concat, NULL, ml_grad_concat, false },
    { "Slice", 10, ML_MAX_OPSET, 3, 5, 1, 1, infer_slice, fwd_slice, NULL, ml_grad_slice, false },
    { "Gather", 1, ML_MAX_OPSET, 2, 2, 1, 1, infer_gather, fwd_gather, NULL, ml_grad_gather, false },
};
const size_t ml_ops_layout_n = sizeof(ml_ops_layout) / sizeof(ml_ops_layout[0]);
