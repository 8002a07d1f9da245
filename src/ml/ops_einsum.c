/* Einsum (ONNX operator specs, ai.onnx, opset 12+) in the forms PyTorch's torch.einsum
 * exports: two operands whose letters are each a batch letter (in both and the output), a
 * row letter (first operand and output), a column letter (second and output) or a
 * contracted letter (both, not the output), run as a batched matrix product (the operands
 * packed to [batch, M, K] and [batch, K, N], sgemm, the result unpacked to the output's
 * order); and one operand permuted. Ellipses, repeated letters in an operand (diagonals),
 * letters summed out of a single operand and more than two operands are refused, naming
 * the equation. Backward pass: the two products of MatMul's, packed the same way. */
#include <stdlib.h>
#include <string.h>

#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

/* Letters in order of appearance per operand and the output; per letter its role. */
int ml_einsum_parse(const struct ml_kernel *k, struct ml_einsum *e)
{
    static const char *const attrs[] = { "equation", NULL };
    const char *eq, *p;
    char terms[4][GTEE_ML_MAX_RANK + 1];
    int nt = 0, len = 0, rc;
    bool arrow = false;

    memset(e, 0, sizeof(*e));
    if ((rc = ml_attr_only(k, attrs)) < 0 || (rc = ml_attr_string(k, "equation", NULL, &eq)) < 0)
        return rc;
    if (!eq)
        return ml_fail(k, GTEE_EFORMAT, "the equation attribute is missing");
    if (k->n_in > 2)
        return ml_fail(k, GTEE_EUNSUPPORTED, "equation '%s': more than two operands are not supported", eq);
    for (size_t i = 0; i < k->n_in; i++) /* an operand named "" is absent: Einsum has no optional inputs */
        if ((rc = ml_need(k, i, F32)) < 0)
            return rc;
    for (p = eq;; p++) { /* terms: operands, then the output after "->" */
        char c = *p;
        if (c == ' ')
            continue;
        if (c == ',' || c == '-' || c == '\0') {
            if (nt >= 3 || (arrow && c != '\0'))
                return ml_fail(k, GTEE_EFORMAT, "equation '%s' is malformed", eq);
            terms[nt][len] = '\0';
            nt++;
            len = 0;
            if (c == '\0')
                break;
            if (c == '-') {
                if (p[1] != '>' || arrow)
                    return ml_fail(k, GTEE_EFORMAT, "equation '%s' is malformed", eq);
                arrow = true;
                p++;
            }
            continue;
        }
        if (c == '.')
            return ml_fail(k, GTEE_EUNSUPPORTED, "equation '%s': an ellipsis is not supported", eq);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return ml_fail(k, GTEE_EFORMAT, "equation '%s': '%c' is not a letter", eq, c);
        if (len >= GTEE_ML_MAX_RANK)
            return ml_fail(k, GTEE_EUNSUPPORTED, "equation '%s': a term has more than %d letters", eq, GTEE_ML_MAX_RANK);
        if (memchr(terms[nt], c, (size_t)len))
            return ml_fail(k, GTEE_EUNSUPPORTED, "equation '%s': a letter repeated in one term is not supported", eq);
        terms[nt][len++] = c;
    }
    e->n_ops = arrow ? nt - 1 : nt;
    if ((size_t)e->n_ops != k->n_in)
        return ml_fail(k, GTEE_EFORMAT, "equation '%s' has %d operands, the node %zu inputs", eq, e->n_ops, k->n_in);
    if (!arrow) { /* implicit output: the letters seen once, in alphabetical order */
        len = 0;
        for (int c = 'A'; c <= 'z'; c++) {
            int seen = 0;
            for (int t = 0; t < e->n_ops; t++)
                seen += strchr(terms[t], c) != NULL;
            if (seen != 1)
                continue;
            if (len >= GTEE_ML_MAX_RANK) /* two operands may leave up to twice a term's letters */
                return ml_fail(k, GTEE_EUNSUPPORTED, "equation '%s': the implicit output has more than %d letters", eq,
                               GTEE_ML_MAX_RANK);
            terms[nt][len++] = (char)c;
        }
        terms[nt][len] = '\0';
    }
    for (int t = 0; t <= e->n_ops; t++) { /* the operands, then the output */
        const char *s = t < e->n_ops ? terms[t] : terms[arrow ? nt - 1 : nt];
        e->rank[t] = (int)strlen(s);
        memcpy(e->term[t], s, (size_t)e->rank[t] + 1);
    }
    for (int t = 0; t < e->n_ops; t++)
        if (k->in[t]->rank >= 0 && k->in[t]->rank != e->rank[t])
            return ml_fail(k, GTEE_EFORMAT, "equation '%s': operand %d has rank %d, its term %d letters", eq, t,
                           k->in[t]->rank, e->rank[t]);
    for (int i = 0; i < e->rank[e->n_ops]; i++) {
        char c = e->term[e->n_ops][i];
        bool found = false;
        for (int t = 0; t < e->n_ops; t++)
            found |= strchr(e->term[t], c) != NULL;
        if (!found)
            return ml_fail(k, GTEE_EFORMAT, "equation '%s': output letter '%c' is in no operand", eq, c);
    }
    for (int t = 0; t < e->n_ops; t++)
        for (int i = 0; i < e->rank[t]; i++) {
            char c = e->term[t][i];
            bool in_out = strchr(e->term[e->n_ops], c) != NULL, in_other = e->n_ops == 2 && strchr(e->term[1 - t], c);
            if (!in_out && !in_other)
                return ml_fail(k, GTEE_EUNSUPPORTED, "equation '%s': letter '%c' summed out of one operand is not supported",
                               eq, c);
        }
    e->eq = eq;
    return 0;
}

