/* The simulated TEE's signing and encoding helpers: raw r||s ECDSA P-256 signatures as
 * DCAP quotes and collateral carry them, raw public points, per-device identifiers,
 * and PEM/DER encoders for keys, certificates and CRLs. */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "simvendor/sim_internal.h"

int sim_sign_raw(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[64], struct gtee_err *err)
{
    uint8_t priv[GTEE_P256_PRIV_LEN];
    BIGNUM *d = NULL;
    int rc = GTEE_ECRYPTO;

    /* The crypto layer signs with raw scalars; the scalar lives only for this call. */
    ENSURE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
               BN_bn2binpad(d, priv, sizeof(priv)) == (int)sizeof(priv),
           err, GTEE_EKEY, "sim: signing key is not a P-256 private key");
    ENSURE(gtee_ecdsa_sign(GTEE_EC_P256, priv, msg, len, sig) == 0, err, GTEE_ECRYPTO,
           "sim: ECDSA P-256 signing failed");
    rc = 0;
out:
    BN_clear_free(d);
    gtee_wipe(priv, sizeof(priv));
    return rc;
}

int sim_pub_raw(EVP_PKEY *key, uint8_t pub[64], struct gtee_err *err)
{
    uint8_t point[65];
    size_t n = 0;

    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point),
                                        &n) != 1 ||
        n != sizeof(point) || point[0] != 0x04)
        return GTEE_FAIL(err, GTEE_EKEY, "sim: key is not an uncompressed P-256 point");
    memcpy(pub, point + 1, 64);
    return 0;
}

int sim_derive_id(const uint8_t secret[SIM_SECRET_LEN], const char *label, uint8_t *out, size_t n,
                  struct gtee_err *err)
{
    uint8_t mac[GTEE_SHA256_LEN];

    if (n > sizeof(mac) || gtee_hmac_sha256(secret, SIM_SECRET_LEN, label, strlen(label), mac) < 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "sim: identifier derivation failed (%s)", label);
    memcpy(out, mac, n);
    gtee_wipe(mac, sizeof(mac));
    return 0;
}

/* Copies a memory BIO's contents into a NUL-terminated malloc'd buffer. */
static int bio_take(BIO *b, char **out, size_t *len, struct gtee_err *err)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *copy;

    if (n < 0 || !p)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "sim: encoding produced no output");
    copy = malloc((size_t)n + 1);
    if (!copy)
        return GTEE_FAIL(err, GTEE_ENOMEM, "sim: out of memory encoding %ld bytes", n);
    memcpy(copy, p, (size_t)n);
    copy[n] = '\0';
    *out = copy;
    *len = (size_t)n;
    return 0;
}

int sim_pem_certs(X509 *const *certs, int n, char **pem, size_t *len, struct gtee_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = GTEE_ECRYPTO;

    ENSURE(b, err, GTEE_ENOMEM, "sim: BIO allocation failed");
    for (int i = 0; i < n; i++)
        ENSURE(PEM_write_bio_X509(b, certs[i]) == 1, err, GTEE_ECRYPTO,
               "sim: PEM encoding of certificate %d failed", i);
    TRY(bio_take(b, pem, len, err));
out:
    BIO_free(b);
    return rc;
}

int sim_pem_key(EVP_PKEY *key, char **pem, size_t *len, struct gtee_err *err)
{
    BIO *b = BIO_new(BIO_s_secmem());
    int rc = GTEE_ECRYPTO;

    ENSURE(b, err, GTEE_ENOMEM, "sim: BIO allocation failed");
    ENSURE(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1, err, GTEE_ECRYPTO,
           "sim: PEM encoding of a private key failed");
    TRY(bio_take(b, pem, len, err));
out:
    BIO_free(b); /* a secure-heap BIO clears its buffer when freed */
    return rc;
}

/* Moves OpenSSL's DER encoding (n bytes at p, or n <= 0 on failure) into our own
 * allocation; what names the object in errors. */
static int take_der(unsigned char *p, int n, const char *what, uint8_t **der, size_t *len, struct gtee_err *err)
{
    if (n <= 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "sim: DER encoding of a %s failed", what);
    *der = malloc((size_t)n);
    if (!*der) {
        OPENSSL_free(p);
        return GTEE_FAIL(err, GTEE_ENOMEM, "sim: out of memory");
    }
    memcpy(*der, p, (size_t)n);
    OPENSSL_free(p);
    *len = (size_t)n;
    return 0;
}

int sim_der_cert(X509 *cert, uint8_t **der, size_t *len, struct gtee_err *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509(cert, &p);

    return take_der(p, n, "certificate", der, len, err);
}

int sim_der_crl(X509_CRL *crl, uint8_t **der, size_t *len, struct gtee_err *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509_CRL(crl, &p);

    return take_der(p, n, "CRL", der, len, err);
}
