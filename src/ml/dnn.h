/* oneDNN (Debian's libdnnl) for the convolutions: its direct kernels on channel-blocked
 * layouts (nChw16c with AVX-512, nChw8c with AVX2) run a convolution about twice as fast as
 * im2col + sgemm, and need no column matrix. Matrix products stay with OpenBLAS.
 * This file holds what every oneDNN user of src/ml/ shares: the engine and stream, the
 * thread setting, memory descriptors, reorders and error mapping. Internal to src/ml/. */
#ifndef GTEE_ML_DNN_H
#define GTEE_ML_DNN_H

#include <oneapi/dnnl/dnnl.h>

#include "ml/ml.h"

/* The CPU engine and its in-order stream, made once per process. */
struct ml_dnn {
    dnnl_engine_t eng;
    dnnl_stream_t st;
};
int ml_dnn_get(const struct ml_kernel *k, const struct ml_dnn **out);

/* Channels per block of the layout oneDNN's direct kernels use on this CPU (16 or 8). A
 * value is kept blocked only when its channels are a multiple of it (no padding: the
 * blocked tensor has the plain one's size). */
int ml_dnn_block(void);
dnnl_format_tag_t ml_dnn_blocked_tag(void);

/* oneDNN runs its kernels on OpenMP threads: n of them for what follows. */
void ml_dnn_threads(int n);

/* Fails the node with oneDNN's status named: "ml: node 'x' (#3, Conv): oneDNN: what: status". */
int ml_dnn_check(const struct ml_kernel *k, dnnl_status_t s, const char *what);

/* A 4-D f32 descriptor (N, C, H, W) in the given layout tag (dnnl_format_tag_any allowed). */
int ml_dnn_md4(const struct ml_kernel *k, dnnl_memory_desc_t *md, const int64_t *dims, dnnl_format_tag_t tag);

/* Executes p with the given (arg, descriptor, pointer) triples; memory objects wrap the
 * caller's buffers for the call only. */
struct ml_dnn_arg {
    int arg;
    const dnnl_memory_desc_t *md;
    void *ptr;
};
int ml_dnn_exec(const struct ml_kernel *k, dnnl_primitive_t p, const struct ml_dnn_arg *args, int n);

/* Copies src (layout smd) into dst (layout dmd) of the same logical tensor. oneDNN keeps
 * the reorder primitive in its own cache, so repeated shapes cost one lookup. */
int ml_dnn_reorder(const struct ml_kernel *k, const dnnl_memory_desc_t *smd, const void *src,
                   const dnnl_memory_desc_t *dmd, void *dst);

/* Creates a primitive from an operation descriptor (and attributes, or NULL); *pd and *p
 * belong to the caller (ml_dnn_prim_free). */
int ml_dnn_prim_new(const struct ml_kernel *k, const void *op_desc, const_dnnl_primitive_attr_t attr,
                    const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, dnnl_primitive_t *p, const char *what);
void ml_dnn_prim_free(dnnl_primitive_desc_t *pd, dnnl_primitive_t *p);

/* Descriptor of what a primitive expects at query point q (dnnl_query_src_md ...). */
const dnnl_memory_desc_t *ml_dnn_query(const_dnnl_primitive_desc_t pd, dnnl_query_t q);
/* Bytes of a descriptor; whether two descriptors are the same layout. */
size_t ml_dnn_size(const dnnl_memory_desc_t *md);
bool ml_dnn_same(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);

/* Added for Conv's backward pass (grad_conv_dnn.c), which runs primitives from several
 * threads at once: ml_dnn_exec on a stream of the caller's (one per thread). A NULL
 * descriptor is not allowed. */
int ml_dnn_exec_on(const struct ml_kernel *k, dnnl_stream_t st, dnnl_primitive_t p, const struct ml_dnn_arg *args,
                   int n);

#endif
