/* P-256 keys between raw bytes (the enclave's channel key) and OpenSSL's EVP_PKEY (what
 * X.509 and TLS take). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "base/guard.h"
#include "ratls/internal.h"

EVP_PKEY *ratls_p256_key(const uint8_t priv[32], const uint8_t pub[65])
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *d = BN_secure_new();

    if (!bld || !d || !BN_bin2bn(priv, 32, d) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    ctx = key ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
    /* The public point must be the private scalar's: a mismatch would certify a key we lack. */
    if (key && (!ctx || EVP_PKEY_pairwise_check(ctx) != 1)) {
        EVP_PKEY_free(key);
        key = NULL;
    }
out:
    BN_clear_free(d);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* x and y as fixed 32-byte fields, whatever point format the certificate used. */
int ratls_p256_pub(const EVP_PKEY *pk, uint8_t pub[65], struct gtee_err *err)
{
    char group[32] = {0};
    BIGNUM *x = NULL, *y = NULL;
    int rc = GTEE_EKEY;

    ENSURE(pk && EVP_PKEY_is_a(pk, "EC"), err, GTEE_EKEY, "ratls: certificate key is not an EC key");
    ENSURE(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
               strcmp(group, "prime256v1") == 0,
           err, GTEE_EKEY, "ratls: certificate key is not on P-256");
    ENSURE(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
               EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1,
           err, GTEE_EKEY, "ratls: certificate key has no public point");
    pub[0] = 0x04;
    ENSURE(BN_bn2binpad(x, pub + 1, 32) == 32 && BN_bn2binpad(y, pub + 33, 32) == 32, err, GTEE_EKEY,
           "ratls: certificate key coordinates out of range");
    rc = 0;
out:
    BN_free(x);
    BN_free(y);
    return rc;
}
