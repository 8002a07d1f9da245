/* Gradient checks of the convolutional operators' backward passes against central finite
 * differences: Conv (padding, strides, groups, dilations, 1-D; one group and 2-D through
 * oneDNN), MaxPool, AveragePool (with and without counting the padding), GlobalAveragePool
 * and BatchNormalization (its inference form). Graphs: tests/ml/grad/ (tests/ml/gen_grad_models.py). */
#include "ml/gradcheck.h"

static void test_grad_conv_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("conv.onnx", 2 * 2 * 4 * 6, 1e-2f, 2e-2f), 120 + 72 + 4 + 16 + 2);
}

static void test_grad_conv_dnn_with_dilations_matches_finite_differences(void **state)
{
    (void)state;
    /* one group: oneDNN's path, with dilations, strides, asymmetric pads, 16 channels */
    assert_int_equal(gc_run("conv_dnn.onnx", 2 * 2 * 3 * 3, 1e-2f, 2e-2f), 336 + 288 + 16 + 192);
}

static void test_grad_conv1d_matches_finite_differences(void **state)
{
    (void)state;
    assert_int_equal(gc_run("conv1d.onnx", 2 * 2 * 4, 1e-2f, 2e-2f), 42 + 18);
}

static void test_grad_pools_match_finite_differences(void **state)
{
    (void)state;
    /* a small step: a larger one could move a window's maximum to another element */
    assert_int_equal(gc_run("pool.onnx", 2 * 2 * 3 * 3, 2e-3f, 3e-2f), 144 + 2);
}

static void test_grad_batchnorm_matches_finite_differences(void **state)
{
    (void)state;
    /* the running mean and variance are not parameters */
    assert_int_equal(gc_run("batchnorm.onnx", 2 * 3 * 2 * 2, 1e-2f, 2e-2f), 24 + 3 + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_conv_matches_finite_differences),
        cmocka_unit_test(test_grad_conv_dnn_with_dilations_matches_finite_differences),
        cmocka_unit_test(test_grad_conv1d_matches_finite_differences),
        cmocka_unit_test(test_grad_pools_match_finite_differences),
        cmocka_unit_test(test_grad_batchnorm_matches_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
