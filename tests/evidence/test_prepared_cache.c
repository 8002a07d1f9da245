/* Prepared collateral keeps the results of the time-independent checks (chains, CRLs,
 * collateral signatures, the PCK chain of one quote) for the exact bytes they came from. These
 * tests show the cache cannot be abused: every verification with prepared collateral gives the
 * verdict of a verification without it (same acceptance, same reasons) for quotes whose PCK
 * chain differs in any byte, for times outside the windows, for revoked certificates, and for
 * several quotes against one prepared collateral, each with its own signature checks. Test PKI
 * of sim_pki.h and the real samples of tests/vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/prepared_pair.h"

/* A world's collateral twice (prepared_pair.h), `prep` prepared with the world's own
 * quote's PCK chain too. */
static void pair_make(struct prepared_pair *s, const struct sim_opts *o)
{
    prepared_pair_make(s, o, true);
    /* the prepared results exist and match these anchors (else these tests would only ever
     * see the full path), and a chain failing a time-independent check (a revoked leaf) is
     * not kept */
    {
        struct gtee_pck_cache_stats st;

        assert_non_null(dcap_fast_match(&s->prep, &s->a));
        gtee_collateral_pck_stats(&s->prep, &st);
        assert_int_equal(st.entries, o->revoke_leaf ? 0 : 1);
    }
}

static void test_prepared_world_is_accepted_as_without_preparation(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;

    (void)state;
    pair_make(&s, &(struct sim_opts){0});
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_true(v.accepted);
    assert_true(v.claims.simulated);
    prepared_pair_free(&s);
}

/* Every byte of the quote's PCK chain changed in turn (stride 5, each of the three PEM
 * certificates covered): the prepared result is not used; the verdict is the full path's,
 * and a changed certificate is never accepted. */
static void test_pck_chain_differing_in_any_byte_takes_the_full_path(void **state)
{
    struct prepared_pair s;
    struct dcap_quote q;
    struct gtee_verdict v;
    size_t rejected = 0, tried = 0;

    (void)state;
    pair_make(&s, &(struct sim_opts){0});
    assert_int_equal(dcap_quote_parse(s.w.quote, s.w.quote_len, &q, NULL), 0);
    for (size_t i = 0; i < q.cert_data.len; i += 5) {
        uint8_t *b = s.w.quote + q.cert_data.off + i;
        uint8_t old = *b;

        *b ^= 0x01;
        tried++;
        if (prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v) != 0) {
            rejected++;
            assert_false(v.accepted);
        }
        *b = old;
    }
    /* Only a change the PEM decoder ignores (line ends, the padding bits of the last base64
     * group) can leave the certificates as they were; everything else is rejected. */
    print_message("  %zu of %zu single-byte changes rejected\n", rejected, tried);
    assert_true(rejected * 10 >= tried * 9);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    prepared_pair_free(&s);
}

/* A quote whose PCK leaf carries the same names and key but is signed by another key:
 * the chain differs from the prepared one, goes the full path and fails on the signature. */
static void test_forged_pck_leaf_is_rejected_with_prepared_collateral(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    struct der ext;
    static const uint8_t fmspc[6] = { 0x00, 0xa0, 0x67, 0x11, 0x00, 0x00 };
    EVP_PKEY *rogue = sim_key();

    (void)state;
    pair_make(&s, &(struct sim_opts){0});
    X509_free(s.w.leaf);
    sim_sgx_ext(&ext, fmspc);
    s.w.leaf = sim_cert(s.w.leaf_key, rogue, s.w.ca, "Simulated PCK Certificate", false, 3,
                        SIM_T0 - 365 * SIM_DAY, SIM_T0 + 365 * SIM_DAY, &ext);
    free(s.w.quote);
    sim_quote(&s.w, &(struct sim_opts){0});
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.signature"));
    EVP_PKEY_free(rogue);
    prepared_pair_free(&s);
}

/* Prepared collateral at times around and outside its windows (the CRLs' and documents':
 * issued at T0, next update at T0 + 30 days; the PCK leaf's): the verdict is the one without
 * preparation at every second tried, and outside the windows it is a rejection. */
static void test_prepared_collateral_outside_its_window_is_rejected(void **state)
{
    static const int64_t times[] = { SIM_T0 - 365 * SIM_DAY - 1, SIM_T0 - 1, SIM_T0, SIM_T0 + 1,
                                     SIM_T0 + 30 * SIM_DAY - 1, SIM_T0 + 30 * SIM_DAY, SIM_T0 + 30 * SIM_DAY + 1,
                                     SIM_T0 + 365 * SIM_DAY, SIM_T0 + 3650 * SIM_DAY + 1 };
    struct prepared_pair s;
    struct gtee_verdict v;

    (void)state;
    pair_make(&s, &(struct sim_opts){0});
    for (size_t i = 0; i < GTEE_ARRAY_LEN(times); i++)
        (void)prepared_pair_verify(&s, s.w.quote, s.w.quote_len, times[i], &v);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 - 1, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.not_yet_valid"));
    assert_true(gtee_verdict_has(&v, "pck.chain.crl_not_yet_valid"));
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 30 * SIM_DAY + 1, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.expired"));
    assert_true(gtee_verdict_has(&v, "pck.chain.crl_expired"));
    /* inside every window again: accepted from the same prepared object */
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    prepared_pair_free(&s);

    /* the PCK leaf expires at T0 + 5 days: prepared (its time is not checked then), it is
     * accepted before and rejected after, call by call */
    pair_make(&s, &(struct sim_opts){ .leaf_expired = true });
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 2 * SIM_DAY, &v), 0);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.expired"));
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 2 * SIM_DAY, &v), 0);
    prepared_pair_free(&s);
}

