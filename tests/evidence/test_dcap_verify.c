/* Intel DCAP verification against the real samples: each verifies at its expected time with
 * the expected TCB status and advisories, is rejected after its collateral expires and before
 * its certificates are valid, and every mutated region is rejected with a reason naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <time.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/evidence_samples.h"

static const char *const samples[] = { "sgx/sgx-1", "tdx/tdx-1" };

static void print_reasons(const struct gtee_verdict *v)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("  reason %s: %s\n", v->reasons[i].code, v->reasons[i].msg);
}

static void test_sgx1_verifies_with_expected_tcb_status_and_advisories(void **state)
{
    struct sample s;
    struct gtee_policy p;
    struct gtee_verdict v;
    int rc;

    (void)state;
    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    policy_any_tcb(&p);
    rc = gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL);
    print_reasons(&v);
    assert_int_equal(rc, 0);
    assert_true(v.accepted);
    assert_true(v.verified);
    assert_false(v.claims.simulated);
    assert_int_equal(v.claims.tee, GTEE_TEE_SGX);
    assert_string_equal(gtee_tcb_status_name(v.claims.tcb_status), "ConfigurationAndSWHardeningNeeded");
    assert_int_equal(v.claims.n_advisories, 2);
    assert_string_equal(v.claims.advisory_ids[0], "INTEL-SA-00289");
    assert_string_equal(v.claims.advisory_ids[1], "INTEL-SA-00615");
    assert_memory_equal(v.claims.report_data, "Hello, world!", 13);
    sample_free(&s);
}

static void test_tdx1_verifies_up_to_date_without_advisories(void **state)
{
    struct sample s;
    struct gtee_verdict v;
    int rc;

    (void)state;
    assert_int_equal(sample_load("tdx/tdx-1", &s), 0);
    /* The default policy accepts UpToDate only: tdx-1 passes it as is. */
    rc = gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, NULL, s.at, &v, NULL);
    print_reasons(&v);
    assert_int_equal(rc, 0);
    assert_true(v.accepted);
    assert_int_equal(v.claims.tee, GTEE_TEE_TDX);
    assert_int_equal(v.claims.quote_version, 4);
    assert_int_equal(v.claims.tcb_status, GTEE_TCB_UP_TO_DATE);
    assert_int_equal(v.claims.n_advisories, 0);
    assert_false(v.claims.debug);
    sample_free(&s);
}

/* Verifies s (with any changes the caller made) and checks it is rejected with a reason
 * whose code starts with want. */
static void expect_rejected(const struct sample *s, const struct gtee_collateral *col, int64_t at, const char *want,
                            const char *what)
{
    struct gtee_policy p;
    struct gtee_verdict v;
    int rc;

    policy_any_tcb(&p);
    rc = gtee_evidence_verify(s->quote, s->quote_len, col, NULL, &p, at, &v, NULL);
    if (rc == 0 || !gtee_verdict_has(&v, want)) {
        print_message("%s: want a reason %s, got rc %d:\n", what, want, rc);
        print_reasons(&v);
    }
    assert_int_not_equal(rc, 0);
    assert_false(v.accepted);
    assert_true(gtee_verdict_has(&v, want));
}

static void flip_quote(const struct sample *s, size_t off, const char *want, const char *what)
{
    s->quote[off] ^= 0x01;
    expect_rejected(s, &s->col, s->at, want, what);
    s->quote[off] ^= 0x01;
}

/* Changes one base64 digit in the middle of the k-th certificate of a PEM text. Returns false
 * if there is no k-th certificate. */
static bool flip_pem_cert(uint8_t *pem, size_t len, int k, size_t *where)
{
    const char *begin = "-----BEGIN CERTIFICATE-----";
    char *p = (char *)pem, *end;

    for (int i = 0; i <= k; i++) {
        p = memmem(p, len - (size_t)((uint8_t *)p - pem), begin, strlen(begin));
        if (!p)
            return false;
        p += strlen(begin);
    }
    end = memmem(p, len - (size_t)((uint8_t *)p - pem), "-----END", 8);
    assert_non_null(end);
    p += (end - p) * 2 / 3; /* inside the signature value, so the DER still decodes */
    while (*p == '\n' || *p == '\r')
        p++;
    *where = (size_t)((uint8_t *)p - pem);
    *p = *p == 'A' ? 'B' : 'A';
    return true;
}

