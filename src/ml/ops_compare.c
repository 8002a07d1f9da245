/* Element-wise Max and Min (variadic, broadcasting), the comparisons Equal, Less, Greater
 * and the logical Not, And, Or (bool outputs) of the ONNX operator specs (ai.onnx). Max
 * and Min are differentiable: the gradient goes to the input that won (grad_act.c). */
#include <string.h>

#include "ml/bcast.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)
#define I64 ML_T(GTEE_ML_INT64)
#define BOOL ML_T(GTEE_ML_BOOL)

/* ---- Max, Min ---- */
static int infer_maxmin(struct ml_kernel *k)
{
    struct gtee_ml_tensor acc = { 0 };
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0)
        return rc;
    for (size_t i = 0; i < k->n_in; i++) {
        struct gtee_ml_tensor prev = acc;
        const struct gtee_ml_tensor *ins[2] = { &prev, k->in[i] };
        if ((rc = ml_need(k, i, k->model->opset >= 12 ? F32 | I64 : F32)) < 0)
            return rc;
        if (k->in[i]->dtype != k->in[0]->dtype)
            return ml_fail(k, GTEE_EFORMAT, "input %zu has another element type than input 0", i);
        if (i == 0)
            ml_set_like(&acc, k->in[0], k->in[0]->dtype);
        else if ((rc = ml_bcast_shape(k, ins, 2, &acc)) < 0)
            return rc;
    }
    ml_set_like(k->out[0], &acc, k->in[0]->dtype);
    return 0;
}

struct mm_ctx {
    bool max;
    size_t esz;
};

static void copy_row(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    size_t esz = ((const struct mm_ctx *)c)->esz;

    for (size_t i = 0; i < n; i++)
        memcpy((uint8_t *)o + i * esz, (const uint8_t *)in[0] + i * st[0] * esz, esz);
}

/* y = max(y, b) in place (y walks with step 1 as the output); a NaN wins, as in NumPy's
 * maximum, which the spec's reference uses. */
static void mm_f32(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const float *b = in[1];
    float *y = o;

    if (((const struct mm_ctx *)c)->max)
        for (size_t i = 0; i < n; i++) {
            float v = b[i * st[1]];
            y[i] = (v > y[i] || v != v) ? v : y[i];
        }
    else
        for (size_t i = 0; i < n; i++) {
            float v = b[i * st[1]];
            y[i] = (v < y[i] || v != v) ? v : y[i];
        }
}

static void mm_i64(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const int64_t *b = in[1];
    int64_t *y = o;
    bool max = ((const struct mm_ctx *)c)->max;

    for (size_t i = 0; i < n; i++) {
        int64_t v = b[i * st[1]];
        y[i] = (max ? v > y[i] : v < y[i]) ? v : y[i];
    }
}

static int fwd_maxmin(struct ml_kernel *k)
{
    struct gtee_ml_tensor *y = k->out[0];
    struct mm_ctx c = { !strcmp(k->node->op_type, "Max"), gtee_ml_dtype_size(y->dtype) };
    const struct gtee_ml_tensor *first[1] = { k->in[0] };

    ml_bcast_run(first, 1, y, copy_row, &c, k->threads);
    for (size_t i = 1; i < k->n_in; i++) {
        const struct gtee_ml_tensor *ins[2] = { y, k->in[i] };
        ml_bcast_run(ins, 2, y, y->dtype == GTEE_ML_FLOAT ? mm_f32 : mm_i64, &c, k->threads);
    }
    return 0;
}

/* ---- Equal, Less, Greater; Not, And, Or ---- */
enum cmp { C_EQ, C_LT, C_GT, C_AND, C_OR };

static int cmp_of(const char *op)
{
    return !strcmp(op, "Equal") ? C_EQ : !strcmp(op, "Less") ? C_LT : !strcmp(op, "Greater") ? C_GT
         : !strcmp(op, "And") ? C_AND : C_OR;
}

static int infer_cmp(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[2];
    int op = cmp_of(k->node->op_type);
    unsigned types = op >= C_AND ? BOOL : op == C_EQ ? F32 | I64 | BOOL : F32 | I64;
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, types)) < 0 || (rc = ml_need(k, 1, types)) < 0)
        return rc;
    if (k->in[0]->dtype != k->in[1]->dtype)
        return ml_fail(k, GTEE_EFORMAT, "inputs have different element types");
    ins[0] = k->in[0];
    ins[1] = k->in[1];
    k->out[0]->dtype = GTEE_ML_BOOL;
    return ml_bcast_shape(k, ins, 2, k->out[0]);
}

struct cmp_ctx {
    int op, dtype;
};

static void cmp_row(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const struct cmp_ctx *x = c;
    uint8_t *y = o;

    if (x->dtype == GTEE_ML_FLOAT) {
        const float *a = in[0], *b = in[1];
        for (size_t i = 0; i < n; i++) {
            float u = a[i * st[0]], v = b[i * st[1]];
            y[i] = x->op == C_EQ ? u == v : x->op == C_LT ? u < v : u > v;
        }
    } else if (x->dtype == GTEE_ML_INT64) {
        const int64_t *a = in[0], *b = in[1];
        for (size_t i = 0; i < n; i++) {
            int64_t u = a[i * st[0]], v = b[i * st[1]];
            y[i] = x->op == C_EQ ? u == v : x->op == C_LT ? u < v : u > v;
        }
    } else {
        const uint8_t *a = in[0], *b = in[1];
        for (size_t i = 0; i < n; i++) {
            bool u = a[i * st[0]] != 0, v = b[i * st[1]] != 0;
            y[i] = x->op == C_EQ ? u == v : x->op == C_AND ? (u && v) : (u || v);
        }
    }
}

static int fwd_cmp(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[2] = { k->in[0], k->in[1] };
    struct cmp_ctx c = { cmp_of(k->node->op_type), k->in[0]->dtype };

    ml_bcast_run(ins, 2, k->out[0], cmp_row, &c, k->threads);
    return 0;
}

static int infer_not(struct ml_kernel *k)
{
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, BOOL)) < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], GTEE_ML_BOOL);
    return 0;
}

static void not_range(void *arg, size_t lo, size_t hi)
{
    const uint8_t *const *io = arg;
    uint8_t *y = (uint8_t *)io[1];

    for (size_t i = lo; i < hi; i++)
        y[i] = !io[0][i];
}

static int fwd_not(struct ml_kernel *k)
{
    const uint8_t *io[2] = { k->in[0]->data, k->out[0]->data };

    ml_parallel(k->threads, (size_t)ml_elems(k->in[0]), ML_PAR_MIN, not_range, io);
    return 0;
}

#define CMP(n, from) { n, from, ML_MAX_OPSET, 2, 2, 1, 1, infer_cmp, fwd_cmp, NULL, NULL, false }

const struct ml_op ml_ops_compare[] = {
    { "Max", 8, ML_MAX_OPSET, 1, ML_MAX_NODE_IO, 1, 1, infer_maxmin, fwd_maxmin, NULL, ml_grad_maxmin, false },
    { "Min", 8, ML_MAX_OPSET, 1, ML_MAX_NODE_IO, 1, 1, infer_maxmin, fwd_maxmin, NULL, ml_grad_maxmin, false },
    CMP("Equal", 7), CMP("Less", 7), CMP("Greater", 7), CMP("And", 7), CMP("Or", 7),
    { "Not", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_not, fwd_not, NULL, NULL, false },
};
const size_t ml_ops_compare_n = sizeof(ml_ops_compare) / sizeof(ml_ops_compare[0]);
