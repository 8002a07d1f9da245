/* The activations PyTorch exports besides Relu, Sigmoid and Tanh (ONNX operator specs,
 * ai.onnx): HardSigmoid, HardSwish, LeakyRelu, Elu, Softplus, Clip (attributes before
 * opset 11, optional scalar inputs from 11) and PRelu (a slope broadcast to X). Float
 * only; each has a backward pass (grad_act.c). */
#include <math.h>
#include <string.h>

#include "ml/bcast.h"
#include "ml/grad.h"
#include "ml/ml.h"

#define F32 ML_T(GTEE_ML_FLOAT)

/* The one-input activations: their attributes, read once per run. */
int ml_act_params(const struct ml_kernel *k, struct ml_act_params *p)
{
    static const char *const a_hs[] = { "alpha", "beta", NULL }, *const a_alpha[] = { "alpha", NULL };
    static const char *const a_clip[] = { "min", "max", NULL };
    const char *op = k->node->op_type;
    int rc;

    memset(p, 0, sizeof(*p));
    if (!strcmp(op, "HardSigmoid")) {
        p->kind = ML_AK_HARDSIGMOID;
        if ((rc = ml_attr_only(k, a_hs)) < 0 || (rc = ml_attr_float(k, "alpha", 0.2f, &p->a)) < 0 ||
            (rc = ml_attr_float(k, "beta", 0.5f, &p->b)) < 0)
            return rc;
    } else if (!strcmp(op, "HardSwish")) {
        p->kind = ML_AK_HARDSWISH;
        if ((rc = ml_attr_only(k, NULL)) < 0)
            return rc;
    } else if (!strcmp(op, "LeakyRelu") || !strcmp(op, "Elu")) {
        p->kind = op[0] == 'L' ? ML_AK_LEAKYRELU : ML_AK_ELU;
        if ((rc = ml_attr_only(k, a_alpha)) < 0 ||
            (rc = ml_attr_float(k, "alpha", p->kind == ML_AK_ELU ? 1.0f : 0.01f, &p->a)) < 0)
            return rc;
    } else if (!strcmp(op, "Softplus")) {
        p->kind = ML_AK_SOFTPLUS;
        if ((rc = ml_attr_only(k, NULL)) < 0)
            return rc;
    } else if (!strcmp(op, "Clip")) {
        p->kind = ML_AK_CLIP;
        p->a = -INFINITY;
        p->b = INFINITY;
        if (k->model->opset < 11) {
            if (k->n_in > 1)
                return ml_fail(k, GTEE_EFORMAT, "min and max are attributes before opset 11, not inputs");
            if ((rc = ml_attr_only(k, a_clip)) < 0 || (rc = ml_attr_float(k, "min", -INFINITY, &p->a)) < 0 ||
                (rc = ml_attr_float(k, "max", INFINITY, &p->b)) < 0)
                return rc;
        } else {
            if ((rc = ml_attr_only(k, NULL)) < 0)
                return rc;
            for (size_t i = 1; i < 3; i++) {
                const struct gtee_ml_tensor *t = ml_in(k, i);
                if (!t)
                    continue;
                if ((rc = ml_need(k, i, F32)) < 0)
                    return rc;
                if (t->rank != 0 && !(t->rank == 1 && t->dim[0] == 1))
                    return ml_fail(k, GTEE_EFORMAT, "%s must be a scalar", i == 1 ? "min" : "max");
                if (t->data)
                    *(i == 1 ? &p->a : &p->b) = *(const float *)t->data;
                else
                    p->deferred = true; /* a value of the run: read in forward */
            }
        }
    } else {
        return ml_fail(k, GTEE_EUNSUPPORTED, "no kernel");
    }
    return 0;
}

static int infer_act(struct ml_kernel *k)
{
    struct ml_act_params p;
    int rc;

    if ((rc = ml_need(k, 0, F32)) < 0 || (rc = ml_act_params(k, &p)) < 0)
        return rc;
    ml_set_like(k->out[0], k->in[0], GTEE_ML_FLOAT);
    return 0;
}

struct act_job {
    struct ml_act_params p;
    const float *x;
    float *y;
};

