/* Sessions: a model bound to a thread count, with the plan for the last input shapes. A run
 * points the graph inputs at the caller's buffers and executes the nodes that were not
 * folded, in order, inside the plan's arena. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/geom.h"
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

/* The product a MatMul or Gemm node runs with the plan's shapes, as its kernel calls
 * ml_sgemm (ops_matmul.c): false for any other node, or one with nothing to multiply. */
static bool node_product(const struct gtee_ml_session *s, size_t i, bool *ta, bool *tb, int64_t *m, int64_t *n,
                         int64_t *kk, int *threads)
{
    const struct ml_node *nd = &s->m->nodes[i];
    const struct ml_plan *p = &s->plan;
    const struct gtee_ml_tensor *a, *b;
    struct gtee_err e = { 0 };
    struct ml_kernel k = { .model = s->m, .node = nd, .err = &e };
    int64_t v;

    if (nd->n_in < 2 || nd->in[0] < 0 || nd->in[1] < 0 || (p->skip && p->skip[i]))
        return false;
    a = &p->vals[nd->in[0]];
    b = &p->vals[nd->in[1]];
    *threads = s->threads;
    if (!strcmp(nd->op_type, "Gemm") && a->rank == 2 && b->rank == 2) {
        *ta = ml_attr_int(&k, "transA", 0, &v) == 0 && v;
        *tb = ml_attr_int(&k, "transB", 0, &v) == 0 && v && !(p->fuse && p->fuse[i].on && p->fuse[i].b_untransposed);
        *m = a->dim[*ta ? 1 : 0];
        *kk = a->dim[*ta ? 0 : 1];
        *n = nd->n_out > 0 && nd->out[0] >= 0 && p->vals[nd->out[0]].rank == 2 ? p->vals[nd->out[0]].dim[1] : -1;
    } else if (!strcmp(nd->op_type, "MatMul") && a->rank >= 1 && b->rank >= 1) {
        int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
        int64_t batch = 1;

        *ta = *tb = false;
        *m = a->rank >= 2 ? a->dim[a->rank - 2] : 1;
        *kk = a->dim[a->rank - 1];
        *n = b->rank >= 2 ? b->dim[b->rank - 1] : 1;
        if (rb == 0 && ra > 0) /* B shared by every batch: one product */
            for (int d = 0; d < ra; d++)
                *m *= a->dim[d];
        else
            for (int d = 0; d < (ra > rb ? ra : rb); d++)
                batch *= d < ra ? a->dim[d] : 1;
        if (batch > 1 || rb > 0)
            *threads = 1; /* the batch's products are split across the threads instead */
    } else {
        return false;
    }
    return *m > 0 && *n > 0 && *kk > 0 && *m <= INT32_MAX && *n <= INT32_MAX && *kk <= INT32_MAX;
}

int gtee_ml_session_kernels(const struct gtee_ml_session *s, char *buf, size_t len, struct gtee_err *err)
{
    size_t used = 0;
    int rc;

    if (!s || !buf || !len)
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: no session or no buffer for its kernels");
    buf[0] = '\0';
    if (!s->planned)
        return 0;
    for (size_t i = 0; i < s->m->n_nodes; i++) {
        const struct ml_node *nd = &s->m->nodes[i];
        bool ta, tb;
        int64_t m, n, kk;
        int threads, w;
        char what[192];

        if (!strcmp(nd->op_type, "Conv") && !(s->plan.skip && s->plan.skip[i])) {
            struct ml_kernel k;
            struct gtee_err e = { 0 };

            ml_plan_kernel(s->m, (struct ml_plan *)&s->plan, i, &k);
            k.err = &e;
            w = ml_conv_describe(&k, buf + used, len - used);
            if (w < 0 || (size_t)w >= len - used)
                return GTEE_FAIL(err, GTEE_EINVAL, "ml: the kernels of this plan need more than %zu bytes", len);
            used += (size_t)w;
            continue;
        }
        if (!node_product(s, i, &ta, &tb, &m, &n, &kk, &threads))
            continue;
        if ((rc = gtee_ml_kernels_product(ta, tb, (int)m, (int)n, (int)kk, threads, what, sizeof(what), err)) < 0)
            return rc;
        w = snprintf(buf + used, len - used, "%s '%s' %lldx%lld . %lldx%lld: %s\n", nd->op_type, nd->name,
                     (long long)m, (long long)kk, (long long)kk, (long long)n, what);
        if (w < 0 || (size_t)w >= len - used)
            return GTEE_FAIL(err, GTEE_EINVAL, "ml: the kernels of this plan need more than %zu bytes", len);
        used += (size_t)w;
    }
    return 0;
}
