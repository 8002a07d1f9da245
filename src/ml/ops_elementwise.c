/* Element-wise operators (ONNX operator specs, ai.onnx): binary arithmetic with
 * broadcasting, Where, unary float functions, Cast, Identity and Dropout in inference. */
#include <math.h>
#include <string.h>

#include "ml/bcast.h"
#include "ml/fastmath.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)
#define I64 ML_T(GTEE_ML_INT64)
#define BOOL ML_T(GTEE_ML_BOOL)

enum binop { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW };

static enum binop binop_of(const struct ml_kernel *k)
{
    static const char *const names[] = { "Add", "Sub", "Mul", "Div", "Pow" };

    for (int i = 0; i < 5; i++)
        if (!strcmp(k->node->op_type, names[i]))
            return (enum binop)i;
    return OP_ADD;
}

static int infer_binary(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[2];
    bool pow = binop_of(k) == OP_POW;
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, pow ? F32 : F32 | I64)) < 0 ||
        (rc = ml_need(k, 1, pow ? F32 : F32 | I64)) < 0)
        return rc;
    if (k->in[0]->dtype != k->in[1]->dtype)
        return ml_fail(k, GTEE_EFORMAT, "inputs have different element types");
    ins[0] = k->in[0];
    ins[1] = k->in[1];
    k->out[0]->dtype = k->in[0]->dtype;
    return ml_bcast_shape(k, ins, 2, k->out[0]);
}

#define ROW_F32(fname, expr)                                                              \
    ML_HOT static void fname(void *o, const void *const *in, const size_t *st, size_t n, const void *c) \
    {                                                                                     \
        const float *a = in[0], *b = in[1];                                               \
        float *y = o;                                                                     \
        (void)c;                                                                          \
        if (st[0] && st[1])                                                               \
            for (size_t i = 0; i < n; i++) { float x = a[i], z = b[i]; y[i] = (expr); }   \
        else if (st[0] && !st[1]) /* b broadcast along the row (LayerNorm's mean) */    \
            for (size_t i = 0; i < n; i++) { float x = a[i], z = b[0]; y[i] = (expr); }   \
        else if (!st[0] && st[1])                                                         \
            for (size_t i = 0; i < n; i++) { float x = a[0], z = b[i]; y[i] = (expr); }   \
        else                                                                              \
            for (size_t i = 0; i < n; i++) { float x = a[i * st[0]], z = b[i * st[1]]; y[i] = (expr); } \
    }
ROW_F32(add_f32, x + z)
ROW_F32(sub_f32, x - z)
ROW_F32(mul_f32, x * z)
ROW_F32(div_f32, x / z)
ROW_F32(pow_any_f32, powf(x, z))

/* Pow by a scalar 2 (the square in decomposed LayerNorm) is x * x, correctly rounded as
 * powf is; other exponents go to powf. */
ML_HOT static void pow_f32(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const float *a = in[0], *b = in[1];
    float *y = o;

    if (!st[1] && b[0] == 2.0f && st[0]) {
        for (size_t i = 0; i < n; i++)
            y[i] = a[i] * a[i];
    } else {
        pow_any_f32(o, in, st, n, c);
    }
}

/* int64 arithmetic wraps like two's complement hardware (as ONNX Runtime does) and a
 * division by zero or INT64_MIN / -1 yields 0 instead of trapping. */
static void int_row(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const int64_t *a = in[0], *b = in[1];
    int64_t *y = o;
    enum binop op = *(const enum binop *)c;

    for (size_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)a[i * st[0]], z = (uint64_t)b[i * st[1]];
        switch (op) {
        case OP_ADD: y[i] = (int64_t)(x + z); break;
        case OP_SUB: y[i] = (int64_t)(x - z); break;
        case OP_MUL: y[i] = (int64_t)(x * z); break;
        default:
            y[i] = (z == 0 || ((int64_t)z == -1 && (int64_t)x == INT64_MIN)) ? 0 : (int64_t)x / (int64_t)z;
        }
    }
}

static int fwd_binary(struct ml_kernel *k)
{
    static const ml_row_fn f32[] = { add_f32, sub_f32, mul_f32, div_f32, pow_f32 };
    const struct gtee_ml_tensor *ins[2] = { k->in[0], k->in[1] };
    enum binop op = binop_of(k);

    ml_bcast_run(ins, 2, k->out[0], k->in[0]->dtype == GTEE_ML_FLOAT ? f32[op] : int_row, &op, k->threads);
    return 0;
}

