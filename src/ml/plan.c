/* The memory plan. Shapes and types are inferred node by node for given input shapes;
 * values computable without the inputs' data (initializers, Shape of a known shape, and
 * everything that follows from those alone) are folded once into their own buffers
 * (fold.c); every other intermediate gets a slice of one arena per run (arena.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/dnn.h"
#include "ml/gemm.h"
#include "ml/ml.h"


static int check_input(const struct gtee_ml_model *m, size_t i, const struct gtee_ml_tensor *t, bool concrete,
                       struct gtee_err *err)
{
    const struct ml_value *v = &m->values[m->inputs[i]];
    uint64_t n;

    if (t->dtype != v->decl.dtype)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: input '%s' has element type %s, the model expects %s", v->name,
                         gtee_ml_dtype_name(t->dtype), gtee_ml_dtype_name(v->decl.dtype));
    if (t->rank != v->decl.rank)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: input '%s' has rank %d, the model expects %d", v->name, t->rank,
                         v->decl.rank);
    for (int d = 0; d < t->rank; d++)
        if (v->decl.dim[d] >= 0 && t->dim[d] != v->decl.dim[d])
            return GTEE_FAIL(err, GTEE_EINVAL, "ml: input '%s' dimension %d is %lld, the model expects %lld",
                             v->name, d, (long long)t->dim[d], (long long)v->decl.dim[d]);
    if (concrete && gtee_ml_tensor_elems(t, m->lim.max_tensor_elems, &n) < 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: input '%s' has an unknown dimension or too many elements", v->name);
    return 0;
}

/* After infer: outputs must be sane; returns whether all are fully known. */
static int check_outputs(const struct gtee_ml_model *m, struct ml_plan *p, struct ml_kernel *k, bool *all_known)
{
    uint64_t n;

    *all_known = true;
    for (size_t j = 0; j < k->n_out; j++) {
        struct gtee_ml_tensor *t = k->out[j];

        if (!t)
            continue;
        if (!gtee_ml_dtype_size(t->dtype) || t->rank < 0 || t->rank > GTEE_ML_MAX_RANK)
            return ml_fail(k, GTEE_EUNSUPPORTED, "output %zu: type or rank not inferred", j);
        if (!ml_known(t)) {
            *all_known = false;
            continue;
        }
        if (gtee_ml_tensor_elems(t, m->lim.max_tensor_elems, &n) < 0) {
            p->over_limit = true;
            return ml_fail(k, GTEE_EFORMAT, "output %zu would have more than %llu elements, the limit max_tensor_elems",
                           j, (unsigned long long)m->lim.max_tensor_elems);
        }
    }
    return 0;
}

bool ml_shape_input(const struct gtee_ml_tensor *t)
{
    return t->dtype == GTEE_ML_INT64 && t->rank <= 1 && t->data && ml_known(t) &&
           ml_elems(t) <= ML_SHAPE_INPUT_MAX;
}

/* An input whose rank is only known at run time defers the node too. */
static bool deferred(const struct ml_kernel *k)
{
    for (size_t j = 0; j < k->n_in; j++)
        if (k->in[j] && k->in[j]->rank < 0)
            return true;
    return false;
}

static bool inputs_known(const struct ml_plan *p, const struct ml_kernel *k, bool shape_only)
{
    for (size_t j = 0; j < k->n_in; j++) {
        if (!k->in[j])
            continue;
        if (shape_only ? !ml_known(k->in[j]) : !p->known[k->in[j] - p->vals])
            return false;
    }
    return true;
}

