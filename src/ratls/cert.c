/* The RA-TLS certificate: built by the enclave for its channel key, parsed by the peer.
 * The raw quote under the SGX or TDX quote OID, or a composite bundle (the quote and the GPUs'
 * reports) under the bundle OID (gtee/ratls.h), the Enclave key beside it (docs/ratls.md,
 * "Convention"). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "ratls/internal.h"

static const char *quote_oid(enum gtee_tee_type tee)
{
    return tee == GTEE_TEE_SGX ? GTEE_RATLS_OID_SGX_QUOTE : tee == GTEE_TEE_TDX ? GTEE_RATLS_OID_TDX_QUOTE : NULL;
}

/* The TEE an Intel DCAP quote's header names (version u16 at 0: 3, 4 or 5; attestation key
 * type u16 at 2: 2, ECDSA P-256; TEE type u32 at 4: 0 SGX, 0x81 TDX), so that the OID, or a
 * bundle's CVM part, never makes the verifier pick the other TEE's collateral (nor an SEV-SNP
 * report, whose first bytes are a version 2..5 and zeros, pass for an SGX quote). what names
 * the part in the message. */
static int quote_tee(const uint8_t *q, size_t len, const char *what, enum gtee_tee_type *tee, struct gtee_err *err)
{
    struct span h = span_init(q, len);
    uint16_t version = span_u16le(&h), key = span_u16le(&h);
    uint32_t tee_type = span_u32le(&h);
    int rc = GTEE_EFORMAT;

    ENSURE(!h.bad, err, GTEE_EFORMAT, "ratls: %s shorter than a quote header", what);
    ENSURE(version >= 3 && version <= 5 && key == 2 && (tee_type == 0x00 || tee_type == 0x81), err, GTEE_EFORMAT,
           "ratls: %s has version %u, key type %u, TEE type 0x%x (header offsets 0, 2, 4): not an SGX or TDX "
           "quote", what, version, key, tee_type);
    *tee = tee_type == 0x00 ? GTEE_TEE_SGX : GTEE_TEE_TDX;
    rc = 0;
out:
    return rc;
}

/* The TEE of the evidence the certificate carries: a quote's own, or a bundle's CVM part's
 * (the bundle parsed exactly first). */
static int evidence_tee(const uint8_t *ev, size_t len, bool bundle, enum gtee_tee_type *tee, struct gtee_err *err)
{
    struct gtee_bundle b;
    struct gtee_err e = {0};

    if (!bundle)
        return quote_tee(ev, len, "quote extension", tee, err);
    if (gtee_bundle_parse(ev, len, &b, &e) < 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "ratls: bundle extension: %s", e.msg);
    return quote_tee(b.cvm, b.cvm_len, "bundle extension's CVM part", tee, err);
}

