/* ML engine internals: the graph (values, nodes, attributes), the operator table and the
 * kernel interface every operator implements. Training builds on these: an operator's
 * table entry has a slot for its backward pass, and the plan's per-value tensors are what
 * a backward pass reads. Internal header of src/ml/. */
#ifndef GTEE_ML_INTERNAL_H
#define GTEE_ML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/ml.h"

#define ML_MIN_OPSET 1
#define ML_MAX_OPSET 17
#define ML_MAX_NODE_IO 1024 /* inputs or outputs of one node (Concat may have many) */

enum ml_attr_type { ML_ATTR_FLOAT = 1, ML_ATTR_INT = 2, ML_ATTR_STRING = 3, ML_ATTR_TENSOR = 4,
                    ML_ATTR_FLOATS = 6, ML_ATTR_INTS = 7 }; /* AttributeProto.AttributeType */

struct ml_attr {
    char *name;
    int type;
    int64_t i;
    float f;
    char *s;
    size_t n;          /* ints / floats */
    int64_t *ints;
    float *floats;
    struct gtee_ml_tensor *t; /* ML_ATTR_TENSOR: owns t->data */
};

enum ml_value_kind { ML_VAL_NODE = 0, ML_VAL_INPUT, ML_VAL_INIT };

/* A named tensor of the graph: a graph input, an initializer or a node's output. */
struct ml_value {
    char *name;
    int kind;
    int producer;               /* node index for ML_VAL_NODE, -1 otherwise */
    struct gtee_ml_tensor decl; /* declared (inputs) or inferred type and shape; data: initializer */
    char *dim_param[GTEE_ML_MAX_RANK];
};

struct ml_op;

struct ml_node {
    char *name;      /* "" when the file gives none */
    char *op_type;
    const struct ml_op *op; /* NULL: unsupported (reason in the survey) */
    size_t file_index;      /* position in the file, for messages */
    size_t n_in, n_out;
    int32_t *in, *out;      /* value ids; -1 for an omitted optional input/output */
    size_t n_attr;
    struct ml_attr *attr;
};

struct gtee_ml_model {
    int64_t ir_version, opset;
    char *producer;
    size_t n_values, n_nodes, n_inputs, n_outputs;
    struct ml_value *values;
    struct ml_node *nodes;  /* execution (topological) order */
    int32_t *inputs, *outputs;
    uint64_t n_params;
    bool sorted;
    struct gtee_ml_limits lim;
    void *init_block;       /* all initializer data, one allocation */
};

/* What a kernel keeps across the runs of one plan (oneDNN primitives and the weights in
 * their layout): made on a run, dropped with the plan. Embedded first in the kernel's own
 * struct. */
struct ml_cache {
    void (*drop)(struct ml_cache *c);
};
#define ML_CACHE_FWD 0
#define ML_CACHE_BWD 1

/* One node being inferred or executed. In inference (infer) an input's data is non-NULL
 * only when its value is known before the run (initializers and what folds from them);
 * dims may be < 0 (unknown) there. In forward every tensor is concrete and allocated. */
struct ml_kernel {
    const struct gtee_ml_model *model;
    const struct ml_node *node;
    size_t node_index;
    size_t n_in, n_out;
    struct gtee_ml_tensor **in;  /* NULL entries: omitted optional inputs */
    struct gtee_ml_tensor **out; /* NULL entries: omitted optional outputs */
    void *work;                  /* scratch of op->workspace bytes (forward only) */
    int threads;
    int act;                     /* ML_ACT_*: activation fused into the output (inference plans) */
    float act_lo, act_hi;        /* ML_ACT_CLIP's bounds, lo <= hi */
    const struct gtee_ml_tensor *res; /* residual added before act (Conv fused with Add), or NULL */
    bool b_untransposed;         /* Gemm: in[1] is B itself though transB = 1 (fuse.c) */
    /* Layouts (layout.c; inference plans only): in[0], out[0] and res are channel-blocked
     * (ml_dnn_blocked_tag) instead of NCHW. */
    bool blk_in, blk_out, blk_res;
    struct ml_cache **cache;     /* the node's slots [ML_CACHE_FWD], [ML_CACHE_BWD] in its plan,
                                    or NULL: the kernel keeps nothing */
    bool frozen;                 /* the initializers do not change between runs of the plan (an
                                    inference plan; a trainer updates its own in place) */
    const struct gtee_ml_limits *lim;
    /* Backward passes: bit j set when din[j] was not cleared, and the kernel sets every
     * element of it instead of adding (only for the operators train.c lists). */
    unsigned din_unset;
    /* Backward passes: in[0] is the output of a Relu that has no backward pass of its own
     * (train_blocks.c), and din[0] is the gradient of that Relu's input: the kernel passes
     * a gradient only where in[0] is positive (MaxPool only). */
    bool relu_in;
    struct gtee_err *err;
};

