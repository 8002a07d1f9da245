/* Gradient checks of the transformer family's backward passes against central finite
 * differences: Softmax (opset 13+ along an axis, and the 2-D coercion before 13),
 * LayerNormalization-17, the decomposed LayerNorm (ReduceMean, Sub, Pow, Sqrt, Div),
 * ReduceMean's variants, Pow in both operands, Transpose, Slice (negative steps),
 * Concat, Expand, Where, Cast and Gather (an embedding table with repeated and negative
 * ids). Graphs: tests/ml/grad/ (tests/ml/gen_grad_models.py). */
#include "ml/gradcheck.h"

static void test_grad_softmax_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("softmax.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 4 + 24);
}

static void test_grad_softmax_opset11_coerced_rows_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("softmax11.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 24);
}

static void test_grad_layernorm_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("layernorm.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 4 + 4 + 24 + 12 + 24);
}

static void test_grad_decomposed_layernorm_and_reduce_mean_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("ln_decomposed.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 4 + 4);
}

static void test_grad_pow_base_and_exponent_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("pow.onnx", 2 * 3, 1e-2f, 2e-2f), 6 + 3 + 3 + 1);
}

static void test_grad_layout_operators_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("layout.onnx", 2 * 2 * 5, 1e-2f, 2e-2f), 24 + 4 + 2 + 5);
}

static void test_grad_gather_scatter_adds_into_the_table(void **state)
{
    (void)state;
    assert_int_equal(gc_run("gather.onnx", 2 * 4 * 4, 1e-2f, 2e-2f), 20 + 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_softmax_matches_finite_differences),
        cmocka_unit_test(test_grad_softmax_opset11_coerced_rows_match_finite_differences),
        cmocka_unit_test(test_grad_layernorm_matches_finite_differences),
        cmocka_unit_test(test_grad_decomposed_layernorm_and_reduce_mean_match_finite_differences),
        cmocka_unit_test(test_grad_pow_base_and_exponent_match_finite_differences),
        cmocka_unit_test(test_grad_layout_operators_match_finite_differences),
        cmocka_unit_test(test_grad_gather_scatter_adds_into_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
