/* Simulated evidence under a test PKI built here (sim_pki.h): reported as simulated and
 * accepted only when the policy allows simulation; revoked (CRL) and expired certificates,
 * debug enclaves, Revoked TCB levels and mismatching collateral are rejected with their
 * reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/sim_pki.h"

static void print_reasons(const struct gtee_verdict *v)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        print_message("  reason %s: %s\n", v->reasons[i].code, v->reasons[i].msg);
}

/* Builds a world with opts and verifies its quote with the sim root trusted. */
static int verify_world(const struct sim_opts *o, const struct gtee_policy *p, bool trust_sim, int64_t dt,
                        struct gtee_verdict *v)
{
    struct sim_world w;
    struct gtee_collateral col;
    struct gtee_anchors a = {0};
    int rc;

    sim_world_make(&w, o);
    assert_int_equal(gtee_collateral_load(w.dir, &col, NULL), 0);
    if (trust_sim) {
        a.sim_root_der = w.root_der;
        a.sim_root_len = w.root_der_len;
    }
    rc = gtee_evidence_verify(w.quote, w.quote_len, &col, &a, p, w.at + dt, v, NULL);
    print_reasons(v);
    gtee_collateral_free(&col);
    sim_world_free(&w);
    return rc;
}

static void sim_policy(struct gtee_policy *p)
{
    gtee_policy_default(p);
    p->allow_simulation = true;
}

static void test_sim_evidence_is_accepted_only_when_policy_allows_simulation(void **state)
{
    struct sim_opts o = {0};
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    gtee_policy_default(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_true(v.claims.simulated);
    assert_true(gtee_verdict_has(&v, "policy.simulation"));
    assert_int_equal(v.n_reasons, 1);
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), 0);
    assert_true(v.accepted);
    assert_true(v.claims.simulated);
    assert_int_equal(v.claims.tcb_status, GTEE_TCB_UP_TO_DATE);
    assert_int_equal(v.claims.n_advisories, 1);
    assert_string_equal(v.claims.advisory_ids[0], "INTEL-SA-99999");
    assert_int_equal(v.claims.sgx.isv_prod_id, 3);
    assert_int_equal(v.claims.sgx.isv_svn, 4);
    assert_memory_equal(v.claims.report_data, "simulated report data", 21);
}

static void test_sim_evidence_without_the_sim_root_is_untrusted(void **state)
{
    struct sim_opts o = {0};
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, false, 0, &v), GTEE_EPOLICY);
    assert_false(v.verified);
    assert_false(v.claims.simulated);
    assert_true(gtee_verdict_has(&v, "pck.chain.untrusted"));
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.chain.untrusted"));
}