/* The size of letter c (from the operands), or -1 when unknown; fails on a mismatch. */
static int letter_dim(const struct ml_kernel *k, const struct ml_einsum *e, char c, int64_t *out)
{
    *out = -1;
    for (int t = 0; t < e->n_ops; t++) {
        const char *at = strchr(e->term[t], c);
        int64_t d;
        if (!at)
            continue;
        d = k->in[t]->dim[at - e->term[t]];
        if (d < 0)
            continue;
        if (*out >= 0 && *out != d)
            return ml_fail(k, GTEE_EFORMAT, "equation '%s': letter '%c' has sizes %lld and %lld", e->eq, c,
                           (long long)*out, (long long)d);
        *out = d;
    }
    return 0;
}

static int infer_einsum(struct ml_kernel *k)
{
    struct ml_einsum e;
    int rc;

    if ((rc = ml_einsum_parse(k, &e)) < 0)
        return rc;
    for (size_t i = 0; i < k->n_in; i++)
        if ((rc = ml_need(k, i, F32)) < 0)
            return rc;
    k->out[0]->dtype = GTEE_ML_FLOAT;
    k->out[0]->rank = e.rank[e.n_ops];
    for (int i = 0; i < e.rank[e.n_ops]; i++)
        if ((rc = letter_dim(k, &e, e.term[e.n_ops][i], &k->out[0]->dim[i])) < 0)
            return rc;
    for (int t = 0; t < e.n_ops; t++) /* contracted letters must agree too */
        for (int i = 0; i < e.rank[t]; i++) {
            int64_t d;
            if ((rc = letter_dim(k, &e, e.term[t][i], &d)) < 0)
                return rc;
        }
    return 0;
}

/* Element strides of operand t (or the output, t = n_ops) along letter c (0: absent). */
static int64_t stride_of(const struct ml_kernel *k, const struct ml_einsum *e, int t, char c)
{
    const struct gtee_ml_tensor *x = t == e->n_ops ? k->out[0] : k->in[t];
    int64_t st[GTEE_ML_MAX_RANK];
    const char *at = strchr(e->term[t], c);

    if (!at)
        return 0;
    ml_strides(x, st);
    return st[at - e->term[t]];
}

void ml_einsum_layout(const struct ml_kernel *k, const struct ml_einsum *e, struct ml_einsum_mm *g)
{
    const char *out = e->term[e->n_ops];

    memset(g, 0, sizeof(*g));
    for (int i = 0; out[i]; i++) { /* batch, rows, columns in the output's order */
        char c = out[i];
        bool a = strchr(e->term[0], c) != NULL, b = e->n_ops == 2 && strchr(e->term[1], c);
        char *list = a && b ? g->b : a ? g->m : g->n;
        int *n = a && b ? &g->nb : a ? &g->nm : &g->nn;
        list[(*n)++] = c;
    }
    for (int i = 0; e->n_ops == 2 && e->term[0][i]; i++)
        if (!strchr(out, e->term[0][i]))
            g->k[g->nk++] = e->term[0][i];
    g->B = g->M = g->N = g->K = 1;
    for (int i = 0; i < g->nb; i++) {
        int64_t d;
        letter_dim(k, e, g->b[i], &d);
        g->B *= d;
    }
    for (int i = 0; i < g->nm; i++) {
        int64_t d;
        letter_dim(k, e, g->m[i], &d);
        g->M *= d;
    }
    for (int i = 0; i < g->nn; i++) {
        int64_t d;
        letter_dim(k, e, g->n[i], &d);
        g->N *= d;
    }
    for (int i = 0; i < g->nk; i++) {
        int64_t d;
        letter_dim(k, e, g->k[i], &d);
        g->K *= d;
    }
}

