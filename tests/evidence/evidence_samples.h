/* Test helpers for evidence: reading the real samples of tests/vectors (found with
 * vector_path, tests/vectors.h) and verifying them at their expected times. */
#ifndef GTEE_TESTS_EVIDENCE_SAMPLES_H
#define GTEE_TESTS_EVIDENCE_SAMPLES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/evidence.h"
#include "vectors.h"

/* Reads a whole file; returns NULL on failure. */
static inline uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        if (p) {
            p[n] = 0;
            *len = (size_t)n;
        }
    }
    fclose(f);
    return p;
}

struct sample {
    uint8_t *quote;
    size_t quote_len;
    struct gtee_collateral col;
    int64_t at;
};

/* Loads tests/vectors/<rel>/quote.bin, its collateral, and the time from expected.json. */
static inline int sample_load(const char *rel, struct sample *s)
{
    char dir[1024], path[1100];
    uint8_t *exp;
    size_t n;
    char *t, at[32];
    struct gtee_err err;

    memset(s, 0, sizeof(*s));
    vector_path(dir, sizeof(dir), rel);
    snprintf(path, sizeof(path), "%s/quote.bin", dir);
    s->quote = read_all(path, &s->quote_len);
    if (!s->quote || gtee_collateral_load(dir, &s->col, &err) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    exp = read_all(path, &n);
    if (!exp)
        return -1;
    t = strstr((char *)exp, "\"verify_at\": \"");
    if (!t || sscanf(t + 14, "%31[^\"]", at) != 1 || gtee_time_parse(at, &s->at, &err) != 0) {
        free(exp);
        return -1;
    }
    free(exp);
    return 0;
}

static inline void sample_free(struct sample *s)
{
    free(s->quote);
    gtee_collateral_free(&s->col);
}

/* A policy that accepts every TCB status but Revoked (the verdicts the samples' sources give). */
static inline void policy_any_tcb(struct gtee_policy *p)
{
    gtee_policy_default(p);
    p->accepted_tcb = ~0u & ~(1u << GTEE_TCB_REVOKED) & ~1u;
}

#endif
