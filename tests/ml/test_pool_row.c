/* MaxPool's 2x2 stride-2 row kernels (src/ml/pool_row.c): the ones this CPU gets, and each
 * vector kernel it can run, give the portable loops' bits, forward, and backward adding
 * into a gradient and setting one, for rows of 1 to 40 windows (every remainder of the 16-
 * and 8-wide vectors), on data with ties, NaNs and signed zeros; they touch nothing past a
 * row; and on a CPU with AVX-512 or AVX2 the vector kernels are the ones chosen. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ml/pool_row.h"

#define MAX_OW 40
#define GUARD 8 /* elements past a row that must stay as they were */

static uint32_t rng = 12345u;

static uint32_t next(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* Few distinct values, so that windows hold ties; some NaNs and signed zeros. */
static float sample(void)
{
    uint32_t r = next() % 16;

    if (r == 0)
        return NAN;
    if (r == 1)
        return -0.0f;
    if (r == 2)
        return 0.0f;
    return (float)((int)(next() % 7) - 3) * 0.5f;
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = sample();
}

/* Each kernel this CPU can run against the portable loop (the chosen one included). */
static void check_kernel(const char *isa)
{
    rng = 12345u;
    for (int set = 0; set <= 1; set++)
        for (int64_t ow = 1; ow <= MAX_OW; ow++)
            for (int rep = 0; rep < 20; rep++) {
                float r0[2 * MAX_OW], r1[2 * MAX_OW], gy[MAX_OW + GUARD];
                float a0[2 * MAX_OW + GUARD], a1[2 * MAX_OW + GUARD], b0[2 * MAX_OW + GUARD],
                    b1[2 * MAX_OW + GUARD];

                fill(r0, (size_t)(2 * ow));
                fill(r1, (size_t)(2 * ow));
                fill(gy, (size_t)ow);
                for (int i = 0; i < GUARD; i++)
                    gy[ow + i] = 1e30f; /* never read */
                fill(a0, (size_t)(2 * ow + GUARD));
                fill(a1, (size_t)(2 * ow + GUARD));
                memcpy(b0, a0, sizeof(a0));
                memcpy(b1, a1, sizeof(a1));
                ml_max2x2_back_row_c(r0, r1, gy, a0, a1, ow, set);
                if (isa)
                    assert_int_equal(ml_max2x2_row_on(isa, r0, r1, gy, b0, b1, ow, set), 0);
                else
                    ml_max2x2_back_row(r0, r1, gy, b0, b1, ow, set);
                assert_memory_equal(a0, b0, (size_t)(2 * ow + GUARD) * sizeof(float));
                assert_memory_equal(a1, b1, (size_t)(2 * ow + GUARD) * sizeof(float));
                /* forward, into a row with the same guard */
                memcpy(b0, a1, sizeof(a1));
                ml_max2x2_fwd_row_c(r0, r1, a1, ow);
                if (isa)
                    assert_int_equal(ml_max2x2_row_on(isa, r0, r1, NULL, b0, NULL, ow, false), 0);
                else
                    ml_max2x2_fwd_row(r0, r1, b0, ow);
                assert_memory_equal(a1, b0, (size_t)(2 * ow + GUARD) * sizeof(float));
            }
}

static void test_row_kernels_give_the_portable_loops_bits(void **state)
{
    static const char *const isas[] = { "avx512", "avx2" };
    float x[2] = { 0 }, g = 0, d[2] = { 0 };

    (void)state;
    check_kernel(NULL);
    for (size_t i = 0; i < sizeof(isas) / sizeof(isas[0]); i++) {
        if (ml_max2x2_row_on(isas[i], x, x, &g, d, d, 0, false) < 0) {
            print_message("no %s on this CPU: its kernel is not checked here\n", isas[i]);
            continue;
        }
        check_kernel(isas[i]);
    }
    assert_int_equal(ml_max2x2_row_on("sse9", x, x, &g, d, d, 0, false), -1);
}

/* The rule itself, on one window per case: the first maximum takes the gradient. */
static void test_first_maximum_takes_the_gradient(void **state)
{
    static const struct {
        float t[4];
        int winner;
    } cases[] = {
        { { 1, 1, 1, 1 }, 0 }, { { 0, 2, 2, 1 }, 1 }, { { 0, 1, 3, 3 }, 2 }, { { 0, 1, 2, 4 }, 3 },
        { { NAN, 1, 2, 3 }, 0 }, /* a NaN first keeps the window: nothing is greater than it */
        { { 1, NAN, 0, 5 }, 3 }, { { -0.0f, 0.0f, 0, 0 }, 0 },
    };

    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        for (int set = 0; set <= 1; set++) {
            float r0[2] = { cases[c].t[0], cases[c].t[1] }, r1[2] = { cases[c].t[2], cases[c].t[3] }, gy = 7.0f;
            float d[4] = { 1, 1, 1, 1 };

            ml_max2x2_back_row(r0, r1, &gy, d, d + 2, 1, set);
            for (int i = 0; i < 4; i++)
                assert_true(d[i] == (set ? 0.0f : 1.0f) + (i == cases[c].winner ? 7.0f : 0.0f));
        }
}

static void test_vector_kernel_is_chosen_where_the_cpu_has_one(void **state)
{
    const char *isa = ml_max2x2_isa();

    (void)state;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        assert_string_equal(isa, "avx512");
    else if (__builtin_cpu_supports("avx2"))
        assert_string_equal(isa, "avx2");
    else
        assert_string_equal(isa, "c");
#else
    assert_string_equal(isa, "c");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_kernels_give_the_portable_loops_bits),
        cmocka_unit_test(test_first_maximum_takes_the_gradient),
        cmocka_unit_test(test_vector_kernel_is_chosen_where_the_cpu_has_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
