/* Window geometry of Conv and the pools. Internal to src/ml/. */
#ifndef GTEE_ML_GEOM_H
#define GTEE_ML_GEOM_H

#include "ml/ml.h"

/* 1 or 2 spatial dims; 1-D is mapped to H = 1. */
struct geom {
    int nsp;
    int64_t in[2], k[2], stride[2], dil[2], pb[2], pe[2], out[2];
};

/* x: input (rank 3 or 4); ks: kernel sizes (from W for Conv) or NULL to read kernel_shape;
 * ceil_ok: the operator has ceil_mode. */
int ml_geom(struct ml_kernel *k, const struct gtee_ml_tensor *x, const int64_t *ks, bool ceil_ok, struct geom *g);
/* Output type: x's batch, c channels, the geometry's spatial sizes. */
void ml_geom_out(struct gtee_ml_tensor *y, const struct gtee_ml_tensor *x, int64_t c, const struct geom *g);
/* Reads an ints attribute of want values (dflt when absent). */
int ml_geom_ints(struct ml_kernel *k, const char *name, size_t want, int64_t dflt, int64_t *dst);

/* Conv's forward pass (conv_fwd.c) with its checked geometry, and its scratch bytes. */
int ml_conv_forward(struct ml_kernel *k, const struct geom *g, int64_t group);
size_t ml_conv_work(const struct ml_kernel *k, const struct geom *g, int64_t group);
/* conv_dnn.c: the oneDNN path, which runs the 2-D convolutions of any group (1-D ones and
 * empty tensors take conv_fwd.c's im2col + sgemm), and its scratch bytes; whether its kernel
 * for the shape reads channel-blocked tensors (else they stay NCHW); the name of the
 * implementation oneDNN chose for the node ("jit_dw:avx2"), once it ran in a plan that
 * keeps its primitives (NULL before). */
bool ml_conv_dnn_takes(const struct ml_kernel *k, const struct geom *g, int64_t group);
bool ml_conv_dnn_blockable(const struct ml_kernel *k, const struct geom *g, int64_t group);
int ml_conv_dnn_forward(struct ml_kernel *k, const struct geom *g, int64_t group);
size_t ml_conv_dnn_work(const struct ml_kernel *k, const struct geom *g, int64_t group);
const char *ml_conv_dnn_impl(const struct ml_kernel *k);
/* The kernel report's line for Conv node k (gtee_ml_session_kernels): its weights, group,
 * stride and the kernel that runs it, and why; the length snprintf returns, or -1. */
int ml_conv_describe(const struct ml_kernel *k, char *buf, size_t len);

/* pool_dnn.c: MaxPool / AveragePool through oneDNN on a channel-blocked input (k->blk_in),
 * for the geometries it takes; scratch bytes when the output is NCHW. */
bool ml_pool_dnn_takes(const struct ml_kernel *k, const struct geom *g, bool maxp, bool incl);
int ml_pool_dnn_forward(struct ml_kernel *k, const struct geom *g, bool maxp, bool incl);
size_t ml_pool_dnn_work(const struct ml_kernel *k);

/* Whether a node can read a channel-blocked input (and so write a blocked output): a Conv
 * that takes the oneDNN path, a pool that ml_pool_dnn_takes (ops_conv.c, ops_pool.c). */
bool ml_conv_blockable(const struct ml_kernel *k);
bool ml_pool_blockable(const struct ml_kernel *k);
/* A MaxPool of 2x2 windows at stride 2, without padding or dilation, in floor mode on a 4-D
 * input: the one whose backward pass takes a channel-blocked input (ops_pool.c). */
bool ml_pool_max2x2(const struct ml_kernel *k);

/* im2col.c. Output columns oj whose tap at kernel offset off (kj * dil - pad) lies inside a
 * row of length in: [lo, hi), with 0 <= oj * s + off < in (clamped to [0, ow]). */
void ml_inside_cols(int64_t off, int64_t s, int64_t in, int64_t ow, int64_t *lo, int64_t *hi);
/* Output rows [o0, o1) of the column matrix of one image of c channels:
 * cols[(ch, ki, kj), (oi - o0, oj)] = x[ch, oi*s0 - pb0 + ki*d0, oj*s1 - pb1 + kj*d1], 0 in the
 * padding (ONNX Conv); ld floats per matrix row. */
void ml_im2col_rows(const float *x, int64_t c, const struct geom *g, int64_t o0, int64_t o1, float *cols,
                    int64_t ld);

#endif
