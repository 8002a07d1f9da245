/* Test helper: decode a hex test vector of any length into a buffer (aborts the test on
 * a malformed vector so a typo cannot pass silently). */
#ifndef GTEE_TESTS_CRYPTO_HEXVEC_H
#define GTEE_TESTS_CRYPTO_HEXVEC_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gtee/crypto.h"

/* Decodes hex into out (capacity cap); returns the byte count. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;

    assert_true(strlen(hex) % 2 == 0);
    assert_true(n <= cap);
    assert_int_equal(gtee_hex_decode(hex, out, n), 0);
    return n;
}

/* Compares bytes with a hex string, printing both on mismatch. */
static inline void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex)
{
    char buf[2 * 512 + 1];

    assert_true(len <= 512);
    gtee_hex_encode(got, len, buf);
    assert_string_equal(buf, want_hex);
}

#endif
