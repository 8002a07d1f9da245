/* ECDSA P-256/SHA-256 checks with raw r||s signatures, as DCAP quotes and Intel's collateral
 * carry them (SGX ECDSA Quote Library API A.4: 64-byte signatures, 64-byte public keys). */
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <string.h>

#include "evidence/dcap.h"

/* Converts r||s into a DER ECDSA-Sig-Value; returns its length or 0. */
static int raw_to_der(const uint8_t sig[64], unsigned char **der)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *ss = BN_bin2bn(sig + 32, 32, NULL);
    int len = 0;

    if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
        BN_free(r);
        BN_free(ss);
        ECDSA_SIG_free(s);
        return 0;
    }
    len = i2d_ECDSA_SIG(s, der);
    ECDSA_SIG_free(s);
    return len > 0 ? len : 0;
}

int dcap_ecdsa_verify_pkey(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    int der_len, rc = GTEE_EAUTH;

    if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || EVP_PKEY_get_bits(pkey) != 256)
        return GTEE_EKEY;
    der_len = raw_to_der(sig, &der);
    md = EVP_MD_CTX_new();
    if (der_len > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1)
        rc = 0;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

EVP_PKEY *dcap_ecdsa_pkey_raw(const uint8_t pub_xy[64])
{
    uint8_t pub[65];
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pkey = NULL;

    pub[0] = 0x04;
    memcpy(pub + 1, pub_xy, 64);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
    params[2] = OSSL_PARAM_construct_end();
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!pctx || EVP_PKEY_fromdata_init(pctx) != 1 || EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    return pkey;
}

int dcap_ecdsa_verify_raw(const uint8_t pub_xy[64], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *pkey = dcap_ecdsa_pkey_raw(pub_xy);
    int rc = pkey ? dcap_ecdsa_verify_pkey(pkey, msg, len, sig) : GTEE_EKEY;

    EVP_PKEY_free(pkey);
    return rc;
}
