/* The trainer: reverse-mode differentiation over a loaded graph. A plan is built for the
 * mini-batch's shape as for inference, but every intermediate gets a buffer of its own
 * (the backward pass reads them all); a gradient buffer exists for each value on a path
 * from a parameter to output 0. A step runs the forward nodes, the loss, then the nodes'
 * backward passes in reverse order (docs/ml-training.md). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/ml_train.h"
#include "ml/grad.h"
#include "ml/ml.h"

struct param {
    size_t value;
    uint64_t n;
    float *grad;
    struct gtee_ml_optim_state st;
};

struct gtee_ml_trainer {
    struct gtee_ml_model *m;
    struct gtee_ml_train_options opt;
    bool planned;
    struct gtee_ml_tensor shape; /* input shape the plan was built for */
    struct ml_plan plan;
    float **own;                 /* per value: forward buffer of its own (intermediates) */
    uint8_t *needs;              /* per value: a gradient flows to it */
    uint8_t *zeroed;             /* per value: its gradient was cleared in this step */
    bool nchw_only;              /* no channel-blocked chains (train_blocks.c): tests compare */
    uint8_t *fuse;               /* per node: ML_TRAIN_RELU_* (train_blocks.c), or 0 */
    struct gtee_ml_tensor *g;    /* per value: its gradient (data NULL when none) */
    size_t n_params;
    struct param *params;
};

int gtee_ml_loss_for(const struct gtee_ml_model *m)
{
    int32_t p;

    if (!m || m->n_outputs < 1)
        return GTEE_ML_LOSS_XENT;
    p = m->values[m->outputs[0]].producer;
    return p >= 0 && !strcmp(m->nodes[p].op_type, "LogSoftmax") ? GTEE_ML_LOSS_NLL : GTEE_ML_LOSS_XENT;
}

static bool is_param(const struct gtee_ml_model *m, size_t v)
{
    const struct ml_value *mv = &m->values[v];

    if (mv->kind != ML_VAL_INIT || mv->decl.dtype != GTEE_ML_FLOAT)
        return false;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        for (size_t j = 0; j < n->n_in; j++)
            if (n->in[j] == (int32_t)v && n->op && n->op->backward && ml_grad_input(n->op_type, j))
                return true;
    }
    return false;
}

static int find_params(struct gtee_ml_trainer *tr, struct gtee_err *err)
{
    const struct gtee_ml_model *m = tr->m;
    int rc = 0;

    tr->params = calloc(m->n_values + 1, sizeof(*tr->params));
    ENSURE(tr->params, err, GTEE_ENOMEM, "train: out of memory");
    for (size_t v = 0; v < m->n_values; v++) {
        struct param *p;
        if (!is_param(m, v))
            continue;
        p = &tr->params[tr->n_params++];
        p->value = v;
        p->n = ml_elems(&m->values[v].decl);
        p->grad = calloc(p->n + 1, sizeof(float));
        ENSURE(p->grad, err, GTEE_ENOMEM, "train: out of memory for a gradient of %llu floats",
               (unsigned long long)p->n);
        if (p->n)
            TRY(gtee_ml_optim_state_init(&p->st, p->n, tr->opt.optimizer == GTEE_ML_OPTIM_ADAM, err));
    }
    ENSURE(tr->n_params > 0, err, GTEE_EUNSUPPORTED, "train: the model has no trainable float initializer");
out:
    return rc;
}

static void drop_plan(struct gtee_ml_trainer *tr)
{
    if (tr->own)
        for (size_t v = 0; v < tr->m->n_values; v++)
            ml_free(tr->own[v]);
    if (tr->g)
        for (size_t v = 0; v < tr->m->n_values; v++)
            if (tr->m->values[v].kind != ML_VAL_INIT)
                ml_free(tr->g[v].data);
    ml_free(tr->own);
    ml_free(tr->needs);
    free(tr->zeroed);
    ml_free(tr->g);
    free(tr->fuse);
    tr->fuse = NULL;
    tr->own = NULL;
    tr->needs = NULL;
    tr->zeroed = NULL;
    tr->g = NULL;
    ml_plan_free(&tr->plan);
    tr->planned = false;
}

static bool folded(const struct ml_plan *p, const struct ml_kernel *k)
{
    for (size_t j = 0; j < k->n_out; j++)
        if (k->out[j] && !p->known[k->out[j] - p->vals])
            return false;
    return true;
}

/* Nodes the plan folded (computed from initializers alone: an embedding table's slice, a
 * transposed weight) that read a parameter run at every step instead, so that they
 * follow the updates: their outputs keep the folded buffers but are no longer known.
 * Shape-only nodes stay folded (a parameter's shape does not change). */