void ml_plan_kernel(const struct gtee_ml_model *m, struct ml_plan *p, size_t i, struct ml_kernel *k)
{
    const struct ml_node *n = &m->nodes[i];

    memset(k, 0, sizeof(*k));
    k->model = m;
    k->node = n;
    k->node_index = i;
    k->n_in = n->n_in;
    k->n_out = n->n_out;
    k->in = p->ptrs + p->ptr_off[i];
    k->out = k->in + n->n_in;
    k->lim = &m->lim;
    k->threads = 1;
    if (p->fuse && p->fuse[i].on) {
        k->in = p->fuse[i].in;
        k->n_in = p->fuse[i].n_in;
        k->out = p->fuse[i].out;
        k->act = p->fuse[i].act;
        k->act_lo = p->fuse[i].act_lo;
        k->act_hi = p->fuse[i].act_hi;
        k->res = p->fuse[i].res;
        k->b_untransposed = p->fuse[i].b_untransposed;
    }
    if (p->blocked) {
        k->blk_in = k->n_in && k->in[0] && p->blocked[k->in[0] - p->vals];
        k->blk_out = k->n_out && k->out[0] && p->blocked[k->out[0] - p->vals];
        k->blk_res = k->res && p->blocked[k->res - p->vals];
    }
    if (p->cache)
        k->cache = p->cache + 2 * i;
    k->frozen = p->fuse != NULL;
    if (p->arena)
        k->work = p->arena + p->arena_size - ml_align_up(p->work_size);
}

/* Whether a kernel may run through oneDNN (dnn.h), which is then loaded with the plan:
 * its convolutions and pools, and the matrix products (gemm.h) of MatMul, Gemm, Einsum and
 * the im2col convolutions. */
static bool uses_dnn(const struct gtee_ml_model *m)
{
    static const char *const ops[] = { "Conv", "MaxPool", "AveragePool", "MatMul", "Gemm", "Einsum", NULL };

    for (size_t i = 0; i < m->n_nodes; i++)
        for (const char *const *o = ops; *o; o++)
            if (!strcmp(m->nodes[i].op_type, *o))
                return true;
    return false;
}

static int alloc_plan(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err)
{
    size_t nptr = 0;

    for (size_t i = 0; i < m->n_nodes; i++)
        nptr += m->nodes[i].n_in + m->nodes[i].n_out;
    p->n_values = m->n_values;
    p->n_nodes = m->n_nodes;
    p->vals = calloc(m->n_values + 1, sizeof(*p->vals));
    p->known = calloc(m->n_values + 1, 1);
    p->folded = calloc(m->n_values + 1, sizeof(*p->folded));
    p->offset = malloc((m->n_values + 1) * sizeof(*p->offset));
    p->ptrs = calloc(nptr + 1, sizeof(*p->ptrs));
    p->ptr_off = calloc(m->n_nodes + 1, sizeof(*p->ptr_off));
    p->view = malloc((m->n_values + 1) * sizeof(*p->view));
    p->cache = calloc(2 * m->n_nodes + 1, sizeof(*p->cache));
    if (!p->vals || !p->known || !p->folded || !p->offset || !p->ptrs || !p->ptr_off || !p->view || !p->cache)
        return GTEE_FAIL(err, GTEE_ENOMEM, "ml: out of memory");
    nptr = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        p->ptr_off[i] = nptr;
        for (size_t j = 0; j < n->n_in; j++)
            p->ptrs[nptr++] = n->in[j] >= 0 ? &p->vals[n->in[j]] : NULL;
        for (size_t j = 0; j < n->n_out; j++)
            p->ptrs[nptr++] = n->out[j] >= 0 ? &p->vals[n->out[j]] : NULL;
    }
    for (size_t v = 0; v < m->n_values; v++) {
        p->offset[v] = SIZE_MAX;
        p->view[v] = -1;
        if (m->values[v].kind == ML_VAL_INIT) {
            p->vals[v] = m->values[v].decl;
            p->known[v] = 1;
        }
    }
    return 0;
}

int ml_plan_build(const struct gtee_ml_model *m, const struct gtee_ml_tensor *inputs, bool concrete,
                  int threads, struct ml_plan *p, struct gtee_err *err)
{
    return ml_plan_build_flags(m, inputs, concrete, threads, 0, p, err);
}

