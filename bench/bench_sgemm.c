/* Matrix product throughput on this machine (not a test): GFLOP/s of the engine's
 * ml_sgemm (the kernel it chose: oneDNN's matmul, or OpenBLAS for tiny products, gemm.h)
 * beside OpenBLAS's cblas_sgemm and oneDNN's matmul called alone, at the shapes one
 * training step of the reference MLP and CNN runs (batch 64, forward and backward, as
 * src/ml/ops_*.c and src/ml/grad_*.c call it), on small squares (where the rule between
 * the two kernels is drawn) and on large squares (the peak), with one and two threads.
 * From the per-step sums it prints the samples/s a step made of nothing but these
 * products would reach, and the engine's peak ("peak threads=T gflops=G", read by
 * bench/bench_ml_train.sh for the machine's limit). It starts with the kernel report
 * (gtee_ml_kernels_describe). docs/performance.md records the figures.
 *
 *   . bench/link.sh; cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc bench/bench_sgemm.c $(bench_link build) -o bench_sgemm
 *   ./bench_sgemm [MIN_SECONDS_PER_SHAPE [peak THREADS]]   (default 0.2; "peak": only the
 *                                                       engine's peak on THREADS threads) */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ml/gemm.h"
#include "ml/ml.h"

struct shape {
    const char *model, *what;
    int ta, tb, m, n, k;
    int times; /* calls per training step of batch 64 */
};

/* Batch 64. Gemm with transB (PyTorch's Linear): forward Y = X W^T (NT), backward
 * dX = dY W (NN, not for the first layer) and dW = dY^T X (TN). Conv (ops_conv.c,
 * grad_cnn.c): one product per image each, forward W [m, c k k] cols [c k k, oh ow],
 * backward dW += dY cols^T (NT) and dcols = W^T dY (TN, not for the first layer).
 * "cnn-b" rows are the backward products over all 64 images' columns side by side, the
 * alternative grad_cnn.c does not take (not counted in the step). */
static const struct shape shapes[] = {
    { "mlp", "fc1 fwd 64x784 . 784x256", 0, 1, 64, 256, 784, 1 },
    { "mlp", "fc1 dW 256x64 . 64x784", 1, 0, 256, 784, 64, 1 },
    { "mlp", "fc2 fwd 64x256 . 256x128", 0, 1, 64, 128, 256, 1 },
    { "mlp", "fc2 dX 64x128 . 128x256", 0, 0, 64, 256, 128, 1 },
    { "mlp", "fc2 dW 128x64 . 64x256", 1, 0, 128, 256, 64, 1 },
    { "mlp", "fc3 fwd 64x128 . 128x10", 0, 1, 64, 10, 128, 1 },
    { "mlp", "fc3 dX 64x10 . 10x128", 0, 0, 64, 128, 10, 1 },
    { "mlp", "fc3 dW 10x64 . 64x128", 1, 0, 10, 128, 64, 1 },
    { "cnn", "conv1 fwd 16x25 . 25x784 (x64)", 0, 0, 16, 784, 25, 64 },
    { "cnn", "conv1 dW 16x784 . 784x25 (x64)", 0, 1, 16, 25, 784, 64 },
    { "cnn", "conv2 fwd 32x400 . 400x100 (x64)", 0, 0, 32, 100, 400, 64 },
    { "cnn", "conv2 dW 32x100 . 100x400 (x64)", 0, 1, 32, 400, 100, 64 },
    { "cnn", "conv2 dX 400x32 . 32x100 (x64)", 1, 0, 400, 100, 32, 64 },
    { "cnn", "fc1 fwd 64x800 . 800x64", 0, 1, 64, 64, 800, 1 },
    { "cnn", "fc1 dW 64x64 . 64x800", 1, 0, 64, 800, 64, 1 },
    { "cnn", "fc2 fwd 64x64 . 64x10", 0, 1, 64, 10, 64, 1 },
    { "cnn", "fc2 dX 64x10 . 10x64", 0, 0, 64, 64, 10, 1 },
    { "cnn", "fc2 dW 10x64 . 64x64", 1, 0, 10, 64, 64, 1 },
    { "cnn-b", "conv1 dW 16x50176 . 50176x25", 0, 1, 16, 25, 50176, 1 },
    { "cnn-b", "conv2 dW 32x6400 . 6400x400", 0, 1, 32, 400, 6400, 1 },
    { "cnn-b", "conv2 dX 400x32 . 32x6400", 1, 0, 400, 6400, 32, 1 },
    { "small", "square 8", 0, 0, 8, 8, 8, 1 },
    { "small", "square 16", 0, 0, 16, 16, 16, 1 },
    { "small", "square 24", 0, 0, 24, 24, 24, 1 },
    { "small", "square 32", 0, 0, 32, 32, 32, 1 },
    { "small", "square 48", 0, 0, 48, 48, 48, 1 },
    { "peak", "square 512", 0, 0, 512, 512, 512, 1 },
    { "peak", "square 1024", 0, 0, 1024, 1024, 1024, 1 },
    { "peak", "square 2048", 0, 0, 2048, 2048, 2048, 1 },
};

