/* oneDNN (Debian's libdnnl) for the convolutions: its direct kernels on channel-blocked
 * layouts (nChw16c with AVX-512, nChw8c with AVX2) run a convolution about twice as fast as
 * im2col + sgemm, and need no column matrix. Matrix products go through its matmul
 * primitive as well, except the tiny ones (gemm.h says which and why).
 * This file holds what every oneDNN user of src/ml/ shares: the engine and stream, the
 * thread setting, memory descriptors, reorders and error mapping. Internal to src/ml/. */
#ifndef GTEE_ML_DNN_H
#define GTEE_ML_DNN_H

#include <oneapi/dnnl/dnnl.h>

#include "ml/ml.h"

/* oneDNN is loaded with dlopen when a plan first needs it, not linked: loading its 40 MB
 * library costs every process about 5 MiB of resident memory, which the commands that run
 * no model (encrypt, decrypt, attest ...) must not pay (their memory goals are in
 * docs/performance.md). The dnnl_* names below call through the table ml_dnnl, filled by
 * ml_dnn_load(); the plan builder loads it (ml_plan_build_flags) before any kernel can run,
 * and a library that cannot be loaded fails the plan with dlerror's reason. */
#define ML_DNNL_FUNCS(X)                                                                                        \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_destroy) X(dnnl_stream_wait)                       \
    X(dnnl_get_effective_cpu_isa) X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_memory_desc_init_by_tag) \
    X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size) X(dnnl_primitive_desc_create)                         \
    X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query_md) X(dnnl_primitive_create)                     \
    X(dnnl_primitive_destroy) X(dnnl_primitive_execute) X(dnnl_reorder_primitive_desc_create)                   \
    X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_post_ops)            \
    X(dnnl_primitive_attr_set_scratchpad_mode) X(dnnl_post_ops_create) X(dnnl_post_ops_destroy)                 \
    X(dnnl_post_ops_append_sum) X(dnnl_post_ops_append_eltwise) X(dnnl_dilated_convolution_forward_desc_init)   \
    X(dnnl_dilated_convolution_backward_data_desc_init) X(dnnl_dilated_convolution_backward_weights_desc_init)  \
    X(dnnl_pooling_v2_forward_desc_init) X(dnnl_matmul_desc_init) X(dnnl_memory_desc_init_by_strides)             \
    X(dnnl_primitive_desc_query) X(dnnl_primitive_attr_set_output_scales) X(dnnl_memory_set_data_handle)        \
    X(dnnl_version)

/* libgomp's, found through libdnnl's dependencies (clang finds no omp.h without libomp-dev) */
void omp_set_num_threads(int n);

#define ML_DNNL_FIELD(f) __typeof__(f) *p_##f;
struct ml_dnnl_api {
    ML_DNNL_FUNCS(ML_DNNL_FIELD)
    __typeof__(omp_set_num_threads) *p_omp_set_num_threads;
};
extern struct ml_dnnl_api ml_dnnl;

/* Loads the library once per process; the error names the file and dlerror's reason. */
int ml_dnn_load(struct gtee_err *err);

#define dnnl_engine_create ml_dnnl.p_dnnl_engine_create
#define dnnl_stream_create ml_dnnl.p_dnnl_stream_create
#define dnnl_stream_destroy ml_dnnl.p_dnnl_stream_destroy
#define dnnl_stream_wait ml_dnnl.p_dnnl_stream_wait
#define dnnl_get_effective_cpu_isa ml_dnnl.p_dnnl_get_effective_cpu_isa
#define dnnl_memory_create ml_dnnl.p_dnnl_memory_create
#define dnnl_memory_destroy ml_dnnl.p_dnnl_memory_destroy
#define dnnl_memory_desc_init_by_tag ml_dnnl.p_dnnl_memory_desc_init_by_tag
#define dnnl_memory_desc_equal ml_dnnl.p_dnnl_memory_desc_equal
#define dnnl_memory_desc_get_size ml_dnnl.p_dnnl_memory_desc_get_size
#define dnnl_primitive_desc_create ml_dnnl.p_dnnl_primitive_desc_create
#define dnnl_primitive_desc_destroy ml_dnnl.p_dnnl_primitive_desc_destroy
#define dnnl_primitive_desc_query_md ml_dnnl.p_dnnl_primitive_desc_query_md
#define dnnl_primitive_create ml_dnnl.p_dnnl_primitive_create
#define dnnl_primitive_destroy ml_dnnl.p_dnnl_primitive_destroy
#define dnnl_primitive_execute ml_dnnl.p_dnnl_primitive_execute
#define dnnl_reorder_primitive_desc_create ml_dnnl.p_dnnl_reorder_primitive_desc_create
#define dnnl_primitive_attr_create ml_dnnl.p_dnnl_primitive_attr_create
#define dnnl_primitive_attr_destroy ml_dnnl.p_dnnl_primitive_attr_destroy
#define dnnl_primitive_attr_set_post_ops ml_dnnl.p_dnnl_primitive_attr_set_post_ops
#define dnnl_primitive_attr_set_scratchpad_mode ml_dnnl.p_dnnl_primitive_attr_set_scratchpad_mode
#define dnnl_post_ops_create ml_dnnl.p_dnnl_post_ops_create
#define dnnl_post_ops_destroy ml_dnnl.p_dnnl_post_ops_destroy
#define dnnl_post_ops_append_sum ml_dnnl.p_dnnl_post_ops_append_sum
#define dnnl_post_ops_append_eltwise ml_dnnl.p_dnnl_post_ops_append_eltwise
#define dnnl_dilated_convolution_forward_desc_init ml_dnnl.p_dnnl_dilated_convolution_forward_desc_init
#define dnnl_dilated_convolution_backward_data_desc_init ml_dnnl.p_dnnl_dilated_convolution_backward_data_desc_init
#define dnnl_dilated_convolution_backward_weights_desc_init ml_dnnl.p_dnnl_dilated_convolution_backward_weights_desc_init
#define dnnl_pooling_v2_forward_desc_init ml_dnnl.p_dnnl_pooling_v2_forward_desc_init
#define dnnl_matmul_desc_init ml_dnnl.p_dnnl_matmul_desc_init
#define dnnl_memory_desc_init_by_strides ml_dnnl.p_dnnl_memory_desc_init_by_strides
#define dnnl_primitive_desc_query ml_dnnl.p_dnnl_primitive_desc_query
#define dnnl_primitive_attr_set_output_scales ml_dnnl.p_dnnl_primitive_attr_set_output_scales
#define dnnl_memory_set_data_handle ml_dnnl.p_dnnl_memory_set_data_handle
#define dnnl_version ml_dnnl.p_dnnl_version
#define omp_set_num_threads ml_dnnl.p_omp_set_num_threads