/* Backward pass (added by training): given dL/d(outputs) in dout, accumulate dL/d(inputs)
 * into din (NULL entries: no gradient wanted). Forward tensors are in k->in / k->out. */
typedef int (*ml_backward_fn)(struct ml_kernel *k, struct gtee_ml_tensor **dout,
                              struct gtee_ml_tensor **din);

#define ML_DEFER 1
/* Graph inputs of int64 with rank <= 1 and at most this many elements are read at plan
 * time (shape-like: a Reshape target, Slice bounds); the plan is rebuilt when they change. */
#define ML_SHAPE_INPUT_MAX 64

struct ml_op {
    const char *name;
    int min_opset, max_opset;
    uint16_t min_in, max_in, min_out, max_out;
    /* Checks attributes and input types, sets each output's dtype and shape. Returns
     * ML_DEFER when a shape depends on an input's values that are not known yet. */
    int (*infer)(struct ml_kernel *k);
    int (*forward)(struct ml_kernel *k);
    size_t (*workspace)(const struct ml_kernel *k); /* NULL: none */
    ml_backward_fn backward;                        /* NULL: not differentiable (yet) */
    bool shape_only; /* outputs depend on input shapes only (Shape): foldable */
};

/* ---- operator table (ops.c) and families ---- */
const struct ml_op *ml_op_find(const char *name);
extern const struct ml_op ml_ops_elementwise[], ml_ops_matmul[], ml_ops_conv[], ml_ops_shape[], ml_ops_layout[], ml_ops_pad[], ml_ops_pool[],
    ml_ops_reduce[], ml_ops_act[], ml_ops_compare[], ml_ops_reduce_ext[], ml_ops_split[], ml_ops_seq[], ml_ops_resize[], ml_ops_einsum[], ml_ops_convt[];
extern const size_t ml_ops_elementwise_n, ml_ops_matmul_n, ml_ops_conv_n, ml_ops_shape_n, ml_ops_layout_n, ml_ops_pad_n, ml_ops_pool_n,
    ml_ops_reduce_n, ml_ops_act_n, ml_ops_compare_n, ml_ops_reduce_ext_n, ml_ops_split_n, ml_ops_seq_n, ml_ops_resize_n, ml_ops_einsum_n, ml_ops_convt_n;

/* ---- kernel helpers (kernel.c) ---- */
/* Fails naming the node: "ml: node 'name' (#3, Conv): reason". */
/* work.c: the multiply-accumulates of one run of plan p (docs/ml.md, "Units of work"). */
struct ml_plan;
uint64_t ml_plan_macs(const struct gtee_ml_model *m, const struct ml_plan *p);

/* wipe.c: free() that wipes the block first, for every buffer the engine frees; and the
 * same for the ONNX reader's unpacked messages (weights in raw_data). ml_wipe: the wipe,
 * which skips a large block's pages that were never written (not resident). */
void ml_free(void *p);
void ml_wipe(void *p, size_t n);
struct ProtobufCAllocator;
extern struct ProtobufCAllocator ml_pb_allocator;

