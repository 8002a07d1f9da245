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
/* Conv's two paths, which ml_grad_conv picks from: im2col + sgemm (any Conv; grad_cnn.c) and
 * oneDNN (2-D, group 1; grad_conv_dnn.c). */
int ml_grad_conv_cols(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_conv_dnn(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_pool(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_gap(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_bn(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* BatchNormalization in training mode (grad_bn.c): the forward pass with the batch's
 * statistics, updating the running mean and variance (mode: enum gtee_ml_bn_mode), and
 * its backward pass through the batch statistics. */
int ml_bn_train_forward(struct ml_kernel *k, int mode);
int ml_grad_bn_train(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);

/* The transformer family: grad_norm.c (normalizations, reductions, Pow) and grad_shape.c
 * (operators that move elements). */
int ml_grad_softmax(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_logsoftmax(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_layernorm(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_reduce_mean(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_pow(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_transpose(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_slice(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_expand(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_gather(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_concat(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_where(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_cast(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* The one-input activations of ops_act.c and their backward passes (grad_act.c): the kind
 * and its constants (alpha, beta; Clip's min and max), from the attributes (and Clip's
 * inputs, read by ml_act_read once they hold values). */
enum ml_act_kind { ML_AK_HARDSIGMOID = 1, ML_AK_HARDSWISH, ML_AK_LEAKYRELU, ML_AK_ELU, ML_AK_SOFTPLUS, ML_AK_CLIP };
struct ml_act_params {
    int kind;
    float a, b;
    bool deferred; /* Clip's min or max is a value of the run */
};
int ml_act_params(const struct ml_kernel *k, struct ml_act_params *p);
int ml_act_read(const struct ml_kernel *k, struct ml_act_params *p);
int ml_grad_act(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* ReduceSum, ReduceMax, ArgMax (ops_reduce_ext.c): the reduced axes, keepdims, and whether
 * nothing is reduced (ReduceSum-13's noop_with_empty_axes); ML_DEFER when the axes input
 * has no value yet. ml_reduce_split lists x's kept and reduced axes with their strides. */
int ml_reduce_axes(const struct ml_kernel *k, bool *red, int64_t *keep, bool *noop);
void ml_reduce_split(const struct gtee_ml_tensor *x, const bool *red, int64_t *kdim, int64_t *kst, int *nk,
                     int64_t *rdim, int64_t *rst, int *nr, int64_t *cnt);
int ml_grad_reduce_sum(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_reduce_max(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* Split (ops_split.c): the axis and each output's length; CumSum (ops_seq.c): its axis and
 * flags, and the kernel (add: y += instead of y =); both ML_DEFER while an input they read
 * has no value yet. */
int ml_split_parts(const struct ml_kernel *k, int *axis, int64_t *len);
int ml_cumsum_setup(const struct ml_kernel *k, int *axis, bool *exclusive, bool *reverse);
void ml_cumsum_run(const struct gtee_ml_tensor *x, void *y, int axis, bool ex, bool rev, bool add, int threads);
int ml_grad_split(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_tile(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_cumsum(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_gmp(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* Resize (ops_resize.c): per axis d and output index o, the two sources idx[2 (b_d + o)],
 * idx[2 (b_d + o) + 1] and their weights w (b_d: the sum of the output dims before d;
 * malloc'ed, the caller ml_frees both), and whether the axis interpolates anywhere. */
int ml_resize_tables(const struct ml_kernel *k, int64_t **idx, float **w, bool *active);
int ml_grad_resize(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* Einsum (ops_einsum.c): the parsed equation (terms of the operands, then the output) and
 * its batched matrix product: the batch, row, column and contracted letters with their
 * sizes' products. ml_einsum_move packs operand ti (n_ops: the output) into a buffer in the
 * order of letters, or adds such a buffer into it; ml_einsum_order gives the letters of
 * packed A, B or C. */
#define ML_EINSUM_LETTERS (2 * GTEE_ML_MAX_RANK)
struct ml_einsum {
    const char *eq;
    int n_ops;
    int rank[3];
    char term[3][GTEE_ML_MAX_RANK + 1];
};
struct ml_einsum_mm {
    char b[ML_EINSUM_LETTERS], m[ML_EINSUM_LETTERS], n[ML_EINSUM_LETTERS], k[ML_EINSUM_LETTERS];
    int nb, nm, nn, nk;
    int64_t B, M, N, K;
};
int ml_einsum_parse(const struct ml_kernel *k, struct ml_einsum *e);
void ml_einsum_layout(const struct ml_kernel *k, const struct ml_einsum *e, struct ml_einsum_mm *g);
int ml_einsum_order(const struct ml_einsum_mm *g, char which, char *out);
void ml_einsum_move(const struct ml_kernel *k, const struct ml_einsum *e, int ti, const char *letters, int n,
                    float *packed, float *tensor, bool pack);
int ml_grad_einsum(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* ConvTranspose (ops_convt.c): its checked geometry (pads as begin[nsp], end[nsp]), or
 * ML_DEFER while a spatial size is unknown. */
struct ml_convt {
    int nsp;
    int64_t group, cin, cout;
    int64_t in[2], k[2], stride[2], dil[2], opad[2], pads[4], out[2];
};
int ml_convt_setup(const struct ml_kernel *k, struct ml_convt *g);
int ml_grad_convt(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_maxmin(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
int ml_grad_prelu(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din);
/* Element strides of t read at y's rank and shape (0 along the axes t is broadcast on). */
void ml_grad_bstrides(const struct gtee_ml_tensor *t, const struct gtee_ml_tensor *y, int64_t *st);

/* One step of an odometer over y's index idx (last axis fastest), moving the offsets off[j]
 * of nops operands read with strides st[j] (from ml_grad_bstrides) along with it. Inline:
 * it runs once per element in the broadcast backward loops. */
static inline void ml_grad_bnext(const struct gtee_ml_tensor *y, int64_t *idx, int nops,
                                 const int64_t (*st)[GTEE_ML_MAX_RANK], int64_t *off)
{
    for (int d = y->rank - 1; d >= 0; d--) {
        idx[d]++;
        for (int j = 0; j < nops; j++)
            off[j] += st[j][d];
        if (idx[d] < y->dim[d])
            return;
        for (int j = 0; j < nops; j++)
            off[j] -= st[j][d] * idx[d];
        idx[d] = 0;
    }
}

/* Whether input i of a node of this operator carries a gradient (a Reshape's target shape,
 * a BatchNormalization's running statistics do not). */
bool ml_grad_input(const char *op_type, size_t i);

/* The model a trainer trains (train.c). */
struct gtee_ml_trainer;
struct gtee_ml_model *ml_trainer_model(const struct gtee_ml_trainer *tr);
/* Tests: plan every value NCHW (on) or keep the Conv -> Relu -> MaxPool chains blocked (off,
 * the default; train_blocks.c), from the next step; and how many values the current plan
 * keeps blocked. */
void ml_trainer_nchw_only(struct gtee_ml_trainer *tr, bool on);
size_t ml_trainer_blocked(const struct gtee_ml_trainer *tr);

#endif
