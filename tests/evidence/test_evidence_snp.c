/* SEV-SNP evidence through the common entry point and policy engine: the milan-1 sample is
 * verified (VCEK -> ASK -> ARK-Milan, report signature), and rejected by the default policy
 * for debug, as its source says, and for revocation, since no AMD CRL comes with it;
 * measurement and host-data rules apply (under policies that do not require revocation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "evidence/evidence_samples.h"
#include "gtee/crypto.h"
#include "gtee/snp.h"

struct snp_sample {
    uint8_t *report;
    size_t len;
    struct gtee_collateral col;
    int64_t at;
};

static void load(struct snp_sample *s)
{
    char dir[1024], path[1100];

    vector_path(dir, sizeof(dir), "snp/milan-1");
    snprintf(path, sizeof(path), "%s/report.bin", dir);
    s->report = read_all(path, &s->len);
    assert_non_null(s->report);
    assert_int_equal(gtee_collateral_load(dir, &s->col, NULL), 0);
    assert_int_equal(gtee_time_parse("2025-07-19T00:00:00Z", &s->at, NULL), 0);
}

static void unload(struct snp_sample *s)
{
    free(s->report);
    gtee_collateral_free(&s->col);
}

static void test_milan_sample_is_rejected_by_default_policy_for_debug_and_revocation(void **state)
{
    const struct gtee_reason *r;
    struct snp_sample s;
    struct gtee_verdict v;
    uint8_t m[48];

    (void)state;
    load(&s);
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &s.col, NULL, NULL, s.at, &v, NULL), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_int_equal(v.claims.tee, GTEE_TEE_SNP);
    assert_true(v.claims.debug);
    assert_false(v.claims.revocation_checked);
    assert_int_equal(v.claims.crls_applied, 0);
    assert_int_equal(v.n_reasons, 2);
    assert_string_equal(v.reasons[0].code, "policy.debug");
    r = &v.reasons[1];
    assert_string_equal(r->code, "policy.revocation");
    assert_non_null(strstr(r->msg, "ark_crl.der")); /* names the missing file */
    assert_int_equal(gtee_hex_decode("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a6"
                                     "08eb0cf2e4872b01", m, 48), 0);
    assert_memory_equal(v.claims.snp.measurement, m, 48);
    assert_memory_equal(v.claims.report_data, "\x01\x02\x03\x04\x05", 5);
    assert_int_equal(v.claims.snp.guest_policy, 0xb0000);
    unload(&s);
}

static void test_milan_sample_policy_rules(void **state)
{
    struct snp_sample s;
    struct gtee_verdict v;
    struct gtee_policy p;
    const char *ok = "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"measurement\":[\"b07af9620f3b839b47996422ddec6058338951d984e31"
                     "2115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01\"]}}";
    const char *bad = "{\"allow_debug\":true,\"require_revocation\":false,\"tee_types\":[\"sgx\"],\"snp\":{\"measurement\":[\"b07af9620f3b839b47996"
                      "422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b00\"]}}";

    (void)state;
    load(&s);
    assert_int_equal(gtee_policy_parse(ok, strlen(ok), &p, NULL), 0);
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &s.col, NULL, &p, s.at, &v, NULL), 0);
    assert_true(v.accepted);
    assert_int_equal(gtee_policy_parse(bad, strlen(bad), &p, NULL), 0);
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &s.col, NULL, &p, s.at, &v, NULL), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "policy.snp.measurement"));
    assert_true(gtee_verdict_has(&v, "policy.tee_type"));
    unload(&s);
}

static void test_milan_sample_changed_or_without_vcek_is_rejected(void **state)
{
    struct snp_sample s;
    struct gtee_verdict v;
    struct gtee_policy p;
    struct gtee_collateral none = {0};

    (void)state;
    load(&s);
    gtee_policy_default(&p);
    p.allow_debug = true;
    s.report[0x90] ^= 1; /* MEASUREMENT */
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &s.col, NULL, &p, s.at, &v, NULL), GTEE_EPOLICY);
    assert_false(v.verified);
    assert_true(gtee_verdict_has(&v, "snp.signature"));
    s.report[0x90] ^= 1;
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &none, NULL, &p, s.at, &v, NULL), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "snp.vcek.missing"));
    unload(&s);
}

