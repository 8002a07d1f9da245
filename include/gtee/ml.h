/* ML engine: loads ONNX models (untrusted input), checks them, and runs inference on the
 * CPU. docs/ml.md lists the operators, the memory plan, threading and the limits.
 *
 * Life cycle: gtee_ml_model_load() parses and checks a model; gtee_ml_session_new() binds
 * it to run settings (threads); gtee_ml_run() executes it on input tensors. The model is
 * immutable after loading and may be shared by sessions; a session is used by one thread
 * at a time. */
#ifndef GTEE_ML_H
#define GTEE_ML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

/* Element types, numbered as ONNX's TensorProto.DataType. Graph computations are float32;
 * int64 carries shapes and indices, bool carries conditions. */
enum gtee_ml_dtype {
    GTEE_ML_FLOAT = 1,
    GTEE_ML_INT64 = 7,
    GTEE_ML_BOOL = 9,
};

#define GTEE_ML_MAX_RANK 8

/* A dense row-major tensor. dim[i] < 0 means "not known yet" (a symbolic dimension such
 * as the batch, in a model's declared shapes); tensors passed to gtee_ml_run are concrete.
 * The tensor does not own data. */
struct gtee_ml_tensor {
    int dtype; /* enum gtee_ml_dtype */
    int rank;
    int64_t dim[GTEE_ML_MAX_RANK];
    void *data;
};

/* Bounds applied to a model before anything is allocated for it. Zero fields take the
 * defaults (GTEE_ML_DEFAULT_*). */
struct gtee_ml_limits {
    uint64_t max_model_bytes;    /* serialized ModelProto */
    uint64_t max_tensor_elems;   /* one tensor (initializer, input, intermediate) */
    uint64_t max_total_elems;    /* all initializers and folded values together, and one run's arena */
    uint32_t max_nodes;
};

#define GTEE_ML_DEFAULT_MAX_MODEL_BYTES (1ull << 30)
#define GTEE_ML_DEFAULT_MAX_TENSOR_ELEMS (1ull << 28)
#define GTEE_ML_DEFAULT_MAX_TOTAL_ELEMS (1ull << 30)
#define GTEE_ML_DEFAULT_MAX_NODES 100000u

struct gtee_ml_model;   /* opaque: a checked graph with its initializers */
struct gtee_ml_session; /* opaque: a model bound to settings, with its memory plan */

/* Parses and checks an ONNX model: opset, operators, attributes, types, shapes through
 * the graph, topological order (nodes are sorted if the file lists them out of order).
 * A refusal names the node (name and index), the operator and the reason. lim may be
 * NULL (defaults). The model copies what it needs from buf. */
