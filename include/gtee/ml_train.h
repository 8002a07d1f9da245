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

/* Negative log-likelihood of log-probabilities logp [n, c] (a LogSoftmax's output)
 * against labels [n], averaged over the rows: -mean_i logp[i, label_i], as
 * torch.nn.functional.nll_loss. grad (NULL to skip) receives -onehot / n. */
int gtee_ml_nll(const float *logp, const int64_t *labels, size_t n, size_t c, float *loss, float *grad,
                struct gtee_err *err) GTEE_MUST_USE;

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

/* ---- training a loaded model (train.c, train_loop.c, train_save.c; docs/ml-training.md) ----
 * The trainer differentiates the model's graph in reverse mode: forward to output 0 (the
 * logits or the prediction), the loss on it, then each node's backward pass in reverse
 * order, accumulating a gradient per float initializer. Those initializers (the ones a
 * differentiable operator reads at a differentiable position) are the parameters; the
 * optimizer updates them in place, in the model, so sessions made afterwards run the
 * trained model. Results depend only on the data, the seed and the thread count. */
struct gtee_ml_model;
struct gtee_ml_tensor;

enum gtee_ml_loss_kind {
    GTEE_ML_LOSS_XENT = 1, /* softmax cross-entropy of logits [n, c] against int64 labels [n] */
    GTEE_ML_LOSS_MSE = 2,  /* mean squared error of output 0 against float targets, same count */
    GTEE_ML_LOSS_NLL = 3,  /* negative log-likelihood: output 0 holds log-probabilities [n, c] */
    /* Classification as PyTorch trains the model: NLL when output 0 is a LogSoftmax node's
     * output (a head ending in log_softmax, trained with nll_loss), XENT otherwise. */
    GTEE_ML_LOSS_AUTO = 4,
};

/* The loss GTEE_ML_LOSS_AUTO picks for model m (GTEE_ML_LOSS_NLL or GTEE_ML_LOSS_XENT). */
int gtee_ml_loss_for(const struct gtee_ml_model *m);

enum gtee_ml_optim_kind { GTEE_ML_OPTIM_SGD = 1, GTEE_ML_OPTIM_ADAM = 2 };

/* How the trainer runs BatchNormalization nodes (the model keeps them as inference nodes).
 * FROZEN: the inference form around the fixed running statistics (scale and bias train).
 * TRAIN: training mode as ONNX BatchNormalization-15 with training_mode = 1 defines it
 * (PyTorch's model.train()): normalized by the batch's mean and population variance,
 * and each step (each gtee_ml_trainer_grad) moves the running statistics, initializers of
 * the model, to running * momentum + batch * (1 - momentum) (the node's momentum
 * attribute, default 0.9); the batch variance in that update is the population variance
 * (ONNX) or, with TRAIN_UNBIASED, the unbiased one (PyTorch's BatchNorm*d). */
enum gtee_ml_bn_mode { GTEE_ML_BN_FROZEN = 0, GTEE_ML_BN_TRAIN = 1, GTEE_ML_BN_TRAIN_UNBIASED = 2 };

struct gtee_ml_train_options {
    int threads;   /* OpenBLAS and the engine's loops; 0 or 1: one */
    int loss;      /* enum gtee_ml_loss_kind */
    int optimizer; /* enum gtee_ml_optim_kind */
    struct gtee_ml_sgd sgd;
    struct gtee_ml_adam adam;
    int batchnorm; /* enum gtee_ml_bn_mode; 0: FROZEN */
};

struct gtee_ml_trainer;

/* Checks that every node between a parameter and output 0 has a backward pass (failing
 * with the node's name and operator otherwise) and sets up optimizer state. The model
 * must outlive the trainer and must not be run by sessions while a step runs. */
