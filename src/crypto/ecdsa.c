/* ECDSA over NIST P-256 with SHA-256 and P-384 with SHA-384 (FIPS 186-4 §6, SEC 1 §4.1)
 * through OpenSSL 3's provider API. Keys and signatures cross this API as fixed-size
 * big-endian bytes: private scalars, uncompressed SEC1 points (SEC 1 §2.3.3) and raw
 * r || s (as in Intel DCAP quotes); DER ECDSA-Sig-Value exists only inside this file. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <string.h>

#include "gtee/crypto.h"

#define DER_SIG_MAX 128 /* SEQUENCE of two INTEGERs of up to 49 bytes each, with headers */

struct curve {
    const char *group;   /* OpenSSL group name */
    int nid;
    const char *md_name; /* the curve's hash (FIPS 186-4 pairs, as in DCAP/SEV-SNP) */
    size_t field_len;    /* bytes of a scalar / coordinate */
};

static const struct curve p256 = {"prime256v1", NID_X9_62_prime256v1, "SHA256", 32};
static const struct curve p384 = {"secp384r1", NID_secp384r1, "SHA384", 48};

/* Fetched once per process: verification runs in hot loops (evidence chains), and an
 * explicit fetch avoids a method-store lookup on every call. The group orders bound
 * private scalars, which OpenSSL 3.0's key import does not check. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha384;
static BIGNUM *order_p256, *order_p384;
static EVP_PKEY *tmpl_p256, *tmpl_p384; /* domain parameters only, no key */

static BIGNUM *order_of_nid(int nid)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *n = g ? BN_dup(EC_GROUP_get0_order(g)) : NULL;

    EC_GROUP_free(g);
    return n;
}

static EVP_PKEY *params_only(const char *group)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEY_PARAMETERS, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

static void init_once(void)
{
    md_sha256 = EVP_MD_fetch(NULL, p256.md_name, NULL);
    md_sha384 = EVP_MD_fetch(NULL, p384.md_name, NULL);
    order_p256 = order_of_nid(p256.nid);
    order_p384 = order_of_nid(p384.nid);
    tmpl_p256 = params_only(p256.group);
    tmpl_p384 = params_only(p384.group);
}

static const struct curve *curve_of(enum gtee_ec_curve c)
{
    switch (c) {
    case GTEE_EC_P256: return &p256;
    case GTEE_EC_P384: return &p384;
    }
    return NULL;
}

static const EVP_MD *md_of(const struct curve *cv)
{
    if (pthread_once(&once, init_once) != 0)
        return NULL;
    return cv == &p256 ? md_sha256 : md_sha384;
}

static const BIGNUM *order_of(const struct curve *cv)
{
    if (pthread_once(&once, init_once) != 0)
        return NULL;
    return cv == &p256 ? order_p256 : order_p384;
}

static const EVP_PKEY *template_of(const struct curve *cv)
{
    if (pthread_once(&once, init_once) != 0)
        return NULL;
    return cv == &p256 ? tmpl_p256 : tmpl_p384;
}

size_t gtee_ec_priv_len(enum gtee_ec_curve c)
{
    const struct curve *cv = curve_of(c);

    return cv ? cv->field_len : 0;
}

size_t gtee_ec_pub_len(enum gtee_ec_curve c)
{
    const struct curve *cv = curve_of(c);

    return cv ? 1 + 2 * cv->field_len : 0;
}

size_t gtee_ec_sig_len(enum gtee_ec_curve c)
{
    const struct curve *cv = curve_of(c);

    return cv ? 2 * cv->field_len : 0;
}

/* Public key from an uncompressed SEC1 point: a copy of the curve's parameter-only
 * template with the point set into it. Copying keeps the group's precomputed Montgomery
 * context; importing by group name (EVP_PKEY_fromdata) would rebuild the group on every
 * call, about four times the cost. EC_KEY_oct2key underneath decodes the point with
 * EC_POINT_oct2point, which rejects coordinates not below p or not on the curve; with
 * cofactor 1 that is
 * the whole of SEC 1 §3.2.2.1 validation short of the point at infinity, which the 0x04
 * prefix already excludes. */
static int pub_from_raw(const struct curve *cv, const uint8_t *pub, EVP_PKEY **out)
{
    const EVP_PKEY *tmpl = template_of(cv);
    int rc = GTEE_EKEY;

    *out = NULL;
    if (!tmpl)
        return GTEE_ECRYPTO;
    if (pub[0] != 0x04) /* SEC 1 §2.3.3: uncompressed form only */
        return GTEE_EKEY;
    *out = EVP_PKEY_dup((EVP_PKEY *)tmpl);
    if (!*out) {
        rc = GTEE_ECRYPTO;
        goto out;
    }
    if (EVP_PKEY_set1_encoded_public_key(*out, pub, 1 + 2 * cv->field_len) == 1)
        rc = 0;
out:
    if (rc < 0) {
        EVP_PKEY_free(*out);
        *out = NULL;
        ERR_clear_error();
    }
    return rc;
}

/* Private key from a big-endian scalar; it travels in "secure" BIGNUM memory, which
 * OpenSSL cleanses when freed (and locks when a secure heap is configured). */
