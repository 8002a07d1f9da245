/* Optimizer steps on plain float arrays, following torch.optim (1.13) step for step so a
 * run can be compared with PyTorch's: SGD with momentum, dampening, Nesterov and L2
 * weight decay; Adam with bias correction and L2 weight decay, or decoupled (AdamW). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/ml_train.h"

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
    free(st->m);
    free(st->v);
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

int gtee_ml_sgd_step(float *params, const float *grads, size_t n, struct gtee_ml_optim_state *st,
                     const struct gtee_ml_sgd *h, struct gtee_err *err)
{
    int rc = GTEE_EINVAL;

    TRY(check_args(params, grads, n, st, h, 0, err));
    ENSURE(h->lr >= 0 && h->momentum >= 0 && h->weight_decay >= 0 && isfinite(h->lr), err, GTEE_EINVAL,
           "optim: SGD settings must be finite and not negative");
    ENSURE(!h->nesterov || (h->momentum > 0 && h->dampening == 0), err, GTEE_EINVAL,
           "optim: Nesterov momentum needs momentum > 0 and dampening 0");
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];

        if (h->weight_decay != 0)
            g += h->weight_decay * params[i];
        if (h->momentum != 0) {
            /* torch.optim.SGD starts the buffer at the first gradient, undampened */
            st->m[i] = st->step == 0 ? g : h->momentum * st->m[i] + (1 - h->dampening) * g;
            g = h->nesterov ? g + h->momentum * st->m[i] : st->m[i];
        }
        params[i] -= h->lr * g;
    }
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
    for (size_t i = 0; i < n; i++) {
        float g = grads[i], denom;

        if (h->decoupled)
            params[i] *= decay;
        else if (h->weight_decay != 0)
            g += h->weight_decay * params[i];
        st->m[i] = st->m[i] * h->beta1 + (1 - h->beta1) * g;
        st->v[i] = st->v[i] * h->beta2 + (1 - h->beta2) * g * g;
        denom = sqrtf(st->v[i]) / (float)bc2_sqrt + h->eps;
        params[i] -= step_size * st->m[i] / denom;
    }
    rc = 0;
out:
    return rc;
}
