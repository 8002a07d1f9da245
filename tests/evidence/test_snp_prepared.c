/* Prepared collateral for SEV-SNP (docs/evidence-snp.md, "Prepared collateral"): the VCEK of
 * milan-1 parsed and its chain to ARK-Milan verified once; every verification with it gives
 * the verdict of unprepared collateral (return code, acceptance, every reason, the claims),
 * uses the prepared chain only for the exact VCEK and bundle bytes and only inside every
 * window, and a chain that fails is never kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/dcap.h"
#include "evidence/evidence_samples.h"
#include "evidence/same_verdict.h"
#include "evidence/snp_internal.h"

struct fix {
    uint8_t *report;
    size_t len;
    struct gtee_collateral plain, prep;
    struct gtee_policy p;
    int64_t at;
};

static void fix_make(struct fix *s)
{
    char dir[1024], path[1100];

    memset(s, 0, sizeof(*s));
    vector_path(dir, sizeof(dir), "snp/milan-1");
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    s->report = read_all(path, &s->len);
    assert_non_null(s->report);
    assert_int_equal(gtee_collateral_load(dir, &s->plain, NULL), 0);
    assert_int_equal(gtee_collateral_load(dir, &s->prep, NULL), 0);
    assert_int_equal(gtee_collateral_prepare(&s->prep, NULL, NULL), 0);
    assert_int_equal(gtee_time_parse("2025-07-19T00:00:00Z", &s->at, NULL), 0);
    gtee_policy_default(&s->p);
    s->p.allow_debug = true; /* milan-1's guest policy allows debug */
    s->p.require_revocation = 0; /* and there is no real AMD CRL beside it (test_snp_crl.c has CRLs) */
}

static void fix_free(struct fix *s)
{
    free(s->report);
    gtee_collateral_free(&s->plain);
    gtee_collateral_free(&s->prep);
}

static uint64_t hits(const struct fix *s)
{
    return snp_prepared_hits(dcap_prepared_snp(&s->prep));
}

static int verify(struct fix *s, int64_t at, struct gtee_verdict *v)
{
    struct gtee_verdict full;
    int rc = gtee_evidence_verify(s->report, s->len, &s->prep, NULL, &s->p, at, v, NULL);
    int rc_full = gtee_evidence_verify(s->report, s->len, &s->plain, NULL, &s->p, at, &full, NULL);

    assert_same_verdict(rc, v, rc_full, &full);
    return rc;
}

