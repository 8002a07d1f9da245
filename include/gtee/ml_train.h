/* Glacier TEE Node ML engine: the training primitives that work on plain float arrays:
 * losses with their gradients, and optimizer steps. Their definitions follow PyTorch's
 * (torch.nn.CrossEntropyLoss, MSELoss, torch.optim.SGD, Adam, AdamW as of 1.13), and the
 * tests compare them with values PyTorch computed (docs/training.md). */
#ifndef GTEE_ML_TRAIN_H
#define GTEE_ML_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

/* Softmax cross-entropy of logits [n, c] against labels [n] (each in 0 .. c-1), averaged
 * over the n rows. grad (NULL to skip) receives d loss / d logits = (softmax - onehot)/n.
 * Computed stably (log-sum-exp after subtracting the row maximum). */
int gtee_ml_softmax_xent(const float *logits, const int64_t *labels, size_t n, size_t c, float *loss,
                         float *grad, struct gtee_err *err) GTEE_MUST_USE;

/* Mean squared error over count elements: mean((pred - target)^2). grad (NULL to skip)
 * receives 2 (pred - target) / count. */
int gtee_ml_mse(const float *pred, const float *target, size_t count, float *loss, float *grad,
                struct gtee_err *err) GTEE_MUST_USE;

/* Rows of logits [n, c] whose largest entry (the first, on ties) is at the label. */
size_t gtee_ml_count_correct(const float *logits, const int64_t *labels, size_t n, size_t c);

/* SGD with momentum, as torch.optim.SGD: g = grad + weight_decay * p;
 * b = momentum * b + (1 - dampening) * g (b = g on the first step);
 * g = nesterov ? g + momentum * b : b; p -= lr * g. */
struct gtee_ml_sgd {
    float lr;
    float momentum;     /* 0 disables the buffer */
    float dampening;
    float weight_decay; /* L2 penalty added to the gradient */
    int nesterov;       /* needs momentum > 0 and dampening 0 */
};

/* Adam, as torch.optim.Adam (decoupled = 0: weight decay added to the gradient) or
 * torch.optim.AdamW (decoupled = 1: p *= 1 - lr * weight_decay before the update). */
struct gtee_ml_adam {
    float lr;
    float beta1, beta2;
    float eps;
    float weight_decay;
    int decoupled;
};

/* Per-tensor optimizer state: m (SGD momentum buffer, Adam first moment) and v (Adam
 * second moment), n floats each, and the number of steps taken. */
struct gtee_ml_optim_state {
    size_t n;
    float *m;
    float *v;
    uint64_t step;
};

/* Allocates zeroed state for a tensor of n parameters (v only if adam is set). */
int gtee_ml_optim_state_init(struct gtee_ml_optim_state *st, size_t n, int adam,
                             struct gtee_err *err) GTEE_MUST_USE;
void gtee_ml_optim_state_free(struct gtee_ml_optim_state *st);

/* One update of params[0..n) from grads[0..n); st must have been made for n. */
int gtee_ml_sgd_step(float *params, const float *grads, size_t n, struct gtee_ml_optim_state *st,
                     const struct gtee_ml_sgd *hyper, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ml_adam_step(float *params, const float *grads, size_t n, struct gtee_ml_optim_state *st,
                      const struct gtee_ml_adam *hyper, struct gtee_err *err) GTEE_MUST_USE;

#endif