static int unfold_params(struct gtee_ml_trainer *tr, struct gtee_err *err)
{
    struct gtee_ml_model *m = tr->m;
    struct ml_plan *p = &tr->plan;
    uint8_t *live = calloc(m->n_values + 1, 1);
    int rc = 0;

    ENSURE(live, err, GTEE_ENOMEM, "train: out of memory");
    for (size_t i = 0; i < tr->n_params; i++)
        live[tr->params[i].value] = 1;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct ml_node *n = &m->nodes[i];
        struct ml_kernel k;
        bool any = false;

        ml_plan_kernel(m, p, i, &k);
        k.threads = tr->opt.threads;
        k.err = err;
        for (size_t j = 0; j < n->n_in; j++)
            any |= n->in[j] >= 0 && live[n->in[j]];
        if (!any || n->op->shape_only || !folded(p, &k))
            continue;
        if (n->op->workspace && n->op->workspace(&k) > p->work_size) {
            rc = ml_fail(&k, GTEE_EUNSUPPORTED, "computed from parameters alone with a workspace (training)");
            goto out;
        }
        for (size_t j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) {
                p->known[n->out[j]] = 0;
                live[n->out[j]] = 1;
            }
    }
out:
    ml_free(live);
    return rc;
}

/* Which values carry a gradient, and their buffers; fails on a node on such a path that
 * has no backward pass. */
static int mark_grads(struct gtee_ml_trainer *tr, struct gtee_err *err)
{
    struct gtee_ml_model *m = tr->m;
    struct ml_plan *p = &tr->plan;
    int rc = 0;

    for (size_t i = 0; i < tr->n_params; i++) {
        size_t v = tr->params[i].value;
        tr->needs[v] = 1;
        tr->g[v] = p->vals[v];
        tr->g[v].data = tr->params[i].grad;
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct ml_kernel k;
        bool any = false;

        ml_plan_kernel(m, p, i, &k);
        k.err = err;
        for (size_t j = 0; j < k.n_in; j++)
            if (m->nodes[i].in[j] >= 0 && tr->needs[m->nodes[i].in[j]] && ml_grad_input(m->nodes[i].op_type, j))
                any = true;
        if (!any)
            continue;
        if (folded(p, &k)) {
            for (size_t j = 0; j < k.n_in && !m->nodes[i].op->shape_only; j++)
                if (m->nodes[i].in[j] >= 0 && m->values[m->nodes[i].in[j]].kind == ML_VAL_INIT &&
                    tr->needs[m->nodes[i].in[j]])
                    return ml_fail(&k, GTEE_EUNSUPPORTED,
                                   "computed from initializers alone before the run: its parameters cannot be trained");
            continue;
        }
        if (!m->nodes[i].op->backward)
            return ml_fail(&k, GTEE_EUNSUPPORTED, "no backward pass for this operator (training)");
        for (size_t j = 0; j < k.n_out; j++) {
            int32_t v = m->nodes[i].out[j];
            if (v < 0 || p->vals[v].dtype != GTEE_ML_FLOAT)
                continue;
            tr->needs[v] = 1;
            tr->g[v] = p->vals[v];
            tr->g[v].data = malloc(ml_elems(&p->vals[v]) * sizeof(float) + 1);
            ENSURE(tr->g[v].data, err, GTEE_ENOMEM, "train: out of memory for gradients");
        }
    }
    ENSURE(tr->needs[m->outputs[0]], err, GTEE_EUNSUPPORTED, "train: no parameter reaches output '%s'",
           m->values[m->outputs[0]].name);
out:
    return rc;
}