int gtee_ml_model_load(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim,
                       struct gtee_ml_model **out, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ml_model_load_file(const char *path, const struct gtee_ml_limits *lim,
                            struct gtee_ml_model **out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_ml_model_free(struct gtee_ml_model *m);

/* ---- inspection (gtee model inspect) ---- */
struct gtee_ml_model_info {
    int64_t ir_version;
    int64_t opset;          /* of the default ("ai.onnx") domain */
    const char *producer;   /* producer_name, "" if none */
    size_t n_nodes;
    size_t n_inputs, n_outputs;
    uint64_t n_params;      /* elements in float initializers */
    int sorted;             /* 1 if the loader had to sort the nodes */
};

struct gtee_ml_io {
    const char *name;
    struct gtee_ml_tensor type; /* dtype and shape (dim < 0: symbolic or unknown); no data */
    const char *dim_param[GTEE_ML_MAX_RANK]; /* symbolic names, NULL where none */
};

/* What a model contains, read without refusing it: structural damage (bad protobuf,
 * sizes over limits, constants folded past max_total_elems) still fails, but nodes the engine cannot run are reported through
 * cb (node index, node name, operator, reason) rather than refused. Returns the number of
 * such problems (>= 0) or a negative code. */
typedef void (*gtee_ml_issue_fn)(size_t node, const char *name, const char *op, const char *reason,
                                 void *arg);
int gtee_ml_model_survey(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim,
                         gtee_ml_issue_fn cb, void *arg, struct gtee_ml_model **out,
                         struct gtee_err *err) GTEE_MUST_USE;

void gtee_ml_model_info(const struct gtee_ml_model *m, struct gtee_ml_model_info *info);
/* The i-th graph input (is_output 0) or output (1); -EINVAL past the end. */
int gtee_ml_model_io(const struct gtee_ml_model *m, int is_output, size_t i, struct gtee_ml_io *io);
/* Operator of node i (in execution order), NULL past the end. */
const char *gtee_ml_model_node_op(const struct gtee_ml_model *m, size_t i);

/* Operators the engine runs, with the opset range each is checked against. */
struct gtee_ml_op_info {
    const char *name;
    int min_opset, max_opset;
    int differentiable; /* 1 once a backward pass exists for it */
};
size_t gtee_ml_ops_count(void);
void gtee_ml_ops_get(size_t i, struct gtee_ml_op_info *info);

/* Loads now what the engine would otherwise load at its first convolution (Debian's
 * oneDNN, through dlopen, and its CPU engine): a process that then forbids mapping new code
 * (the enclave runtime's seccomp list, gtee/sdk.h) calls it before gtee_app_open. Safe to
 * call more than once. */
int gtee_ml_prepare(struct gtee_err *err) GTEE_MUST_USE;

/* ---- kernels (docs/ml.md, "Kernels") ---- */
/* The machine and the matrix-product kernels the engine chose on it, found once per process:
 * oneDNN's matmul (it dispatches on instruction sets) or OpenBLAS's sgemm (it dispatches on
 * the CPU model, with generic kernels for models it does not know). */
struct gtee_ml_kernels {
    char cpu[64];              /* the CPU's brand string (cpuid) */
    int cpu_family, cpu_model; /* as lscpu shows them */
    bool cpu_avx2, cpu_avx512, cpu_amx; /* offered by the CPU and enabled by the OS */
    char blas_core[32];        /* openblas_get_corename() */
    char blas_isa[8];          /* the widest instruction set of those kernels: sse, avx, avx2, avx512 */
    bool blas_generic;         /* SSE kernels on a CPU with AVX2 or more (OpenBLAS's fallback) */
    bool blas_below;           /* narrower than what the CPU offers (generic or not) */
    bool blas_threaded;        /* a threaded OpenBLAS build is loaded: its idle threads spin at start */
    char blas_build[12];       /* openblas_get_parallel(), named: "serial", "pthreads", "OpenMP" */
    bool dnnl_ok;              /* oneDNN is loaded with a CPU engine */
    char dnnl_release[24];     /* its version, "2.6.3", or "" */
    char dnnl_isa[32];         /* dnnl_get_effective_cpu_isa(), named ("avx2", "avx512_core" ...) */
    uint64_t dnnl_min_macs;    /* products of at least this many multiply-adds run on oneDNN
                                  (UINT64_MAX: none, the process may not JIT) */
    char why[320];             /* that rule, in words */
};
int gtee_ml_kernels_get(struct gtee_ml_kernels *out, struct gtee_err *err) GTEE_MUST_USE;
/* This process cannot make executable memory (a seccomp list without JIT, gtee/tee.h):
 * from now on every matrix product runs on OpenBLAS, which needs none, and the kernel
 * report says why. oneDNN's convolutions still fail there, with an error. The engine finds
 * that out itself when it builds a plan (it asks for an executable page, as oneDNN's JIT
 * does); a caller that knows it in advance, or wants the kernels such a process gets
 * (a local reference for an enclave's result), says it here. */
void gtee_ml_forbid_jit(void);
/* The same, as lines of text ("cpu: ...", "oneDNN: ...", "OpenBLAS: ...", "matrix
 * products: ...") for --verbose and the benchmarks. */
int gtee_ml_kernels_describe(char *buf, size_t len, struct gtee_err *err) GTEE_MUST_USE;
/* The kernel that runs one product (C = op(A) op(B), A m x k, B k x n, row-major) on
 * threads threads, in words: "oneDNN brg:avx512_core, 2 slices of 128 columns". */
int gtee_ml_kernels_product(bool ta, bool tb, int m, int n, int k, int threads, char *buf, size_t len,
                            struct gtee_err *err) GTEE_MUST_USE;

/* ---- inference ---- */
struct gtee_ml_options {
    int threads; /* OpenBLAS and the engine's own loops; 0 or 1: one thread */
};

int gtee_ml_session_new(const struct gtee_ml_model *m, const struct gtee_ml_options *opt,
                        struct gtee_ml_session **out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_ml_session_free(struct gtee_ml_session *s);
/* Fusions are on by default: BatchNormalization folded into the Conv before it, Relu and a
 * residual Add applied in a Conv's output pass, Relu in a Gemm's. Off, every node runs as
 * the graph has it (for checks); the next run rebuilds the plan. */
void gtee_ml_session_set_fusion(struct gtee_ml_session *s, bool on);

/* Runs the model. inputs[i] matches graph input i (dtype and shape, symbolic dims free);
 * outputs[i] receives graph output i: its data points into the session's memory and stays
 * valid until the next run or gtee_ml_session_free. The plan (shapes, buffers) is rebuilt
 * only when the input shapes change. */
int gtee_ml_run(struct gtee_ml_session *s, const struct gtee_ml_tensor *inputs, size_t n_inputs,
                struct gtee_ml_tensor *outputs, size_t n_outputs, struct gtee_err *err) GTEE_MUST_USE;

/* Bytes of the current plan's arena (intermediates reuse buffers by liveness), and the
 * sum of the intermediates' sizes had each its own buffer; both include the operators'
 * scratch (im2col). */
void gtee_ml_session_memory(const struct gtee_ml_session *s, size_t *arena, size_t *unplanned);

/* Units of work: the multiply-accumulates of one run with the current plan's shapes (its
 * matrix products and convolutions; docs/ml.md, "Units of work"); 0 before the first run. */
uint64_t gtee_ml_session_macs(const struct gtee_ml_session *s);

/* One line per matrix product node (MatMul, Gemm) of the current plan: its name, shape and
 * kernel (gtee_ml_kernels_product); and one per Conv: its weights, group, stride and kernel
 * (oneDNN's implementation by name, "jit_dw:avx2", or im2col + sgemm and why); "" before
 * the first run. */
int gtee_ml_session_kernels(const struct gtee_ml_session *s, char *buf, size_t len, struct gtee_err *err) GTEE_MUST_USE;

/* ---- tensors ---- */
size_t gtee_ml_dtype_size(int dtype); /* 0 for an unknown type */
const char *gtee_ml_dtype_name(int dtype);
/* Number of elements of a concrete shape; -EINVAL on a negative dim or overflow past max. */
int gtee_ml_tensor_elems(const struct gtee_ml_tensor *t, uint64_t max, uint64_t *out) GTEE_MUST_USE;

#endif
