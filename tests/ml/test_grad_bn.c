/* BatchNormalization in training mode (the trainer's GTEE_ML_BN_TRAIN modes): the
 * backward pass through the batch statistics against central finite differences. */
#include "ml/gradcheck.h"

static void test_grad_batchnorm_training_mode_matches_finite_differences(void **state)
{
    (void)state;
    /* scale, bias and everything upstream; the running statistics are not parameters */
    assert_int_equal(gc_run_bn("bn_train.onnx", 8 * 6, 1e-2f, 2e-2f, GTEE_ML_BN_TRAIN), 48 + 3 + 3 + 3 + 6 + 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_batchnorm_training_mode_matches_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