static int replan(struct gtee_ml_trainer *tr, const struct gtee_ml_tensor *x, struct gtee_err *err)
{
    struct gtee_ml_model *m = tr->m;
    struct ml_plan *p = &tr->plan;
    int rc = 0;

    drop_plan(tr);
    TRY(ml_plan_build(m, x, true, tr->opt.threads, p, err));
    tr->fuse = calloc(m->n_nodes + 1, 1);
    ENSURE(tr->fuse, err, GTEE_ENOMEM, "train: out of memory");
    if (!tr->nchw_only)
        TRY(ml_train_blocks(m, p, tr->fuse, err));
    tr->own = calloc(m->n_values + 1, sizeof(*tr->own));
    tr->needs = calloc(m->n_values + 1, 1);
    tr->zeroed = calloc(m->n_values + 1, 1);
    tr->g = calloc(m->n_values + 1, sizeof(*tr->g));
    ENSURE(tr->own && tr->needs && tr->zeroed && tr->g, err, GTEE_ENOMEM, "train: out of memory");
    /* Intermediates out of the shared arena: the backward pass needs every one. */
    for (size_t v = 0; v < m->n_values; v++) {
        if (p->offset[v] == SIZE_MAX)
            continue;
        tr->own[v] = malloc(ml_elems(&p->vals[v]) * gtee_ml_dtype_size(p->vals[v].dtype) + 1);
        ENSURE(tr->own[v], err, GTEE_ENOMEM, "train: out of memory for activations");
        p->vals[v].data = tr->own[v];
    }
    for (size_t i = 0; i < m->n_nodes; i++) /* a Relu that its Conv applies: the Conv's output */
        if (tr->fuse[i] == ML_TRAIN_RELU_DONE) {
            int32_t v = m->nodes[i].in[0], w = m->nodes[i].out[0];

            ml_free(tr->own[w]);
            tr->own[w] = NULL;
            p->vals[w].data = p->vals[v].data;
        }
    TRY(unfold_params(tr, err));
    TRY(mark_grads(tr, err));
    /* a Relu its Conv applies has no backward pass of its own: the MaxPool after it sends
     * its gradient to the Conv's output where that is positive (grad_pool.c), and the
     * Relu's output gradient, 4 bytes per element of a CNN's largest activation, is never
     * made */
    for (size_t i = 0; i < m->n_nodes; i++)
        if (tr->fuse[i] == ML_TRAIN_RELU_DONE && tr->g[m->nodes[i].out[0]].data) {
            ml_free(tr->g[m->nodes[i].out[0]].data);
            tr->g[m->nodes[i].out[0]].data = NULL;
        }
    tr->shape = *x;
    tr->shape.data = NULL;
    tr->planned = true;
out:
    if (rc < 0)
        drop_plan(tr);
    return rc;
}

int gtee_ml_trainer_new(struct gtee_ml_model *m, const struct gtee_ml_train_options *opt,
                        struct gtee_ml_trainer **out, struct gtee_err *err)
{
    struct gtee_ml_trainer *tr = NULL;
    int rc = 0;

    ENSURE(m && opt && out, err, GTEE_EINVAL, "train: bad arguments");
    ENSURE(opt->loss >= GTEE_ML_LOSS_XENT && opt->loss <= GTEE_ML_LOSS_AUTO, err, GTEE_EINVAL,
           "train: unknown loss %d", opt->loss);
    ENSURE(opt->batchnorm >= GTEE_ML_BN_FROZEN && opt->batchnorm <= GTEE_ML_BN_TRAIN_UNBIASED, err, GTEE_EINVAL,
           "train: unknown BatchNormalization mode %d", opt->batchnorm);
    ENSURE(opt->optimizer == GTEE_ML_OPTIM_SGD || opt->optimizer == GTEE_ML_OPTIM_ADAM, err, GTEE_EINVAL,
           "train: unknown optimizer %d", opt->optimizer);
    ENSURE(m->n_inputs == 1 && m->n_outputs >= 1, err, GTEE_EUNSUPPORTED,
           "train: the model must have one input (it has %zu) and an output", m->n_inputs);
    tr = calloc(1, sizeof(*tr));
    ENSURE(tr, err, GTEE_ENOMEM, "train: out of memory");
    tr->m = m;
    tr->opt = *opt;
    if (tr->opt.threads < 1)
        tr->opt.threads = 1;
    if (tr->opt.threads > 64)
        tr->opt.threads = 64;
    if (tr->opt.loss == GTEE_ML_LOSS_AUTO)
        tr->opt.loss = gtee_ml_loss_for(m);
    TRY(find_params(tr, err));
    *out = tr;
    tr = NULL;
out:
    gtee_ml_trainer_free(tr);
    return rc;
}

void gtee_ml_trainer_free(struct gtee_ml_trainer *tr)
{
    if (!tr)
        return;
    drop_plan(tr);
    if (tr->params)
        for (size_t i = 0; i < tr->n_params; i++) {
            ml_free(tr->params[i].grad);
            gtee_ml_optim_state_free(&tr->params[i].st);
        }
    ml_free(tr->params);
    ml_free(tr);
}

uint64_t gtee_ml_trainer_step_macs(const struct gtee_ml_trainer *tr)
{
    return 3 * ml_plan_macs(tr->m, &tr->plan);
}

static bool same_shape(const struct gtee_ml_tensor *a, const struct gtee_ml_tensor *b)
{
    return a->dtype == b->dtype && a->rank == b->rank &&
           (a->rank == 0 || !memcmp(a->dim, b->dim, (size_t)a->rank * sizeof(int64_t)));
}