static int priv_from_raw(const struct curve *cv, const uint8_t *priv, EVP_PKEY **out)
{
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    const BIGNUM *order = order_of(cv);
    BIGNUM *d = BN_secure_new();
    int rc = GTEE_ECRYPTO;

    *out = NULL;
    if (!order || !d || !BN_bin2bn(priv, (int)cv->field_len, d))
        goto out;
    /* SEC 1 §3.2.1: d in [1, n-1] */
    if (BN_is_zero(d) || BN_cmp(d, order) >= 0) {
        rc = GTEE_EKEY;
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->group, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1)
        goto out;
    if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1)
        goto out;
    rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clear-frees the block holding the secure BN */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    if (rc < 0)
        ERR_clear_error();
    return rc;
}

int gtee_ecdsa_keypair(enum gtee_ec_curve c, uint8_t *priv, uint8_t *pub)
{
    const struct curve *cv = curve_of(c);
    EVP_PKEY *pk = NULL;
    BIGNUM *d = NULL;
    size_t n = 0;
    int rc = GTEE_ECRYPTO;

    if (!cv)
        return GTEE_EUNSUPPORTED;
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cv->group);
    if (!pk || EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
        BN_bn2binpad(d, priv, (int)cv->field_len) != (int)cv->field_len)
        goto out;
    /* the provider's default point format is uncompressed */
    if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * cv->field_len, &n) != 1 ||
        n != 1 + 2 * cv->field_len || pub[0] != 0x04)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        gtee_wipe(priv, cv->field_len);
        ERR_clear_error();
    }
    BN_clear_free(d);
    EVP_PKEY_free(pk);
    return rc;
}

static int hash_msg(const struct curve *cv, const void *msg, size_t len, uint8_t *out)
{
    const EVP_MD *md = md_of(cv);
    unsigned int n = 0;

    if (!md || EVP_Digest(msg, len, out, &n, md, NULL) != 1 || n != cv->field_len)
        return GTEE_ECRYPTO;
    return 0;
}

int gtee_ecdsa_sign(enum gtee_ec_curve c, const uint8_t *priv, const void *msg, size_t len, uint8_t *sig)
{
    const struct curve *cv = curve_of(c);
    uint8_t digest[GTEE_SHA384_LEN], der[DER_SIG_MAX];
    const unsigned char *p = der;
    const BIGNUM *r = NULL, *s = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    EVP_PKEY *pk = NULL;
    size_t der_len = sizeof(der);
    int rc = GTEE_ECRYPTO;

    if (!cv)
        return GTEE_EUNSUPPORTED;
    if ((rc = hash_msg(cv, msg, len, digest)) < 0 || (rc = priv_from_raw(cv, priv, &pk)) < 0)
        goto out;
    rc = GTEE_ECRYPTO;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_sign(ctx, der, &der_len, digest, cv->field_len) != 1)
        goto out;
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!es)
        goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, (int)cv->field_len) != (int)cv->field_len ||
        BN_bn2binpad(s, sig + cv->field_len, (int)cv->field_len) != (int)cv->field_len)
        goto out;
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk); /* cleanses the private scalar */
    gtee_wipe(digest, sizeof(digest));
    if (rc < 0) {
        gtee_wipe(sig, 2 * cv->field_len);
        ERR_clear_error();
    }
    return rc;
}

/* raw r || s -> DER ECDSA-Sig-Value (SEC 1 §C.8); returns its length or 0 */
static size_t sig_to_der(const struct curve *cv, const uint8_t *sig, uint8_t der[DER_SIG_MAX])
{
    BIGNUM *r = BN_bin2bn(sig, (int)cv->field_len, NULL);
    BIGNUM *s = BN_bin2bn(sig + cv->field_len, (int)cv->field_len, NULL);
    ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *p = der;
    size_t n = 0;

    if (r && s && es && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        if (i2d_ECDSA_SIG(es, NULL) <= DER_SIG_MAX) {
            int got = i2d_ECDSA_SIG(es, &p);

            n = got > 0 ? (size_t)got : 0;
        }
    }
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    return n;
}

int gtee_ecdsa_verify_digest(enum gtee_ec_curve c, const uint8_t *pub, const uint8_t *digest,
                             size_t digest_len, const uint8_t *sig)
{
    const struct curve *cv = curve_of(c);
    uint8_t der[DER_SIG_MAX];
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    size_t der_len;
    int rc = GTEE_EAUTH;

    if (!cv)
        return GTEE_EUNSUPPORTED;
    if (digest_len != cv->field_len)
        return GTEE_EINVAL;
    if ((rc = pub_from_raw(cv, pub, &pk)) < 0)
        goto out;
    rc = GTEE_EAUTH;
    der_len = sig_to_der(cv, sig, der);
    if (der_len == 0) {
        rc = GTEE_ECRYPTO;
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) != 1) {
        rc = GTEE_ECRYPTO;
        goto out;
    }
    /* 1 only for a valid signature; 0 (mismatch) and <0 (r or s out of range) both fail */
    if (EVP_PKEY_verify(ctx, der, der_len, digest, digest_len) == 1)
        rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    if (rc < 0)
        ERR_clear_error();
    return rc;
}

int gtee_ecdsa_verify(enum gtee_ec_curve c, const uint8_t *pub, const void *msg, size_t len,
                      const uint8_t *sig)
{
    const struct curve *cv = curve_of(c);
    uint8_t digest[GTEE_SHA384_LEN];
    int rc;

    if (!cv)
        return GTEE_EUNSUPPORTED;
    rc = hash_msg(cv, msg, len, digest);
    if (rc == 0)
        rc = gtee_ecdsa_verify_digest(c, pub, digest, cv->field_len, sig);
    return rc;
}
