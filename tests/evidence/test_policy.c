/* The policy engine: strict defaults, JSON parsing (unknown keys named), and each rule
 * rejecting verified claims with its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/evidence_samples.h"
#include "gtee/crypto.h"

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
    v.claims.revocation_checked = true;
    v.claims.crls_applied = GTEE_CRL_PCK | GTEE_CRL_ROOT_CA;
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
    v.claims.revocation_checked = true; /* ark_crl.der applied: the default policy requires it */
    v.claims.crls_applied = GTEE_CRL_SNP_ARK;
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

/* Duplicate keys are named with where they start, not "not a JSON object". */
static void test_policy_names_duplicate_keys(void **state)
{
    struct gtee_policy p;
    struct gtee_err err = {0};

    (void)state;
    assert_int_equal(parse("{\"allow_debug\":false,\n \"allow_debug\":true}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "duplicate key \"allow_debug\" at line 2, byte offset 23"));
    assert_null(strstr(err.msg, "not a JSON object"));
    assert_int_equal(parse("{\"tdx\":{\"mrowner\":\"00\",\"mrowner\":\"01\"}}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "duplicate key \"mrowner\" at line 1"));
    /* an escaped quote inside the key, and a key too long for jansson to quote */
    assert_int_equal(parse("{\"a\\\"b\":1,\"a\\\"b\":2}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "duplicate key \"a\\\"b\" at line 1, byte offset 10"));
    assert_int_equal(parse("{\"require_revocation_for_everything\":1,\"require_revocation_for_everything\":2}", &p,
                           &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "duplicate key \"require_revocation_for_everything\""));
    /* other syntax errors and non-objects keep their own messages */
    assert_int_equal(parse("{\"allow_debug\":}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "not valid JSON at line 1"));
    assert_int_equal(parse("[]", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "not a JSON object"));
}

static void test_require_revocation_parses(void **state)
{
    struct gtee_policy p;
    struct gtee_err err = {0};
    const unsigned all = 1u << GTEE_TEE_SGX | 1u << GTEE_TEE_TDX | 1u << GTEE_TEE_SNP;

    (void)state;
    gtee_policy_default(&p);
    assert_int_equal(p.require_revocation, all); /* hardware evidence: SGX, TDX and SEV-SNP */
    assert_int_equal(parse("{\"require_revocation\":true}", &p, &err), 0);
    assert_int_equal(p.require_revocation, all);
    assert_int_equal(parse("{\"require_revocation\":false}", &p, &err), 0);
    assert_int_equal(p.require_revocation, 0);
    assert_int_equal(parse("{\"require_revocation\":[\"tdx\"]}", &p, &err), 0);
    assert_int_equal(p.require_revocation, 1u << GTEE_TEE_TDX);
    assert_int_equal(parse("{\"require_revocation\":1}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "require_revocation"));
    assert_int_equal(parse("{\"require_revocation\":[\"tpm\"]}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "require_revocation"));
}

static void hex48(const uint8_t *b, size_t n, char *out)
{
    gtee_hex_encode(b, n, out);
}

/* TDX pins on the real tdx-1 quote: the quote's own values are accepted, one flipped byte of
 * each is rejected with the field's reason. */
static void test_tdx_pins_on_the_real_sample(void **state)
{
    static const char *const keys[] = { "mrowner", "mrconfigid", "td_attributes", "xfam" };
    struct sample s;
    struct gtee_policy p;
    struct gtee_verdict v;
    struct gtee_err err = {0};
    uint8_t vals[4][48];
    const size_t lens[4] = { 48, 48, 8, 8 };
    char json[1024], hex[4][97], code[48];

    (void)state;
    assert_int_equal(sample_load("tdx/tdx-1", &s), 0);
    policy_any_tcb(&p);
    assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL), 0);
    /* the claims are the body's bytes (TD quote body offsets 232, 184, 120, 128) */
    assert_memory_equal(v.claims.tdx.mrowner, s.quote + 48 + 232, 48);
    assert_memory_equal(v.claims.tdx.mrconfigid, s.quote + 48 + 184, 48);
    assert_memory_equal(v.claims.tdx.td_attributes, s.quote + 48 + 120, 8);
    assert_memory_equal(v.claims.tdx.xfam, s.quote + 48 + 128, 8);
    memcpy(vals[0], v.claims.tdx.mrowner, 48);
    memcpy(vals[1], v.claims.tdx.mrconfigid, 48);
    memcpy(vals[2], v.claims.tdx.td_attributes, 8);
    memcpy(vals[3], v.claims.tdx.xfam, 8);
    for (int flip = -1; flip < 4; flip++) {
        for (int i = 0; i < 4; i++) {
            uint8_t b[48];

            memcpy(b, vals[i], lens[i]);
            if (i == flip)
                b[lens[i] - 1] ^= 0x01;
            hex48(b, lens[i], hex[i]);
        }
        snprintf(json, sizeof(json),
                 "{\"accepted_tcb_statuses\":[\"UpToDate\"],\"tdx\":{\"mrowner\":\"%s\",\"mrconfigid\":\"%s\","
                 "\"td_attributes\":\"%s\",\"xfam\":\"%s\"}}", hex[0], hex[1], hex[2], hex[3]);
        assert_int_equal(parse(json, &p, &err), 0);
        p.accepted_tcb = ~0u & ~(1u << GTEE_TCB_REVOKED) & ~1u;
        if (flip < 0) {
            assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL), 0);
            continue;
        }
        assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL),
                         GTEE_EPOLICY);
        snprintf(code, sizeof(code), "policy.tdx.%s", keys[flip]);
        assert_true(gtee_verdict_has(&v, code));
        assert_int_equal(v.n_reasons, 1);
    }
    /* exact length only */
    assert_int_equal(parse("{\"tdx\":{\"xfam\":\"e70206000000000000\"}}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "tdx.xfam"));
    assert_int_equal(parse("{\"tdx\":{\"mrowner\":[]}}", &p, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "tdx.mrowner"));
    sample_free(&s);
}

/* --at and friends: out-of-range and overflowing times are refused naming the range. */
static void test_time_is_range_checked(void **state)
{
    struct gtee_err err = {0};
    int64_t t = 0;

    (void)state;
    assert_int_equal(gtee_time_parse("99999999999999999999", &t, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_non_null(strstr(err.msg, "253402300799"));
    assert_int_equal(gtee_time_parse("253402300800", &t, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_time_parse("253402300799", &t, &err), 0);
    assert_int_equal(t, GTEE_TIME_MAX);
    assert_int_equal(gtee_time_parse("9999-12-31T23:59:59Z", &t, &err), 0);
    assert_int_equal(t, GTEE_TIME_MAX);
    assert_int_equal(gtee_time_parse("1969-12-31T23:59:59Z", &t, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(gtee_time_parse("0", &t, &err), 0);
    assert_int_equal(gtee_time_parse("2025-07-19T10:01:17Z", &t, &err), 0);
    assert_int_equal(t, 1752919277);
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
        cmocka_unit_test(test_policy_names_duplicate_keys),
        cmocka_unit_test(test_require_revocation_parses),
        cmocka_unit_test(test_tdx_pins_on_the_real_sample),
        cmocka_unit_test(test_time_is_range_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
