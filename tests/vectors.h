/* The one C helper that finds the real samples kept in tests/vectors/ (tests and fuzz
 * targets alike): $GTEE_SOURCE_DIR/tests/vectors/<rel>, and a missing sample aborts. */
#ifndef GTEE_TESTS_VECTORS_H
#define GTEE_TESTS_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes the path of tests/vectors/<rel> (a file or a sample directory) to out and returns
 * out. The root is $GTEE_SOURCE_DIR (ctest sets it); without it, the directory this header
 * was included from, so a fuzz target run by hand finds the same files. A path that does not
 * fit or does not exist aborts the test binary: a missing sample is a broken checkout, which
 * must fail the test loudly rather than skip what it checks. */
__attribute__((unused)) static const char *vector_path(char *out, size_t n, const char *rel)
{
    const char *src = getenv("GTEE_SOURCE_DIR");
    int k;

    if (src && *src) {
        k = snprintf(out, n, "%s/tests/vectors/%s", src, rel);
    } else {
        const char *slash = strrchr(__FILE__, '/');

        k = snprintf(out, n, "%.*s/vectors/%s", slash ? (int)(slash - __FILE__) : 1,
                     slash ? __FILE__ : ".", rel);
    }
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "FAIL: test vector path for %s does not fit %zu bytes\n", rel, n);
        abort();
    }
    if (access(out, R_OK) != 0) {
        fprintf(stderr, "FAIL: missing test vector %s (the samples of tests/vectors/README.md "
                        "belong to the checkout)\n", out);
        abort();
    }
    return out;
}

#endif
