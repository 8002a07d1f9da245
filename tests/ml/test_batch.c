/* Epoch shuffles and mini-batch gathers: the permutation for (seed, epoch) equals an
 * independent Python rendering (tests/ml/gen_shuffle_ref.py), is a permutation for every
 * size, is uniform over the 24 orders of 4 items, and a gather copies the named items. */
#include "ml/dstest.h"

static void test_shuffle_matches_reference(void **state)
{
    static const size_t want[3][10] = {
        { 4, 2, 1, 3, 7, 9, 5, 0, 6, 8 }, /* seed 1, epoch 0 */
        { 3, 8, 0, 1, 7, 2, 4, 9, 5, 6 }, /* seed 1, epoch 1 */
        { 4, 6, 7, 0, 9, 5, 1, 2, 3, 8 }, /* seed 42, epoch 0 */
    };
    static const uint64_t seeds[3] = { 1, 1, 42 }, epochs[3] = { 0, 1, 0 };
    size_t order[10];
    struct gtee_err err = { 0 };

    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(gtee_dataset_shuffle(order, 10, seeds[k], epochs[k], &err), 0);
        assert_memory_equal(order, want[k], sizeof(order));
    }
}

static void test_shuffle_is_a_permutation_for_every_size(void **state)
{
    size_t order[64];
    struct gtee_err err = { 0 };

    for (size_t n = 1; n <= 64; n++) {
        uint8_t seen[64] = { 0 };

        assert_int_equal(gtee_dataset_shuffle(order, n, 7, n, &err), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(order[i] < n);
            assert_int_equal(seen[order[i]]++, 0);
        }
    }
    assert_failed_with(gtee_dataset_shuffle(order, 0, 7, 0, &err), &err, GTEE_EINVAL, "at least one item");
}

static void test_shuffle_is_uniform_over_small_orders(void **state)
{
    /* 24000 epochs of 4 items: each of the 24 orders expected 1000 times; a biased
     * shuffle (e.g. swapping with any index) is off by far more than 15% */
    unsigned counts[256] = { 0 };
    size_t order[4], perms = 0;
    struct gtee_err err = { 0 };

    for (uint64_t e = 0; e < 24000; e++) {
        assert_int_equal(gtee_dataset_shuffle(order, 4, 99, e, &err), 0);
        counts[order[0] * 64 + order[1] * 16 + order[2] * 4 + order[3]]++;
    }
    for (size_t k = 0; k < 256; k++) {
        if (!counts[k])
            continue;
        perms++;
        assert_true(counts[k] > 850 && counts[k] < 1150);
    }
    assert_int_equal(perms, 24);
}

static void test_gather_copies_named_items(void **state)
{
    float xs[5 * 3];
    int64_t ys[5] = { 4, 3, 2, 1, 0 }, y[3];
    struct gtee_dataset ds = { .n = 5, .item_ndim = 1, .item_dims = { 3 }, .item_len = 3, .num_classes = 5,
                               .x = xs, .y = ys };
    size_t order[3] = { 4, 0, 2 }, bad[1] = { 5 };
    float x[9];
    struct gtee_err err = { 0 };

    for (int i = 0; i < 15; i++)
        xs[i] = (float)i;
    assert_int_equal(gtee_dataset_gather(&ds, order, 3, x, y, &err), 0);
    assert_true(x[0] == 12 && x[2] == 14 && x[3] == 0 && x[6] == 6 && x[8] == 8);
    assert_true(y[0] == 0 && y[1] == 4 && y[2] == 2);
    assert_failed_with(gtee_dataset_gather(&ds, bad, 1, x, y, &err), &err, GTEE_EINVAL,
                       "batch entry 0 names item 5 of 5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffle_matches_reference),
        cmocka_unit_test(test_shuffle_is_a_permutation_for_every_size),
        cmocka_unit_test(test_shuffle_is_uniform_over_small_orders),
        cmocka_unit_test(test_gather_copies_named_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