int ml_fail(const struct ml_kernel *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const struct ml_attr *ml_attr(const struct ml_kernel *k, const char *name);
/* Typed attribute reads; a present attribute of the wrong type is an error. */
int ml_attr_int(const struct ml_kernel *k, const char *name, int64_t dflt, int64_t *out);
int ml_attr_float(const struct ml_kernel *k, const char *name, float dflt, float *out);
/* ints: *n = 0 and *v = NULL when absent. */
int ml_attr_ints(const struct ml_kernel *k, const char *name, const int64_t **v, size_t *n);
int ml_attr_string(const struct ml_kernel *k, const char *name, const char *dflt, const char **out);
/* Refuses attributes the operator does not know (allowed: NULL-terminated list). */
int ml_attr_only(const struct ml_kernel *k, const char *const *allowed);
/* Input i present and of dtype (or any of the mask bits 1<<dtype when dtype < 0). */
int ml_need(const struct ml_kernel *k, size_t i, unsigned dtype_mask);
#define ML_T(d) (1u << (d))
struct gtee_ml_tensor *ml_in(const struct ml_kernel *k, size_t i);
struct gtee_ml_tensor *ml_out(const struct ml_kernel *k, size_t i);
/* Normalizes axis into [0, rank); fails if out of range. */
int ml_axis(const struct ml_kernel *k, int64_t axis, int rank, const char *what, int *out);
/* True when every dim is known (>= 0). */
bool ml_known(const struct gtee_ml_tensor *t);
/* Copies dtype/rank/dims (not data). */
void ml_set_like(struct gtee_ml_tensor *dst, const struct gtee_ml_tensor *src, int dtype);
/* Product of dims [from, to), known dims only (unknown, or overflowing int64 -> -1). */
int64_t ml_dims_prod(const struct gtee_ml_tensor *t, int from, int to);
uint64_t ml_elems(const struct gtee_ml_tensor *t); /* concrete tensors only */
/* Row-major element strides of t (s[rank - 1] = 1). */
void ml_strides(const struct gtee_ml_tensor *t, int64_t *s);
/* Reads an int64 input tensor's values (known in infer only when data != NULL). */
const int64_t *ml_i64(const struct gtee_ml_tensor *t);

/* ---- threads (parallel.c) ---- */
typedef void (*ml_range_fn)(void *arg, size_t lo, size_t hi);
/* Elements of simple work below which a piece is not worth a thread of its own. */
#define ML_PAR_MIN (1u << 16)
/* Runs fn over [0, n) split in up to threads ranges; serial when the work is small. */
void ml_parallel(int threads, size_t n, size_t min_per_thread, ml_range_fn fn, void *arg);
/* The same in exactly one piece per thread (fewer when the work is small), telling fn which
 * piece (0 .. threads-1) it runs: piece i always covers the same range, so per-piece
 * partial results can be combined in piece order (the trainer's dW). */
typedef void (*ml_piece_fn)(void *arg, size_t piece, size_t lo, size_t hi);
void ml_parallel_pieces(int threads, size_t n, size_t min_per_thread, ml_piece_fn fn, void *arg);
/* The same in up to four pieces per thread, telling fn the scratch slot (0 .. threads-1)
 * of the thread that runs the piece: pieces run at once never share a slot, one slot may
 * run several pieces. */
void ml_parallel_slots(int threads, size_t n, size_t min_per_thread, ml_piece_fn fn, void *arg);
/* Forward kernels run OpenBLAS on one thread and split their products across the
 * engine's threads themselves (one pool, no second set of spinning threads): ml_blas_one
 * sets one OpenBLAS thread and returns the previous setting, which ml_blas_restore puts
 * back (the trainer sets its own for the backward passes). */
int ml_blas_one(void);
void ml_blas_restore(int prev);
/* C = alpha op(A) op(B) + beta C (row-major, cblas_sgemm's arguments): the engine's one
 * entry for matrix products. Runs on oneDNN or OpenBLAS by gemm.h's rule, split across
 * threads along M or N when the product has at least 2^22 multiply-adds. OpenBLAS must be
 * on one thread (ml_blas_one). Returns 0 or a negative GTEE_E* code (oneDNN failed: it
 * cannot be loaded, or no memory); the caller names the node. */
int ml_sgemm(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc) GTEE_MUST_USE;

/* Fails node k with ml_sgemm's code rc, naming why oneDNN failed. */
int ml_gemm_fail(const struct ml_kernel *k, int rc);

/* Activations a kernel may apply in its output pass (Conv, Gemm fused with Relu; Conv fused
 * with Clip of known bounds, as ReLU6 exports: min(max(x, lo), hi)). */
enum ml_act { ML_ACT_NONE = 0, ML_ACT_RELU = 1, ML_ACT_CLIP = 2 };

/* A node that absorbed the nodes after it (fuse.c; inference plans only): its kernel reads
 * in[] (BatchNormalization folded into W and B) and writes out[0], the last absorbed node's
 * output. */
struct ml_fusion {
    bool on;
    int act;
    float act_lo, act_hi;         /* ML_ACT_CLIP's bounds */
    size_t n_in;
    struct gtee_ml_tensor *in[3], *out[1];
    const struct gtee_ml_tensor *res;
    bool b_untransposed;          /* Gemm: in[1] holds B, stored untransposed */
    struct gtee_ml_tensor w, b;   /* folded weights and bias, or Gemm's B (data owned by the plan) */
    /* A chain run by a kernel of its own (fuse_norm.c) instead of the node's forward. */
    int (*run)(struct ml_kernel *k, const struct ml_fusion *fu);
    const float *gamma, *beta;    /* LayerNorm's scale and shift (NULL: none) */
    float konst[3];               /* the chain's scalar constants, in the order it uses them */
};

/* ---- memory plan (plan.c) ---- */
struct ml_plan {
    size_t n_values, n_nodes;
    struct gtee_ml_tensor *vals;  /* per value: type, shape, data (when known) */
    uint8_t *known;               /* 1: computed before the run (initializer or folded) */
    void **folded;                /* heap buffers of folded values */
    size_t *offset;               /* arena offset per value (SIZE_MAX: not in arena) */
    size_t arena_size, unplanned_size, work_size;
    size_t layout_steps;          /* placed slots the layout examined (arena.c: O(n log n) on a chain) */
    uint8_t *arena;
    int32_t *view;                /* per value: the graph input it views (a reshape of it), or -1 */
    struct gtee_ml_tensor **ptrs; /* per node: its n_in + n_out tensor pointers */
    size_t *ptr_off;              /* per node: index of its first pointer */
    struct ml_fusion *fuse;       /* per node (NULL: nothing fused, as the trainer needs) */
    uint8_t *skip;                /* per node: absorbed by a fusion, not run (NULL: none) */
    int32_t *writer;              /* per value: the node that writes it when fused, -1 its
                                     producer, ML_WRITER_NONE: absorbed, never written */
    uint8_t *blocked;             /* per value: 1 when kept channel-blocked (layout.c; NULL: all NCHW) */
    struct ml_cache **cache;      /* per node: ML_CACHE_FWD and ML_CACHE_BWD slots */
    bool over_limit;              /* the build failed on one of the model's limits */
};

/* ---- folding (fold.c) ---- */
/* While a plan is built: the elements of the model's constants so far (initializers and
 * folded values, bounded by max_total_elems), and what is folded but not computed yet. */
struct ml_folds {
    uint64_t elems;
    uint8_t *pending; /* per value: folded, data not computed yet */
    uint8_t *node;    /* per node: its outputs are pending */
};
int ml_fold_begin(const struct gtee_ml_model *m, struct ml_folds *f, struct gtee_err *err);
/* Folds a node whose inputs are all known: counts its outputs against max_total_elems
 * (over it: GTEE_EFORMAT naming the node and the limit, with p->over_limit set), then
 * computes them at once when they are small enough to be a shape or a list a later
 * node's inference reads (ML_SHAPE_INPUT_MAX) and their inputs are computed; otherwise
 * marks them known and pending, for ml_fold_finish once the whole graph fits. */
int ml_fold(struct ml_plan *p, struct ml_folds *f, struct ml_kernel *k, bool shape_only);
/* Computes the pending values in node order (concrete plans). */
int ml_fold_finish(const struct gtee_ml_model *m, struct ml_plan *p, struct ml_folds *f, struct gtee_err *err);
void ml_fold_end(struct ml_folds *f);

/* Infers types and shapes for the given graph-input types (dims may be < 0: symbolic),
 * folds what is computable without input data, and (when concrete) lays out the arena,
 * with workspaces sized for the given thread count. */
int ml_plan_build(const struct gtee_ml_model *m, const struct gtee_ml_tensor *inputs, bool concrete,
                  int threads, struct ml_plan *p, struct gtee_err *err);
/* The same with flags. ML_PLAN_FUSE (inference only: a trainer needs every node's output
 * and the original initializers) folds BatchNormalization into the Conv before it and
 * fuses Relu (and a residual Add) into the Conv or Gemm before it. */
#define ML_PLAN_FUSE 1u
#define ML_WRITER_NONE (-2)
int ml_plan_build_flags(const struct gtee_ml_model *m, const struct gtee_ml_tensor *inputs, bool concrete,
                        int threads, unsigned flags, struct ml_plan *p, struct gtee_err *err);
/* Finds and applies the fusions of a concrete plan, before its layout (fuse.c). */
int ml_plan_fuse(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err);
/* Chooses which values stay channel-blocked (layout.c; after the fusions). */
int ml_plan_blocks(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err);
/* The same for a trainer's plan: Conv -> Relu -> MaxPool 2x2 chains (train_blocks.c), whose
 * Relu the Conv applies: fuse (one per node, zeroed by the caller) marks the Conv
 * ML_TRAIN_RELU_INTO and the Relu, whose output is then the Conv's, ML_TRAIN_RELU_DONE. */
enum { ML_TRAIN_RELU_INTO = 1, ML_TRAIN_RELU_DONE = 2 };
int ml_train_blocks(const struct gtee_ml_model *m, struct ml_plan *p, uint8_t *fuse, struct gtee_err *err);
void ml_plan_free(struct ml_plan *p);
/* Drops what the kernels keep (their caches), keeping the plan. */
void ml_plan_drop_caches(struct ml_plan *p);
/* Lays out the arena of a concrete plan and allocates it (arena.c). */
#define ML_ALIGN 64
/* b rounded up to a whole number of ML_ALIGN blocks. */
static inline size_t ml_align_up(size_t b)
{
    return (b + ML_ALIGN - 1) / ML_ALIGN * ML_ALIGN;
}
int ml_plan_layout(const struct gtee_ml_model *m, struct ml_plan *p, struct gtee_err *err);
/* A graph input read at plan time (ML_SHAPE_INPUT_MAX). */
bool ml_shape_input(const struct gtee_ml_tensor *t);
/* Fills k for node i from the plan. */
void ml_plan_kernel(const struct gtee_ml_model *m, struct ml_plan *p, size_t i, struct ml_kernel *k);

/* ---- loader pieces ---- */
/* Builds the model from bytes; nodes it cannot run get op == NULL and are reported via cb
 * (when cb is NULL the first is an error). */
int ml_onnx_parse(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim, gtee_ml_issue_fn cb,
                  void *arg, size_t *issues, struct gtee_ml_model **out, struct gtee_err *err);
/* Converts a TensorProto (float / int64 / bool; raw_data or typed fields) into t with a
 * malloc'ed data buffer. Sizes are checked against lim first. */
struct Onnx__TensorProto;
int ml_tensor_from_proto(const struct Onnx__TensorProto *tp, const struct gtee_ml_limits *lim,
                         struct gtee_ml_tensor *t, struct gtee_err *err);
/* Parses serialized TensorProto bytes (conformance test data). */
int ml_tensor_proto_read(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim,
                         struct gtee_ml_tensor *t, char **name, struct gtee_err *err);
void ml_limits_fill(const struct gtee_ml_limits *in, struct gtee_ml_limits *out);

#endif
