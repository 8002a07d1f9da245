/* Backward passes of the differentiable operators (reverse-mode differentiation, used by
 * the trainer in train.c). Each has the ml_backward_fn signature of ml.h: it adds
 * dL/d(input) into din[i] for every non-NULL din[i], from dL/d(output) in dout and the
 * forward tensors in k->in / k->out. docs/ml-training.md derives each one. Internal to
 * src/ml/. */
#ifndef GTEE_ML_GRAD_H
#define GTEE_ML_GRAD_H

#include <stdbool.h>

#include "ml/ml.h"

int ml_grad_gemm(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_matmul(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_binary(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_unary(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_copy(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_conv(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_pool(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_gap(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_bn(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);

/* Whether input i of a node of this operator carries a gradient (a Reshape's target shape,
 * a BatchNormalization's running statistics do not). */
bool ml_grad_input(const char *op_type, size_t i);

/* The model a trainer trains (train.c). */
struct gtee_ml_trainer;
struct gtee_ml_model *ml_trainer_model(const struct gtee_ml_trainer *tr);

#endif
