/* Revocation: each CRL that the collateral has is applied on its own, the verdict says which
 * were applied and whether revocation was fully checked, and the default policy rejects
 * SGX/TDX evidence whose revocation was not, naming the missing CRL (docs/evidence.md,
 * "Revocation"). Real samples with a CRL removed, and the test PKI for revoked certificates
 * in a lone CRL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>

#include "evidence/evidence_samples.h"
#include "evidence/prepared_pair.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const both_crls[] = { "pck_crl.der", "root_ca_crl.der" };

/* Copies the sample's collateral directory into a fresh temporary one, leaving out the
 * files named in skip (NULL-terminated). */
static void copy_without(const char *rel, const char *const *skip, char *tmp, size_t n)
{
    char src[1024], from[1400], to[1400];
    struct dirent *d;
    DIR *dir;

    vector_path(src, sizeof(src), rel);
    snprintf(tmp, n, "/tmp/gtee-revocation-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    dir = opendir(src);
    assert_non_null(dir);
    while ((d = readdir(dir)) != NULL) {
        bool left_out = d->d_name[0] == '.';
        uint8_t *p;
        size_t len = 0;
        FILE *f;

        for (size_t i = 0; skip && skip[i]; i++)
            left_out |= strcmp(d->d_name, skip[i]) == 0;
        if (left_out)
            continue;
        snprintf(from, sizeof(from), "%s/%s", src, d->d_name);
        snprintf(to, sizeof(to), "%s/%s", tmp, d->d_name);
        p = read_all(from, &len);
        assert_non_null(p);
        f = fopen(to, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        free(p);
    }
    closedir(dir);
}

static void remove_dir(const char *tmp)
{
    char path[1400];
    struct dirent *d;
    DIR *dir = opendir(tmp);

    assert_non_null(dir);
    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmp, d->d_name);
        unlink(path);
    }
    closedir(dir);
    rmdir(tmp);
}

static const struct gtee_reason *reason(const struct gtee_verdict *v, const char *code)
{
    for (size_t i = 0; i < v->n_reasons; i++)
        if (strcmp(v->reasons[i].code, code) == 0)
            return &v->reasons[i];
    return NULL;
}

/* Verifies the sample rel with its collateral less the files in skip, under the default
 * policy (any TCB status but Revoked: the samples' own) and then one not requiring
 * revocation. Both verdicts come back. */
static void verify_without(const char *rel, const char *const *skip, struct gtee_verdict *strict,
                           struct gtee_verdict *lax, int *rc_strict, int *rc_lax)
{
    struct sample s;
    struct gtee_collateral col;
    struct gtee_policy p;
    struct gtee_err err = {0};
    char tmp[64];

    assert_int_equal(sample_load(rel, &s), 0);
    copy_without(rel, skip, tmp, sizeof(tmp));
    assert_int_equal(gtee_collateral_load(tmp, &col, &err), 0);
    policy_any_tcb(&p);
    *rc_strict = gtee_evidence_verify(s.quote, s.quote_len, &col, NULL, &p, s.at, strict, NULL);
    p.require_revocation = 0;
    *rc_lax = gtee_evidence_verify(s.quote, s.quote_len, &col, NULL, &p, s.at, lax, NULL);
    gtee_collateral_free(&col);
    remove_dir(tmp);
    sample_free(&s);
}

