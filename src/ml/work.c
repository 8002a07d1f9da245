/* The units of work of a run (docs/ml.md, "Units of work"): the multiply-accumulates of its
 * matrix products and convolutions, counted from the plan's shapes, which a job reports
 * and a Work Proof commits to. Elementwise operators, pooling and normalization count
 * nothing: they are a small fraction of any real model's arithmetic, and leaving them out
 * keeps the measure one that anyone can recompute from the model and the batch. */
#include <string.h>

#include "ml/ml.h"

static uint64_t elems(const struct gtee_ml_tensor *t)
{
    uint64_t n = 1;

    for (int i = 0; i < t->rank; i++)
        n *= t->dim[i] > 0 ? (uint64_t)t->dim[i] : 0;
    return n;
}

/* One node's MACs: its output's elements times the length of each dot product. */
static uint64_t node_macs(const struct ml_node *n, const struct gtee_ml_tensor *vals)
{
    const struct gtee_ml_tensor *y, *a, *w;

    if (n->n_in < 2 || n->n_out < 1 || n->in[0] < 0 || n->in[1] < 0 || n->out[0] < 0)
        return 0;
    y = &vals[n->out[0]];
    a = &vals[n->in[0]];
    w = &vals[n->in[1]];
    if (!strcmp(n->op_type, "Conv"))
        /* W is [M, C/group, kh, kw]: each output element sums C/group * kh * kw products */
        return w->rank >= 1 && w->dim[0] > 0 ? elems(y) * (elems(w) / (uint64_t)w->dim[0]) : 0;
    if (!strcmp(n->op_type, "MatMul"))
        return a->rank >= 1 && a->dim[a->rank - 1] > 0 ? elems(y) * (uint64_t)a->dim[a->rank - 1] : 0;
    if (!strcmp(n->op_type, "Gemm"))
        /* A is [M, K] or its transpose; Y is [M, N] */
        return y->rank == 2 && y->dim[0] > 0 ? elems(y) * (elems(a) / (uint64_t)y->dim[0]) : 0;
    return 0;
}

uint64_t ml_plan_macs(const struct gtee_ml_model *m, const struct ml_plan *p)
{
    uint64_t total = 0;

    if (!p->vals)
        return 0;
    for (size_t i = 0; i < m->n_nodes; i++)
        total += node_macs(&m->nodes[i], p->vals);
    return total;
}
