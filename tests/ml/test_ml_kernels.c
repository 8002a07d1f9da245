/* The matrix-product kernels (src/ml/gemm.h) on whatever x86-64 CPU runs the test: the
 * engine reads the CPU's instruction sets as the compiler's own cpuid probe does; on a CPU
 * with AVX2 or AVX-512 the kernel chosen for a product uses them (oneDNN's implementation
 * name carries the ISA, or oneDNN's JIT sgemm runs at an effective ISA that covers the
 * CPU's widest); OpenBLAS's generic fallback is never what runs a product of any size; the
 * report names what it found. The products themselves agree with a plain triple loop for
 * every transpose, leading dimension, alpha, beta, size and thread count. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>

#include "ml/dstest.h"
#include "ml/gemm.h"
#include "ml/ml.h"

static bool has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static bool has_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

static struct gtee_ml_kernels kernels(void)
{
    struct gtee_ml_kernels k;
    struct gtee_err err = { 0 };

    if (gtee_ml_kernels_get(&k, &err) != 0)
        fail_msg("gtee_ml_kernels_get: %s", err.msg);
    return k;
}

static void test_cpu_flags_as_the_compiler_reads_them(void **state)
{
    struct gtee_ml_kernels k = kernels();

    (void)state;
    assert_int_equal(k.cpu_avx2, has_avx2());
    assert_int_equal(k.cpu_avx512, has_avx512());
    assert_true(k.cpu[0] != '\0');
    assert_true(k.cpu_family > 0);
    assert_true(k.dnnl_ok);
    print_message("cpu: %s (family %d, model %d), avx2 %d, avx512 %d; oneDNN %s at %s; OpenBLAS %s (%s)\n", k.cpu,
                  k.cpu_family, k.cpu_model, k.cpu_avx2, k.cpu_avx512, k.dnnl_release, k.dnnl_isa, k.blas_core,
                  k.blas_isa);
}

/* The kernel for one product, on one thread and on two. */
static void check_product(bool ta, bool tb, int m, int n, int kk)
{
    struct gtee_ml_kernels k = kernels();
    struct gtee_err err = { 0 };
    char what[256];

    for (int threads = 1; threads <= 2; threads++) {
        if (gtee_ml_kernels_product(ta, tb, m, n, kk, threads, what, sizeof(what), &err) != 0)
            fail_msg("gtee_ml_kernels_product: %s", err.msg);
        print_message("%s%s %dx%d . %dx%d, %d thread(s): %s\n", ta ? "T" : "N", tb ? "T" : "N", m, kk, kk, n,
                      threads, what);
        if (!has_avx2()) {
            /* an old CPU: nothing to hold the kernels to, but the report names them */
            assert_non_null(strstr(what, !strncmp(what, "oneDNN", 6) ? k.dnnl_isa : k.blas_core));
            continue;
        }
        if (strncmp(what, "oneDNN ", 7) != 0)
            fail_msg("a product of %d multiply-adds is not on oneDNN on a CPU with AVX2: %s", m * n * kk, what);
        if (!strncmp(what + 7, "ref", 3))
            fail_msg("oneDNN's reference (C loop) kernel runs the product: %s", what);
        if (has_avx512()) {
            /* oneDNN 2.6's brgemm matmul is its first choice for f32 on AVX-512 */
            if (!strstr(what, "avx512") && !strstr(what, "amx") &&
                !(strstr(what, "gemm:jit") && !strncmp(k.dnnl_isa, "avx512", 6)))
                fail_msg("the CPU has AVX-512; the kernel uses none: %s (oneDNN at %s)", what, k.dnnl_isa);
        } else {
            /* oneDNN 2.6 has no AVX2 brgemm matmul: its JIT sgemm runs, at the effective ISA */
            if (strstr(what, "gemm:jit") ? strncmp(k.dnnl_isa, "avx2", 4) != 0 : !strstr(what, "avx2"))
                fail_msg("the CPU has AVX2; the kernel does not use it: %s (oneDNN at %s)", what, k.dnnl_isa);
        }
    }
}

/* The products of a training step of the reference MLP (PyTorch's Linear, batch 64). */
static void test_products_use_the_cpus_vector_units(void **state)
{
    (void)state;
    check_product(false, true, 64, 256, 784); /* forward, Y = X W^T */
    check_product(false, false, 64, 784, 256); /* dX = dY W */
    check_product(true, false, 256, 784, 64); /* dW = dY^T X */
    check_product(false, false, 1, 256, 784); /* batch 1 */
}

/* OpenBLAS's generic kernels never run a product when the CPU has better: then every
 * product is oneDNN's, and the report says why. */
static void test_no_product_on_a_generic_fallback(void **state)
{
    struct gtee_ml_kernels k = kernels();
    struct gtee_err err = { 0 };
    char report[2048], what[256];

    (void)state;
    assert_int_equal(gtee_ml_kernels_describe(report, sizeof(report), &err), 0);
    print_message("%s", report);
    assert_non_null(strstr(report, k.blas_core));
    assert_non_null(strstr(report, k.dnnl_isa));
    assert_non_null(strstr(report, k.cpu));
    assert_int_equal(gtee_ml_kernels_product(false, false, 4, 4, 4, 1, what, sizeof(what), &err), 0);
    if (k.blas_below) {
        assert_int_equal(k.dnnl_min_macs, 0);
        assert_non_null(strstr(report, "all on oneDNN"));
        if (k.blas_generic)
            assert_non_null(strstr(report, "generic fallback"));
        assert_true(!strncmp(what, "oneDNN", 6));
    } else {
        /* OpenBLAS's kernels are the CPU's own: tiny products stay there (its call is cheaper) */
        assert_true(k.dnnl_min_macs > 64);
        assert_true(!strncmp(what, "OpenBLAS", 8));
        assert_null(strstr(report, "generic fallback"));
    }
}

