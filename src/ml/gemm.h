/* Which kernel runs a matrix product (ml_sgemm, parallel.c), and why. Internal to src/ml/.
 *
 * Every matrix product of the engine (MatMul, Gemm, Einsum, their backward passes, the
 * im2col convolutions) goes through ml_sgemm, which runs it on oneDNN's matmul primitive
 * or on OpenBLAS's cblas_sgemm by one explicit rule (ml_gemm_choose):
 *   - oneDNN dispatches on the CPU's instruction sets (AVX2, AVX-512, AMX), so a CPU it
 *     has never heard of still gets its widest kernels; OpenBLAS 0.3.21 (Debian) picks its
 *     kernels by CPU model and falls back to generic SSE ones ("Prescott") on a model it
 *     does not know (Intel family 6 model 207: 5 times slower).
 *   - oneDNN costs about a microsecond per call more than OpenBLAS (its primitive lookup
 *     and execution context): products under ML_GEMM_DNN_MIN_MACS multiply-adds, where that
 *     is a large part of the time, stay on OpenBLAS, unless OpenBLAS's kernels are below
 *     what the CPU offers; then every product goes to oneDNN.
 * Nothing falls back silently: a oneDNN failure is the product's error, and the choice with
 * its reasons is what `gtee model run --verbose` and the benchmarks print. */
#ifndef GTEE_ML_GEMM_H
#define GTEE_ML_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "gtee/ml.h"

/* Products smaller than this (multiply-adds) run on OpenBLAS when its kernels are the
 * CPU's own. oneDNN's call costs about 1 us more than OpenBLAS's (measured on AMD EPYC,
 * Zen 3, with bench/bench_sgemm.c: a 16x16x16 product 1.15 us against 0.3), about a
 * 32x32x32 product's whole time; from there up oneDNN is as fast or faster (at one row,
 * batch-1 inference, 5 times faster: OpenBLAS 0.3.21 reaches 5.5 GFLOP/s there). */
#define ML_GEMM_DNN_MIN_MACS (1u << 15)

enum ml_gemm_kernel { ML_GEMM_OPENBLAS = 0, ML_GEMM_DNNL = 1 };

/* The machine as the choice sees it, found once per process (gtee/ml.h's
 * struct gtee_ml_kernels holds it). */
const struct gtee_ml_kernels *ml_gemm_env(void);

/* Puts the process's JIT to the test (a page made executable, as oneDNN's JIT does); when
 * it is refused every product runs on OpenBLAS from then on (gtee_ml_forbid_jit). The plan
 * builder calls it, so a process hardened before its plans are built is seen as such. */
void ml_gemm_check_jit(void);

/* The kernel for a product of macs multiply-adds. */
enum ml_gemm_kernel ml_gemm_choose(uint64_t macs);

/* Runs C = alpha op(A) op(B) + beta C (row-major, cblas_sgemm's arguments) on oneDNN's
 * matmul primitive on the calling thread (one OpenMP thread: the engine's pool splits
 * larger products, parallel.c). Primitives are kept per thread and shape. Returns 0 or a
 * negative GTEE_E* code (the library cannot be loaded, out of memory). */
int ml_gemm_dnn(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);

/* oneDNN's implementation name for such a product ("brg:avx512_core", "gemm:jit"). */
int ml_gemm_dnn_impl(bool ta, bool tb, int m, int n, int k, char *impl, size_t len);

/* How ml_sgemm cuts a product across threads: along N (else M) in *pieces slices of at
 * most *width rows or columns (pieces 1: the whole product on the calling thread). */
void ml_gemm_split(int threads, int m, int n, int k, bool *split_n, size_t *pieces, int *width);

#endif
