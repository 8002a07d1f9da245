/* Matrix products (ml_sgemm: oneDNN or OpenBLAS, gemm.h): MatMul (numpy.matmul semantics, batched with
 * broadcast batch dims) and Gemm (Y = alpha * A' B' + beta * C). */
#include <stdatomic.h>
#include <string.h>

#include "ml/bcast.h"
#include "ml/fastmath.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

static bool dims_clash(int64_t a, int64_t b)
{
    return a >= 0 && b >= 0 && a != b;
}

static int infer_matmul(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *a, *b;
    struct gtee_ml_tensor ba = { 0 }, bb = { 0 };
    const struct gtee_ml_tensor *bs[2] = { &ba, &bb };
    struct gtee_ml_tensor *y = k->out[0];
    int64_t m, ka, kb, n;
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, F32)) < 0 || (rc = ml_need(k, 1, F32)) < 0)
        return rc;
    a = k->in[0];
    b = k->in[1];
    if (a->rank < 1 || b->rank < 1)
        return ml_fail(k, GTEE_EFORMAT, "inputs must have rank >= 1");
    m = a->rank >= 2 ? a->dim[a->rank - 2] : 1;
    ka = a->dim[a->rank - 1];
    kb = b->rank >= 2 ? b->dim[b->rank - 2] : b->dim[0];
    n = b->rank >= 2 ? b->dim[b->rank - 1] : 1;
    if (dims_clash(ka, kb))
        return ml_fail(k, GTEE_EFORMAT, "inner dimensions differ (%lld vs %lld)", (long long)ka, (long long)kb);
    ba.rank = a->rank > 2 ? a->rank - 2 : 0;
    bb.rank = b->rank > 2 ? b->rank - 2 : 0;
    memcpy(ba.dim, a->dim, sizeof(int64_t) * (size_t)ba.rank);
    memcpy(bb.dim, b->dim, sizeof(int64_t) * (size_t)bb.rank);
    if ((rc = ml_bcast_shape(k, bs, 2, y)) < 0)
        return rc;
    y->dtype = GTEE_ML_FLOAT;
    if (a->rank >= 2)
        y->dim[y->rank++] = m;
    if (b->rank >= 2)
        y->dim[y->rank++] = n;
    return 0;
}

/* y[r, j] = y[r, j] + bias[j] (the Add the product absorbed; the sum is commutative). */
ML_HOT static void add_rows(float *y, const float *bias, int64_t m, int64_t n)
{
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++)
            y[r * n + j] = y[r * n + j] + bias[j];
}

struct mm_job {
    const float *A, *B, *bias; /* bias: added to every row (MatMul fused with Add), or NULL */
    float *Y;
    int64_t m, n, kk;
    int rank, threads; /* threads of one product (the batch's products are split first) */
    _Atomic int rc;    /* the first product's failure */
    int64_t sa[GTEE_ML_MAX_RANK], sb[GTEE_ML_MAX_RANK], bd[GTEE_ML_MAX_RANK];
};

/* Products [lo, hi) of the batch. */
static void mm_range(void *arg, size_t lo, size_t hi)
{
    struct mm_job *j = arg;
    int64_t m = j->m, n = j->n, kk = j->kk;

    for (int64_t i = (int64_t)lo; i < (int64_t)hi; i++) {
        int64_t rem = i, oa = 0, ob = 0;
        for (int d = j->rank - 1; d >= 0; d--) {
            int64_t idx = rem % j->bd[d];
            rem /= j->bd[d];
            oa += idx * j->sa[d];
            ob += idx * j->sb[d];
        }
        int rc, ok = 0;

        if (kk == 0)
            memset(j->Y + i * m * n, 0, sizeof(float) * (size_t)(m * n));
        else if ((rc = ml_sgemm(j->threads, false, false, (int)m, (int)n, (int)kk, 1.0f, j->A + oa * m * kk,
                                (int)kk, j->B + ob * kk * n, (int)n, 0.0f, j->Y + i * m * n, (int)n)) < 0) {
            atomic_compare_exchange_strong(&j->rc, &ok, rc);
            return;
        }
        if (j->bias)
            add_rows(j->Y + i * m * n, j->bias, m, n);
    }
}

static int fwd_matmul(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *a = k->in[0], *b = k->in[1];
    struct gtee_ml_tensor *y = k->out[0];
    int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
    int64_t m = a->rank >= 2 ? a->dim[a->rank - 1 - 1] : 1, kk = a->dim[a->rank - 1];
    int64_t n = b->rank >= 2 ? b->dim[b->rank - 1] : 1;
    int rank = ra > rb ? ra : rb;
    int64_t batch = 1, sa[GTEE_ML_MAX_RANK], sb[GTEE_ML_MAX_RANK], bd[GTEE_ML_MAX_RANK];
    const float *A = a->data, *B = b->data;
    float *Y = y->data;

    if (rb == 0 && ra > 0) { /* B shared by every batch: one product with M = batch * m */
        m *= ml_dims_prod(a, 0, ra);
        ra = rank = 0;
    }
    /* Batch strides in matrices; 0 where an input is broadcast. */
    int64_t s1 = 1, s2 = 1;
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
    if (m == 0 || n == 0)
        return 0;
    const struct gtee_ml_tensor *bias = ml_in(k, 2);
    uint64_t macs = (uint64_t)(m * n * kk);
    size_t per = ML_PAR_MIN / (size_t)(macs + 1) + 1;
    struct mm_job j = { A, B, bias ? bias->data : NULL, Y, m, n, kk, rank, batch == 1 ? k->threads : 1, 0,
                        { 0 }, { 0 }, { 0 } };
    memcpy(j.sa, sa, sizeof(sa));
    memcpy(j.sb, sb, sizeof(sb));
    memcpy(j.bd, bd, sizeof(bd));
    /* the products of a batch across the engine's threads; one product split in ml_sgemm */
    int prev = ml_blas_one();
    ml_parallel(k->threads, (size_t)batch, per, mm_range, &j);
    ml_blas_restore(prev);
    return j.rc < 0 ? ml_gemm_fail(k, j.rc) : 0;
}