static void test_every_quote_region_flip_is_rejected_naming_it(void **state)
{
    (void)state;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(samples); i++) {
        struct sample s;
        struct dcap_quote q;

        assert_int_equal(sample_load(samples[i], &s), 0);
        assert_int_equal(dcap_quote_parse(s.quote, s.quote_len, &q, NULL), 0);
        flip_quote(&s, 30, "quote.signature", "header user data");
        flip_quote(&s, 12, "quote.header.qe_vendor", "header QE vendor ID");
        flip_quote(&s, 0, "quote.malformed", "header version");
        flip_quote(&s, q.body.off + 70, "quote.signature", "body");
        flip_quote(&s, q.report_data.off + 3, "quote.signature", "report data");
        flip_quote(&s, q.signature.off + 7, "quote.signature", "quote signature");
        flip_quote(&s, q.att_key.off + 9, "qe_report.binding", "attestation key");
        flip_quote(&s, q.qe_report.off + 200, "qe_report.signature", "QE report");
        flip_quote(&s, q.qe_report_sig.off + 40, "qe_report.signature", "QE report signature");
        if (q.qe_auth.len)
            flip_quote(&s, q.qe_auth.off, "qe_report.binding", "QE authentication data");
        for (int k = 0; k < 3; k++) {
            uint8_t *pem = s.quote + q.cert_data.off;
            size_t at;

            assert_true(flip_pem_cert(pem, q.cert_data.len, k, &at));
            expect_rejected(&s, &s.col, s.at, "pck.chain.", "PCK chain certificate");
            pem[at] = pem[at] == 'A' ? 'B' : 'A';
        }
        sample_free(&s);
    }
}

static void flip_blob_hex(const struct sample *s, struct gtee_blob *b, const char *needle, size_t skip,
                          const char *want, const char *what)
{
    uint8_t *p = memmem(b->p, b->len, needle, strlen(needle));
    uint8_t old;

    assert_non_null(p);
    p += strlen(needle) + skip;
    old = *p;
    *p = old == '0' ? '1' : '0';
    expect_rejected(s, &s->col, s->at, want, what);
    *p = old;
}

static void test_every_collateral_region_flip_is_rejected_naming_it(void **state)
{
    (void)state;
    /* Twice: as loaded, and prepared (parsed once), where a blob changed after preparing must
     * be seen as changed. */
    for (size_t i = 0; i < 2 * GTEE_ARRAY_LEN(samples); i++) {
        struct sample s;
        size_t at;

        assert_int_equal(sample_load(samples[i % GTEE_ARRAY_LEN(samples)], &s), 0);
        if (i >= GTEE_ARRAY_LEN(samples))
            assert_int_equal(gtee_collateral_prepare(&s.col, NULL, NULL), 0);
        flip_blob_hex(&s, &s.col.tcb_info, "\"signature\":\"", 20, "collateral.tcb_info.signature",
                      "TCB info signature");
        flip_blob_hex(&s, &s.col.tcb_info, "\"tcbEvaluationDataNumber\":", 1, "collateral.tcb_info.signature",
                      "TCB info body");
        flip_blob_hex(&s, &s.col.qe_identity, "\"signature\":\"", 33, "collateral.qe_identity.signature",
                      "QE identity signature");
        flip_blob_hex(&s, &s.col.qe_identity, "\"isvprodid\":", 0, "collateral.qe_identity.signature",
                      "QE identity body");
        for (int k = 0; k < 2; k++) {
            assert_true(flip_pem_cert(s.col.tcb_info_chain.p, s.col.tcb_info_chain.len, k, &at));
            expect_rejected(&s, &s.col, s.at, "collateral.tcb_info.chain.", "TCB info chain");
            s.col.tcb_info_chain.p[at] = s.col.tcb_info_chain.p[at] == 'A' ? 'B' : 'A';
            assert_true(flip_pem_cert(s.col.qe_identity_chain.p, s.col.qe_identity_chain.len, k, &at));
            expect_rejected(&s, &s.col, s.at, "collateral.qe_identity.chain.", "QE identity chain");
            s.col.qe_identity_chain.p[at] = s.col.qe_identity_chain.p[at] == 'A' ? 'B' : 'A';
        }
        sample_free(&s);
    }
}

static void test_prepared_collateral_gives_the_same_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(samples); i++) {
        struct sample s;
        struct gtee_policy p;
        struct gtee_verdict a, b;

        assert_int_equal(sample_load(samples[i], &s), 0);
        policy_any_tcb(&p);
        assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &a, NULL), 0);
        assert_int_equal(gtee_collateral_prepare(&s.col, NULL, NULL), 0);
        assert_non_null(s.col.prepared);
        for (int k = 0; k < 3; k++) {
            assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &b, NULL), 0);
            assert_memory_equal(&a.claims, &b.claims, sizeof(a.claims));
        }
        /* the PCK certificates kept parsed too: same claims; a changed PCK certificate in
         * the quote is still parsed afresh and rejected */
        assert_int_equal(gtee_collateral_prepare_pck(&s.col, s.quote, s.quote_len, NULL), 0);
        assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &b, NULL), 0);
        assert_memory_equal(&a.claims, &b.claims, sizeof(a.claims));
        {
            struct dcap_quote q;
            size_t at;

            assert_int_equal(dcap_quote_parse(s.quote, s.quote_len, &q, NULL), 0);
            assert_true(flip_pem_cert(s.quote + q.cert_data.off, q.cert_data.len, 0, &at));
            expect_rejected(&s, &s.col, s.at, "pck.chain.", "prepared PCK chain, leaf changed");
        }
        /* still time-checked on every call */
        expect_rejected(&s, &s.col, s.at + 31 * 86400, "collateral.tcb_info.expired", "prepared, a month later");
        sample_free(&s);
    }
}

