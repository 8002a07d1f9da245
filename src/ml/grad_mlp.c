/* Backward passes of the multilayer-perceptron family: Gemm, MatMul, the broadcasting
 * binary operators (gradients summed over the broadcast axes), the element-wise unary
 * functions and the operators that only copy or reshape (Identity, Dropout in inference,
 * Flatten, Reshape, Squeeze, Unsqueeze). Every loop is serial or split at fixed points,
 * so a result depends on the thread count only through the matrix products' slices. */
#include <math.h>
#include <string.h>

#include "ml/fastmath.h"
#include "ml/grad.h"

bool ml_grad_input(const char *op, size_t i)
{
    static const char *const first_only[] = { "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Dropout", "Gather", "Slice", "Expand", "Clip", "ReduceSum", "Split", "Tile", "CumSum", "Resize", NULL };

    for (size_t j = 0; first_only[j]; j++)
        if (!strcmp(op, first_only[j]))
            return i == 0;
    if (!strcmp(op, "BatchNormalization"))
        return i <= 2; /* X, scale, B; not the running mean and variance */
    return true;
}

/* Y = alpha op(A) op(B) + beta C; dop(A) = alpha dY op(B)^T, dop(B) = alpha op(A)^T dY. */
int ml_grad_gemm(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *a = k->in[0], *b = k->in[1], *c = ml_in(k, 2);
    const float *dy = dout[0]->data;
    int64_t ta = 0, tb = 0;
    float alpha = 1.0f, beta = 1.0f;
    int m = (int)k->out[0]->dim[0], n = (int)k->out[0]->dim[1];
    int kk, lda = (int)a->dim[1], ldb = (int)b->dim[1];
    int rc, prev;

    if ((rc = ml_attr_int(k, "transA", 0, &ta)) < 0 || (rc = ml_attr_int(k, "transB", 0, &tb)) < 0 ||
        (rc = ml_attr_float(k, "alpha", 1.0f, &alpha)) < 0 || (rc = ml_attr_float(k, "beta", 1.0f, &beta)) < 0)
        return rc;
    kk = (int)a->dim[ta ? 0 : 1];
    if (m == 0 || n == 0 || kk == 0)
        goto bias;
    prev = ml_blas_one();
    rc = 0;
    if (din[0]) {
        if (!ta) /* dA [m, kk] = alpha dY op(B)^T */
            rc = ml_sgemm(k->threads, false, !tb, m, kk, n, alpha, dy, n, b->data, ldb, 1.0f, din[0]->data, lda);
        else /* dA [kk, m] = alpha op(B) dY^T */
            rc = ml_sgemm(k->threads, tb, true, kk, m, n, alpha, b->data, ldb, dy, n, 1.0f, din[0]->data, lda);
    }
    if (din[1] && rc == 0) {
        if (!tb) /* dB [kk, n] = alpha op(A)^T dY */
            rc = ml_sgemm(k->threads, !ta, false, kk, n, m, alpha, a->data, lda, dy, n, 1.0f, din[1]->data, ldb);
        else /* dB [n, kk] = alpha dY^T op(A) */
            rc = ml_sgemm(k->threads, true, ta, n, kk, m, alpha, dy, n, a->data, lda, 1.0f, din[1]->data, ldb);
    }
    ml_blas_restore(prev);
    if (rc < 0)
        return ml_gemm_fail(k, rc);
bias:
    if (c && din[2] && beta != 0.0f) { /* C broadcast to [m, n]: sum over the broadcast axes */
        float *dc = din[2]->data;
        int64_t cm = c->rank == 2 ? c->dim[0] : 1, cn = c->rank >= 1 ? c->dim[c->rank - 1] : 1;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                dc[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] += beta * dy[i * n + j];
    }
    return 0;
}

/* numpy.matmul: per batch item, dA += dY B^T and dB += A^T dY; broadcast batch items
 * add into the same slice, which is the sum over the broadcast axes. */
int ml_grad_matmul(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *a = k->in[0], *b = k->in[1];
    int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
    int64_t m = a->rank >= 2 ? a->dim[a->rank - 2] : 1, kk = a->dim[a->rank - 1];
    int64_t n = b->rank >= 2 ? b->dim[b->rank - 1] : 1;
    int rank;
    int64_t batch = 1, sa[GTEE_ML_MAX_RANK], sb[GTEE_ML_MAX_RANK], bd[GTEE_ML_MAX_RANK], s1 = 1, s2 = 1;
    const float *A = a->data, *B = b->data, *dY = dout[0]->data;

    if (rb == 0 && ra > 0) { /* B shared: one product with M = batch * m */
        m *= ml_dims_prod(a, 0, ra);
        ra = 0;
    }
    rank = ra > rb ? ra : rb;
    for (int d = rank - 1; d >= 0; d--) {
        int da = d - (rank - ra), db = d - (rank - rb);
        int64_t va = da >= 0 ? a->dim[da] : 1, vb = db >= 0 ? b->dim[db] : 1;
        bd[d] = va > vb ? va : vb;
        sa[d] = va == 1 ? 0 : s1;
        sb[d] = vb == 1 ? 0 : s2;
        s1 *= va;
        s2 *= vb;
        batch *= bd[d];
    }
    if (m == 0 || n == 0 || kk == 0)
        return 0;
    int prev = ml_blas_one(), rc = 0;
    for (int64_t i = 0; i < batch && rc == 0; i++) {
        int64_t rem = i, oa = 0, ob = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t idx = rem % bd[d];
            rem /= bd[d];
            oa += idx * sa[d];
            ob += idx * sb[d];
        }
        if (din[0])
            rc = ml_sgemm(k->threads, false, true, (int)m, (int)kk, (int)n, 1.0f, dY + i * m * n, (int)n,
                          B + ob * kk * n, (int)n, 1.0f, (float *)din[0]->data + oa * m * kk, (int)kk);
        if (din[1] && rc == 0)
            rc = ml_sgemm(k->threads, true, false, (int)kk, (int)n, (int)m, 1.0f, A + oa * m * kk, (int)kk,
                          dY + i * m * n, (int)n, 1.0f, (float *)din[1]->data + ob * kk * n, (int)n);
    }
    ml_blas_restore(prev);
    return rc < 0 ? ml_gemm_fail(k, rc) : 0;
}

