/* The policy engine: strict defaults, JSON parsing (unknown keys named), and each rule
 * rejecting verified claims with its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/evidence_samples.h"

static int parse(const char *json, struct gtee_policy *p, struct gtee_err *err)
{
    return gtee_policy_parse(json, strlen(json), p, err);
}

static void test_default_policy_is_strict(void **state)
{
    struct gtee_policy p;

    (void)state;
    gtee_policy_default(&p);
    assert_false(p.allow_simulation);
    assert_false(p.allow_debug);
    assert_int_equal(p.accepted_tcb, 1u << GTEE_TCB_UP_TO_DATE);
    assert_int_equal(p.tee_types & (1u << GTEE_TEE_UNKNOWN), 0);
    assert_false(p.has_report_data);
}

static void test_policy_parses_every_key(void **state)
{
    struct gtee_policy p;
    struct gtee_err err = {0};
    const char *json =
        "{\"tee_types\":[\"tdx\"],\"allow_simulation\":true,\"allow_debug\":false,"
        "\"accepted_tcb_statuses\":[\"UpToDate\",\"SWHardeningNeeded\"],\"max_collateral_age_days\":30,"
        "\"sgx\":{\"mrenclave\":[\"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb\"],"
        "\"mrsigner\":[],\"isv_prod_id\":7,\"min_isv_svn\":3},"
        "\"tdx\":{\"mrtd\":[\"" "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"
        "\"],\"rtmr3\":[\"" "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "\"]},\"snp\":{\"host_data\":\"0101010101010101010101010101010101010101010101010101010101010101\"},"
        "\"report_data\":\"" "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "\"}";

    (void)state;
    assert_int_equal(parse(json, &p, &err), 0);
    assert_int_equal(p.tee_types, 1u << GTEE_TEE_TDX);
    assert_true(p.allow_simulation);
    assert_int_equal(p.accepted_tcb, (1u << GTEE_TCB_UP_TO_DATE) | (1u << GTEE_TCB_SW_HARDENING_NEEDED));
    assert_int_equal(p.max_collateral_age_days, 30);
    assert_int_equal(p.sgx.mrenclave.n, 1);
    assert_int_equal(p.sgx.mrenclave.v[0][0], 0x33);
    assert_true(p.sgx.has_isv_prod_id);
    assert_int_equal(p.sgx.isv_prod_id, 7);
    assert_int_equal(p.sgx.min_isv_svn, 3);
    assert_int_equal(p.tdx.mrtd.n, 1);
    assert_int_equal(p.tdx.rtmr[3].n, 1);
    assert_true(p.snp.has_host_data);
    assert_int_equal(p.snp.host_data[31], 1);
    assert_true(p.has_report_data);
}

static void test_policy_rejects_unknown_keys_naming_them(void **state)
{
    struct gtee_policy p;
    struct gtee_err err = {0};

    (void)state;
    assert_int_equal(parse("{\"allow_debugging\":true}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "allow_debugging"));
    assert_int_equal(parse("{\"sgx\":{\"mr_enclave\":[]}}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "sgx.mr_enclave"));
    assert_int_equal(parse("{\"tdx\":{\"rtmr4\":[]}}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "tdx.rtmr4"));
    /* a failed parse leaves the strict defaults, never a half-read policy */
    assert_false(p.allow_debug);
}