static int infer_where(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[3];
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, BOOL)) < 0 ||
        (rc = ml_need(k, 1, F32 | I64 | BOOL)) < 0 || (rc = ml_need(k, 2, F32 | I64 | BOOL)) < 0)
        return rc;
    if (k->in[1]->dtype != k->in[2]->dtype)
        return ml_fail(k, GTEE_EFORMAT, "X and Y have different element types");
    for (int j = 0; j < 3; j++)
        ins[j] = k->in[j];
    k->out[0]->dtype = k->in[1]->dtype;
    return ml_bcast_shape(k, ins, 3, k->out[0]);
}

static void where_row(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const uint8_t *cond = in[0], *x = in[1], *y = in[2];
    size_t esz = *(const size_t *)c;

    for (size_t i = 0; i < n; i++)
        memcpy((uint8_t *)o + i * esz, cond[i * st[0]] ? x + i * st[1] * esz : y + i * st[2] * esz, esz);
}

static int fwd_where(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[3] = { k->in[0], k->in[1], k->in[2] };
    size_t esz = gtee_ml_dtype_size(k->out[0]->dtype);

    ml_bcast_run(ins, 3, k->out[0], where_row, &esz, k->threads);
    return 0;
}

/* ---- unary float functions ---- */
static int infer_unary(struct ml_kernel *k)
{
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, F32)) < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    return 0;
}

static float sigmoid(float x)
{
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

static float relu(float x)
{
    return x > 0 ? x : 0.0f; /* NaN stays NaN below */
}

struct unary {
    const char *name;
    float (*f)(float);
};

static float neg(float x) { return -x; }
static float recip(float x) { return 1.0f / x; }

static const struct unary unary_fns[] = {
    { "Sqrt", sqrtf }, { "Tanh", tanhf }, { "Sigmoid", sigmoid }, { "Relu", relu }, { "Erf", erff },
    { "Exp", expf },   { "Log", logf },   { "Abs", fabsf },       { "Neg", neg },   { "Reciprocal", recip },
};

struct unary_job {
    float (*f)(float);
    const char *name;
    const float *x;
    float *y;
};

/* Relu and Sigmoid get loops the compiler can vectorize; the rest call libm per element. */
ML_HOT static void unary_range(void *arg, size_t lo, size_t hi)
{
    const struct unary_job *j = arg;
    const float *x = j->x;
    float *y = j->y;

    if (j->f == relu) {
        for (size_t i = lo; i < hi; i++)
            y[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN stays NaN */
    } else if (j->f == sigmoid) {
        for (size_t i = lo; i < hi; i++) {
            float e = ml_expf(-fabsf(x[i])), r = 1.0f / (1.0f + e); /* never overflows; NaN stays NaN */
            y[i] = x[i] >= 0 ? r : e * r;
        }
    } else if (j->f == erff) {
        for (size_t i = lo; i < hi; i++)
            y[i] = ml_erff(x[i]);
    } else if (j->f == neg) {
        for (size_t i = lo; i < hi; i++)
            y[i] = -x[i];
    } else {
        for (size_t i = lo; i < hi; i++)
            y[i] = isnan(x[i]) ? x[i] : j->f(x[i]);
    }
}

static int fwd_unary(struct ml_kernel *k)
{
    struct unary_job j = { NULL, k->node->op_type, k->in[0]->data, k->out[0]->data };

    for (size_t i = 0; i < sizeof(unary_fns) / sizeof(unary_fns[0]); i++)
        if (!strcmp(unary_fns[i].name, k->node->op_type))
            j.f = unary_fns[i].f;
    if (!j.f)
        return ml_fail(k, GTEE_EUNSUPPORTED, "no kernel");
    ml_parallel(k->threads, (size_t)ml_elems(k->in[0]), ML_PAR_MIN, unary_range, &j);
    return 0;
}

/* ---- Cast, Identity, Dropout ---- */
static int infer_cast(struct ml_kernel *k)
{
    static const char *const attrs[] = { "to", "saturate", NULL };
    int64_t to;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32 | I64 | BOOL)) < 0 ||
        (rc = ml_attr_int(k, "to", 0, &to)) < 0)
        return rc;
    if (to != GTEE_ML_FLOAT && to != GTEE_ML_INT64 && to != GTEE_ML_BOOL)
        return ml_fail(k, GTEE_EUNSUPPORTED, "cast to %s is not supported", gtee_ml_dtype_name((int)to));
    ml_set_like(k->out[0], k->in[0], (int)to);
    return 0;
}

static double get_num(const struct gtee_ml_tensor *t, size_t i)
{
    switch (t->dtype) {
    case GTEE_ML_FLOAT: return ((const float *)t->data)[i];
    case GTEE_ML_INT64: return (double)((const int64_t *)t->data)[i];
    default: return ((const uint8_t *)t->data)[i];
    }
}