enum { B_ADD, B_SUB, B_MUL, B_DIV };

int ml_grad_binary(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *y = k->out[0];
    const char *op = k->node->op_type;
    int kind = !strcmp(op, "Add") ? B_ADD : !strcmp(op, "Sub") ? B_SUB : !strcmp(op, "Mul") ? B_MUL : B_DIV;
    const float *A = k->in[0]->data, *B = k->in[1]->data, *dY = dout[0]->data;
    float *dA = din[0] ? din[0]->data : NULL, *dB = din[1] ? din[1]->data : NULL;
    int64_t st[2][GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, off[2] = { 0, 0 };
    uint64_t n = ml_elems(y);

    if (strcmp(op, "Add") && strcmp(op, "Sub") && strcmp(op, "Mul") && strcmp(op, "Div"))
        return ml_fail(k, GTEE_EUNSUPPORTED, "no backward pass for this operator");
    ml_grad_bstrides(k->in[0], y, st[0]);
    ml_grad_bstrides(k->in[1], y, st[1]);
    for (uint64_t i = 0; i < n; i++) {
        int64_t oa = off[0], ob = off[1];
        float g = dY[i], a = A[oa], b = B[ob];

        switch (kind) {
        case B_ADD:
            if (dA) dA[oa] += g;
            if (dB) dB[ob] += g;
            break;
        case B_SUB:
            if (dA) dA[oa] += g;
            if (dB) dB[ob] -= g;
            break;
        case B_MUL:
            if (dA) dA[oa] += g * b;
            if (dB) dB[ob] += g * a;
            break;
        default:
            if (dA) dA[oa] += g / b;
            if (dB) dB[ob] -= g * a / (b * b);
        }
        ml_grad_bnext(y, idx, 2, st, off); /* both input offsets follow the output index */
    }
    return 0;
}

/* d/dx of each function, from its input x and output y. */
static float d_unary(const char *op, float x, float y)
{
    switch (op[0]) {
    case 'R':
        return op[1] == 'e' && op[2] == 'l' ? (x > 0.0f ? 1.0f : 0.0f) : -y * y; /* Relu, Reciprocal */
    case 'S':
        return op[1] == 'i' ? y * (1.0f - y) : 0.5f / y; /* Sigmoid, Sqrt */
    case 'T':
        return 1.0f - y * y;
    case 'E':
        return op[1] == 'x' ? y : 1.1283791670955126f * expf(-x * x); /* Exp, Erf: 2/sqrt(pi) e^-x^2 */
    case 'L':
        return 1.0f / x;
    case 'A':
        return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f;
    default:
        return -1.0f; /* Neg */
    }
}

/* The common case, a plain loop the compiler vectorizes (an AVX2 clone where the CPU has it). */
ML_HOT static void relu_back(const float *x, const float *dy, float *dx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

/* The same into a dx not cleared (din_unset): 0 + v, as the loop above adds to a cleared
 * one (a -0 gradient becomes +0 either way). */
ML_HOT static void relu_back_set(const float *x, const float *dy, float *dx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        dx[i] = 0.0f + (x[i] > 0.0f ? dy[i] : 0.0f);
}

int ml_grad_unary(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    static const char *const ops[] = { "Relu", "Reciprocal", "Sigmoid", "Sqrt", "Tanh", "Exp", "Erf", "Log", "Abs", "Neg" };
    const char *op = k->node->op_type;
    const float *x = k->in[0]->data, *y = k->out[0]->data, *dy = dout[0]->data;
    float *dx;
    uint64_t n = ml_elems(k->in[0]);
    bool ok = false;

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        ok |= !strcmp(op, ops[i]);
    if (!ok)
        return ml_fail(k, GTEE_EUNSUPPORTED, "no backward pass for this operator");
    if (!din[0])
        return 0;
    dx = din[0]->data;
    if (!strcmp(op, "Relu")) {
        (k->din_unset & 1u ? relu_back_set : relu_back)(x, dy, dx, n);
        return 0;
    }
    for (uint64_t i = 0; i < n; i++)
        dx[i] += dy[i] * d_unary(op, x[i], y[i]);
    return 0;
}

/* Same elements in the same order: the gradient passes through unchanged. */
int ml_grad_copy(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const float *dy = dout[0]->data;
    float *dx;
    uint64_t n = ml_elems(k->in[0]);

    if (!din[0])
        return 0;
    if (k->in[0]->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    dx = din[0]->data;
    for (uint64_t i = 0; i < n; i++)
        dx[i] += dy[i];
    return 0;
}