static void test_policy_rejects_bad_values(void **state)
{
    struct gtee_policy p;
    struct gtee_err err = {0};

    (void)state;
    assert_int_equal(parse("{\"tee_types\":[\"sgx\",\"tpm\"]}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "tee_types"));
    assert_int_equal(parse("{\"accepted_tcb_statuses\":[\"Fine\"]}", &p, &err), GTEE_EFORMAT);
    assert_int_equal(parse("{\"allow_debug\":1}", &p, &err), GTEE_EFORMAT);
    assert_int_equal(parse("{\"sgx\":{\"mrenclave\":[\"abcd\"]}}", &p, &err), GTEE_EFORMAT);
    assert_int_equal(parse("{\"report_data\":\"00\"}", &p, &err), GTEE_EFORMAT);
    assert_int_equal(parse("{\"allow_debug\":false,\"allow_debug\":true}", &p, &err), GTEE_EFORMAT);
    assert_int_equal(parse("[]", &p, &err), GTEE_EFORMAT);
    assert_int_equal(parse("{", &p, &err), GTEE_EFORMAT);
}

/* Verifies sgx-1 under a policy parsed from json; returns the verdict. */
static int verify_sgx1(const char *json, struct gtee_verdict *v)
{
    struct sample s;
    struct gtee_policy p;
    int rc;

    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    assert_int_equal(parse(json, &p, NULL), 0);
    rc = gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, v, NULL);
    sample_free(&s);
    return rc;
}

#define ANY_TCB "\"accepted_tcb_statuses\":[\"UpToDate\",\"ConfigurationAndSWHardeningNeeded\"]"

static void test_policy_rules_each_reject_with_their_reason(void **state)
{
    struct gtee_verdict v;

    (void)state;
    assert_int_equal(verify_sgx1("{" ANY_TCB "}", &v), 0);
    assert_int_equal(verify_sgx1("{}", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.tcb_status"));
    assert_true(v.verified);
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"tee_types\":[\"tdx\"]}", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.tee_type"));
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"sgx\":{\"mrenclave\":[\"" 
                                 "0000000000000000000000000000000000000000000000000000000000000000\"]}}", &v),
                     GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.sgx.mrenclave"));
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"sgx\":{\"mrenclave\":[\"0000000000000000000000000000000000000000000000000000000000000000\","
                                 "\"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb\"]}}", &v), 0);
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"sgx\":{\"mrsigner\":[\"" 
                                 "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e7\"]}}", &v),
                     GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.sgx.mrsigner"));
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"sgx\":{\"isv_prod_id\":1}}", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.sgx.isv_prod_id"));
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"sgx\":{\"min_isv_svn\":1}}", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.sgx.isv_svn"));
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"report_data\":\"48656c6c6f2c20776f726c6421" 
                                 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"}",
                                 &v), 0);
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"report_data\":\"48656c6c6f2c20776f726c6422" 
                                 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"}",
                                 &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.report_data"));
    /* the collateral was issued 2025-06-19, 30 days before the sample's time */
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"max_collateral_age_days\":29}", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.collateral_age"));
    assert_int_equal(verify_sgx1("{" ANY_TCB ",\"max_collateral_age_days\":31}", &v), 0);
    /* every failing rule is reported, not just the first */
    assert_int_equal(verify_sgx1("{\"tee_types\":[\"snp\"],\"sgx\":{\"min_isv_svn\":1}}", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.tee_type"));
    assert_true(gtee_verdict_has(&v, "policy.tcb_status"));
    assert_true(gtee_verdict_has(&v, "policy.sgx.isv_svn"));
}

static void test_simulated_and_debug_claims_need_the_policy_to_allow_them(void **state)
{
    struct gtee_verdict v;
    struct gtee_policy p;

    (void)state;
    memset(&v, 0, sizeof(v));
    v.verified = true;
    v.claims.tee = GTEE_TEE_TDX;
    v.claims.tcb_status = GTEE_TCB_UP_TO_DATE;
    v.claims.simulated = true;
    v.claims.debug = true;
    gtee_policy_default(&p);
    gtee_policy_apply(&p, 0, &v);
    assert_false(v.accepted);
    assert_true(gtee_verdict_has(&v, "policy.simulation"));
    assert_true(gtee_verdict_has(&v, "policy.debug"));
    v.n_reasons = 0;
    p.allow_simulation = true;
    p.allow_debug = true;
    gtee_policy_apply(&p, 0, &v);
    assert_true(v.accepted);
    /* an unverified verdict is never accepted, whatever the policy */
    v.n_reasons = 0;
    v.verified = false;
    gtee_policy_apply(&p, 0, &v);
    assert_false(v.accepted);
}

static void test_snp_claims_are_checked_against_measurement_and_host_data(void **state)
{
    struct gtee_verdict v;
    struct gtee_policy p;

    (void)state;
    memset(&v, 0, sizeof(v));
    v.verified = true;
    v.claims.tee = GTEE_TEE_SNP;
    memset(v.claims.snp.measurement, 0xaa, 48);
    memset(v.claims.snp.host_data, 0x01, 32);
    assert_int_equal(parse("{\"snp\":{\"measurement\":[\"" 
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"],"
                           "\"host_data\":\"0101010101010101010101010101010101010101010101010101010101010101\"}}",
                           &p, NULL), 0);
    gtee_policy_apply(&p, 0, &v);
    assert_true(v.accepted);
    v.claims.snp.host_data[0] = 2;
    v.claims.snp.measurement[47] = 0;
    gtee_policy_apply(&p, 0, &v);
    assert_false(v.accepted);
    assert_true(gtee_verdict_has(&v, "policy.snp.host_data"));
    assert_true(gtee_verdict_has(&v, "policy.snp.measurement"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_policy_is_strict),
        cmocka_unit_test(test_policy_parses_every_key),
        cmocka_unit_test(test_policy_rejects_unknown_keys_naming_them),
        cmocka_unit_test(test_policy_rejects_bad_values),
        cmocka_unit_test(test_policy_rules_each_reject_with_their_reason),
        cmocka_unit_test(test_simulated_and_debug_claims_need_the_policy_to_allow_them),
        cmocka_unit_test(test_snp_claims_are_checked_against_measurement_and_host_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