/* Revocation: a certificate revoked by the CRL the collateral was prepared with is rejected
 * on every call; a CRL that changes after a cache hit (now listing the PCK leaf) is new bytes,
 * so the prepared results are not used and the leaf is rejected as revoked. */
static void test_revoked_certificate_is_rejected_after_a_cache_hit(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    char path[128];

    (void)state;
    pair_make(&s, &(struct sim_opts){ .revoke_leaf = true });
    for (int k = 0; k < 2; k++) {
        assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
        assert_true(gtee_verdict_has(&v, "pck.chain.revoked"));
    }
    prepared_pair_free(&s);

    pair_make(&s, &(struct sim_opts){ .revoke_tcb_signer = true });
    for (int k = 0; k < 2; k++) {
        assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
        assert_true(gtee_verdict_has(&v, "collateral.tcb_info.chain.revoked"));
        assert_true(gtee_verdict_has(&v, "collateral.qe_identity.chain.revoked"));
    }
    prepared_pair_free(&s);

    pair_make(&s, &(struct sim_opts){0});
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0); /* cache hit */
    snprintf(path, sizeof(path), "%s/pck_crl.der", s.w.dir);
    sim_write_crl(path, s.w.ca, s.w.ca_key, s.w.leaf);
    read_into(path, &s.prep.pck_crl);
    read_into(path, &s.plain.pck_crl);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.revoked"));
    prepared_pair_free(&s);
}

/* Re-signs the quote's header and body with the world's attestation key (after a change). */
static void resign(struct sim_world *w)
{
    struct dcap_quote q;

    assert_int_equal(dcap_quote_parse(w->quote, w->quote_len, &q, NULL), 0);
    sim_sign(w->att_key, w->quote, q.signed_len, w->quote + q.signature.off);
}

/* Two quotes of one platform against one prepared collateral: the second (other report data,
 * same PCK chain and attestation key) is accepted on its own signatures, and each of its
 * quote-specific checks still fails on a flipped byte: quote signature, QE report signature,
 * attestation key binding, signed body. */
static void test_each_quote_gets_its_own_signature_checks(void **state)
{
    struct prepared_pair s;
    struct dcap_quote q;
    struct gtee_verdict v;
    uint8_t *second;

    (void)state;
    pair_make(&s, &(struct sim_opts){0});
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_int_equal(dcap_quote_parse(s.w.quote, s.w.quote_len, &q, NULL), 0);
    second = s.w.quote;
    memcpy(second + q.report_data.off, "the second quote", 16);
    resign(&s.w);
    assert_int_equal(prepared_pair_verify(&s, second, s.w.quote_len, s.w.at, &v), 0);
    assert_memory_equal(v.claims.report_data, "the second quote", 16);

    second[q.signature.off + 7] ^= 0x01;
    assert_int_equal(prepared_pair_verify(&s, second, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "quote.signature"));
    second[q.signature.off + 7] ^= 0x01;

    second[q.report_data.off] ^= 0x01; /* body changed, signature not */
    assert_int_equal(prepared_pair_verify(&s, second, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "quote.signature"));
    second[q.report_data.off] ^= 0x01;

    second[q.qe_report_sig.off + 40] ^= 0x01;
    assert_int_equal(prepared_pair_verify(&s, second, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "qe_report.signature"));
    second[q.qe_report_sig.off + 40] ^= 0x01;

    second[q.qe_auth.off] ^= 0x01;
    assert_int_equal(prepared_pair_verify(&s, second, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "qe_report.binding"));
    second[q.qe_auth.off] ^= 0x01;

    /* another attestation key (the prepared decoded key no longer matches): the quote signed
     * with it verifies, but the QE report does not bind it */
    EVP_PKEY_free(s.w.att_key);
    s.w.att_key = sim_key();
    sim_pub_xy(s.w.att_key, second + q.att_key.off);
    resign(&s.w);
    assert_int_equal(prepared_pair_verify(&s, second, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "qe_report.binding"));
    assert_false(gtee_verdict_has(&v, "quote.signature"));
    prepared_pair_free(&s);
}

/* Prepared with other anchors than a verification uses (no simulated root): nothing prepared
 * is used, and the chains are untrusted as without preparation. */
static void test_prepared_with_other_anchors_is_not_used(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v, full;

    (void)state;
    pair_make(&s, &(struct sim_opts){0});
    assert_int_equal(gtee_evidence_verify(s.w.quote, s.w.quote_len, &s.prep, NULL, &s.p, s.w.at, &v, NULL),
                     GTEE_EPOLICY);
    assert_int_equal(gtee_evidence_verify(s.w.quote, s.w.quote_len, &s.plain, NULL, &s.p, s.w.at, &full, NULL),
                     GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.untrusted"));
    assert_int_equal(v.n_reasons, full.n_reasons);
    prepared_pair_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepared_world_is_accepted_as_without_preparation),
        cmocka_unit_test(test_pck_chain_differing_in_any_byte_takes_the_full_path),
        cmocka_unit_test(test_forged_pck_leaf_is_rejected_with_prepared_collateral),
        cmocka_unit_test(test_prepared_collateral_outside_its_window_is_rejected),
        cmocka_unit_test(test_revoked_certificate_is_rejected_after_a_cache_hit),
        cmocka_unit_test(test_each_quote_gets_its_own_signature_checks),
        cmocka_unit_test(test_prepared_with_other_anchors_is_not_used),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