static void act_range(void *arg, size_t lo, size_t hi)
{
    const struct act_job *j = arg;
    const float *x = j->x, a = j->p.a, b = j->p.b;
    float *y = j->y;

    switch (j->p.kind) {
    case ML_AK_HARDSIGMOID:
        for (size_t i = lo; i < hi; i++) {
            float v = a * x[i] + b;
            y[i] = isnan(v) ? v : v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        break;
    case ML_AK_HARDSWISH:
        for (size_t i = lo; i < hi; i++) {
            float v = x[i] / 6.0f + 0.5f;
            y[i] = x[i] * (isnan(v) ? v : v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v);
        }
        break;
    case ML_AK_LEAKYRELU:
        for (size_t i = lo; i < hi; i++)
            y[i] = x[i] < 0.0f ? a * x[i] : x[i];
        break;
    case ML_AK_ELU:
        for (size_t i = lo; i < hi; i++)
            y[i] = x[i] < 0.0f ? a * expm1f(x[i]) : x[i];
        break;
    case ML_AK_SOFTPLUS: /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|), never overflowing */
        for (size_t i = lo; i < hi; i++)
            y[i] = isnan(x[i]) ? x[i] : (x[i] > 0.0f ? x[i] : 0.0f) + log1pf(expf(-fabsf(x[i])));
        break;
    default: /* Clip: min then max, as the spec's numpy reference (max wins when min > max) */
        for (size_t i = lo; i < hi; i++) {
            float v = x[i] < a ? a : x[i];
            y[i] = v > b ? b : v;
        }
    }
}

int ml_act_read(const struct ml_kernel *k, struct ml_act_params *p)
{
    int rc = ml_act_params(k, p);

    if (rc < 0)
        return rc;
    if (p->kind == ML_AK_CLIP && k->model->opset >= 11) { /* inputs known only now */
        if (ml_in(k, 1))
            p->a = *(const float *)k->in[1]->data;
        if (ml_in(k, 2))
            p->b = *(const float *)k->in[2]->data;
    }
    return 0;
}

static int fwd_act(struct ml_kernel *k)
{
    struct act_job j = { .x = k->in[0]->data, .y = k->out[0]->data };
    int rc = ml_act_read(k, &j.p);

    if (rc < 0)
        return rc;
    ml_parallel(k->threads, (size_t)ml_elems(k->in[0]), ML_PAR_MIN / 4, act_range, &j);
    return 0;
}

/* PRelu: y = x < 0 ? slope x : x, slope broadcast to X (unidirectionally, opset 7+). */
static int infer_prelu(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *x = k->in[0], *s = k->in[1];
    int rc;

    if ((rc = ml_attr_only(k, NULL)) < 0 || (rc = ml_need(k, 0, F32)) < 0 || (rc = ml_need(k, 1, F32)) < 0)
        return rc;
    if (s->rank > x->rank)
        return ml_fail(k, GTEE_EFORMAT, "slope has rank %d, over X's %d", s->rank, x->rank);
    for (int d = 0; d < s->rank; d++) {
        int64_t sd = s->dim[d], xd = x->dim[x->rank - s->rank + d];
        if (sd >= 0 && xd >= 0 && sd != 1 && sd != xd)
            return ml_fail(k, GTEE_EFORMAT, "slope dim %d (%lld) does not broadcast to X's %lld", d, (long long)sd,
                           (long long)xd);
    }
    ml_set_like(k->out[0], x, GTEE_ML_FLOAT);
    return 0;
}

static void prelu_row(void *o, const void *const *in, const size_t *st, size_t n, const void *c)
{
    const float *x = in[0], *s = in[1];
    float *y = o;

    (void)c;
    for (size_t i = 0; i < n; i++) {
        float v = x[i * st[0]];
        y[i] = v < 0.0f ? s[i * st[1]] * v : v;
    }
}

static int fwd_prelu(struct ml_kernel *k)
{
    const struct gtee_ml_tensor *ins[2] = { k->in[0], k->in[1] };

    ml_bcast_run(ins, 2, k->out[0], prelu_row, NULL, k->threads);
    return 0;
}

#define ACT(n, from, in) { n, from, ML_MAX_OPSET, 1, in, 1, 1, infer_act, fwd_act, NULL, ml_grad_act, false }

const struct ml_op ml_ops_act[] = {
    ACT("HardSigmoid", 6, 1), ACT("HardSwish", 14, 1), ACT("LeakyRelu", 6, 1), ACT("Elu", 6, 1),
    ACT("Softplus", 1, 1),    ACT("Clip", 6, 3),
    { "PRelu", 7, ML_MAX_OPSET, 2, 2, 1, 1, infer_prelu, fwd_prelu, NULL, ml_grad_prelu, false },
};
const size_t ml_ops_act_n = sizeof(ml_ops_act) / sizeof(ml_ops_act[0]);
