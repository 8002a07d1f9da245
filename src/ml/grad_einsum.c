/* Backward pass of Einsum (ops_einsum.c; docs/ml-training.md): with the operands packed as
 * A [batch, M, K] and B [batch, K, N] and dC = dy packed [batch, M, N], per batch item
 * dA = dC B^T and dB = A^T dC (MatMul's products), unpacked adding into each operand's
 * order; a permutation's gradient is dy permuted back. */
#include <stdlib.h>

#include "ml/grad.h"

int ml_grad_einsum(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    struct ml_einsum e;
    struct ml_einsum_mm g;
    char la[ML_EINSUM_LETTERS], lb[ML_EINSUM_LETTERS], lc[ML_EINSUM_LETTERS];
    float *buf = NULL, *dy = dout[0]->data;
    int rc;

    if ((rc = ml_einsum_parse(k, &e)) < 0)
        return rc;
    ml_einsum_layout(k, &e, &g);
    if (e.n_ops == 1) {
        if (!din[0])
            return 0;
        buf = malloc((size_t)g.M * sizeof(float) + 1);
        if (!buf)
            return ml_fail(k, GTEE_ENOMEM, "out of memory");
        ml_einsum_move(k, &e, 1, g.m, g.nm, buf, dy, true);
        ml_einsum_move(k, &e, 0, g.m, g.nm, buf, din[0]->data, false);
        ml_free(buf);
        return 0;
    }
    if (!g.B || !g.M || !g.N || !g.K)
        return 0;
    int64_t na = g.B * g.M * g.K, nb = g.B * g.K * g.N, nc = g.B * g.M * g.N;
    int nla = ml_einsum_order(&g, 'A', la), nlb = ml_einsum_order(&g, 'B', lb), nlc = ml_einsum_order(&g, 'C', lc);
    buf = malloc((size_t)(2 * na + 2 * nb + nc) * sizeof(float) + 1);
    if (!buf)
        return ml_fail(k, GTEE_ENOMEM, "out of memory");
    float *A = buf, *B = A + na, *C = B + nb, *dA = C + nc, *dB = dA + na;
    ml_einsum_move(k, &e, 0, la, nla, A, k->in[0]->data, true);
    ml_einsum_move(k, &e, 1, lb, nlb, B, k->in[1]->data, true);
    ml_einsum_move(k, &e, 2, lc, nlc, C, dy, true);
    int prev = ml_blas_one();
    rc = 0;
    for (int64_t b = 0; b < g.B && rc == 0; b++) {
        if (din[0])
            rc = ml_sgemm(k->threads, false, true, (int)g.M, (int)g.K, (int)g.N, 1.0f, C + b * g.M * g.N, (int)g.N,
                          B + b * g.K * g.N, (int)g.N, 0.0f, dA + b * g.M * g.K, (int)g.K);
        if (din[1] && rc == 0)
            rc = ml_sgemm(k->threads, true, false, (int)g.K, (int)g.N, (int)g.M, 1.0f, A + b * g.M * g.K, (int)g.K,
                          C + b * g.M * g.N, (int)g.N, 0.0f, dB + b * g.K * g.N, (int)g.N);
    }
    ml_blas_restore(prev);
    if (rc < 0) {
        ml_free(buf);
        return ml_gemm_fail(k, rc);
    }
    if (din[0])
        ml_einsum_move(k, &e, 0, la, nla, dA, din[0]->data, false);
    if (din[1])
        ml_einsum_move(k, &e, 1, lb, nlb, dB, din[1]->data, false);
    ml_free(buf);
    return 0;
}
