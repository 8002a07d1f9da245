/* A forger's own ARK -> ASK -> VCEK, with AMD extensions copied from the real sample and a
 * report signed by the forged VCEK: the signature and TCB checks pass, so this is where the
 * pinned ARK alone must stop it. Also drives the verifier over version 3 reports and TCB
 * mismatches with otherwise valid signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evidence/snp_forge.h"
#include "evidence/snp_test_util.h"
#include "gtee/snp.h"

static int setup(void **state)
{
    struct forge *f = calloc(1, sizeof(*f));
    size_t n;
    uint8_t *rep = snp_vec_read("snp/milan-1/report.bin", &n);

    memcpy(f->report, rep, sizeof(f->report));
    free(rep);
    f->ark_key = EVP_RSA_gen(2048);
    f->ask_key = EVP_RSA_gen(2048);
    f->vcek_key = EVP_EC_gen("P-384");
    f->ark = new_cert("ARK-Milan", "ARK-Milan", f->ark_key, true);
    assert_true(X509_sign(f->ark, f->ark_key, EVP_sha384()) > 0);
    f->ask = new_cert("SEV-Milan", "ARK-Milan", f->ask_key, true);
    assert_true(X509_sign(f->ask, f->ark_key, EVP_sha384()) > 0);
    f->now = time(NULL);
    f->report[0x50] ^= 0x5A; /* the forger's own report data */
    sign_report(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct forge *f = *state;

    X509_free(f->ark);
    X509_free(f->ask);
    EVP_PKEY_free(f->ark_key);
    EVP_PKEY_free(f->ask_key);
    EVP_PKEY_free(f->vcek_key);
    free(f);
    return 0;
}

static void assert_only(const struct gtee_snp_result *res, const char *code)
{
    if (res->n_reasons != 1 || strcmp(res->reasons[0].code, code) != 0)
        fail_msg("expected only %s, got %zu reasons, first %s", code, res->n_reasons,
                 res->n_reasons ? res->reasons[0].code : "-");
}

static void test_snp_forged_chain_fails_only_at_the_pinned_ark(void **state)
{
    struct forge *f = *state;
    static struct gtee_snp_result res;
    size_t vl;
    uint8_t *vcek = forge_vcek(f, 0, &vl);
    char *ask_only = to_pem(f->ask, NULL), *both = to_pem(f->ask, f->ark);

    /* the forged chain is internally consistent: OpenSSL accepts it under its own root */
    {
        X509_STORE *st = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        STACK_OF(X509) *inter = sk_X509_new_null();
        const unsigned char *p = vcek;
        X509 *leaf = d2i_X509(NULL, &p, (long)vl);

        sk_X509_push(inter, f->ask);
        X509_STORE_add_cert(st, f->ark);
        X509_STORE_CTX_init(ctx, st, leaf, inter);
        assert_int_equal(X509_verify_cert(ctx), 1);
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(st);
        sk_X509_free(inter);
        X509_free(leaf);
    }

    assert_int_equal(gtee_snp_verify(f->report, sizeof(f->report), vcek, vl, NULL, f->now, &res,
                                     NULL), GTEE_EAUTH);
    assert_only(&res, "snp.vcek.chain");
    assert_true(res.signature_ok);
    assert_true(res.tcb_ok);
    assert_false(res.chain_ok);
    assert_false(res.verified);

    assert_int_equal(gtee_snp_verify(f->report, sizeof(f->report), vcek, vl, ask_only, f->now,
                                     &res, NULL), GTEE_EAUTH);
    assert_only(&res, "snp.vcek.chain");
    assert_true(res.signature_ok);

    assert_int_equal(gtee_snp_verify(f->report, sizeof(f->report), vcek, vl, both, f->now, &res,
                                     NULL), GTEE_EAUTH);
    assert_only(&res, "snp.ark.untrusted");
    assert_true(res.signature_ok);

    free(ask_only);
    free(both);
    free(vcek);
}

static void test_snp_tcb_mismatch_is_named_with_a_valid_signature(void **state)
{
    struct forge *f = *state;
    static struct gtee_snp_result res;
    size_t vl;
    uint8_t *vcek = forge_vcek(f, 1, &vl);

    assert_true(gtee_snp_verify(f->report, sizeof(f->report), vcek, vl, NULL, f->now, &res,
                                NULL) < 0);
    assert_true(res.signature_ok);
    assert_false(res.tcb_ok);
    assert_non_null(gtee_snp_result_find(&res, "snp.tcb.mismatch.microcode"));
    assert_non_null(strstr(gtee_snp_result_find(&res, "snp.tcb.mismatch.microcode")->msg,
                           "offset 0x187"));
    assert_null(gtee_snp_result_find(&res, "snp.signature"));
    assert_int_equal(res.n_reasons, 2); /* and the chain */
    free(vcek);
}

/* Version 3: a signed v3 report passes everything but the pin; its CPUID names the product. */
static void test_snp_version3_report_verifies_up_to_the_chain(void **state)
{
    struct forge *f = *state;
    static struct gtee_snp_result res;
    size_t vl;
    uint8_t *vcek = forge_vcek(f, 0, &vl);

    f->report[0x000] = 3;
    f->report[0x188] = 0x19;
    f->report[0x189] = 0x01; /* Milan */
    f->report[0x18A] = 0x01;
    sign_report(f);
    assert_true(gtee_snp_verify(f->report, sizeof(f->report), vcek, vl, NULL, f->now, &res,
                                NULL) < 0);
    assert_only(&res, "snp.vcek.chain");
    assert_true(res.signature_ok);
    assert_true(res.report.has_cpuid);
    assert_int_equal(res.product, GTEE_SNP_PRODUCT_MILAN);

    f->report[0x189] = 0x11; /* Genoa CPUID under a Milan VCEK */
    sign_report(f);
    assert_true(gtee_snp_verify(f->report, sizeof(f->report), vcek, vl, NULL, f->now, &res,
                                NULL) < 0);
    assert_true(res.signature_ok);
    assert_non_null(gtee_snp_result_find(&res, "snp.product.mismatch"));
    free(vcek);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snp_forged_chain_fails_only_at_the_pinned_ark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_tcb_mismatch_is_named_with_a_valid_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_version3_report_verifies_up_to_the_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
