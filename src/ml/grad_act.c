/* Backward passes of the activations of ops_act.c and of Max and Min (docs/ml-training.md):
 * each dx = dy f'(x) from the forward input (and output), PRelu's slope gradient summed
 * over the axes it is broadcast on, Max's and Min's to the winning input. At a kink the
 * derivative is taken from the side PyTorch takes it. */
#include <math.h>
#include <stdlib.h>

#include "ml/grad.h"

static float d_act(const struct ml_act_params *p, float x, float y)
{
    switch (p->kind) {
    case ML_AK_HARDSIGMOID: { /* alpha inside (0, 1), 0 where clamped */
        float v = p->a * x + p->b;
        return v > 0.0f && v < 1.0f ? p->a : 0.0f;
    }
    case ML_AK_HARDSWISH: /* x relu6(x + 3) / 6: 0 below -3, 1 above 3, (2x + 3) / 6 between */
        return x < -3.0f ? 0.0f : x > 3.0f ? 1.0f : x / 3.0f + 0.5f;
    case ML_AK_LEAKYRELU:
        return x > 0.0f ? 1.0f : p->a;
    case ML_AK_ELU: /* y + alpha = alpha e^x below 0 */
        return x > 0.0f ? 1.0f : y + p->a;
    case ML_AK_SOFTPLUS: /* the logistic sigmoid */
        return x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
    default: /* Clip: the gradient passes where min <= x <= max */
        return x >= p->a && x <= p->b ? 1.0f : 0.0f;
    }
}

int ml_grad_act(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const float *x = k->in[0]->data, *y = k->out[0]->data, *dy = dout[0]->data;
    struct ml_act_params p;
    uint64_t n = ml_elems(k->in[0]);
    int rc;

    if (!din[0])
        return 0;
    if ((rc = ml_act_read(k, &p)) < 0)
        return rc;
    float *dx = din[0]->data;
    for (uint64_t i = 0; i < n; i++)
        dx[i] += dy[i] * d_act(&p, x[i], y[i]);
    return 0;
}

/* y = x < 0 ? s x : x: dx = dy (x >= 0) or s dy; ds += x dy where x < 0, at s's element. */
int ml_grad_prelu(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *y = k->out[0];
    const float *X = k->in[0]->data, *S = k->in[1]->data, *dy = dout[0]->data;
    float *dX = din[0] ? din[0]->data : NULL, *dS = din[1] ? din[1]->data : NULL;
    int64_t st[1][GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, off[1] = { 0 };
    uint64_t n = ml_elems(y);

    ml_grad_bstrides(k->in[1], y, st[0]);
    for (uint64_t i = 0; i < n; i++) {
        float x = X[i];
        if (dX)
            dX[i] += x < 0.0f ? S[off[0]] * dy[i] : dy[i];
        if (dS && x < 0.0f)
            dS[off[0]] += x * dy[i];
        ml_grad_bnext(y, idx, 1, st, off);
    }
    return 0;
}

/* y = max (min) of the inputs, broadcast: each output element's gradient goes to the
 * first input holding the winning value (ties: the first; PyTorch splits a tie between
 * two, which a finite difference cannot tell from either side). */
int ml_grad_maxmin(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *y = k->out[0];
    const float *Y = y->data, *dy = dout[0]->data;
    size_t n_in = k->n_in;
    int64_t (*st)[GTEE_ML_MAX_RANK] = NULL, *off = NULL, idx[GTEE_ML_MAX_RANK] = { 0 };
    uint64_t n = ml_elems(y);
    int rc = 0;

    if (y->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of a non-float tensor");
    st = calloc(n_in, sizeof(*st));
    off = calloc(n_in, sizeof(*off));
    if (!st || !off) {
        rc = ml_fail(k, GTEE_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < n_in; j++)
        ml_grad_bstrides(k->in[j], y, st[j]);
    for (uint64_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n_in; j++)
            if (((const float *)k->in[j]->data)[off[j]] == Y[i]) {
                if (din[j])
                    ((float *)din[j]->data)[off[j]] += dy[i];
                break;
            }
        ml_grad_bnext(y, idx, (int)n_in, st, off);
    }
out:
    ml_free(st);
    ml_free(off);
    return rc;
}
