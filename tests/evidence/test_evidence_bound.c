/* gtee_evidence_verify_bound on the real sgx-1 quote: its REPORTDATA was not made by this
 * project's enclave, so any pair of keys fails the binding (report_data.binding) while the
 * quote itself verifies; its nonce half matches only the caller's exact bytes
 * (report_data.nonce); claims are filled only for verified evidence; malformed evidence and
 * a NULL expectation behave as gtee_evidence_verify. The matching case, on a simulated
 * enclave's evidence, is tests/evidence/test_evidence_binding.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/evidence_samples.h"
#include "gtee/crypto.h"

#define BODY_REPORT_DATA 368 /* SGX quote: header 48 + REPORTDATA at body offset 320 */

static void test_null_expectation_is_plain_verification(void **state)
{
    struct sample s;
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    policy_any_tcb(&p);
    assert_int_equal(gtee_evidence_verify_bound(s.quote, s.quote_len, &s.col, NULL, &p, NULL, s.at, &v, NULL), 0);
    assert_true(v.accepted);
    assert_false(v.claims.binding.bound);
    assert_false(v.claims.binding.nonce_checked);
    sample_free(&s);
}

static void test_foreign_keys_fail_the_binding_of_a_verified_quote(void **state)
{
    struct sample s;
    struct gtee_policy p;
    struct gtee_verdict v;
    struct gtee_binding_expect x = {0};
    struct gtee_err err = {0};
    uint8_t priv[32];

    (void)state;
    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    policy_any_tcb(&p);
    x.has_keys = true;
    assert_int_equal(gtee_secp256k1_keypair(priv, x.enclave_pub), 0);
    memcpy(x.channel_pub, x.enclave_pub, sizeof(x.channel_pub));
    assert_int_equal(gtee_evidence_verify_bound(s.quote, s.quote_len, &s.col, NULL, &p, &x, s.at, &v, &err),
                     GTEE_EPOLICY);
    assert_true(v.verified);
    assert_false(v.accepted);
    assert_int_equal(v.n_reasons, 1);
    assert_string_equal(v.reasons[0].code, "report_data.binding");
    assert_non_null(strstr(err.msg, "report_data.binding"));
    assert_false(v.claims.binding.bound);
    gtee_wipe(priv, sizeof(priv));
    sample_free(&s);
}

static void test_nonce_matches_only_the_exact_bytes(void **state)
{
    struct sample s;
    struct gtee_policy p;
    struct gtee_verdict v;
    struct gtee_binding_expect x = {0};

    (void)state;
    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    policy_any_tcb(&p);
    x.has_nonce = true;
    memcpy(x.nonce, s.quote + BODY_REPORT_DATA + 32, 32);
    assert_int_equal(gtee_evidence_verify_bound(s.quote, s.quote_len, &s.col, NULL, &p, &x, s.at, &v, NULL), 0);
    assert_true(v.accepted);
    assert_true(v.claims.binding.nonce_checked);
    assert_memory_equal(v.claims.report_data + 32, x.nonce, 32);
    for (int i = 0; i < 32; i += 31) {
        x.nonce[i] ^= 0x80;
        assert_int_equal(gtee_evidence_verify_bound(s.quote, s.quote_len, &s.col, NULL, &p, &x, s.at, &v, NULL),
                         GTEE_EPOLICY);
        assert_int_equal(v.n_reasons, 1);
        assert_string_equal(v.reasons[0].code, "report_data.nonce");
        assert_false(v.claims.binding.nonce_checked);
        x.nonce[i] ^= 0x80;
    }
    sample_free(&s);
}

static void test_unverified_evidence_claims_no_binding(void **state)
{
    struct sample s;
    struct gtee_policy p;
    struct gtee_verdict v;
    struct gtee_binding_expect x = {0};

    (void)state;
    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    policy_any_tcb(&p);
    x.has_nonce = true;
    memcpy(x.nonce, s.quote + BODY_REPORT_DATA + 32, 32);
    s.quote[BODY_REPORT_DATA] ^= 1; /* the key half of REPORTDATA: the quote signature breaks */
    assert_int_equal(gtee_evidence_verify_bound(s.quote, s.quote_len, &s.col, NULL, &p, &x, s.at, &v, NULL),
                     GTEE_EPOLICY);
    assert_false(v.verified);
    assert_true(gtee_verdict_has(&v, "quote.signature"));
    assert_false(gtee_verdict_has(&v, "report_data."));
    assert_false(v.claims.binding.nonce_checked); /* matching bytes of an unverified quote prove nothing */
    /* malformed evidence: no report data to compare, the format error stands alone */
    assert_int_equal(gtee_evidence_verify_bound(s.quote, 100, &s.col, NULL, &p, &x, s.at, &v, NULL), GTEE_EFORMAT);
    assert_false(gtee_verdict_has(&v, "report_data."));
    sample_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_expectation_is_plain_verification),
        cmocka_unit_test(test_foreign_keys_fail_the_binding_of_a_verified_quote),
        cmocka_unit_test(test_nonce_matches_only_the_exact_bytes),
        cmocka_unit_test(test_unverified_evidence_claims_no_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