/* The clock: wall time, or the process's CPU time (all threads), which other load on a
 * shared machine disturbs much less. */
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;

    clock_gettime(g_clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum how { ENGINE, OPENBLAS, ONEDNN };

static void call(enum how how, int thr, const struct shape *s, const float *a, int lda, const float *b, int ldb,
                 float *c)
{
    int rc = 0;

    if (how == ENGINE)
        rc = ml_sgemm(thr, s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
    else if (how == ONEDNN)
        rc = ml_gemm_dnn(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
    else
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->m, s->n,
                    s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
    if (rc < 0) {
        fprintf(stderr, "bench_sgemm: the product failed (%d)\n", rc);
        exit(1);
    }
}

/* Best seconds per call over repeated timed rounds of at least min_s / 5 each. */
static double time_shape(const struct shape *s, double min_s, enum how how, int thr)
{
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    size_t na = (size_t)s->m * (size_t)s->k, nb = (size_t)s->k * (size_t)s->n, nc = (size_t)s->m * (size_t)s->n;
    float *a = malloc(na * sizeof(float)), *b = malloc(nb * sizeof(float)), *c = calloc(nc, sizeof(float));
    double best = 1e30, start = now();

    if (!a || !b || !c) {
        fprintf(stderr, "bench_sgemm: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < na; i++)
        a[i] = (float)(i % 17) * 0.01f;
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(i % 13) * 0.01f;
    /* the engine and oneDNN keep OpenBLAS on one thread (they split products themselves) */
    openblas_set_num_threads(how == OPENBLAS ? thr : 1);
    call(how, thr, s, a, lda, b, ldb, c); /* oneDNN makes its primitive on the first call */
    do { /* at least one round: the warm-up call may take longer than min_s */
        long reps = 0;
        double t0 = now(), t;
        do {
            call(how, thr, s, a, lda, b, ldb, c);
            reps++;
            t = now() - t0;
        } while (t < min_s / 5);
        if (t / (double)reps < best)
            best = t / (double)reps;
    } while (now() - start < min_s);
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv)
{
    double min_s = argc > 1 ? atof(argv[1]) : 0.2;
    size_t n = sizeof(shapes) / sizeof(shapes[0]);
    bool peak_only = argc > 3 && !strcmp(argv[2], "peak");
    int thr_lo = peak_only ? atoi(argv[3]) : 1, thr_hi = peak_only ? thr_lo : 2;
    char report[2048];
    struct gtee_err err = { 0 };

    if (min_s <= 0)
        min_s = 0.2;
    if (gtee_ml_kernels_describe(report, sizeof(report), &err) < 0) {
        fprintf(stderr, "bench_sgemm: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", report);
    if (thr_lo < 1 || thr_lo > 64) {
        fprintf(stderr, "bench_sgemm: THREADS from 1 to 64\n");
        return 2;
    }
    if (peak_only) { /* the largest squares, on the engine's kernel: per second, per CPU second */
        double peak[2] = { 0, 0 };
        for (int clk = 0; clk < 2; clk++) {
            g_clock = clk ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
            for (size_t i = 0; i < n; i++)
                if (!strcmp(shapes[i].model, "peak") && shapes[i].m <= 1024) {
                    const struct shape *s = &shapes[i];
                    double f = 2.0 * s->m * s->n * s->k, t = time_shape(s, min_s, ENGINE, thr_lo);
                    peak[clk] = f / t * 1e-9 > peak[clk] ? f / t * 1e-9 : peak[clk];
                }
        }
        printf("peak threads=%d gflops=%.1f cpu_gflops=%.1f\n", thr_lo, peak[0], peak[1]);
        return 0;
    }
    printf("%-5s %-34s %3s %10s %9s %-8s %9s %9s\n", "model", "product (M x K . K x N)", "thr", "us/call", "GFLOP/s",
           "kernel", "openblas", "onednn");
    for (int thr = thr_lo; thr <= thr_hi; thr++) {
        double step[2] = { 0, 0 }, flop[2] = { 0, 0 }, peak = 0;
        for (size_t i = 0; i < n; i++) {
            const struct shape *s = &shapes[i];
            double f = 2.0 * s->m * s->n * s->k, t = time_shape(s, min_s, ENGINE, thr);
            double tb = time_shape(s, min_s, OPENBLAS, thr), td = thr == 1 ? time_shape(s, min_s, ONEDNN, 1) : 0;
            int which = !strcmp(s->model, "mlp") ? 0 : !strcmp(s->model, "cnn") ? 1 : -1;
            char dnn[16] = "-";
            if (td > 0)
                snprintf(dnn, sizeof(dnn), "%.1f", f / td * 1e-9);
            printf("%-5s %-34s %3d %10.2f %9.1f %-8s %9.1f %9s\n", s->model, s->what, thr, t * 1e6, f / t * 1e-9,
                   ml_gemm_choose((uint64_t)s->m * (uint64_t)s->n * (uint64_t)s->k) == ML_GEMM_DNNL ? "oneDNN"
                                                                                                   : "OpenBLAS",
                   f / tb * 1e-9, dnn);
            if (which >= 0) {
                step[which] += t * s->times;
                flop[which] += f * s->times;
            }
            if (!strcmp(s->model, "peak") && f / t * 1e-9 > peak)
                peak = f / t * 1e-9;
        }
        for (int w = 0; w < 2; w++)
            printf("%-5s %-34s %3d %10.2f %9.1f  -> products alone bound a step at %.0f samples/s (%.2f MFLOP/sample)\n",
                   w ? "cnn" : "mlp", "one training step, batch 64", thr, step[w] * 1e6, flop[w] / step[w] * 1e-9,
                   64.0 / step[w], flop[w] / 64.0 * 1e-6);
        printf("peak threads=%d gflops=%.1f\n", thr, peak);
    }
    return 0;
}
