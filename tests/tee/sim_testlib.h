/* Test helpers for the simulated TEE: temporary device directories, file reading, raw
 * r||s ECDSA verification, and one DCAP quote layout parser applied alike to the real
 * samples of tests/vectors and to generated quotes. Header-only, tests only. */
#ifndef GTEE_TESTS_SIM_TESTLIB_H
#define GTEE_TESTS_SIM_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/span.h"
#include "gtee/sim.h"
#include "vectors.h"

/* ---- paths and files ---- */
static inline void path_join(char *out, size_t n, const char *a, const char *b)
{
    int k = snprintf(out, n, "%s/%s", a, b);
    assert_true(k > 0 && (size_t)k < n);
}

static inline uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A fresh device in a new temporary directory (removed by rm_device). */
static inline char *make_device(void)
{
    char tmpl[] = "/tmp/gtee-sim-test-XXXXXX";
    char *base = mkdtemp(tmpl);
    char *dir = malloc(512);
    struct gtee_err err = { 0 };

    assert_non_null(base);
    assert_non_null(dir);
    path_join(dir, 512, base, "device");
    if (gtee_sim_init(dir, &err) != 0)
        fail_msg("gtee_sim_init: %s", err.msg);
    return dir;
}

static inline void rm_device(char *dir)
{
    char cmd[600];
    char *slash = strrchr(dir, '/');

    assert_non_null(slash);
    *slash = '\0'; /* the mkdtemp base */
    assert_true(strncmp(dir, "/tmp/gtee-sim-test-", 19) == 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* ---- signatures ---- */
/* EVP_PKEY from a raw P-256 point x || y (64 bytes). */
static inline EVP_PKEY *p256_from_raw(const uint8_t xy[64])
{
    uint8_t point[65];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;

    point[0] = 0x04;
    memcpy(point + 1, xy, 64);
    assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
    assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)));
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_true(EVP_PKEY_fromdata_init(ctx) == 1);
    assert_true(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* 1 if sig (raw r || s) is a valid ECDSA-SHA256 signature of msg under pk. */
static inline int verify_raw(EVP_PKEY *pk, const void *msg, size_t len, const uint8_t sig[64])
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len, ok;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    assert_true(es && r && s && ECDSA_SIG_set0(es, r, s));
    der_len = i2d_ECDSA_SIG(es, &der);
    assert_true(der_len > 0);
    assert_true(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pk, NULL) == 1);
    ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

/* Certificates of a PEM buffer, in order. */
static inline STACK_OF(X509) *pem_certs(const void *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;

    assert_non_null(b);
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    ERR_clear_error();
    BIO_free(b);
    return sk;
}

/* ---- the quote layout (Intel DCAP quote v3 / v4) ---- */
#define Q_HEADER_LEN 48
#define Q_SGX_BODY_LEN 384
#define Q_TD_BODY_LEN 584

struct quote_layout {
    uint16_t version, att_key_type;
    uint32_t tee_type;
    size_t body_off, body_len;
    size_t sig_data_len_off;
    uint32_t sig_data_len;
    size_t sig_off, att_key_off;
    uint16_t outer_cert_type; /* 6 for v4, 5 for v3 */
    size_t qe_report_off, qe_report_sig_off, qe_auth_len_off, qe_auth_off;
    uint16_t qe_auth_len;
    size_t cert_type_off;
    uint16_t cert_type; /* the PCK chain's: 5 */
    size_t cert_off;
    uint32_t cert_len;
};

/* Walks a quote with the bounded reader; 0 on success, -1 on a malformed quote. */
static inline int parse_quote(const uint8_t *q, size_t len, struct quote_layout *l)
{
    struct span s = span_init(q, len), sig;

    memset(l, 0, sizeof(*l));
    l->version = span_u16le(&s);
    l->att_key_type = span_u16le(&s);
    l->tee_type = span_u32le(&s);
    span_take(&s, Q_HEADER_LEN - 8);
    if (l->version != 3 && l->version != 4)
        return -1;
    l->body_off = s.off;
    l->body_len = l->version == 4 ? Q_TD_BODY_LEN : Q_SGX_BODY_LEN;
    span_take(&s, l->body_len);
    l->sig_data_len_off = s.off;
    l->sig_data_len = span_u32le(&s);
    sig = span_sub(&s, l->sig_data_len);
    l->sig_off = sig.off;
    span_take(&sig, 64);
    l->att_key_off = sig.off;
    span_take(&sig, 64);
    if (l->version == 4) {
        l->outer_cert_type = span_u16le(&sig);
        sig = span_sub(&sig, span_u32le(&sig));
    } else {
        l->outer_cert_type = 5;
    }
    l->qe_report_off = sig.off;
    span_take(&sig, Q_SGX_BODY_LEN);
    l->qe_report_sig_off = sig.off;
    span_take(&sig, 64);
    l->qe_auth_len_off = sig.off;
    l->qe_auth_len = span_u16le(&sig);
    l->qe_auth_off = sig.off;
    span_take(&sig, l->qe_auth_len);
    l->cert_type_off = sig.off;
    l->cert_type = span_u16le(&sig);
    l->cert_len = span_u32le(&sig);
    l->cert_off = sig.off;
    span_take(&sig, l->cert_len);
    return (s.bad || sig.bad) ? -1 : 0;
}

#endif