/* Verifies milan-1 under the policy JSON; returns the return code, v filled. */
static int verify_with(struct snp_sample *s, const char *json, struct gtee_verdict *v)
{
    struct gtee_policy p;

    assert_int_equal(gtee_policy_parse(json, strlen(json), &p, NULL), 0);
    return gtee_evidence_verify(s->report, s->len, &s->col, NULL, &p, s->at, v, NULL);
}

static void assert_only_reason(const struct gtee_verdict *v, const char *code)
{
    assert_true(v->verified);
    assert_false(v->accepted);
    assert_int_equal(v->n_reasons, 1);
    assert_string_equal(v->reasons[0].code, code);
}

/* milan-1's guest policy is 0xB0000 (ABI 0.0, SMT allowed, migration agent not allowed,
 * debug allowed) and its REPORTED_TCB 02 00 00 00 00 00 05 44 (bootloader 2, TEE 0, SNP 5,
 * microcode 0x44), as its expected.json says. */
static void test_milan_guest_policy_and_tcb_rules(void **state)
{
    struct snp_sample s;
    struct gtee_verdict v;

    (void)state;
    load(&s);
    /* SMT is allowed by default: debug is the only obstacle, as the sample's source says. */
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false}", &v), 0);
    assert_int_equal(v.claims.snp.reported_tcb, 0x4405000000000002ull);
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"allow_smt\":false}}", &v), GTEE_EPOLICY);
    assert_only_reason(&v, "policy.snp.smt");
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"min_abi_major\":1}}", &v), GTEE_EPOLICY);
    assert_only_reason(&v, "policy.snp.abi");
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"min_abi_minor\":1}}", &v), GTEE_EPOLICY);
    assert_only_reason(&v, "policy.snp.abi");
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"allow_migration_agent\":false,\"min_abi_major\":0,"
                                     "\"min_tcb\":{\"bootloader\":2,\"tee\":0,\"snp\":5,\"microcode\":68}}}", &v), 0);
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"min_tcb\":{\"microcode\":69}}}", &v), GTEE_EPOLICY);
    assert_only_reason(&v, "policy.snp.tcb");
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"min_tcb\":{\"snp\":6}}}", &v), GTEE_EPOLICY);
    assert_only_reason(&v, "policy.snp.tcb");
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false,\"snp\":{\"min_tcb\":{\"bootloader\":3}}}", &v),
                     GTEE_EPOLICY);
    assert_only_reason(&v, "policy.snp.tcb");
    /* Everything at once: every failing rule is listed. */
    assert_int_equal(verify_with(&s, "{\"snp\":{\"allow_smt\":false,\"min_abi_major\":2,\"min_tcb\":{\"tee\":1}}}", &v),
                     GTEE_EPOLICY);
    assert_int_equal(v.n_reasons, 5);
    assert_true(gtee_verdict_has(&v, "policy.debug"));
    assert_true(gtee_verdict_has(&v, "policy.revocation"));
    assert_true(gtee_verdict_has(&v, "policy.snp.smt"));
    assert_true(gtee_verdict_has(&v, "policy.snp.abi"));
    assert_true(gtee_verdict_has(&v, "policy.snp.tcb"));
    unload(&s);
}

/* No sample allows a migration agent, and the signature covers the policy: the rule is
 * checked on milan-1's verified claims with bit 18 set, through the shared policy engine. */
static void test_guest_policy_migration_agent_rule(void **state)
{
    struct snp_sample s;
    struct gtee_verdict v;
    struct gtee_policy p;

    (void)state;
    load(&s);
    assert_int_equal(verify_with(&s, "{\"allow_debug\":true,\"require_revocation\":false}", &v), 0);
    v.claims.snp.guest_policy |= 1u << 18;
    v.n_reasons = 0;
    gtee_policy_default(&p);
    p.allow_debug = true;
    p.require_revocation = 0; /* no AMD CRL beside milan-1 */
    gtee_policy_apply(&p, s.at, &v);
    assert_only_reason(&v, "policy.snp.migration_agent");
    v.n_reasons = 0;
    p.snp.allow_migration_agent = true;
    gtee_policy_apply(&p, s.at, &v);
    assert_true(v.accepted);
    unload(&s);
}