int ml_plan_build_flags(const struct gtee_ml_model *m, const struct gtee_ml_tensor *inputs, bool concrete,
                        int threads, unsigned flags, struct ml_plan *p, struct gtee_err *err)
{
    struct ml_folds f = { 0 };
    int rc = 0;

    memset(p, 0, sizeof(*p));
    TRY(alloc_plan(m, p, err));
    TRY(ml_fold_begin(m, &f, err));
    if (concrete && uses_dnn(m)) {
        TRY(ml_dnn_load(err));
        ml_gemm_check_jit(); /* a hardened process's products go to OpenBLAS (gemm.h) */
    }
    for (size_t i = 0; i < m->n_inputs; i++) {
        size_t v = (size_t)m->inputs[i];
        TRY(check_input(m, i, &inputs[i], concrete, err));
        ml_set_like(&p->vals[v], &inputs[i], inputs[i].dtype);
        if (concrete && ml_shape_input(&inputs[i])) {
            size_t bytes = (size_t)ml_elems(&inputs[i]) * 8;
            p->folded[v] = malloc(bytes + 1);
            ENSURE(p->folded[v], err, GTEE_ENOMEM, "ml: out of memory");
            if (bytes)
                memcpy(p->folded[v], inputs[i].data, bytes);
            p->vals[v].data = p->folded[v];
            p->known[v] = 1;
        }
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        struct ml_kernel k;
        bool all_known;

        ml_plan_kernel(m, p, i, &k);
        k.err = err;
        if (!n->op) {
            rc = ml_fail(&k, GTEE_EUNSUPPORTED, "operator is not supported");
            goto out;
        }
        for (size_t j = 0; j < k.n_out; j++)
            if (k.out[j])
                memset(k.out[j], 0, sizeof(*k.out[j]));
            else if (j < n->op->min_out) { /* an empty name omits an optional output only */
                rc = ml_fail(&k, GTEE_EFORMAT, "output %zu is required but has no name", j);
                goto out;
            }
        rc = deferred(&k) ? ML_DEFER : n->op->infer(&k);
        if (rc < 0)
            goto out;
        if (rc == ML_DEFER) {
            rc = 0;
            if (concrete) {
                rc = ml_fail(&k, GTEE_EUNSUPPORTED, "output shape depends on input data (not supported)");
                goto out;
            }
            for (size_t j = 0; j < k.n_out; j++)
                if (k.out[j])
                    k.out[j]->rank = -1; /* shape known only at run time */
            continue;
        }
        TRY(check_outputs(m, p, &k, &all_known));
        if (concrete && !all_known) {
            rc = ml_fail(&k, GTEE_EUNSUPPORTED, "output shape depends on input data (not supported)");
            goto out;
        }
        if (all_known && inputs_known(p, &k, n->op->shape_only)) {
            TRY(ml_fold(p, &f, &k, n->op->shape_only));
        } else if (concrete && n->op->workspace) {
            size_t w;
            k.threads = threads;
            w = n->op->workspace(&k);
            if (w > p->work_size)
                p->work_size = w;
        }
    }
    /* Load-time checks need the shapes alone: what is pending is never computed there. */
    if (concrete)
        TRY(ml_fold_finish(m, p, &f, err));
    for (size_t i = 0; i < m->n_outputs; i++)
        if (m->values[m->outputs[i]].kind == ML_VAL_INIT)
            p->known[m->outputs[i]] = 1;
    if (concrete && (flags & ML_PLAN_FUSE)) {
        TRY(ml_plan_fuse(m, p, err));
        TRY(ml_plan_blocks(m, p, err));
    }
    if (concrete)
        TRY(ml_plan_layout(m, p, err));
out:
    ml_fold_end(&f);
    return rc;
}

void ml_plan_drop_caches(struct ml_plan *p)
{
    if (p->cache)
        for (size_t i = 0; i < 2 * p->n_nodes; i++)
            if (p->cache[i]) {
                p->cache[i]->drop(p->cache[i]);
                p->cache[i] = NULL;
            }
}

void ml_plan_free(struct ml_plan *p)
{
    ml_plan_drop_caches(p);
    ml_free(p->cache);
    ml_free(p->blocked);
    if (p->folded)
        for (size_t v = 0; v < p->n_values; v++)
            ml_free(p->folded[v]);
    ml_free(p->vals);
    ml_free(p->known);
    ml_free(p->folded);
    ml_free(p->offset);
    ml_free(p->ptrs);
    ml_free(p->ptr_off);
    ml_free(p->view);
    if (p->fuse)
        for (size_t i = 0; i < p->n_nodes; i++) {
            ml_free(p->fuse[i].w.data);
            ml_free(p->fuse[i].b.data);
        }
    ml_free(p->fuse);
    ml_free(p->skip);
    ml_free(p->writer);
    ml_free(p->arena);
    memset(p, 0, sizeof(*p));
}