static int add_ext(X509 *x, const char *oid, const uint8_t *p, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = obj && os && len <= INT32_MAX && ASN1_OCTET_STRING_set(os, p, (int)len) == 1 &&
             (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(x, ext, -1) == 1;

    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok ? 0 : -1;
}

static int set_names_and_serial(X509 *x)
{
    X509_NAME *name = X509_get_subject_name(x);
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    int ok;

    if (gtee_random(serial, sizeof(serial)) != 0)
        return -1;
    serial[0] &= 0x7f; /* positive, as RFC 5280 §4.1.2.2 asks */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Glacier TEE Node", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"gtee enclave", -1, -1, 0) &&
         X509_set_issuer_name(x, name);
    BN_free(bn);
    return ok ? 0 : -1;
}

int gtee_ratls_cert_new(const uint8_t channel_priv[GTEE_RATLS_CHANNEL_PRIV_LEN],
                        const uint8_t channel_pub[GTEE_RATLS_CHANNEL_PUB_LEN],
                        const uint8_t enclave_pub[GTEE_RATLS_ENCLAVE_PUB_LEN], enum gtee_tee_type tee,
                        const uint8_t *evidence, size_t evidence_len, uint8_t **der, size_t *der_len,
                        struct gtee_err *err)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    unsigned char *buf = NULL;
    /* Evidence is carried as given (the peer's parser judges it): a bundle by its magic. */
    bool bundle = gtee_bundle_detect(evidence, evidence_len);
    int rc = GTEE_ECRYPTO, n;

    *der = NULL;
    *der_len = 0;
    ENSURE(quote_oid(tee), err, GTEE_EINVAL, "ratls: no quote extension for TEE type %s", gtee_tee_type_name(tee));
    ENSURE(evidence_len > 0 && evidence_len <= GTEE_RATLS_EVIDENCE_MAX, err, GTEE_EINVAL,
           "ratls: evidence of %zu bytes (1..%u)", evidence_len, GTEE_RATLS_EVIDENCE_MAX);
    key = ratls_p256_key(channel_priv, channel_pub);
    ENSURE(key, err, GTEE_EKEY, "ratls: channel key unusable (not a P-256 key pair)");
    x = X509_new();
    ENSURE(x && X509_set_version(x, X509_VERSION_3) == 1 && set_names_and_serial(x) == 0, err, GTEE_ECRYPTO,
           "ratls: certificate fields");
    /* The validity is not what the peer trusts (the evidence is): a day back for clock skew. */
    ENSURE(X509_gmtime_adj(X509_getm_notBefore(x), -86400) && X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400),
           err, GTEE_ECRYPTO, "ratls: certificate validity");
    ENSURE(X509_set_pubkey(x, key) == 1, err, GTEE_ECRYPTO, "ratls: certificate key");
    ENSURE(add_ext(x, bundle ? GTEE_RATLS_OID_BUNDLE : quote_oid(tee), evidence, evidence_len) == 0 &&
               add_ext(x, GTEE_RATLS_OID_ENCLAVE_KEY, enclave_pub, GTEE_RATLS_ENCLAVE_PUB_LEN) == 0,
           err, GTEE_ECRYPTO, "ratls: certificate extensions");
    ENSURE(X509_sign(x, key, EVP_sha256()) > 0, err, GTEE_ECRYPTO, "ratls: certificate signature");
    n = i2d_X509(x, &buf);
    ENSURE(n > 0, err, GTEE_ECRYPTO, "ratls: certificate encoding");
    *der = malloc((size_t)n);
    ENSURE(*der, err, GTEE_ENOMEM, "ratls: out of memory");
    memcpy(*der, buf, (size_t)n);
    *der_len = (size_t)n;
    rc = 0;
out:
    OPENSSL_free(buf);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* The one extension with this OID: 0 and its value, 1 if absent, <0 if repeated. */
static int find_ext(X509 *x, const char *oid, const ASN1_OCTET_STRING **val)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i, rc;

    *val = NULL;
    if (!obj)
        return GTEE_ECRYPTO;
    i = X509_get_ext_by_OBJ(x, obj, -1);
    if (i < 0)
        rc = 1;
    else if (X509_get_ext_by_OBJ(x, obj, i) >= 0)
        rc = GTEE_EFORMAT;
    else {
        *val = X509_EXTENSION_get_data(X509_get_ext(x, i));
        rc = *val ? 0 : GTEE_EFORMAT;
    }
    ASN1_OBJECT_free(obj);
    return rc;
}

int gtee_ratls_ext_parse(const uint8_t *der, size_t len, struct gtee_ratls_ext *out, struct gtee_err *err)
{
    const unsigned char *p = der;
    X509 *x = NULL;
    int rc = GTEE_EFORMAT;

    memset(out, 0, sizeof(*out));
    ENSURE(der && len > 0 && len <= GTEE_RATLS_CERT_MAX, err, GTEE_EFORMAT,
           "ratls: certificate of %zu bytes (1..%u)", len, GTEE_RATLS_CERT_MAX);
    x = d2i_X509(NULL, &p, (long)len);
    ENSURE(x, err, GTEE_EFORMAT, "ratls: certificate is not DER X.509");
    ENSURE(p == der + len, err, GTEE_EFORMAT, "ratls: %zu bytes after the certificate", len - (size_t)(p - der));
    rc = ratls_ext_from_x509(x, out, err);
out:
    X509_free(x);
    return rc;
}

/* The checks of gtee_ratls_ext_parse on a certificate OpenSSL already decoded (the TLS
 * handshake's leaf), so it is not encoded and decoded again. */
