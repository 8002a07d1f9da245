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

#include "evidence/snp_test_util.h"
#include "gtee/snp.h"

struct forge {
    EVP_PKEY *ark_key, *ask_key, *vcek_key;
    X509 *ark, *ask;
    uint8_t report[GTEE_SNP_REPORT_LEN];
    time_t now;
};

static X509 *new_cert(const char *subject, const char *issuer, EVP_PKEY *pub, bool ca)
{
    X509 *x = X509_new();
    X509_NAME *sn = X509_NAME_new(), *in = X509_NAME_new();

    X509_NAME_add_entry_by_txt(sn, "CN", MBSTRING_ASC, (const unsigned char *)subject, -1, -1, 0);
    X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC, (const unsigned char *)issuer, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_set_subject_name(x, sn);
    X509_set_issuer_name(x, in);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pub);
    if (ca) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");

        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_NAME_free(sn);
    X509_NAME_free(in);
    return x;
}

static void add_raw_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e;

    ASN1_OCTET_STRING_set(v, val, (int)len);
    e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(v);
    ASN1_OBJECT_free(o);
}

static void add_spl(X509 *x, const char *oid, uint8_t spl)
{
    uint8_t der[4] = { 0x02, 0x01, spl, 0 };
    size_t n = 3;

    if (spl & 0x80) { /* DER INTEGER: a leading zero keeps it positive */
        der[1] = 2;
        der[2] = 0;
        der[3] = spl;
        n = 4;
    }
    add_raw_ext(x, oid, der, n);
}

/* A forged VCEK for the report's chip and TCB, except that ucode_delta shifts ucodeSPL. */
static uint8_t *forge_vcek(struct forge *f, int ucode_delta, size_t *len)
{
    static const uint8_t milan_b0[] = { 0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0' };
    X509 *x = new_cert("SEV-VCEK", "SEV-Milan", f->vcek_key, false);
    unsigned char *der = NULL;
    uint8_t *out;
    int n;

    add_raw_ext(x, "1.3.6.1.4.1.3704.1.2", milan_b0, sizeof(milan_b0));
    add_spl(x, "1.3.6.1.4.1.3704.1.3.1", f->report[0x180]);
    add_spl(x, "1.3.6.1.4.1.3704.1.3.2", f->report[0x181]);
    add_spl(x, "1.3.6.1.4.1.3704.1.3.3", f->report[0x186]);
    add_spl(x, "1.3.6.1.4.1.3704.1.3.8", (uint8_t)(f->report[0x187] + ucode_delta));
    add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", f->report + 0x1A0, 64);
    assert_true(X509_sign(x, f->ask_key, EVP_sha384()) > 0);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    out = malloc((size_t)n);
    memcpy(out, der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

/* Signs bytes 0x000..0x29F with the forged VCEK key, writing r and s little-endian. */
static void sign_report(struct forge *f)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    const unsigned char *p = der;
    size_t dl = sizeof(der);
    ECDSA_SIG *sig;
    uint8_t be[48];

    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, f->vcek_key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dl, f->report, GTEE_SNP_SIGNED_LEN), 1);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(sig);
    memset(f->report + 0x2A0, 0, 144);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), be, 48), 48);
    for (int i = 0; i < 48; i++)
        f->report[0x2A0 + i] = be[47 - i];
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), be, 48), 48);
    for (int i = 0; i < 48; i++)
        f->report[0x2E8 + i] = be[47 - i];
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
}

static char *to_pem(X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;

    PEM_write_bio_X509(bio, a);
    if (b)
        PEM_write_bio_X509(bio, b);
    n = BIO_get_mem_data(bio, &data);
    out = strndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

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