static void test_snp_policy_keys_are_validated(void **state)
{
    static const char *const bad[] = {
        "{\"snp\":{\"allow_smt\":1}}",
        "{\"snp\":{\"allow_migration_agent\":\"no\"}}",
        "{\"snp\":{\"min_abi_major\":256}}",
        "{\"snp\":{\"min_abi_minor\":-1}}",
        "{\"snp\":{\"min_tcb\":{\"fw\":1}}}",
        "{\"snp\":{\"min_tcb\":{\"microcode\":300}}}",
        "{\"snp\":{\"min_tcb\":[1,2]}}",
    };
    struct gtee_policy p;
    struct gtee_err e = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gtee_policy_parse(bad[i], strlen(bad[i]), &p, &e), GTEE_EFORMAT);
        assert_non_null(strstr(e.msg, "snp."));
        assert_true(p.snp.allow_smt); /* the defaults stand after a failure */
        assert_false(p.snp.allow_migration_agent);
    }
}

/* A CRL named for a pinned ARK (its whole subject), current at `at`, but signed by a key of
 * the test's: only AMD can sign one for the real ARK, so this is a forger's. */
static void forged_crl(enum gtee_snp_product p, int64_t at, struct gtee_blob *out)
{
    size_t len = 0;
    const uint8_t *der = gtee_snp_ark_der(p, &len);
    const unsigned char *q = der;
    X509 *ark = d2i_X509(NULL, &q, (long)len);
    X509_CRL *crl = X509_CRL_new();
    EVP_PKEY *key = EVP_RSA_gen(2048);
    unsigned char *enc = NULL;
    int n;

    assert_true(ark && crl && key);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark)), 1);
    {
        ASN1_TIME *t = ASN1_TIME_new();

        assert_non_null(ASN1_TIME_set(t, (time_t)at - 86400));
        assert_int_equal(X509_CRL_set1_lastUpdate(crl, t), 1);
        assert_non_null(ASN1_TIME_set(t, (time_t)at + 86400));
        assert_int_equal(X509_CRL_set1_nextUpdate(crl, t), 1);
        ASN1_TIME_free(t);
    }
    assert_true(X509_CRL_sign(crl, key, EVP_sha384()) > 0);
    n = i2d_X509_CRL(crl, &enc);
    assert_true(n > 0);
    out->p = malloc((size_t)n);
    assert_non_null(out->p);
    memcpy(out->p, enc, (size_t)n);
    out->len = (size_t)n;
    OPENSSL_free(enc);
    EVP_PKEY_free(key);
    X509_CRL_free(crl);
    X509_free(ark);
}

/* milan-1 with a forged ark_crl.der, against AMD's real pinned roots: ARK-Milan's name with
 * another key's signature is snp.crl.signature; ARK-Genoa's CRL beside a Milan VCEK is
 * snp.crl.issuer naming Genoa. Either rejects the evidence itself (not only the policy). */
static void test_milan_sample_with_a_forged_crl_is_rejected(void **state)
{
    struct snp_sample s;
    struct gtee_verdict v;
    struct gtee_policy p;

    (void)state;
    load(&s);
    gtee_policy_default(&p);
    p.allow_debug = true;
    p.require_revocation = 0; /* a bad CRL rejects whatever the policy */
    forged_crl(GTEE_SNP_PRODUCT_MILAN, s.at, &s.col.snp_ark_crl);
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &s.col, NULL, &p, s.at, &v, NULL), GTEE_EPOLICY);
    assert_false(v.verified);
    assert_true(gtee_verdict_has(&v, "snp.crl.signature"));
    assert_false(v.claims.revocation_checked);
    free(s.col.snp_ark_crl.p);
    forged_crl(GTEE_SNP_PRODUCT_GENOA, s.at, &s.col.snp_ark_crl);
    assert_int_equal(gtee_evidence_verify(s.report, s.len, &s.col, NULL, &p, s.at, &v, NULL), GTEE_EPOLICY);
    assert_false(v.verified);
    assert_true(gtee_verdict_has(&v, "snp.crl.issuer"));
    assert_non_null(strstr(v.reasons[0].msg, "ARK-Genoa"));
    unload(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milan_sample_is_rejected_by_default_policy_for_debug_and_revocation),
        cmocka_unit_test(test_milan_sample_policy_rules),
        cmocka_unit_test(test_milan_sample_changed_or_without_vcek_is_rejected),
        cmocka_unit_test(test_milan_guest_policy_and_tcb_rules),
        cmocka_unit_test(test_guest_policy_migration_agent_rule),
        cmocka_unit_test(test_snp_policy_keys_are_validated),
        cmocka_unit_test(test_milan_sample_with_a_forged_crl_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