static void test_collateral_is_expired_one_second_after_its_time(void **state)
{
    (void)state;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(samples); i++) {
        struct sample s;
        struct gtee_verdict v;
        struct gtee_policy p;

        assert_int_equal(sample_load(samples[i], &s), 0);
        policy_any_tcb(&p);
        assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL), 0);
        /* the sample's time is one second before the earliest nextUpdate */
        assert_int_equal(v.claims.collateral_next_update, s.at + 1);
        expect_rejected(&s, &s.col, s.at + 2, "", "one second past nextUpdate");
        assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at + 2, &v, NULL),
                         GTEE_EPOLICY);
        assert_true(gtee_verdict_has(&v, "collateral.qe_identity.expired") ||
                    gtee_verdict_has(&v, "pck.chain.crl_expired"));
        /* a month later, the TCB info and QE identity are both expired */
        expect_rejected(&s, &s.col, s.at + 31 * 86400, "collateral.tcb_info.expired", "a month later");
        expect_rejected(&s, &s.col, s.at + 31 * 86400, "collateral.qe_identity.expired", "a month later");
        sample_free(&s);
    }
}

/* The PCK leaf's validity window, read from the quote. */
static void pck_leaf_window(const struct sample *s, int64_t *nb, int64_t *na)
{
    struct dcap_quote q;
    BIO *bio;
    X509 *x;
    struct tm tm;

    assert_int_equal(dcap_quote_parse(s->quote, s->quote_len, &q, NULL), 0);
    bio = BIO_new_mem_buf(q.cert_data.p, (int)q.cert_data.len);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(x);
    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
    *nb = (int64_t)timegm(&tm);
    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
    *na = (int64_t)timegm(&tm);
    X509_free(x);
    BIO_free(bio);
}

static void test_pck_leaf_outside_its_validity_is_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(samples); i++) {
        struct sample s;
        struct gtee_collateral no_crl;
        int64_t nb, na;

        assert_int_equal(sample_load(samples[i], &s), 0);
        pck_leaf_window(&s, &nb, &na);
        /* Without CRLs, so the certificate's own window is the first thing that fails. */
        no_crl = s.col;
        memset(&no_crl.pck_crl, 0, sizeof(no_crl.pck_crl));
        memset(&no_crl.root_ca_crl, 0, sizeof(no_crl.root_ca_crl));
        expect_rejected(&s, &no_crl, nb - 1, "pck.chain.not_yet_valid", "before the PCK leaf's notBefore");
        expect_rejected(&s, &no_crl, na + 1, "pck.chain.expired", "after the PCK leaf's notAfter");
        /* With CRLs the verdict is a rejection too (the CRLs are not yet issued then). */
        expect_rejected(&s, &s.col, nb - 1, "pck.chain.", "before notBefore, with CRLs");
        sample_free(&s);
    }
}

static void test_debug_sgx_enclave_is_rejected_by_default_policy(void **state)
{
    struct sample s;
    struct gtee_verdict v;
    struct gtee_policy p;
    struct dcap_quote q;

    (void)state;
    /* The sample is not debug; claims must say so, and a policy check on a debug claim must
     * reject. The signature would break if the bit were flipped, so apply the policy to the
     * verified claims with the debug bit set, as a debug enclave's quote would carry it. */
    assert_int_equal(sample_load("sgx/sgx-1", &s), 0);
    assert_int_equal(dcap_quote_parse(s.quote, s.quote_len, &q, NULL), 0);
    policy_any_tcb(&p);
    assert_int_equal(gtee_evidence_verify(s.quote, s.quote_len, &s.col, NULL, &p, s.at, &v, NULL), 0);
    assert_false(v.claims.debug);
    v.claims.debug = true;
    v.n_reasons = 0;
    gtee_policy_apply(&p, s.at, &v);
    assert_false(v.accepted);
    assert_true(gtee_verdict_has(&v, "policy.debug"));
    sample_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx1_verifies_with_expected_tcb_status_and_advisories),
        cmocka_unit_test(test_tdx1_verifies_up_to_date_without_advisories),
        cmocka_unit_test(test_every_quote_region_flip_is_rejected_naming_it),
        cmocka_unit_test(test_every_collateral_region_flip_is_rejected_naming_it),
        cmocka_unit_test(test_prepared_collateral_gives_the_same_verdicts),
        cmocka_unit_test(test_collateral_is_expired_one_second_after_its_time),
        cmocka_unit_test(test_pck_leaf_outside_its_validity_is_rejected),
        cmocka_unit_test(test_debug_sgx_enclave_is_rejected_by_default_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
