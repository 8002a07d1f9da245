/* Layouts of an inference plan: which activations stay channel-blocked between the
 * kernels that read and write that layout (oneDNN's, dnn.h), so that a chain of Conv,
 * pooling and residual Conv runs without converting to NCHW and back between nodes.
 * A value is kept blocked when
 *   - it is a 4-D float intermediate (not a graph output) whose channels are a multiple of
 *     the block (no padding: the blocked tensor has the NCHW one's size, so the arena does
 *     not change);
 *   - its writer produces that layout: a Conv on the oneDNN path, or a pool whose own input
 *     is blocked;
 *   - every reader takes it: a Conv on the oneDNN path (its input or its fused residual),
 *     a pool oneDNN takes, GlobalAveragePool.
 * Every other value is NCHW, as the operators outside this set expect. Runs after the
 * fusions (they decide who reads what) and before the arena (the scratch it adds). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/dnn.h"
#include "ml/geom.h"

enum { CAP_NONE = 0, CAP_CONV, CAP_POOL, CAP_GAP };

static int capability(const struct ml_kernel *k)
{
    const char *op = k->node->op_type;

    if (!k->n_in || !k->in[0] || k->in[0]->rank != 4 || k->in[0]->dtype != GTEE_ML_FLOAT)
        return CAP_NONE;
    if (!strcmp(op, "Conv"))
        return ml_conv_blockable(k) ? CAP_CONV : CAP_NONE;
    if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool"))
        return ml_pool_blockable(k) ? CAP_POOL : CAP_NONE;
    return !strcmp(op, "GlobalAveragePool") ? CAP_GAP : CAP_NONE;
}

/* The value index of a kernel's tensor, or -1 for one outside the plan's values (a fused
 * node's folded weights). */
static int64_t value_of(const struct ml_plan *p, const struct gtee_ml_tensor *t)
{
    return t && t >= p->vals && t < p->vals + p->n_values ? t - p->vals : -1;
}

static bool candidate(const struct gtee_ml_model *m, const struct ml_plan *p, const bool *is_out, int64_t v, int bl)
{
    const struct gtee_ml_tensor *t = &p->vals[v];

    return m->values[v].kind == ML_VAL_NODE && !p->known[v] && !is_out[v] && p->writer[v] != ML_WRITER_NONE &&
           t->dtype == GTEE_ML_FLOAT && t->rank == 4 && ml_known(t) && t->dim[1] > 0 && t->dim[1] % bl == 0;
}

int ml_plan_blocks(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err)
{
    size_t nv = m->n_values, nn = m->n_nodes;
    bool *readers_ok = malloc(nv + 1), *is_out = calloc(nv + 1, 1);
    int *cap = calloc(nn + 1, sizeof(int));
    int bl = ml_dnn_block(), rc = 0;

    p->blocked = calloc(nv + 1, 1);
    ENSURE(readers_ok && is_out && cap && p->blocked, err, GTEE_ENOMEM, "ml: out of memory");
    memset(readers_ok, 1, nv + 1);
    for (size_t i = 0; i < m->n_outputs; i++)
        is_out[m->outputs[i]] = true;
    for (size_t i = 0; i < nn; i++) {
        struct ml_kernel k;

        if (p->skip && p->skip[i])
            continue;
        ml_plan_kernel(m, p, i, &k);
        cap[i] = capability(&k);
        for (size_t j = 0; j < k.n_in; j++) {
            int64_t v = value_of(p, k.in[j]);
            if (v >= 0 && (j > 0 || cap[i] == CAP_NONE))
                readers_ok[v] = false;
        }
        if (k.res && value_of(p, k.res) >= 0 && cap[i] != CAP_CONV)
            readers_ok[value_of(p, k.res)] = false;
    }
    /* nodes in execution order: a pool's input is decided before its output */
    for (size_t i = 0; i < nn; i++) {
        struct ml_kernel k;
        int64_t v;

        if ((p->skip && p->skip[i]) || cap[i] == CAP_NONE || cap[i] == CAP_GAP)
            continue;
        ml_plan_kernel(m, p, i, &k);
        v = value_of(p, k.out[0]);
        if (v < 0 || !candidate(m, p, is_out, v, bl) || !readers_ok[v])
            continue;
        if (cap[i] == CAP_POOL && !p->blocked[value_of(p, k.in[0])])
            continue;
        p->blocked[v] = 1;
    }
    /* a blocked pool writing NCHW converts through the scratch */
    for (size_t i = 0; i < nn; i++) {
        struct ml_kernel k;

        if ((p->skip && p->skip[i]) || cap[i] != CAP_POOL)
            continue;
        ml_plan_kernel(m, p, i, &k);
        if (k.blk_in && !k.blk_out && ml_pool_dnn_work(&k) > p->work_size)
            p->work_size = ml_pool_dnn_work(&k);
    }
out:
    ml_free(readers_ok);
    ml_free(is_out);
    ml_free(cap);
    return rc;
}
