/* Gradient checks of the multilayer-perceptron operators' backward passes against central
 * finite differences: Gemm (transposes, alpha, beta, bias shapes), MatMul (batched,
 * broadcast), broadcasting Add/Sub/Mul/Div, the unary functions, and the reshaping
 * operators. Graphs: tests/ml/grad/ (tests/ml/gen_grad_models.py). */
#include "ml/gradcheck.h"

static void test_grad_gemm_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("gemm.onnx", 3 * 2, 1e-2f, 2e-2f), 5 * 4 + 5 + 5 * 2 + 2);
}

static void test_grad_gemm_transposed_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("gemm_trans.onnx", 3 * 2, 1e-2f, 2e-2f), 12 + 6 + 12 + 3);
}

static void test_grad_matmul_batched_and_broadcast_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("matmul.onnx", 2 * 3 * 5, 1e-2f, 2e-2f), 24 + 20 + 9);
}

static void test_grad_broadcast_binary_reduces_over_broadcast_axes(void **state)
{
    (void)state;
    assert_int_equal(gc_run("binary.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 3 + 4 + 3 + 4 + 2);
}

static void test_grad_unary_functions_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("unary.onnx", 2 * 5, 1e-2f, 2e-2f), 10 + 1);
}

static void test_grad_reshapes_pass_gradient_through(void **state)
{
    (void)state;
    assert_int_equal(gc_run("reshape.onnx", 4 * 3, 1e-2f, 2e-2f), 24 + 18);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_gemm_matches_finite_differences),
        cmocka_unit_test(test_grad_gemm_transposed_matches_finite_differences),
        cmocka_unit_test(test_grad_matmul_batched_and_broadcast_matches_finite_differences),
        cmocka_unit_test(test_grad_broadcast_binary_reduces_over_broadcast_axes),
        cmocka_unit_test(test_grad_unary_functions_match_finite_differences),
        cmocka_unit_test(test_grad_reshapes_pass_gradient_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