static void check_sample(const char *rel)
{
    static const char *const no_pck[] = { "pck_crl.der", NULL };
    static const char *const no_root[] = { "root_ca_crl.der", NULL };
    static const char *const neither[] = { "pck_crl.der", "root_ca_crl.der", NULL };
    const char *const *skips[] = { NULL, no_pck, no_root, neither };
    const unsigned applied[] = { GTEE_CRL_PCK | GTEE_CRL_ROOT_CA, GTEE_CRL_ROOT_CA, GTEE_CRL_PCK, 0 };
    struct gtee_verdict strict, lax;
    int rc_strict, rc_lax;

    for (size_t k = 0; k < N_OF(skips); k++) {
        const struct gtee_reason *r;

        print_message("%s without %s%s%s\n", rel, skips[k] ? skips[k][0] : "nothing",
                      skips[k] && skips[k][1] ? " and " : "", skips[k] && skips[k][1] ? skips[k][1] : "");
        verify_without(rel, skips[k], &strict, &lax, &rc_strict, &rc_lax);
        /* without a policy requirement the evidence verifies, and the claim says what was done */
        assert_int_equal(rc_lax, 0);
        assert_true(lax.verified);
        assert_int_equal(lax.claims.crls_applied, applied[k]);
        assert_int_equal(lax.claims.revocation_checked, k == 0);
        assert_true(strict.verified);
        assert_int_equal(strict.claims.revocation_checked, k == 0);
        if (k == 0) {
            assert_int_equal(rc_strict, 0);
            continue;
        }
        /* the default policy requires revocation for Intel evidence: rejected, naming the CRL */
        assert_int_equal(rc_strict, GTEE_EPOLICY);
        r = reason(&strict, "policy.revocation");
        assert_non_null(r);
        for (size_t i = 0; i < N_OF(both_crls); i++)
            assert_true((strstr(r->msg, both_crls[i]) != NULL) == !(applied[k] & (1u << i)));
    }
}

static void test_sgx_sample_without_each_crl(void **state)
{
    (void)state;
    check_sample("sgx/sgx-1");
}

static void test_tdx_sample_without_each_crl(void **state)
{
    (void)state;
    check_sample("tdx/tdx-1");
}

/* The test PKI with one CRL file removed, verified with simulation allowed through prepared
 * and plain collateral alike (prepared_pair.h compares the two verdicts). */
static int verify_lone(const struct sim_opts *o, const char *remove, struct gtee_verdict *v)
{
    struct prepared_pair s;
    char path[128];
    int rc;

    memset(&s, 0, sizeof(s));
    sim_world_make(&s.w, o);
    snprintf(path, sizeof(path), "%s/%s", s.w.dir, remove);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(gtee_collateral_load(s.w.dir, &s.plain, NULL), 0);
    assert_int_equal(gtee_collateral_load(s.w.dir, &s.prep, NULL), 0);
    s.a.sim_root_der = s.w.root_der;
    s.a.sim_root_len = s.w.root_der_len;
    assert_int_equal(gtee_collateral_prepare(&s.prep, &s.a, NULL), 0);
    gtee_policy_default(&s.p);
    s.p.allow_simulation = true;
    s.p.require_revocation = 0; /* what is caught here is caught whatever the policy */
    rc = prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, v);
    /* twice: the second through the PCK chain cache the first filled */
    rc = prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, v);
    prepared_pair_free(&s);
    return rc;
}

static void test_lone_root_ca_crl_catches_a_revoked_pck_ca(void **state)
{
    struct sim_opts o = { .revoke_ca = true };
    struct gtee_verdict v;
    const struct gtee_reason *r;

    (void)state;
    assert_int_equal(verify_lone(&o, "pck_crl.der", &v), GTEE_EPOLICY);
    assert_false(v.verified);
    r = reason(&v, "pck.chain.revoked");
    assert_non_null(r);
    assert_non_null(strstr(r->msg, "PCK intermediate CA"));
}

static void test_lone_root_ca_crl_catches_a_revoked_tcb_signer(void **state)
{
    struct sim_opts o = { .revoke_tcb_signer = true };
    struct gtee_verdict v;

    (void)state;
    assert_int_equal(verify_lone(&o, "pck_crl.der", &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "collateral.tcb_info.chain.revoked"));
    assert_true(gtee_verdict_has(&v, "collateral.qe_identity.chain.revoked"));
}