/* Walks the index space of the letters groups[0] ++ groups[1] ++ groups[2] (in that order,
 * last fastest) and copies between a packed buffer (contiguous in that order) and tensor t
 * of operand ti: pack (dst = packed) or unpack adding (tensor += packed). */
void ml_einsum_move(const struct ml_kernel *k, const struct ml_einsum *e, int ti, const char *letters, int n,
                    float *packed, float *tensor, bool pack)
{
    int64_t dim[ML_EINSUM_LETTERS], st[ML_EINSUM_LETTERS], idx[ML_EINSUM_LETTERS] = { 0 }, total = 1, off = 0;

    for (int i = 0; i < n; i++) {
        letter_dim(k, e, letters[i], &dim[i]);
        st[i] = stride_of(k, e, ti, letters[i]);
        total *= dim[i];
    }
    for (int64_t p = 0; p < total; p++) {
        if (pack)
            packed[p] = tensor[off];
        else
            tensor[off] += packed[p];
        for (int i = n - 1; i >= 0; i--) {
            off += st[i];
            if (++idx[i] < dim[i])
                break;
            off -= st[i] * idx[i];
            idx[i] = 0;
        }
    }
}

/* The letters of the packed A [batch, M, K], B [batch, K, N] or C [batch, M, N]. */
int ml_einsum_order(const struct ml_einsum_mm *g, char which, char *out)
{
    const char *parts[3] = { g->b, which == 'B' ? g->k : g->m, which == 'A' ? g->k : g->n };
    int ns[3] = { g->nb, which == 'B' ? g->nk : g->nm, which == 'A' ? g->nk : g->nn }, n = 0;

    for (int i = 0; i < 3; i++) {
        memcpy(out + n, parts[i], (size_t)ns[i]);
        n += ns[i];
    }
    return n;
}

static size_t work_einsum(const struct ml_kernel *k)
{
    struct ml_kernel kk = *k;
    struct ml_einsum e;
    struct ml_einsum_mm g;

    kk.err = NULL;
    if (ml_einsum_parse(&kk, &e) < 0)
        return 0;
    ml_einsum_layout(&kk, &e, &g);
    return (size_t)(g.B * g.M * g.K + g.B * g.K * g.N + g.B * g.M * g.N) * sizeof(float) + 64;
}

static int fwd_einsum(struct ml_kernel *k)
{
    struct ml_einsum e;
    struct ml_einsum_mm g;
    char la[ML_EINSUM_LETTERS], lb[ML_EINSUM_LETTERS], lc[ML_EINSUM_LETTERS];
    float *y = k->out[0]->data;
    int rc;

    if ((rc = ml_einsum_parse(k, &e)) < 0)
        return rc;
    memset(y, 0, (size_t)ml_elems(k->out[0]) * sizeof(float));
    if (e.n_ops == 1) { /* a permutation: the operand packed in the output's order */
        ml_einsum_layout(k, &e, &g);
        ml_einsum_move(k, &e, 0, g.m, g.nm, k->work, k->in[0]->data, true);
        ml_einsum_move(k, &e, 1, g.m, g.nm, k->work, y, false);
        return 0;
    }
    ml_einsum_layout(k, &e, &g);
    if (!g.B || !g.M || !g.N || !g.K)
        return 0; /* an empty product: zeros (or nothing) */
    float *A = k->work, *B = A + g.B * g.M * g.K, *C = B + g.B * g.K * g.N;
    int nla = ml_einsum_order(&g, 'A', la), nlb = ml_einsum_order(&g, 'B', lb), nlc = ml_einsum_order(&g, 'C', lc);
    ml_einsum_move(k, &e, 0, la, nla, A, k->in[0]->data, true);
    ml_einsum_move(k, &e, 1, lb, nlb, B, k->in[1]->data, true);
    int prev = ml_blas_one();
    rc = 0;
    for (int64_t b = 0; b < g.B && rc == 0; b++)
        rc = ml_sgemm(k->threads, false, false, (int)g.M, (int)g.N, (int)g.K, 1.0f, A + b * g.M * g.K, (int)g.K,
                      B + b * g.K * g.N, (int)g.N, 0.0f, C + b * g.M * g.N, (int)g.N);
    ml_blas_restore(prev);
    if (rc < 0)
        return ml_gemm_fail(k, rc);
    ml_einsum_move(k, &e, 2, lc, nlc, C, y, false);
    return 0;
}

const struct ml_op ml_ops_einsum[] = {
    { "Einsum", 12, ML_MAX_OPSET, 1, 2, 1, 1, infer_einsum, fwd_einsum, work_einsum, ml_grad_einsum, false },
};
const size_t ml_ops_einsum_n = sizeof(ml_ops_einsum) / sizeof(ml_ops_einsum[0]);