/* The CPU engine and its in-order stream, made once per process. */
struct ml_dnn {
    dnnl_engine_t eng;
    dnnl_stream_t st;
};
int ml_dnn_get(const struct ml_kernel *k, const struct ml_dnn **out);
/* The same without a node to blame: NULL when the library or its engine is missing
 * (gtee_ml_prepare says why). */
const struct ml_dnn *ml_dnn_engine(void);

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

/* Executes p with the given (arg, descriptor, pointer) triples on the shared stream, one
 * call at a time across threads; memory objects wrap the caller's buffers for the call
 * only. Kernels that run on several threads at once keep their own streams
 * (struct ml_dnn_piece). */
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

/* A reorder primitive from one layout to another (attr: NULL, or the scratchpad mode and
 * a sum post-op); *pd and *p belong to the caller (ml_dnn_prim_free). */
int ml_dnn_reorder_new(const struct ml_kernel *k, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                       const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd, dnnl_primitive_t *p);

/* Descriptor of what a primitive expects at query point q (dnnl_query_src_md ...). */
const dnnl_memory_desc_t *ml_dnn_query(const_dnnl_primitive_desc_t pd, dnnl_query_t q);
/* Bytes of a descriptor; whether two descriptors are the same layout. */
size_t ml_dnn_size(const dnnl_memory_desc_t *md);
bool ml_dnn_same(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);

/* ml_dnn_exec on a stream of the caller's, for primitives run from several threads at once
 * (one stream per thread: Conv's pieces in conv_dnn.c and grad_conv_dnn.c). A NULL
 * descriptor is not allowed. */
int ml_dnn_exec_on(const struct ml_kernel *k, dnnl_stream_t st, dnnl_primitive_t p, const struct ml_dnn_arg *args,
                   int n);

/* A piece of a batch that one thread of the engine's pool runs through oneDNN (Conv's
 * passes, conv_dnn.c and grad_conv_dnn.c): its own stream and scratchpad (primitives made
 * with dnnl_scratchpad_mode_user run on any thread, several at once) and its own error
 * record, raised again on the caller's thread after the join. */
struct ml_dnn_piece {
    dnnl_stream_t st;
    void *pad;
    size_t pad_size;
    struct gtee_err err;
    int rc;
};
int ml_dnn_piece_init(const struct ml_kernel *k, struct ml_dnn_piece *pc);
/* Grows the scratchpad to at least bytes. */
int ml_dnn_piece_pad(const struct ml_kernel *k, struct ml_dnn_piece *pc, size_t bytes);
void ml_dnn_piece_free(struct ml_dnn_piece *pc);
/* Raises *size to the scratchpad pd asks for, so one scratchpad serves every primitive. */
void ml_dnn_pad_max(size_t *size, const_dnnl_primitive_desc_t pd);
/* Runs p (made from pd) on the piece's stream with its scratchpad when pd wants one; args
 * has room for one argument more than n. */
int ml_dnn_piece_exec(const struct ml_kernel *k, const struct ml_dnn_piece *pc, const_dnnl_primitive_desc_t pd,
                      dnnl_primitive_t p, struct ml_dnn_arg *args, int n);
/* Before the pieces run: each fails closed (a piece that never ran is an error). After:
 * piece i's failure, on the caller's record (0 when it succeeded). */
void ml_dnn_piece_start(struct ml_dnn_piece *pc);
int ml_dnn_piece_raise(const struct ml_kernel *k, const struct ml_dnn_piece *pc, size_t i);

#endif
