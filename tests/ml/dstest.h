/* Test helpers for the dataset readers: read a file of the source tree, and assert that a
 * parse fails with a given code and a message containing a given text. */
#ifndef GTEE_TESTS_ML_DSTEST_H
#define GTEE_TESTS_ML_DSTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/guard.h"
#include "gtee/dataset.h"

/* Reads $GTEE_SOURCE_DIR/rel into a new buffer (the test fails if it is missing). */
static inline uint8_t *read_source_file(const char *rel, size_t *len)
{
    const char *root = getenv("GTEE_SOURCE_DIR");
    char path[4096];
    uint8_t *buf;
    FILE *f;
    long n;

    assert_non_null(root);
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static inline void source_path(const char *rel, char *out, size_t cap)
{
    const char *root = getenv("GTEE_SOURCE_DIR");

    assert_non_null(root);
    assert_true((size_t)snprintf(out, cap, "%s/%s", root, rel) < cap);
}

/* Asserts rc == code and that err's message contains want. */
static inline void assert_failed_with(int rc, const struct gtee_err *err, int code, const char *want)
{
    if (rc != code || !strstr(err->msg, want))
        fail_msg("expected code %d with \"%s\", got %d: \"%s\"", code, want, rc, err->msg);
}

#endif
