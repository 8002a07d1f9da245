/* Shared helpers for the SEV-SNP tests: load the real samples of tests/vectors (found with
 * vector_path, tests/vectors.h) and read their expected.json. */
#ifndef GTEE_TESTS_SNP_TEST_UTIL_H
#define GTEE_TESTS_SNP_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "vectors.h"

/* Reads tests/vectors/<rel> whole; NUL-terminated (for PEM); the caller frees. Aborts the
 * test binary if the file is missing or unreadable: the vectors are required. */
static inline uint8_t *snp_vec_read(const char *rel, size_t *len)
{
    char path[4096];
    uint8_t *buf;
    long n;
    FILE *f;

    f = fopen(vector_path(path, sizeof(path), rel), "rb");
    if (!f) {
        fprintf(stderr, "missing test vector %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* expected.json of the milan-1 sample. */
static inline json_t *snp_vec_expected(void)
{
    size_t len;
    uint8_t *txt = snp_vec_read("snp/milan-1/expected.json", &len);
    json_t *j = json_loadb((const char *)txt, len, 0, NULL);

    free(txt);
    if (!j)
        abort();
    return j;
}

static inline const char *snp_vec_str(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));

    if (!s)
        abort();
    return s;
}

/* "2025-07-19T00:00:00Z" -> time_t (UTC). */
static inline time_t snp_vec_time(const char *iso)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        abort();
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static inline time_t snp_utc(int y, int mo, int d)
{
    char iso[32];

    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT00:00:00Z", y, mo, d);
    return snp_vec_time(iso);
}

#endif
