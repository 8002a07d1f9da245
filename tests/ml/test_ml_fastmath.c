/* The engine's own exp, erf and erfc (src/ml/fastmath.h) against libm's double-precision
 * functions on dense grids: the error bounds docs/ml.md states (exp relative 2e-7 over the
 * float range, erf relative 4e-7 over [-10, 10]; erfc fractional 1e-6 below 2 and 1e-5 up to
 * 9, where it is still a normal float: the fit's own error is 1.2e-7, the rest is the
 * float rounding of exp's argument, about -a^2), with a little margin for the rounding of
 * the result. */
#include <math.h>

#include "ml/dstest.h"
#include "ml/fastmath.h"

static double rel(double got, double want)
{
    return fabs(got - want) / fabs(want);
}

static void test_expf_relative_error(void **state)
{
    double worst = 0;

    (void)state;
    for (double x = -87.0; x <= 88.0; x += 1.0 / 1024) {
        double e = rel(ml_expf((float)x), exp((double)(float)x));
        worst = e > worst ? e : worst;
    }
    if (worst > 3e-7)
        fail_msg("ml_expf: relative error %.3g", worst);
}

static void test_erff_relative_error(void **state)
{
    double worst = 0;

    (void)state;
    for (double x = -10.0; x <= 10.0; x += 1.0 / 4096) {
        float xf = (float)x;
        if (xf == 0.0f)
            continue;
        double e = rel(ml_erff(xf), erf((double)xf));
        worst = e > worst ? e : worst;
    }
    if (worst > 4e-7)
        fail_msg("ml_erff: relative error %.3g", worst);
    assert_true(ml_erff(0.0f) == 0.0f);
    assert_true(isnan(ml_erff(NAN)));
}

static void test_erfc_fractional_error(void **state)
{
    double worst_lo = 0, worst_hi = 0;

    (void)state;
    for (double a = 0.0; a <= 9.0; a += 1.0 / 4096) {
        double e = rel(ml_erfcf_pos((float)a), erfc((double)(float)a));
        if (a < 2.0)
            worst_lo = e > worst_lo ? e : worst_lo;
        else
            worst_hi = e > worst_hi ? e : worst_hi;
    }
    if (worst_lo > 1e-6 || worst_hi > 1e-5)
        fail_msg("ml_erfcf_pos: fractional error %.3g below 2, %.3g above", worst_lo, worst_hi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expf_relative_error),
        cmocka_unit_test(test_erff_relative_error),
        cmocka_unit_test(test_erfc_fractional_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
