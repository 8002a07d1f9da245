/* Randomness, constant-time comparison, wiping and hex. */
#include "hexvec.h"

static void test_ct_equal_compares_every_byte(void **state)
{
    uint8_t a[64], b[64];

    for (int i = 0; i < 64; i++)
        a[i] = b[i] = (uint8_t)(i * 3);
    assert_int_equal(gtee_ct_equal(a, b, sizeof(a)), 1);
    assert_int_equal(gtee_ct_equal(a, b, 0), 1);
    for (int i = 0; i < 64; i++) {
        b[i] ^= 0x80;
        assert_int_equal(gtee_ct_equal(a, b, sizeof(a)), 0);
        b[i] ^= 0x80;
    }
}

static void test_wipe_zeroes_the_buffer(void **state)
{
    uint8_t buf[33];
    static const uint8_t zero[33];

    memset(buf, 0xa5, sizeof(buf));
    gtee_wipe(buf, sizeof(buf));
    assert_memory_equal(buf, zero, sizeof(buf));
    gtee_wipe(NULL, 10); /* tolerated */
}

static void test_hex_round_trip_and_prefix(void **state)
{
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    uint8_t out[8];
    char hex[17];

    gtee_hex_encode(bytes, sizeof(bytes), hex);
    assert_string_equal(hex, "00017f80abcdefff");
    assert_int_equal(gtee_hex_decode(hex, out, sizeof(out)), 0);
    assert_memory_equal(out, bytes, sizeof(bytes));
    assert_int_equal(gtee_hex_decode("0x00017F80ABCDEFFF", out, sizeof(out)), 0);
    assert_memory_equal(out, bytes, sizeof(bytes));
    assert_int_equal(gtee_hex_decode("0X00017f80AbCdEfFf", out, sizeof(out)), 0);
    assert_memory_equal(out, bytes, sizeof(bytes));
    gtee_hex_encode(bytes, 0, hex);
    assert_string_equal(hex, "");
    assert_int_equal(gtee_hex_decode("", out, 0), 0);
}

static void test_hex_decode_rejects_bad_input(void **state)
{
    uint8_t out[4];

    /* odd number of digits */
    assert_int_equal(gtee_hex_decode("abc", out, 2), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("0xabcde", out, 3), GTEE_EFORMAT);
    /* length other than 2 * out_len */
    assert_int_equal(gtee_hex_decode("abcd", out, 3), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("abcdef0011", out, 4), GTEE_EFORMAT);
    /* characters that are not hex digits, at either nibble */
    assert_int_equal(gtee_hex_decode("0g", out, 1), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("g0", out, 1), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("12 4", out, 2), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("-1", out, 1), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("0x0x", out, 1), GTEE_EFORMAT);
    assert_int_equal(gtee_hex_decode("/:@G`g", out, 3), GTEE_EFORMAT);
}

/* Every byte value, against the definition: the digits 0-9, a-f and A-F and nothing else,
 * alone (gtee_hex_digit) and at either nibble of a byte (gtee_hex_bytes, whose table and
 * branch-free check a proof file's hex fields go through). */
static void test_hex_digit_table_covers_every_byte(void **state)
{
    static const char digits[] = "0123456789abcdef0123456789ABCDEF";

    for (int c = 0; c < 256; c++) {
        const char *d = c ? strchr(digits, c) : NULL;
        int want = d ? (int)((d - digits) % 16) : -1;
        char hex[6] = { '1', '2', (char)c, '7', '3', (char)c };
        uint8_t out[3];

        assert_int_equal(gtee_hex_digit(c), want);
        if (want < 0) {
            assert_int_equal(gtee_hex_bytes(hex, 3, out), GTEE_EFORMAT);
            assert_int_equal(gtee_hex_bytes(hex + 2, 1, out), GTEE_EFORMAT);
            assert_int_equal(gtee_hex_bytes(hex + 1, 1, out), GTEE_EFORMAT);
        }
        else {
            assert_int_equal(gtee_hex_bytes(hex, 3, out), 0);
            assert_int_equal(out[0], 0x12);
            assert_int_equal(out[1], want << 4 | 7);
            assert_int_equal(out[2], 0x30 | want);
        }
    }
    assert_int_equal(gtee_hex_digit(-1), -1);
    assert_int_equal(gtee_hex_digit(256 + '0'), -1);
    assert_int_equal(gtee_hex_bytes("", 0, NULL), 0);
}

/* 32 random bytes twice: equal with probability 2^-256; and not all zero. */
static void test_random_gives_different_outputs(void **state)
{
    uint8_t a[32], b[32], big[4096];
    static const uint8_t zero[32];

    assert_int_equal(gtee_random(a, sizeof(a)), 0);
    assert_int_equal(gtee_random(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_int_equal(gtee_random(big, sizeof(big)), 0);
    assert_memory_not_equal(big, big + 2048, 32);
    assert_int_equal(gtee_random(a, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_equal_compares_every_byte),
        cmocka_unit_test(test_wipe_zeroes_the_buffer),
        cmocka_unit_test(test_hex_round_trip_and_prefix),
        cmocka_unit_test(test_hex_decode_rejects_bad_input),
        cmocka_unit_test(test_hex_digit_table_covers_every_byte),
        cmocka_unit_test(test_random_gives_different_outputs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
