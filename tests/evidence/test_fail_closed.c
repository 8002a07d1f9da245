/* The fail-closed verdict (docs/evidence.md, "Fail-closed verdict"): evidence is verified
 * only when every required check recorded a pass. This binary defines dcap_check_enabled and
 * snp_check_enabled itself, so the linker leaves the library's (always 1, each alone in its
 * file) out of it, and makes one step at a time forget to record its pass while the step
 * itself still runs: the real samples (sgx-1, tdx-1, full path, prepared collateral and the
 * PCK chain cache; SEV-SNP milan-1) are then rejected, naming the missing check, and accepted
 * with every check enabled. A TCB status never computed rejects under every policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/dcap_check.h"
#include "evidence/evidence_samples.h"

/* The check this binary disables (-1: none). */
static int dcap_off = -1, snp_off = -1;

int dcap_check_enabled(enum dcap_check k)
{
    return (int)k != dcap_off;
}

int snp_check_enabled(enum snp_check k)
{
    return (int)k != snp_off;
}

static void print_reasons(const struct gtee_verdict *v)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("  reason %s: %s\n", v->reasons[i].code, v->reasons[i].msg);
}

/* Verifies twice: the second time prepared collateral's results and the PCK chain cache
 * (filled by the first verification, or ahead of time) take the place of the full path. */
static void each_dcap_check_is_required(const char *rel)
{
    struct gtee_policy p;
    struct gtee_verdict v;
    struct sample s;
    char code[GTEE_REASON_CODE_MAX];

    policy_any_tcb(&p);
    for (int prepared = 0; prepared < 2; prepared++) {
        assert_int_equal(sample_load(rel, &s), 0);
        if (prepared) {
            assert_int_equal(gtee_collateral_prepare(&s.col, NULL, NULL), 0);
            assert_int_equal(gtee_collateral_prepare_pck(&s.col, s.quote, s.quote_len, NULL), 0);
        }
        dcap_off = -1;
        assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL), 0);
        assert_true(v.accepted && v.verified);
        for (int k = 0; k < DCAP_CHECK_COUNT; k++) {
            dcap_off = k;
            snprintf(code, sizeof(code), "dcap.check_missing.%s", dcap_check_name((enum dcap_check)k));
            print_message("%s%s: %s off\n", rel, prepared ? " (prepared)" : "", dcap_check_name((enum dcap_check)k));
            assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL),
                             GTEE_EPOLICY);
            print_reasons(&v);
            assert_false(v.accepted);
            assert_false(v.verified);
            /* The step ran and found nothing wrong: the missing pass is the only reason. */
            assert_int_equal(v.n_reasons, 1);
            assert_string_equal(v.reasons[0].code, code);
        }
        dcap_off = -1;
        if (prepared) {
            struct gtee_pck_cache_stats st;

            gtee_collateral_pck_stats(&s.col, &st);
            assert_true(st.hits > 0); /* the cached chain's path recorded (or withheld) the pass */
        }
        sample_free(&s);
    }
}

static void test_sgx1_each_check_is_required(void **state)
{
    (void)state;
    each_dcap_check_is_required("sgx/sgx-1");
}

static void test_tdx1_each_check_is_required(void **state)
{
    (void)state;
    each_dcap_check_is_required("tdx/tdx-1");
}

static void test_check_names_are_distinct(void **state)
{
    (void)state;
    for (int a = 0; a < DCAP_CHECK_COUNT; a++)
        for (int b = a + 1; b < DCAP_CHECK_COUNT; b++)
            assert_string_not_equal(dcap_check_name((enum dcap_check)a), dcap_check_name((enum dcap_check)b));
    for (int a = 0; a < SNP_CHECK_COUNT; a++)
        for (int b = a + 1; b < SNP_CHECK_COUNT; b++)
            assert_string_not_equal(snp_check_name((enum snp_check)a), snp_check_name((enum snp_check)b));
}

/* milan-1 has no ark_crl.der: its revocation check passes with the claim false (a policy that
 * does not require revocation accepts), so disabling it changes nothing here; the other four
 * must each be recorded. The sample is in debug mode, as its source says. */
static void test_snp_each_check_is_required(void **state)
{
    char dir[1024], path[1100], code[GTEE_REASON_CODE_MAX];
    struct gtee_collateral col;
    struct gtee_policy p;
    struct gtee_verdict v;
    uint8_t *report;
    size_t len = 0;
    int64_t at;

    (void)state;
    vector_path(dir, sizeof(dir), "snp/milan-1");
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    report = read_all(path, &len);
    assert_non_null(report);
    assert_int_equal(gtee_collateral_load(dir, &col, NULL), 0);
    assert_int_equal(gtee_time_parse("2025-07-19T00:00:00Z", &at, NULL), 0);
    gtee_policy_default(&p);
    p.allow_debug = true;
    p.require_revocation = 0;
    snp_off = -1;
    assert_int_equal(gtee_evidence_verify(report, len, &col, NULL, &p, at, &v, NULL), 0);
    for (int k = 0; k < SNP_CHECK_COUNT; k++) {
        if (k == SNP_CHECK_REVOCATION)
            continue;
        snp_off = k;
        snprintf(code, sizeof(code), "snp.check_missing.%s", snp_check_name((enum snp_check)k));
        assert_int_equal(gtee_evidence_verify(report, len, &col, NULL, &p, at, &v, NULL), GTEE_EPOLICY);
        print_reasons(&v);
        assert_false(v.accepted);
        assert_false(v.verified);
        assert_true(gtee_verdict_has(&v, code));
    }
    snp_off = -1;
    free(report);
    gtee_collateral_free(&col);
}

/* gtee_policy_apply is public (the attested channel uses it): verified SGX/TDX claims with no
 * TCB status, or one outside Intel's list, reject even under a policy that lists every bit. */
static void test_tcb_status_never_computed_rejects_under_every_policy(void **state)
{
    static const enum gtee_tee_type tees[] = { GTEE_TEE_SGX, GTEE_TEE_TDX };
    static const int statuses[] = { GTEE_TCB_NONE, GTEE_TCB_STATUS_COUNT, 99 };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    gtee_policy_default(&p);
    p.accepted_tcb = ~0u;
    p.require_revocation = 0;
    for (size_t t = 0; t < sizeof(tees) / sizeof(tees[0]); t++)
        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
            memset(&v, 0, sizeof(v));
            v.verified = true;
            v.claims.tee = tees[t];
            v.claims.tcb_status = (enum gtee_tcb_status)statuses[i];
            gtee_policy_apply(&p, 0, &v);
            print_reasons(&v);
            assert_false(v.accepted);
            assert_true(gtee_verdict_has(&v, "tcb.not_computed"));
        }
    /* A computed status the policy lists is still accepted by the same policy. */
    memset(&v, 0, sizeof(v));
    v.verified = true;
    v.claims.tee = GTEE_TEE_SGX;
    v.claims.tcb_status = GTEE_TCB_OUT_OF_DATE;
    gtee_policy_apply(&p, 0, &v);
    assert_true(v.accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_names_are_distinct),
        cmocka_unit_test(test_sgx1_each_check_is_required),
        cmocka_unit_test(test_tdx1_each_check_is_required),
        cmocka_unit_test(test_snp_each_check_is_required),
        cmocka_unit_test(test_tcb_status_never_computed_rejects_under_every_policy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