static void test_lone_pck_crl_catches_a_revoked_leaf(void **state)
{
    struct sim_opts o = { .revoke_leaf = true };
    struct gtee_verdict v;
    const struct gtee_reason *r;

    (void)state;
    assert_int_equal(verify_lone(&o, "root_ca_crl.der", &v), GTEE_EPOLICY);
    r = reason(&v, "pck.chain.revoked");
    assert_non_null(r);
    assert_non_null(strstr(r->msg, "PCK leaf"));
}

/* Nothing revoked, one CRL gone: verified, and the claim tells which one was applied. */
static void test_lone_crls_are_reported_as_partial(void **state)
{
    struct sim_opts o = {0};
    struct gtee_verdict v;

    (void)state;
    assert_int_equal(verify_lone(&o, "pck_crl.der", &v), 0);
    assert_false(v.claims.revocation_checked);
    assert_int_equal(v.claims.crls_applied, GTEE_CRL_ROOT_CA);
    assert_int_equal(verify_lone(&o, "root_ca_crl.der", &v), 0);
    assert_false(v.claims.revocation_checked);
    assert_int_equal(v.claims.crls_applied, GTEE_CRL_PCK);
}

/* The simulated TEE's collateral carries both CRLs: simulated evidence under a policy that
 * allows simulation meets the default revocation requirement. */
static void test_sim_collateral_with_both_crls_is_fully_checked(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    char *json = NULL;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, true);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_true(v.claims.revocation_checked);
    assert_int_equal(v.claims.crls_applied, GTEE_CRL_PCK | GTEE_CRL_ROOT_CA);
    assert_int_equal(gtee_verdict_to_json(&v, &json, NULL), 0);
    assert_non_null(strstr(json, "\"revocation_checked\":true"));
    assert_non_null(strstr(json, "\"crls_applied\":[\"pck_crl.der\",\"root_ca_crl.der\"]"));
    free(json);
    prepared_pair_free(&s);
}

/* SEV-SNP: the default policy requires revocation for snp too (hardware evidence). Verified
 * claims without ark_crl.der applied are rejected naming the file; with it applied they
 * pass; "require_revocation": false lets them through. (test_snp_crl.c applies real CRLs.) */
static void test_snp_revocation_is_required_by_default(void **state)
{
    struct gtee_verdict v;
    struct gtee_policy p;
    const struct gtee_reason *r;
    struct gtee_err err = {0};

    (void)state;
    memset(&v, 0, sizeof(v));
    v.verified = true;
    v.claims.tee = GTEE_TEE_SNP;
    gtee_policy_default(&p);
    gtee_policy_apply(&p, 0, &v);
    assert_false(v.accepted);
    r = reason(&v, "policy.revocation");
    assert_non_null(r);
    assert_non_null(strstr(r->msg, "ark_crl.der"));
    v.n_reasons = 0;
    v.claims.revocation_checked = true;
    v.claims.crls_applied = GTEE_CRL_SNP_ARK;
    gtee_policy_apply(&p, 0, &v);
    assert_true(v.accepted);
    v.claims.revocation_checked = false;
    v.claims.crls_applied = 0;
    assert_int_equal(gtee_policy_parse("{\"require_revocation\":false}", 28, &p, &err), 0);
    gtee_policy_apply(&p, 0, &v);
    assert_true(v.accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_sample_without_each_crl),
        cmocka_unit_test(test_tdx_sample_without_each_crl),
        cmocka_unit_test(test_lone_root_ca_crl_catches_a_revoked_pck_ca),
        cmocka_unit_test(test_lone_root_ca_crl_catches_a_revoked_tcb_signer),
        cmocka_unit_test(test_lone_pck_crl_catches_a_revoked_leaf),
        cmocka_unit_test(test_lone_crls_are_reported_as_partial),
        cmocka_unit_test(test_sim_collateral_with_both_crls_is_fully_checked),
        cmocka_unit_test(test_snp_revocation_is_required_by_default),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
