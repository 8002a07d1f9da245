/* Folding: computing, when a plan is built, the values that do not depend on the inputs'
 * data. Folded values are constants the model did not ship, so they count with the
 * initializers against max_total_elems, and the count is checked for the whole graph
 * before any large one is allocated: a few hundred bytes of ConstantOfShape must not make
 * gigabytes. */
#include <stdint.h>
#include <stdlib.h>

#include "base/guard.h"
#include "ml/ml.h"

int ml_fold_begin(const struct gtee_ml_model *m, struct ml_folds *f, struct gtee_err *err)
{
    f->elems = 0;
    for (size_t v = 0; v < m->n_values; v++)
        if (m->values[v].kind == ML_VAL_INIT)
            f->elems += ml_elems(&m->values[v].decl); /* the loader bounded the sum */
    f->pending = calloc(m->n_values + 1, 1);
    f->node = calloc(m->n_nodes + 1, 1);
    if (!f->pending || !f->node)
        return GTEE_FAIL(err, GTEE_ENOMEM, "ml: out of memory");
    return 0;
}

void ml_fold_end(struct ml_folds *f)
{
    ml_free(f->pending);
    ml_free(f->node);
    f->pending = f->node = NULL;
}

/* Computes a node's outputs now, into buffers of their own. */
static int compute(struct ml_plan *p, struct ml_kernel *k)
{
    void *work = NULL;
    int rc = 0;

    for (size_t j = 0; j < k->n_out; j++) {
        struct gtee_ml_tensor *t = k->out[j];
        size_t v;

        if (!t)
            continue;
        v = (size_t)(t - p->vals);
        p->folded[v] = malloc(ml_elems(t) * gtee_ml_dtype_size(t->dtype) + 1);
        ENSURE(p->folded[v], k->err, GTEE_ENOMEM, "ml: out of memory");
        t->data = p->folded[v];
        p->known[v] = 1;
    }
    if (k->node->op->workspace) {
        work = malloc(k->node->op->workspace(k) + 1);
        ENSURE(work, k->err, GTEE_ENOMEM, "ml: out of memory");
    }
    k->work = work;
    rc = k->node->op->forward(k);
    k->work = NULL;
out:
    ml_free(work);
    return rc;
}

int ml_fold(struct ml_plan *p, struct ml_folds *f, struct ml_kernel *k, bool shape_only)
{
    const uint64_t max = k->model->lim.max_total_elems;
    uint64_t n = 0;
    bool later = false;

    for (size_t j = 0; j < k->n_out; j++)
        if (k->out[j]) {
            uint64_t e = ml_elems(k->out[j]); /* check_outputs bounded each by max_tensor_elems */
            n += e;
            later |= e > ML_SHAPE_INPUT_MAX;
        }
    if (f->elems + n > max) {
        p->over_limit = true;
        return ml_fail(k, GTEE_EFORMAT,
                       "folding its output (%llu elements) would bring the model's constants to %llu elements, "
                       "over the limit max_total_elems (%llu)",
                       (unsigned long long)n, (unsigned long long)(f->elems + n), (unsigned long long)max);
    }
    f->elems += n;
    /* A node reading a value not computed yet waits for it; Shape reads no data. */
    for (size_t j = 0; j < k->n_in && !shape_only; j++)
        later |= k->in[j] && f->pending[k->in[j] - p->vals];
    if (!later)
        return compute(p, k);
    /* Known, data to come: inference takes the value as unknown, which only a shape or
     * list input (at most ML_SHAPE_INPUT_MAX elements, never pending itself) would need. */
    f->node[k->node_index] = 1;
    for (size_t j = 0; j < k->n_out; j++)
        if (k->out[j]) {
            f->pending[k->out[j] - p->vals] = 1;
            p->known[k->out[j] - p->vals] = 1;
        }
    return 0;
}

int ml_fold_finish(const struct gtee_ml_model *m, struct ml_plan *p, struct ml_folds *f, struct gtee_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < m->n_nodes; i++) {
        struct ml_kernel k;

        if (!f->node[i])
            continue;
        ml_plan_kernel(m, p, i, &k);
        k.err = err;
        TRY(compute(p, &k));
    }
out:
    return rc;
}
