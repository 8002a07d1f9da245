/* Gradient checks against central finite differences of the backward passes added for
 * the operators PyTorch exports besides the transformer family's: LogSoftmax (along an
 * axis, and the 2-D coercion before opset 13), HardSigmoid, HardSwish, LeakyRelu, Elu,
 * Softplus, Clip (bounds as inputs and as attributes), PRelu (a broadcast slope), Max and
 * Min (variadic, broadcast), ReduceSum (axes input) and ReduceMax, Split (sizes input and
 * equal parts), Tile, CumSum (plain, exclusive and reverse), GlobalMaxPool and Resize
 * (linear and nearest; scales and sizes) and Einsum (a product, a product of a value with
 * itself, a permutation; a diagonal is refused) and ConvTranspose (2-D grouped with
 * strides, dilations, pads, output_padding and a bias; 1-D with SAME_UPPER). Graphs:
 * tests/ml/grad/ (tests/ml/gen_grad_ops.py). */
#include "ml/gradcheck.h"

static void test_grad_logsoftmax_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("logsoftmax.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 4 + 24);
}

static void test_grad_logsoftmax_opset11_coerced_rows_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("logsoftmax11.onnx", 2 * 3 * 4, 1e-2f, 2e-2f), 24 + 24);
}

static void test_grad_activations_match_finite_differences(void **state)
{
    (void)state;
    /* seven activations of a [2, 5] offset and weight each, PRelu's slope, the scale 4 */
    assert_int_equal(gc_run("activations.onnx", 2 * 5, 1e-2f, 2e-2f), 7 * 20 + 5 + 1);
}

static void test_grad_clip_with_attributes_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("clip6.onnx", 2 * 5, 1e-3f, 2e-2f), 20);
}

static void test_grad_max_min_and_reductions_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("maxmin_reduce.onnx", 2 * 3 * 4, 1e-3f, 2e-2f), 24 + 4 + 2 + 3);
}

static void test_grad_split_tile_cumsum_match_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("split_tile_cumsum.onnx", 3 * 8, 1e-2f, 2e-2f), 18 + 3);
}

static void test_grad_global_max_pool_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("gmp.onnx", 2 * 3, 1e-2f, 2e-2f), 12 + 3);
}

static void test_grad_resize_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("resize.onnx", 2 * 3 * 5, 1e-2f, 2e-2f), 24 + 72);
}

static void test_grad_einsum_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("einsum.onnx", 3 * 3 * 2, 1e-2f, 2e-2f), 24 + 20);
}

/* A diagonal is not a form PyTorch's batched products take: refused when the model loads,
 * naming the node and the equation. */
static void test_einsum_diagonal_is_refused_naming_the_equation(void **state)
{
    struct gtee_err err = { 0 };
    struct gtee_ml_model *m = NULL;
    size_t len;
    uint8_t *buf = read_source_file("tests/ml/grad/einsum_diagonal.onnx", &len);

    (void)state;
    assert_true(gtee_ml_model_load(buf, len, NULL, &m, &err) < 0);
    assert_null(m);
    assert_non_null(strstr(err.msg, "Einsum"));
    assert_non_null(strstr(err.msg, "equation 'bii->bi'"));
    free(buf);
}

/* Two operands of eight letters each with no "->": the implicit output would hold all 16
 * letters, past the engine's rank; refused when the model loads (it wrote past a term's
 * buffer before: found by fuzz_onnx_load). */
static void test_einsum_implicit_output_over_the_rank_is_refused(void **state)
{
    struct gtee_err err = { 0 };
    struct gtee_ml_model *m = NULL;
    size_t len;
    uint8_t *buf = read_source_file("tests/ml/grad/einsum_implicit_wide.onnx", &len);

    (void)state;
    assert_true(gtee_ml_model_load(buf, len, NULL, &m, &err) < 0);
    assert_null(m);
    assert_non_null(strstr(err.msg, "the implicit output has more than 8 letters"));
    free(buf);
}

static void test_grad_conv_transpose_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("convt.onnx", 6 * 6 * 6, 1e-2f, 2e-2f), 36 + 72 + 6);
    assert_int_equal(gc_run("convt1d.onnx", 2 * 3 * 8, 1e-2f, 2e-2f), 16 + 18);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_logsoftmax_matches_finite_differences),
        cmocka_unit_test(test_grad_logsoftmax_opset11_coerced_rows_match_finite_differences),
        cmocka_unit_test(test_grad_activations_match_finite_differences),
        cmocka_unit_test(test_grad_clip_with_attributes_matches_finite_differences),
        cmocka_unit_test(test_grad_max_min_and_reductions_match_finite_differences),
        cmocka_unit_test(test_grad_split_tile_cumsum_match_finite_differences),
        cmocka_unit_test(test_grad_global_max_pool_matches_finite_differences),
        cmocka_unit_test(test_grad_resize_matches_finite_differences),
        cmocka_unit_test(test_grad_einsum_matches_finite_differences),
        cmocka_unit_test(test_einsum_diagonal_is_refused_naming_the_equation),
        cmocka_unit_test(test_grad_conv_transpose_matches_finite_differences),
        cmocka_unit_test(test_einsum_implicit_output_over_the_rank_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