static void test_pck_leaf_revoked_by_crl_is_rejected(void **state)
{
    struct sim_opts o = { .revoke_leaf = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.revoked"));
    assert_non_null(strstr(v.reasons[0].msg, "PCK leaf"));
}

static void test_tcb_signer_revoked_by_root_crl_is_rejected(void **state)
{
    struct sim_opts o = { .revoke_tcb_signer = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.chain.revoked"));
    assert_true(gtee_verdict_has(&v, "collateral.qe_identity.chain.revoked"));
}

static void test_expired_pck_leaf_is_rejected(void **state)
{
    struct sim_opts o = { .leaf_expired = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.expired"));
    /* the same world verified before the leaf expired is fine */
    assert_int_equal(verify_world(&o, &p, true, -6 * SIM_DAY, &v), 0);
}

static void test_collateral_outside_its_window_is_rejected(void **state)
{
    struct sim_opts o = {0};
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 21 * SIM_DAY, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.expired"));
    assert_true(gtee_verdict_has(&v, "collateral.qe_identity.expired"));
    assert_int_equal(verify_world(&o, &p, true, -11 * SIM_DAY, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.not_yet_valid"));
}

static void test_debug_enclave_is_rejected_by_default_policy(void **state)
{
    struct sim_opts o = { .debug = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_true(v.claims.debug);
    assert_true(gtee_verdict_has(&v, "policy.debug"));
    p.allow_debug = true;
    assert_int_equal(verify_world(&o, &p, true, 0, &v), 0);
}

static void test_revoked_tcb_level_is_rejected_whatever_the_policy(void **state)
{
    struct sim_opts o = { .tcb_status = "Revoked" };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    p.accepted_tcb = ~0u;
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_false(v.verified);
    assert_true(gtee_verdict_has(&v, "tcb.revoked"));
}

static void test_out_of_date_level_is_a_policy_decision(void **state)
{
    struct sim_opts o = { .tcb_status = "OutOfDate" };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_true(gtee_verdict_has(&v, "policy.tcb_status"));
    p.accepted_tcb |= 1u << GTEE_TCB_OUT_OF_DATE;
    assert_int_equal(verify_world(&o, &p, true, 0, &v), 0);
    assert_int_equal(v.claims.tcb_status, GTEE_TCB_OUT_OF_DATE);
}

static void test_mismatching_qe_identity_and_fmspc_are_rejected(void **state)
{
    struct sim_opts o = { .qe_wrong_mrsigner = true };
    struct sim_opts f = { .wrong_fmspc = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "qe_identity.mrsigner"));
    assert_int_equal(verify_world(&f, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.fmspc"));
}

static void test_sim_tdx_quote_verifies_and_debug_td_is_rejected(void **state)
{
    struct sim_opts o = { .tdx = true };
    struct sim_opts d = { .tdx = true, .debug = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), 0);
    assert_int_equal(v.claims.tee, GTEE_TEE_TDX);
    assert_int_equal(v.claims.quote_version, 4);
    assert_true(v.claims.simulated);
    assert_false(v.claims.debug);
    assert_int_equal(v.claims.tcb_status, GTEE_TCB_UP_TO_DATE);
    assert_int_equal(v.claims.tdx.mrtd[0], 0x7d);
    assert_int_equal(v.claims.tdx.rtmr[3][47], 0xa3);
    assert_int_equal(verify_world(&d, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(v.verified);
    assert_true(v.claims.debug);
    assert_true(gtee_verdict_has(&v, "policy.debug"));
    p.allow_debug = true;
    assert_int_equal(verify_world(&d, &p, true, 0, &v), 0);
}

static void test_sim_tdx_module_identity_mismatch_is_rejected(void **state)
{
    struct sim_opts o = { .tdx = true, .module_wrong_mrsigner = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "tcb.tdx_module.mrsigner"));
}

static void test_sim_tdx_v5_quote_verifies(void **state)
{
    struct sim_opts o = { .tdx = true, .tdx_v5 = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), 0);
    assert_int_equal(v.claims.tee, GTEE_TEE_TDX);
    assert_int_equal(v.claims.quote_version, 5);
    assert_int_equal(v.claims.tdx.mrtd[0], 0x7d);
    assert_memory_equal(v.claims.report_data, "simulated report data", 21);
}

static void test_crl_with_a_bad_signature_is_rejected(void **state)
{
    struct sim_opts o = { .crl_wrong_signer = true };
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_policy(&p);
    assert_int_equal(verify_world(&o, &p, true, 0, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.crl_signature"));
}

static void test_malformed_crl_file_is_rejected(void **state)
{
    struct sim_opts o = {0};
    struct sim_world w;
    struct gtee_collateral col;
    struct gtee_anchors a = {0};
    struct gtee_policy p;
    struct gtee_verdict v;

    (void)state;
    sim_world_make(&w, &o);
    sim_write(w.dir, "root_ca_crl.der", "\x30\x03\x02\x01", 4);
    assert_int_equal(gtee_collateral_load(w.dir, &col, NULL), 0);
    a.sim_root_der = w.root_der;
    a.sim_root_len = w.root_der_len;
    sim_policy(&p);
    assert_int_equal(gtee_evidence_verify(w.quote, w.quote_len, &col, &a, &p, w.at, &v, NULL), GTEE_EPOLICY);
    print_reasons(&v);
    assert_true(gtee_verdict_has(&v, "collateral.crl.malformed"));
    gtee_collateral_free(&col);
    sim_world_free(&w);
}

static void test_sim_root_subject_says_simulated(void **state)
{
    struct sim_opts o = {0};
    struct sim_world w;
    char cn[128];

    (void)state;
    sim_world_make(&w, &o);
    X509_NAME_get_text_by_NID(X509_get_subject_name(w.root), NID_commonName, cn, sizeof(cn));
    assert_non_null(strstr(cn, "SIMULATED"));
    sim_world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_evidence_is_accepted_only_when_policy_allows_simulation),
        cmocka_unit_test(test_sim_evidence_without_the_sim_root_is_untrusted),
        cmocka_unit_test(test_pck_leaf_revoked_by_crl_is_rejected),
        cmocka_unit_test(test_tcb_signer_revoked_by_root_crl_is_rejected),
        cmocka_unit_test(test_expired_pck_leaf_is_rejected),
        cmocka_unit_test(test_collateral_outside_its_window_is_rejected),
        cmocka_unit_test(test_debug_enclave_is_rejected_by_default_policy),
        cmocka_unit_test(test_revoked_tcb_level_is_rejected_whatever_the_policy),
        cmocka_unit_test(test_out_of_date_level_is_a_policy_decision),
        cmocka_unit_test(test_mismatching_qe_identity_and_fmspc_are_rejected),
        cmocka_unit_test(test_sim_tdx_quote_verifies_and_debug_td_is_rejected),
        cmocka_unit_test(test_sim_tdx_module_identity_mismatch_is_rejected),
        cmocka_unit_test(test_sim_tdx_v5_quote_verifies),
        cmocka_unit_test(test_crl_with_a_bad_signature_is_rejected),
        cmocka_unit_test(test_malformed_crl_file_is_rejected),
        cmocka_unit_test(test_sim_root_subject_says_simulated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
