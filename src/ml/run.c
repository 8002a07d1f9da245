/* Sessions: a model bound to a thread count, with the plan for the last input shapes. A run
 * points the graph inputs at the caller's buffers and executes the nodes that were not
 * folded, in order, inside the plan's arena. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/ml.h"

struct gtee_ml_session {
    const struct gtee_ml_model *m;
    int threads;
    unsigned flags; /* ML_PLAN_* */
    bool planned;
    struct ml_plan plan;
    struct gtee_ml_tensor *shapes; /* input types the plan was built for */
    int64_t *values;               /* and the values of shape-like inputs, ML_SHAPE_INPUT_MAX each */
};

int gtee_ml_session_new(const struct gtee_ml_model *m, const struct gtee_ml_options *opt,
                        struct gtee_ml_session **out, struct gtee_err *err)
{
    struct gtee_ml_session *s;

    if (!m || !out)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: bad arguments");
    s = calloc(1, sizeof(*s));
    if (s) {
        s->shapes = calloc(m->n_inputs + 1, sizeof(*s->shapes));
        s->values = calloc((m->n_inputs + 1) * ML_SHAPE_INPUT_MAX, sizeof(int64_t));
    }
    if (!s || !s->shapes || !s->values) {
        if (s) {
            ml_free(s->shapes);
            ml_free(s->values);
        }
        ml_free(s);
        return GTEE_FAIL(err, GTEE_ENOMEM, "ml: out of memory");
    }
    s->m = m;
    s->threads = opt && opt->threads > 1 ? opt->threads : 1;
    if (s->threads > 64)
        s->threads = 64;
    s->flags = ML_PLAN_FUSE;
    *out = s;
    return 0;
}

void gtee_ml_session_free(struct gtee_ml_session *s)
{
    if (!s)
        return;
    ml_plan_free(&s->plan);
    ml_free(s->shapes);
    ml_free(s->values);
    ml_free(s);
}

uint64_t gtee_ml_session_macs(const struct gtee_ml_session *s)
{
    return s->planned ? ml_plan_macs(s->m, &s->plan) : 0;
}

void gtee_ml_session_set_fusion(struct gtee_ml_session *s, bool on)
{
    if (!s)
        return;
    s->flags = on ? ML_PLAN_FUSE : 0;
    s->planned = false;
}

static bool same_shapes(const struct gtee_ml_session *s, const struct gtee_ml_tensor *in)
{
    if (!s->planned)
        return false;
    for (size_t i = 0; i < s->m->n_inputs; i++)
        if (in[i].dtype != s->shapes[i].dtype || in[i].rank != s->shapes[i].rank ||
            (in[i].rank > 0 && memcmp(in[i].dim, s->shapes[i].dim, (size_t)in[i].rank * sizeof(int64_t))) ||
            (ml_shape_input(&in[i]) &&
             memcmp(in[i].data, s->values + i * ML_SHAPE_INPUT_MAX, (size_t)ml_elems(&in[i]) * sizeof(int64_t))))
            return false;
    return true;
}

static int replan(struct gtee_ml_session *s, const struct gtee_ml_tensor *in, struct gtee_err *err)
{
    int rc;

    ml_plan_free(&s->plan);
    s->planned = false;
    rc = ml_plan_build_flags(s->m, in, true, s->threads, s->flags, &s->plan, err);
    if (rc < 0) {
        ml_plan_free(&s->plan);
        return rc;
    }
    for (size_t i = 0; i < s->m->n_inputs; i++) {
        s->shapes[i] = in[i];
        s->shapes[i].data = NULL;
        if (ml_shape_input(&in[i]))
            memcpy(s->values + i * ML_SHAPE_INPUT_MAX, in[i].data, (size_t)ml_elems(&in[i]) * sizeof(int64_t));
    }
    s->planned = true;
    return 0;
}

static bool node_folded(const struct ml_plan *p, const struct ml_kernel *k)
{
    for (size_t j = 0; j < k->n_out; j++)
        if (k->out[j] && !p->known[k->out[j] - p->vals])
            return false;
    return true;
}

int gtee_ml_run(struct gtee_ml_session *s, const struct gtee_ml_tensor *inputs, size_t n_inputs,
                struct gtee_ml_tensor *outputs, size_t n_outputs, struct gtee_err *err)
{
    const struct gtee_ml_model *m;
    int rc = 0;

    if (!s || (!inputs && n_inputs) || (!outputs && n_outputs))
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: bad arguments");
    m = s->m;
    if (n_inputs != m->n_inputs || n_outputs != m->n_outputs)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: the model has %zu inputs and %zu outputs, %zu and %zu given",
                         m->n_inputs, m->n_outputs, n_inputs, n_outputs);
    for (size_t i = 0; i < n_inputs; i++)
        if (!inputs[i].data)
            return GTEE_FAIL(err, GTEE_EINVAL, "ml: input %zu has no data", i);
    if (!same_shapes(s, inputs))
        TRY(replan(s, inputs, err));
    for (size_t i = 0; i < n_inputs; i++)
        if (!s->plan.known[m->inputs[i]])
            s->plan.vals[m->inputs[i]].data = inputs[i].data;
    for (size_t v = 0; v < m->n_values; v++)
        if (s->plan.view[v] >= 0)
            s->plan.vals[v].data = s->plan.vals[s->plan.view[v]].data;
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct ml_kernel k;

        ml_plan_kernel(m, &s->plan, i, &k);
        k.threads = s->threads;
        k.err = err;
        if ((s->plan.skip && s->plan.skip[i]) || node_folded(&s->plan, &k))
            continue;
        if (s->plan.fuse && s->plan.fuse[i].run)
            TRY(s->plan.fuse[i].run(&k, &s->plan.fuse[i]));
        else
            TRY(m->nodes[i].op->forward(&k));
    }
    for (size_t i = 0; i < n_outputs; i++)
        outputs[i] = s->plan.vals[m->outputs[i]];
out:
    return rc;
}

void gtee_ml_session_memory(const struct gtee_ml_session *s, size_t *arena, size_t *unplanned)
{
    *arena = s->planned ? s->plan.arena_size : 0;
    *unplanned = s->planned ? s->plan.unplanned_size : 0;
}
