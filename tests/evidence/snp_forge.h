/* A forger's own SEV-SNP chain for the tests: an ARK -> ASK -> VCEK made in the test, with
 * AMD extensions copied from the real milan-1 report, and that report re-signed by the
 * forged VCEK (test_snp_forged.c, test_snp_crl.c). Include after <cmocka.h>: the helpers
 * assert with it. */
#ifndef GTEE_TESTS_SNP_FORGE_H
#define GTEE_TESTS_SNP_FORGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gtee/snp.h"

struct forge {
    EVP_PKEY *ark_key, *ask_key, *vcek_key;
    X509 *ark, *ask;
    uint8_t report[GTEE_SNP_REPORT_LEN];
    time_t now;
};

/* serial: each certificate of one chain gets its own (a CRL lists them by serial). */
static inline X509 *new_cert_serial(const char *subject, const char *issuer, EVP_PKEY *pub, bool ca, long serial)
{
    X509 *x = X509_new();
    X509_NAME *sn = X509_NAME_new(), *in = X509_NAME_new();

    X509_NAME_add_entry_by_txt(sn, "CN", MBSTRING_ASC, (const unsigned char *)subject, -1, -1, 0);
    X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC, (const unsigned char *)issuer, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
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

static inline X509 *new_cert(const char *subject, const char *issuer, EVP_PKEY *pub, bool ca)
{
    return new_cert_serial(subject, issuer, pub, ca, 7);
}

static inline void add_raw_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
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

static inline void add_spl(X509 *x, const char *oid, uint8_t spl)
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
static inline uint8_t *forge_vcek(struct forge *f, int ucode_delta, size_t *len)
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
static inline void sign_report(struct forge *f)
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

static inline char *to_pem(X509 *a, X509 *b)
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

#endif