static int fwd_cast(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0];
    struct gtee_ml_tensor *y = k->out[0];
    size_t n = (size_t)ml_elems(x);

    if (x->dtype == y->dtype) {
        memcpy(y->data, x->data, n * gtee_ml_dtype_size(x->dtype));
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        double v = get_num(x, i);
        if (y->dtype == GTEE_ML_FLOAT)
            ((float *)y->data)[i] = x->dtype == GTEE_ML_INT64 ? (float)((const int64_t *)x->data)[i] : (float)v;
        else if (y->dtype == GTEE_ML_BOOL)
            ((uint8_t *)y->data)[i] = v != 0;
        else /* float -> int64 truncates; out of range (and NaN) gives INT64_MIN as x86 does */
            ((int64_t *)y->data)[i] = (v > -9.2233720368547758e18 && v < 9.2233720368547758e18) ? (int64_t)v
                                                                                               : INT64_MIN;
    }
    return 0;
}

static int infer_identity(struct ml_kernel *k)
{
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, F32 | I64 | BOOL)) < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], k->in[0]->dtype);
    return 0;
}

static int fwd_copy(struct ml_kernel *k)
{
    if (k->out[0]->data != k->in[0]->data)
        memcpy(k->out[0]->data, k->in[0]->data, (size_t)ml_elems(k->in[0]) * gtee_ml_dtype_size(k->in[0]->dtype));
    return 0;
}

/* Dropout in inference: Y = X, mask all true. Training mode is refused (opset 12+ takes it
 * as an input that must then be a constant false). */
static int infer_dropout(struct ml_kernel *k)
{
    static const char *const attrs[] = { "ratio", "seed", "is_test", NULL };
    const struct gtee_ml_tensor *tm = ml_in(k, 2);
    int64_t is_test;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_need(k, 0, F32)) < 0 ||
        (rc = ml_attr_int(k, "is_test", 1, &is_test)) < 0)
        return rc;
    if (k->model->opset < 7 && !is_test)
        return ml_fail(k, GTEE_EUNSUPPORTED, "training mode is not supported");
    if (tm && (tm->dtype != GTEE_ML_BOOL || !tm->data || ((const uint8_t *)tm->data)[0]))
        return ml_fail(k, GTEE_EUNSUPPORTED, "training_mode must be a constant false (inference only)");
    if (ml_in(k, 1) && ml_need(k, 1, F32) < 0)
        return GTEE_EUNSUPPORTED;
    ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    if (ml_out(k, 1))
        ml_set_like(k->out[1], k->in[0], GTEE_ML_BOOL);
    return 0;
}

static int fwd_dropout(struct ml_kernel *k)
{
    fwd_copy(k);
    if (ml_out(k, 1))
        memset(k->out[1]->data, 1, (size_t)ml_elems(k->in[0]));
    return 0;
}

#define UNARY(n) { n, 6, ML_MAX_OPSET, 1, 1, 1, 1, infer_unary, fwd_unary, NULL, ml_grad_unary, false }
#define BINARY(n, g) { n, 7, ML_MAX_OPSET, 2, 2, 1, 1, infer_binary, fwd_binary, NULL, g, false }

const struct ml_op ml_ops_elementwise[] = {
    BINARY("Add", ml_grad_binary), BINARY("Sub", ml_grad_binary), BINARY("Mul", ml_grad_binary),
    BINARY("Div", ml_grad_binary), BINARY("Pow", ml_grad_pow),
    { "Where", 9, ML_MAX_OPSET, 3, 3, 1, 1, infer_where, fwd_where, NULL, ml_grad_where, false },
    UNARY("Sqrt"), UNARY("Tanh"), UNARY("Sigmoid"), UNARY("Relu"), { "Erf", 9, ML_MAX_OPSET, 1, 1, 1, 1, infer_unary, fwd_unary, NULL, ml_grad_unary, false },
    UNARY("Exp"), UNARY("Log"), UNARY("Abs"), UNARY("Neg"), UNARY("Reciprocal"),
    { "Cast", 6, ML_MAX_OPSET, 1, 1, 1, 1, infer_cast, fwd_cast, NULL, ml_grad_cast, false },
    { "Identity", 1, ML_MAX_OPSET, 1, 1, 1, 1, infer_identity, fwd_copy, NULL, ml_grad_copy, false },
    { "Dropout", 7, ML_MAX_OPSET, 1, 3, 1, 2, infer_dropout, fwd_dropout, NULL, ml_grad_copy, false },
};
const size_t ml_ops_elementwise_n = sizeof(ml_ops_elementwise) / sizeof(ml_ops_elementwise[0]);