/* Relu fused into Gemm (fuse.c): one pass over Y while it is in cache. */
ML_HOT static void relu_inplace(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* NaN stays NaN */
}

struct gemm_attrs {
    float alpha, beta;
    int64_t ta, tb;
};

static int gemm_attrs(struct ml_kernel *k, struct gemm_attrs *g)
{
    static const char *const attrs[] = { "alpha", "beta", "transA", "transB", "broadcast", NULL };
    int64_t bc;
    int rc;

    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_float(k, "alpha", 1.0f, &g->alpha)) < 0 ||
        (rc = ml_attr_float(k, "beta", 1.0f, &g->beta)) < 0 || (rc = ml_attr_int(k, "transA", 0, &g->ta)) < 0 ||
        (rc = ml_attr_int(k, "transB", 0, &g->tb)) < 0 || (rc = ml_attr_int(k, "broadcast", 0, &bc)) < 0)
        return rc;
    return 0;
}

static int infer_gemm(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *a, *b, *c = ml_in(k, 2);
    struct gemm_attrs g;
    int64_t m, ka, kb, n;
    int rc;

    if ((rc = gemm_attrs(k, &g)) < 0 || (rc = ml_need(k, 0, F32)) < 0 || (rc = ml_need(k, 1, F32)) < 0 ||
        (c && (rc = ml_need(k, 2, F32)) < 0))
        return rc;
    a = k->in[0];
    b = k->in[1];
    if (a->rank != 2 || b->rank != 2)
        return ml_fail(k, GTEE_EFORMAT, "A and B must be matrices");
    m = a->dim[g.ta ? 1 : 0];
    ka = a->dim[g.ta ? 0 : 1];
    kb = b->dim[g.tb ? 1 : 0];
    n = b->dim[g.tb ? 0 : 1];
    if (dims_clash(ka, kb))
        return ml_fail(k, GTEE_EFORMAT, "inner dimensions differ (%lld vs %lld)", (long long)ka, (long long)kb);
    if (c) { /* C broadcasts to (M, N) one way only */
        if (c->rank > 2)
            return ml_fail(k, GTEE_EFORMAT, "C has rank %d", c->rank);
        if ((c->rank == 2 && c->dim[0] != 1 && dims_clash(c->dim[0], m)) ||
            (c->rank >= 1 && c->dim[c->rank - 1] != 1 && dims_clash(c->dim[c->rank - 1], n)))
            return ml_fail(k, GTEE_EFORMAT, "C does not broadcast to (M, N)");
    }
    k->out[0]->dtype = GTEE_ML_FLOAT;
    k->out[0]->rank = 2;
    k->out[0]->dim[0] = m;
    k->out[0]->dim[1] = n;
    return 0;
}

static int fwd_gemm(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *a = k->in[0], *b = k->in[1], *c = ml_in(k, 2);
    struct gtee_ml_tensor *y = k->out[0];
    int64_t m = y->dim[0], n = y->dim[1];
    struct gemm_attrs g;
    float beta = 0.0f;
    int kk;

    if (gemm_attrs(k, &g) < 0)
        return GTEE_EFORMAT;
    if (k->b_untransposed)
        g.tb = 0;
    kk = (int)a->dim[g.ta ? 0 : 1];
    if (c && g.beta != 0.0f) {
        const float *C = c->data;
        float *Y = y->data;
        int64_t cm = c->rank == 2 ? c->dim[0] : 1, cn = c->rank >= 1 ? c->dim[c->rank - 1] : 1;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                Y[i * n + j] = g.beta * C[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
        beta = 1.0f;
    }
    if (m == 0 || n == 0)
        return 0;
    if (kk == 0) {
        if (beta == 0.0f)
            memset(y->data, 0, sizeof(float) * (size_t)(m * n));
        if (k->act == ML_ACT_RELU)
            relu_inplace(y->data, (size_t)(m * n));
        return 0;
    }
    int prev = ml_blas_one();
    int rc = ml_sgemm(k->threads, g.ta, g.tb, (int)m, (int)n, kk, g.alpha, a->data, (int)a->dim[1], b->data,
                      (int)b->dim[1], beta, y->data, (int)n);
    ml_blas_restore(prev);
    if (rc < 0)
        return ml_gemm_fail(k, rc);
    if (k->act == ML_ACT_RELU)
        relu_inplace(y->data, (size_t)(m * n));
    return 0;
}

const struct ml_op ml_ops_matmul[] = {
    { "MatMul", 1, ML_MAX_OPSET, 2, 2, 1, 1, infer_matmul, fwd_matmul, NULL, ml_grad_matmul, false },
    { "Gemm", 7, ML_MAX_OPSET, 2, 3, 1, 1, infer_gemm, fwd_gemm, NULL, ml_grad_gemm, false },
};
const size_t ml_ops_matmul_n = sizeof(ml_ops_matmul) / sizeof(ml_ops_matmul[0]);