/* A BatchNormalization node run in training mode (grad_bn.c). */
static bool bn_train(const struct gtee_ml_trainer *tr, const struct ml_node *n)
{
    return tr->opt.batchnorm != GTEE_ML_BN_FROZEN && !strcmp(n->op_type, "BatchNormalization");
}

static int loss_on(struct gtee_ml_trainer *tr, const int64_t *labels, const float *targets, float *loss,
                   size_t *correct, struct gtee_err *err)
{
    const struct gtee_ml_tensor *y = &tr->plan.vals[tr->m->outputs[0]];
    float *gy = tr->g[tr->m->outputs[0]].data;
    uint64_t n = ml_elems(y);

    if (y->dtype != GTEE_ML_FLOAT)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "train: output 0 is not float");
    if (tr->opt.loss == GTEE_ML_LOSS_MSE) {
        if (!targets)
            return GTEE_FAIL(err, GTEE_EINVAL, "train: MSE needs targets");
        return gtee_ml_mse(y->data, targets, (size_t)n, loss, gy, err);
    }
    bool nll = tr->opt.loss == GTEE_ML_LOSS_NLL;
    if (!labels)
        return GTEE_FAIL(err, GTEE_EINVAL, "train: %s needs labels", nll ? "negative log-likelihood" : "cross-entropy");
    if (y->rank != 2 || y->dim[1] < 1)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "train: %s needs %s [batch, classes], output has rank %d",
                         nll ? "negative log-likelihood" : "cross-entropy", nll ? "log-probabilities" : "logits",
                         y->rank);
    if (correct)
        *correct = gtee_ml_count_correct(y->data, labels, (size_t)y->dim[0], (size_t)y->dim[1]);
    if (nll)
        return gtee_ml_nll(y->data, labels, (size_t)y->dim[0], (size_t)y->dim[1], loss, gy, err);
    return gtee_ml_softmax_xent(y->data, labels, (size_t)y->dim[0], (size_t)y->dim[1], loss, gy, err);
}

/* A gradient is cleared when the backward pass first meets it, just before a kernel adds
 * into it: the buffer is then in cache for that kernel, where clearing every gradient
 * before the pass (megabytes for a CNN's first activations) sent each through memory
 * twice. */
static void clear_grad(struct gtee_ml_trainer *tr, const struct gtee_ml_tensor *g)
{
    size_t v = (size_t)(g - tr->g);

    if (!tr->zeroed[v] && g->data) {
        memset(tr->g[v].data, 0, ml_elems(&tr->g[v]) * sizeof(float));
        tr->zeroed[v] = 1;
    }
}

/* Operators whose backward pass sets their first input's gradient whole when it is not
 * cleared yet (ml_kernel's din_unset): a network's largest activations pass through them,
 * and clearing such a buffer only to add into it cost a write and a read of megabytes. */
static bool sets_first_grad(const char *op)
{
    return !strcmp(op, "Relu") || !strcmp(op, "MaxPool");
}