/* C = alpha op(A) op(B) + beta C in double, the reference. */
static void naive(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < kk; p++)
                s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j]));
        }
}

static float rnd(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) - 0.5f;
}

/* Every shape runs through ml_sgemm's choice: tiny ones on OpenBLAS (when it is the CPU's
 * own), the rest on oneDNN, sliced across threads from 2^22 multiply-adds. */
static void test_products_agree_with_a_plain_loop(void **state)
{
    static const int sizes[][3] = { { 3, 5, 7 }, { 16, 16, 16 }, { 64, 256, 784 }, { 1, 300, 129 },
                                    { 300, 1, 70 }, { 257, 255, 64 }, { 100, 700, 80 } };
    uint32_t seed = 7;

    (void)state;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int t = 0; t < 4; t++)
            for (int threads = 1; threads <= 2; threads++) {
                bool ta = t & 1, tb = t & 2;
                int m = sizes[s][0], n = sizes[s][1], kk = sizes[s][2], pad = 3;
                int lda = (ta ? m : kk) + pad, ldb = (tb ? kk : n) + pad, ldc = n + pad;
                size_t na = (size_t)(ta ? kk : m) * (size_t)lda, nb = (size_t)(tb ? n : kk) * (size_t)ldb;
                size_t nc = (size_t)m * (size_t)ldc;
                float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *want = malloc(nc * 4);
                float alpha = s % 2 ? 0.5f : 1.0f, beta = t == 3 ? 0.0f : s % 3 ? 1.0f : -2.0f;
                int prev;

                assert_true(a && b && c && want);
                for (size_t i = 0; i < na; i++)
                    a[i] = rnd(&seed);
                for (size_t i = 0; i < nb; i++)
                    b[i] = rnd(&seed);
                for (size_t i = 0; i < nc; i++)
                    c[i] = want[i] = rnd(&seed);
                naive(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, want, ldc);
                prev = ml_blas_one();
                assert_int_equal(ml_sgemm(threads, ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc), 0);
                ml_blas_restore(prev);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < ldc; j++) {
                        float g = c[i * ldc + j], w = want[i * ldc + j];
                        if (fabsf(g - w) > 1e-4f * (float)kk * 0.25f + 1e-5f)
                            fail_msg("%c%c %dx%dx%d alpha %g beta %g, %d thread(s): C[%d][%d] = %g, want %g",
                                     ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, kk, alpha, beta, threads, i, j, g, w);
                    }
                free(a);
                free(b);
                free(c);
                free(want);
            }
}

struct on_thread {
    int rc;
    float c[64 * 64];
};

static void *product_on_thread(void *arg)
{
    struct on_thread *t = arg;
    static float a[64 * 64], b[64 * 64];

    for (int i = 0; i < 64 * 64; i++) {
        a[i] = (float)(i % 7);
        b[i] = (float)(i % 5);
    }
    t->rc = ml_sgemm(1, false, false, 64, 64, 64, 1.0f, a, 64, b, 64, 0.0f, t->c, 64);
    return NULL;
}

/* Threads that run products and exit (a session's own thread, a job's) take their kept
 * primitives with them; the next thread makes its own, and agrees. */
static void test_products_on_threads_that_exit(void **state)
{
    static struct on_thread t[6];

    (void)state;
    for (int i = 0; i < 6; i++) {
        pthread_t th;

        assert_int_equal(pthread_create(&th, NULL, product_on_thread, &t[i]), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(t[i].rc, 0);
        assert_memory_equal(t[i].c, t[0].c, sizeof(t[0].c));
    }
    for (int p = 0; p < 64; p++) /* C[0][0] = sum over p of (p % 7) (p * 64 % 5) */
        t[5].c[0] -= (float)(p % 7) * (float)(p * 64 % 5);
    assert_true(fabsf(t[5].c[0]) < 1e-3f);
}

/* Last: it changes the process. Hardened without JIT, every product is OpenBLAS's and the
 * report says why, and the products still agree. */
static void test_without_jit_products_run_on_openblas(void **state)
{
    struct gtee_ml_kernels k;
    struct gtee_err err = { 0 };
    char what[256];

    (void)state;
    gtee_ml_forbid_jit();
    k = kernels();
    assert_true(k.dnnl_min_macs == UINT64_MAX);
    assert_non_null(strstr(k.why, "executable memory"));
    assert_int_equal(gtee_ml_kernels_product(false, true, 64, 256, 784, 1, what, sizeof(what), &err), 0);
    assert_non_null(strstr(what, "no JIT"));
    test_products_agree_with_a_plain_loop(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_flags_as_the_compiler_reads_them),
        cmocka_unit_test(test_products_use_the_cpus_vector_units),
        cmocka_unit_test(test_no_product_on_a_generic_fallback),
        cmocka_unit_test(test_products_agree_with_a_plain_loop),
        cmocka_unit_test(test_products_on_threads_that_exit),
        cmocka_unit_test(test_without_jit_products_run_on_openblas),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