int ratls_ext_from_x509(X509 *x, struct gtee_ratls_ext *out, struct gtee_err *err)
{
    const ASN1_OCTET_STRING *sgx = NULL, *tdx = NULL, *bnd = NULL, *ekey = NULL, *q;
    int rc = GTEE_EFORMAT, rs, rt, rb, re, enc_len;
    enum gtee_tee_type has = GTEE_TEE_UNKNOWN;

    memset(out, 0, sizeof(*out));
    enc_len = i2d_X509(x, NULL);
    ENSURE(enc_len > 0 && (unsigned)enc_len <= GTEE_RATLS_CERT_MAX, err, GTEE_EFORMAT,
           "ratls: certificate of %d bytes (1..%u)", enc_len, GTEE_RATLS_CERT_MAX);
    TRY(ratls_p256_pub(X509_get0_pubkey(x), out->channel_pub, err));
    ENSURE(X509_verify(x, X509_get0_pubkey(x)) == 1, err, GTEE_EFORMAT,
           "ratls: certificate self-signature does not verify");
    rs = find_ext(x, GTEE_RATLS_OID_SGX_QUOTE, &sgx);
    rt = find_ext(x, GTEE_RATLS_OID_TDX_QUOTE, &tdx);
    rb = find_ext(x, GTEE_RATLS_OID_BUNDLE, &bnd);
    re = find_ext(x, GTEE_RATLS_OID_ENCLAVE_KEY, &ekey);
    ENSURE(rs >= 0 && rt >= 0 && rb >= 0 && re >= 0, err, GTEE_EFORMAT, "ratls: an evidence extension appears twice");
    ENSURE((rs == 0) + (rt == 0) + (rb == 0) <= 1, err, GTEE_EFORMAT,
           "ratls: more than one evidence extension (SGX quote, TDX quote, bundle): which one is the enclave's?");
    ENSURE(rs == 0 || rt == 0 || rb == 0, err, GTEE_EFORMAT, "ratls: no quote extension (%s or %s) and no bundle extension (%s)",
           GTEE_RATLS_OID_SGX_QUOTE, GTEE_RATLS_OID_TDX_QUOTE, GTEE_RATLS_OID_BUNDLE);
    ENSURE(re == 0, err, GTEE_EFORMAT, "ratls: no Enclave key extension (%s)", GTEE_RATLS_OID_ENCLAVE_KEY);
    ENSURE(ASN1_STRING_length(ekey) == GTEE_RATLS_ENCLAVE_PUB_LEN && ASN1_STRING_get0_data(ekey)[0] == 0x04, err,
           GTEE_EFORMAT, "ratls: Enclave key extension is %d bytes, expected an uncompressed point of %d",
           ASN1_STRING_length(ekey), GTEE_RATLS_ENCLAVE_PUB_LEN);
    memcpy(out->enclave_pub, ASN1_STRING_get0_data(ekey), GTEE_RATLS_ENCLAVE_PUB_LEN);
    q = rs == 0 ? sgx : rt == 0 ? tdx : bnd;
    out->bundle = rb == 0;
    ENSURE(ASN1_STRING_length(q) > 0 && (size_t)ASN1_STRING_length(q) <= GTEE_RATLS_EVIDENCE_MAX, err, GTEE_EFORMAT,
           "ratls: %s extension of %d bytes (1..%u)", out->bundle ? "bundle" : "quote", ASN1_STRING_length(q),
           GTEE_RATLS_EVIDENCE_MAX);
    TRY(evidence_tee(ASN1_STRING_get0_data(q), (size_t)ASN1_STRING_length(q), out->bundle, &has, err));
    /* A quote's OID must name the quote it carries; a bundle's CVM part names its own. */
    out->tee = rs == 0 ? GTEE_TEE_SGX : rt == 0 ? GTEE_TEE_TDX : has;
    ENSURE(has == out->tee, err, GTEE_EFORMAT, "ratls: quote TEE type is %s, not the %s its OID names",
           gtee_tee_type_name(has), gtee_tee_type_name(out->tee));
    out->evidence_len = (size_t)ASN1_STRING_length(q);
    out->evidence = malloc(out->evidence_len);
    ENSURE(out->evidence, err, GTEE_ENOMEM, "ratls: out of memory");
    memcpy(out->evidence, ASN1_STRING_get0_data(q), out->evidence_len);
    rc = 0;
out:
    if (rc < 0)
        gtee_ratls_ext_free(out);
    return rc;
}

void gtee_ratls_ext_free(struct gtee_ratls_ext *ext)
{
    if (!ext)
        return;
    free(ext->evidence);
    memset(ext, 0, sizeof(*ext));
}