int gtee_ml_trainer_grad(struct gtee_ml_trainer *tr, const struct gtee_ml_tensor *x, const int64_t *labels,
                         const float *targets, float *loss, size_t *correct, struct gtee_err *err)
{
    struct gtee_ml_model *m;
    struct ml_plan *p;
    int rc = 0;

    if (!tr || !x || !x->data || !loss)
        return GTEE_FAIL(err, GTEE_EINVAL, "train: bad arguments");
    m = tr->m;
    if (!tr->planned || !same_shape(&tr->shape, x))
        TRY(replan(tr, x, err));
    p = &tr->plan;
    p->vals[m->inputs[0]].data = x->data;
    for (size_t v = 0; v < m->n_values; v++) /* reshapes of the input read its buffer (arena.c) */
        if (p->view[v] >= 0)
            p->vals[v].data = p->vals[p->view[v]].data;
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct ml_kernel k;
        if (tr->fuse[i] == ML_TRAIN_RELU_DONE)
            continue; /* its Conv applied it */
        ml_plan_kernel(m, p, i, &k);
        k.threads = tr->opt.threads;
        k.err = err;
        if (tr->fuse[i] == ML_TRAIN_RELU_INTO)
            k.act = ML_ACT_RELU;
        if (!folded(p, &k))
            TRY(bn_train(tr, &m->nodes[i]) ? ml_bn_train_forward(&k, tr->opt.batchnorm) : m->nodes[i].op->forward(&k));
    }
    memset(tr->zeroed, 0, m->n_values);
    clear_grad(tr, &tr->g[m->outputs[0]]);
    TRY(loss_on(tr, labels, targets, loss, correct, err));
    for (size_t i = m->n_nodes; i-- > 0;) {
        const struct ml_node *n = &m->nodes[i];
        struct gtee_ml_tensor *dout[ML_MAX_NODE_IO], *din[ML_MAX_NODE_IO];
        struct ml_kernel k;
        bool any = false;

        ml_plan_kernel(m, p, i, &k);
        k.threads = tr->opt.threads;
        k.err = err;
        for (size_t j = 0; j < n->n_out; j++) {
            dout[j] = n->out[j] >= 0 && tr->g[n->out[j]].data ? &tr->g[n->out[j]] : NULL;
            any |= dout[j] != NULL;
        }
        if (!any || folded(p, &k))
            continue;
        for (size_t j = 0; j < n->n_in; j++)
            din[j] = n->in[j] >= 0 && tr->g[n->in[j]].data && ml_grad_input(n->op_type, j) ? &tr->g[n->in[j]] : NULL;
        if (n->n_in && n->in[0] >= 0 && m->values[n->in[0]].producer >= 0 &&
            tr->fuse[m->values[n->in[0]].producer] == ML_TRAIN_RELU_DONE) {
            /* past the Relu its Conv applied, to the Conv's output (train_blocks.c) */
            int32_t v = m->nodes[m->values[n->in[0]].producer].in[0];

            din[0] = tr->g[v].data ? &tr->g[v] : NULL;
            k.relu_in = true;
        }
        if (!dout[0])
            continue; /* only a side output (a Dropout mask) is used */
        for (size_t j = 0; j < n->n_out; j++)
            if (dout[j])
                clear_grad(tr, dout[j]);
        for (size_t j = 0; j < n->n_in; j++) {
            if (!din[j])
                continue;
            if (j == 0 && sets_first_grad(n->op_type) && !tr->zeroed[din[0] - tr->g]) {
                tr->zeroed[din[0] - tr->g] = 1; /* the kernel sets it whole */
                k.din_unset = 1;
            } else {
                clear_grad(tr, din[j]);
            }
        }
        TRY(bn_train(tr, n) ? ml_grad_bn_train(&k, dout, din) : n->op->backward(&k, dout, din));
    }
    for (size_t v = 0; v < m->n_values; v++) /* no kernel reached it: its gradient is zero */
        if (tr->g[v].data)
            clear_grad(tr, &tr->g[v]);
out:
    return rc;
}

int gtee_ml_trainer_update(struct gtee_ml_trainer *tr, struct gtee_err *err)
{
    int rc = 0;

    if (!tr)
        return GTEE_FAIL(err, GTEE_EINVAL, "train: bad arguments");
    for (size_t i = 0; i < tr->n_params; i++) {
        struct param *p = &tr->params[i];
        float *w = tr->m->values[p->value].decl.data;
        if (!p->n)
            continue;
        if (tr->opt.optimizer == GTEE_ML_OPTIM_ADAM)
            TRY(gtee_ml_adam_step(w, p->grad, (size_t)p->n, &p->st, &tr->opt.adam, err));
        else
            TRY(gtee_ml_sgd_step(w, p->grad, (size_t)p->n, &p->st, &tr->opt.sgd, err));
    }
out:
    return rc;
}

size_t gtee_ml_trainer_param_count(const struct gtee_ml_trainer *tr)
{
    return tr ? tr->n_params : 0;
}

int gtee_ml_trainer_param(struct gtee_ml_trainer *tr, size_t i, const char **name, struct gtee_ml_tensor *value,
                          const float **grad)
{
    const struct ml_value *v;

    if (!tr || i >= tr->n_params)
        return GTEE_EINVAL;
    v = &tr->m->values[tr->params[i].value];
    if (name)
        *name = v->name;
    if (value)
        *value = v->decl;
    if (grad)
        *grad = tr->params[i].grad;
    return 0;
}

void ml_trainer_nchw_only(struct gtee_ml_trainer *tr, bool on)
{
    if (tr->nchw_only != on) {
        tr->nchw_only = on;
        drop_plan(tr); /* the next step plans again */
    }
}

size_t ml_trainer_blocked(const struct gtee_ml_trainer *tr)
{
    size_t n = 0;

    if (tr->planned && tr->plan.blocked)
        for (size_t v = 0; v < tr->m->n_values; v++)
            n += tr->plan.blocked[v] != 0;
    return n;
}

struct gtee_ml_model *ml_trainer_model(const struct gtee_ml_trainer *tr)
{
    return tr->m;
}
