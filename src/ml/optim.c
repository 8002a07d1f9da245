/* Optimizer steps on plain float arrays, following torch.optim (1.13) step for step so a
 * run can be compared with PyTorch's: SGD with momentum, dampening, Nesterov and L2
 * weight decay; Adam with bias correction and L2 weight decay, or decoupled (AdamW). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "gtee/ml_train.h"
#include "ml/fastmath.h"

int gtee_ml_optim_state_init(struct gtee_ml_optim_state *st, size_t n, int adam, struct gtee_err *err)
{
    int rc = GTEE_ENOMEM;

    memset(st, 0, sizeof(*st));
    ENSURE(n > 0 && n <= SIZE_MAX / sizeof(float), err, GTEE_EINVAL, "optim: bad parameter count %zu", n);
    st->n = n;
    st->m = calloc(n, sizeof(float));
    ENSURE(st->m, err, GTEE_ENOMEM, "optim: no memory for %zu moments", n);
    if (adam) {
        st->v = calloc(n, sizeof(float));
        ENSURE(st->v, err, GTEE_ENOMEM, "optim: no memory for %zu moments", n);
    }
    rc = 0;
out:
    if (rc < 0)
        gtee_ml_optim_state_free(st);
    return rc;
}

void gtee_ml_optim_state_free(struct gtee_ml_optim_state *st)
{
    if (!st)
        return;
    ml_free(st->m);
    ml_free(st->v);
    memset(st, 0, sizeof(*st));
}

static int check_args(const float *params, const float *grads, size_t n, const struct gtee_ml_optim_state *st,
                      const void *hyper, int adam, struct gtee_err *err)
{
    if (!params || !grads || !st || !hyper || n == 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "optim: missing array, state or settings");
    if (st->n != n || !st->m || (adam && !st->v))
        return GTEE_FAIL(err, GTEE_EINVAL, "optim: state made for %zu parameters used for %zu", st->n, n);
    return 0;
}

/* The per-element loops below are branch-free, with the settings hoisted out, so the
 * compiler vectorizes them; each element still goes through the same float operations, in
 * the same order, as torch.optim's update (a weight decay of 0 adds 0 * p, which leaves a
 * finite g unchanged). */

/* torch.optim.SGD with momentum: b = mu_b b + damp g (on the first step mu_b = 0 and
 * damp = 1: the buffer starts at the undampened gradient); g = nesterov ? g + mu b : b. */
ML_HOT static void sgd_momentum(float *p, const float *grads, float *b, size_t n, float lr, float wd, float mu,
                                float mu_b, float damp, bool nesterov)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i] + wd * p[i];

        b[i] = mu_b * b[i] + damp * g;
        p[i] -= lr * (nesterov ? g + mu * b[i] : b[i]);
    }
}

/* Adam / AdamW: p *= decay (AdamW), g += l2 p (Adam), then the moments and the step. */
ML_HOT static void adam(float *p, const float *grads, float *m, float *v, size_t n, float b1, float b2, float l2,
                        float decay, float step_size, float bc2_sqrt, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay, g = grads[i] + l2 * p[i];

        m[i] = m[i] * b1 + (1 - b1) * g;
        v[i] = v[i] * b2 + (1 - b2) * g * g;
        p[i] = pi - step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

int gtee_ml_sgd_step(float *params, const float *grads, size_t n, struct gtee_ml_optim_state *st,
                     const struct gtee_ml_sgd *h, struct gtee_err *err)
{
    int rc = GTEE_EINVAL;

    TRY(check_args(params, grads, n, st, h, 0, err));
    ENSURE(h->lr >= 0 && h->momentum >= 0 && h->weight_decay >= 0 && isfinite(h->lr), err, GTEE_EINVAL,
           "optim: SGD settings must be finite and not negative");
    ENSURE(!h->nesterov || (h->momentum > 0 && h->dampening == 0), err, GTEE_EINVAL,
           "optim: Nesterov momentum needs momentum > 0 and dampening 0");
    if (h->momentum != 0)
        sgd_momentum(params, grads, st->m, n, h->lr, h->weight_decay, h->momentum,
                     st->step == 0 ? 0.0f : h->momentum, st->step == 0 ? 1.0f : 1 - h->dampening, h->nesterov);
    else
        for (size_t i = 0; i < n; i++)
            params[i] -= h->lr * (grads[i] + h->weight_decay * params[i]);
    st->step++;
    rc = 0;
out:
    return rc;
}

int gtee_ml_adam_step(float *params, const float *grads, size_t n, struct gtee_ml_optim_state *st,
                      const struct gtee_ml_adam *h, struct gtee_err *err)
{
    double bc1, bc2_sqrt;
    float step_size, decay;
    int rc = GTEE_EINVAL;

    TRY(check_args(params, grads, n, st, h, 1, err));
    ENSURE(h->lr >= 0 && isfinite(h->lr) && h->beta1 >= 0 && h->beta1 < 1 && h->beta2 >= 0 && h->beta2 < 1 &&
               h->eps > 0 && h->weight_decay >= 0,
           err, GTEE_EINVAL, "optim: Adam needs lr >= 0, betas in [0, 1), eps > 0, weight decay >= 0");
    st->step++;
    /* bias corrections in double, as PyTorch computes them from a Python float */
    bc1 = 1.0 - pow(h->beta1, (double)st->step);
    bc2_sqrt = sqrt(1.0 - pow(h->beta2, (double)st->step));
    step_size = (float)(h->lr / bc1);
    decay = h->decoupled ? 1.0f - h->lr * h->weight_decay : 1.0f;
    adam(params, grads, st->m, st->v, n, h->beta1, h->beta2, h->decoupled ? 0.0f : h->weight_decay, decay, step_size,
         (float)bc2_sqrt, h->eps);
    rc = 0;
out:
    return rc;
}
