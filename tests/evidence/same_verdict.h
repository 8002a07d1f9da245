/* Test helpers for prepared collateral (include after <cmocka.h>): a verification through
 * prepared collateral must give exactly the verdict of the same call without preparation
 * (acceptance, every reason with its message, the claims), and a collateral file can be
 * replaced between calls. */
#ifndef GTEE_TEST_SAME_VERDICT_H
#define GTEE_TEST_SAME_VERDICT_H

#include <stdio.h>
#include <stdlib.h>

#include "gtee/evidence.h"

static inline void print_reasons(const char *what, const struct gtee_verdict *v)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("  %s: %s: %s\n", what, v->reasons[i].code, v->reasons[i].msg);
}

/* rc and v: the prepared call's; rc_full and full: the unprepared one's. */
static inline void assert_same_verdict(int rc, const struct gtee_verdict *v, int rc_full,
                                       const struct gtee_verdict *full)
{
    if (rc != rc_full || v->n_reasons != full->n_reasons) {
        print_reasons("prepared", v);
        print_reasons("full", full);
    }
    assert_int_equal(rc, rc_full);
    assert_int_equal(v->accepted, full->accepted);
    assert_int_equal(v->verified, full->verified);
    assert_int_equal(v->n_reasons, full->n_reasons);
    for (size_t i = 0; i < v->n_reasons; i++) {
        assert_string_equal(v->reasons[i].code, full->reasons[i].code);
        assert_string_equal(v->reasons[i].msg, full->reasons[i].msg);
    }
    assert_memory_equal(&v->claims, &full->claims, sizeof(v->claims));
}

/* Replaces b's bytes with the whole file at path. */
static inline void read_into(const char *path, struct gtee_blob *b)
{
    FILE *f = fopen(path, "rb");
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    free(b->p);
    b->p = malloc((size_t)n);
    assert_non_null(b->p);
    assert_int_equal(fread(b->p, 1, (size_t)n, f), (size_t)n);
    b->len = (size_t)n;
    fclose(f);
}

#endif