static void test_prepared_snp_chain_is_used_and_gives_the_same_verdict(void **state)
{
    struct fix s;
    struct gtee_verdict v;

    (void)state;
    fix_make(&s);
    assert_non_null(dcap_prepared_snp(&s.prep));
    assert_int_equal(verify(&s, s.at, &v), 0);
    assert_int_equal(verify(&s, s.at, &v), 0);
    assert_true(v.verified);
    assert_int_equal(hits(&s), 2);
    /* the default policy still rejects it, for debug and for the missing ark_crl.der */
    gtee_policy_default(&s.p);
    assert_int_equal(verify(&s, s.at, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_int_equal(v.n_reasons, 2);
    assert_true(gtee_verdict_has(&v, "policy.debug"));
    assert_true(gtee_verdict_has(&v, "policy.revocation"));
    assert_int_equal(hits(&s), 3);
    fix_free(&s);
}

/* Times around the VCEK's window (2022-09-24T00:55:28Z .. 2029-09-24T00:55:28Z) and the
 * ASK/ARK's (2020-10-22 .. 2045-10-22): outside them rejected as expired / not yet valid,
 * at a boundary second decided by the full path, inside from the prepared chain. */
static void test_prepared_snp_chain_outside_its_windows_is_rejected(void **state)
{
    static const char *const times[] = { "2022-09-24T00:55:27Z", "2022-09-24T00:55:28Z", "2022-09-24T00:55:29Z",
                                          "2029-09-24T00:55:27Z", "2029-09-24T00:55:28Z", "2029-09-24T00:55:29Z",
                                          "2020-01-01T00:00:00Z", "2046-01-01T00:00:00Z" };
    struct fix s;
    struct gtee_verdict v;
    int64_t t;
    uint64_t before;

    (void)state;
    fix_make(&s);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        assert_int_equal(gtee_time_parse(times[i], &t, NULL), 0);
        (void)verify(&s, t, &v);
    }
    assert_int_equal(gtee_time_parse("2030-01-01T00:00:00Z", &t, NULL), 0);
    before = hits(&s);
    assert_int_equal(verify(&s, t, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "snp.vcek.expired"));
    assert_int_equal(gtee_time_parse("2022-01-01T00:00:00Z", &t, NULL), 0);
    assert_int_equal(verify(&s, t, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "snp.vcek.not_yet_valid"));
    assert_int_equal(hits(&s), before); /* neither used the prepared chain */
    assert_int_equal(verify(&s, s.at, &v), 0);
    assert_int_equal(hits(&s), before + 1);
    fix_free(&s);
}

/* A VCEK changed after preparing (one byte of its signature, then of its TCB extension): other
 * bytes, so the prepared chain is not used, and the full path rejects it. */
static void test_changed_vcek_after_preparing_takes_the_full_path(void **state)
{
    struct fix s;
    struct gtee_verdict v;
    size_t offs[2];

    (void)state;
    fix_make(&s);
    offs[0] = s.prep.snp_vcek.len - 10;  /* inside the signature */
    offs[1] = s.prep.snp_vcek.len / 2;   /* inside the to-be-signed part */
    for (size_t k = 0; k < 2; k++) {
        s.prep.snp_vcek.p[offs[k]] ^= 0x01;
        s.plain.snp_vcek.p[offs[k]] ^= 0x01;
        assert_int_not_equal(verify(&s, s.at, &v), 0);
        assert_false(v.accepted);
        s.prep.snp_vcek.p[offs[k]] ^= 0x01;
        s.plain.snp_vcek.p[offs[k]] ^= 0x01;
    }
    assert_int_equal(hits(&s), 0);
    assert_int_equal(verify(&s, s.at, &v), 0);
    assert_int_equal(hits(&s), 1);
    fix_free(&s);
}

/* The bundle as gtee_collateral_load reads it (NUL after the bytes: read_all adds one). */
static void set_bundle(struct gtee_collateral *col, const char *rel)
{
    char path[1024];
    size_t n = 0;

    free(col->snp_ask_ark.p);
    col->snp_ask_ark.p = read_all(vector_path(path, sizeof(path), rel), &n);
    assert_non_null(col->snp_ask_ark.p);
    col->snp_ask_ark.len = n;
}

/* A bundle given after preparing is other bytes: full path. Prepared with the Genoa bundle
 * (its ARK is not Milan's): nothing is kept, and the verdict is the full path's rejection. */
static void test_bundle_bytes_key_the_prepared_chain(void **state)
{
    struct fix s;
    struct gtee_verdict v;

    (void)state;
    fix_make(&s);
    set_bundle(&s.prep, "amd/ask_ark_milan.pem");
    set_bundle(&s.plain, "amd/ask_ark_milan.pem");
    assert_int_equal(verify(&s, s.at, &v), 0);
    assert_int_equal(hits(&s), 0);
    assert_int_equal(gtee_collateral_prepare(&s.prep, NULL, NULL), 0); /* now with the bundle */
    assert_int_equal(verify(&s, s.at, &v), 0);
    assert_int_equal(hits(&s), 1);

    set_bundle(&s.prep, "amd/ask_ark_genoa.pem");
    set_bundle(&s.plain, "amd/ask_ark_genoa.pem");
    assert_int_equal(gtee_collateral_prepare(&s.prep, NULL, NULL), 0);
    assert_null(dcap_prepared_snp(&s.prep));
    assert_int_equal(verify(&s, s.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "snp.ark.untrusted"));
    fix_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepared_snp_chain_is_used_and_gives_the_same_verdict),
        cmocka_unit_test(test_prepared_snp_chain_outside_its_windows_is_rejected),
        cmocka_unit_test(test_changed_vcek_after_preparing_takes_the_full_path),
        cmocka_unit_test(test_bundle_bytes_key_the_prepared_chain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
