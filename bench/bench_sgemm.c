/* Matrix product throughput of OpenBLAS on this machine (not a test): GFLOP/s of
 * cblas_sgemm at the shapes one training step of the reference MLP and CNN runs (batch 64,
 * forward and backward, as src/ml/ops_*.c and src/ml/grad_*.c call it), and on large
 * squares (OpenBLAS's own peak), with one and two threads. From the per-step sums it prints
 * the samples/s a step made of nothing but these products would reach: the bound that no
 * engine calling this sgemm can pass. docs/performance.md records the figures.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE bench/bench_sgemm.c $(pkg-config --cflags --libs openblas) -o bench_sgemm
 *   ./bench_sgemm [MIN_SECONDS_PER_SHAPE]      (default 0.2) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    { "peak", "square 512", 0, 0, 512, 512, 512, 1 },
    { "peak", "square 1024", 0, 0, 1024, 1024, 1024, 1 },
    { "peak", "square 2048", 0, 0, 2048, 2048, 2048, 1 },
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best seconds per call over repeated timed rounds of at least min_s / 5 each. */
static double time_shape(const struct shape *s, double min_s)
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
    while (now() - start < min_s) {
        long reps = 0;
        double t0 = now(), t;
        do {
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->m,
                        s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
            reps++;
            t = now() - t0;
        } while (t < min_s / 5);
        if (t / (double)reps < best)
            best = t / (double)reps;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv)
{
    double min_s = argc > 1 ? atof(argv[1]) : 0.2;
    size_t n = sizeof(shapes) / sizeof(shapes[0]);

    if (min_s <= 0)
        min_s = 0.2;
    printf("%-5s %-34s %3s %10s %9s\n", "model", "product (M x K . K x N)", "thr", "us/call", "GFLOP/s");
    for (int thr = 1; thr <= 2; thr++) {
        double step[2] = { 0, 0 }, flop[2] = { 0, 0 };
        openblas_set_num_threads(thr);
        for (size_t i = 0; i < n; i++) {
            const struct shape *s = &shapes[i];
            double t = time_shape(s, min_s), f = 2.0 * s->m * s->n * s->k;
            int which = !strcmp(s->model, "mlp") ? 0 : !strcmp(s->model, "cnn") ? 1 : -1;
            printf("%-5s %-34s %3d %10.2f %9.1f\n", s->model, s->what, thr, t * 1e6, f / t * 1e-9);
            if (which >= 0) {
                step[which] += t * s->times;
                flop[which] += f * s->times;
            }
        }
        for (int w = 0; w < 2; w++)
            printf("%-5s %-34s %3d %10.2f %9.1f  -> products alone bound a step at %.0f samples/s (%.2f MFLOP/sample)\n",
                   w ? "cnn" : "mlp", "one training step, batch 64", thr, step[w] * 1e6, flop[w] / step[w] * 1e-9,
                   64.0 / step[w], flop[w] / 64.0 * 1e-6);
    }
    return 0;
}