int gtee_ml_trainer_new(struct gtee_ml_model *m, const struct gtee_ml_train_options *opt,
                        struct gtee_ml_trainer **out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_ml_trainer_free(struct gtee_ml_trainer *tr);

/* Forward and backward on one mini-batch x (graph input 0; the model must have one input):
 * *loss (averaged over the batch), *correct (rows whose arg-max is the label; XENT only,
 * may be NULL), and the gradient of the loss per parameter. labels for XENT, targets for
 * MSE. Parameters are not changed. */
int gtee_ml_trainer_grad(struct gtee_ml_trainer *tr, const struct gtee_ml_tensor *x, const int64_t *labels,
                         const float *targets, float *loss, size_t *correct, struct gtee_err *err) GTEE_MUST_USE;
/* One optimizer step on every parameter from the last gradients. */
int gtee_ml_trainer_update(struct gtee_ml_trainer *tr, struct gtee_err *err) GTEE_MUST_USE;

/* Units of work of one training step at the last step's batch shape: three times the
 * forward pass's multiply-accumulates (the forward products, and the two products of each
 * backward: input and weight gradients; docs/ml.md, "Units of work"). */
uint64_t gtee_ml_trainer_step_macs(const struct gtee_ml_trainer *tr);

/* Parameters, in the order of the model's initializers. */
size_t gtee_ml_trainer_param_count(const struct gtee_ml_trainer *tr);
/* Name, value (data points into the model: writable, for gradient checks) and gradient
 * of parameter i (as the last gtee_ml_trainer_grad left it). */
int gtee_ml_trainer_param(struct gtee_ml_trainer *tr, size_t i, const char **name, struct gtee_ml_tensor *value,
                          const float **grad);

/* Progress of training, reported after every mini-batch: what the enclave turns into
 * progress the host may show. Returning non-zero from the callback stops training (the
 * epoch call then fails with GTEE_ESTATE). */
struct gtee_ml_progress {
    uint64_t epoch;   /* 0-based */
    uint64_t batch;   /* 0-based, within the epoch */
    uint64_t batches; /* in this epoch */
    float loss;       /* of this mini-batch */
};
typedef int (*gtee_ml_progress_fn)(const struct gtee_ml_progress *p, void *arg);

/* What one epoch did. */
struct gtee_ml_epoch_stats {
    double loss;    /* mean over the samples */
    size_t samples;
    size_t correct; /* XENT: training samples classified right (before each step) */
    double seconds; /* of the training steps (gather, forward, backward, update) */
    double cpu_seconds; /* the process's CPU time (all threads) over the same steps */
};

struct gtee_dataset;
/* One epoch over ds: the order gtee_dataset_shuffle(seed, epoch) gives, in mini-batches
 * of batch items (the last one may be smaller), one step each. Items are reshaped to the
 * model input's shape (its element count must match ds->item_len). */
int gtee_ml_train_epoch(struct gtee_ml_trainer *tr, const struct gtee_dataset *ds, uint64_t epoch, size_t batch,
                        uint64_t seed, gtee_ml_progress_fn cb, void *arg, struct gtee_ml_epoch_stats *stats,
                        struct gtee_err *err) GTEE_MUST_USE;

/* Classification accuracy and mean cross-entropy of the model (inference session, given
 * threads) on ds, in batches; for a model whose output 0 is a LogSoftmax's output, the mean
 * negative log-likelihood of those log-probabilities (the same loss, without applying
 * softmax twice). */
int gtee_ml_evaluate(const struct gtee_ml_model *m, const struct gtee_dataset *ds, size_t batch, int threads,
                     size_t *correct, double *loss, struct gtee_err *err) GTEE_MUST_USE;

/* Serializes the model as ONNX: the ModelProto in orig (the bytes it was loaded from),
 * unchanged except that every float initializer holds the model's current values (as
 * raw_data). *out is malloc'ed. */
int gtee_ml_model_save(const struct gtee_ml_model *m, const uint8_t *orig, size_t orig_len, uint8_t **out,
                       size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;

#endif
