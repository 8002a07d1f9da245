/* SHA-2 digests, HMAC-SHA256 and HKDF-SHA256 through OpenSSL 3's EVP interfaces. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <pthread.h>
#include <string.h>

#include "gtee/crypto.h"

/* Digests and HKDF are fetched from the provider once per process. A legacy handle (EVP_sha256(),
 * EVP_get_digestbyname) makes OpenSSL 3 fetch again inside every EVP_Digest call, which
 * costs more than hashing a short message. */
enum { MD_SHA256, MD_SHA384, MD_SHA512, MD_COUNT };
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *mds[MD_COUNT];
static EVP_KDF *hkdf_kdf;

static void fetch_mds(void)
{
    hkdf_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    mds[MD_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    mds[MD_SHA384] = EVP_MD_fetch(NULL, "SHA384", NULL);
    mds[MD_SHA512] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *md_get(int which)
{
    if (pthread_once(&md_once, fetch_mds) != 0)
        return NULL;
    return mds[which];
}

static int digest(int which, const void *msg, size_t len, uint8_t *out, unsigned int out_len)
{
    const EVP_MD *md = md_get(which);
    unsigned int n = 0;

    if (!md || !EVP_Digest(msg, len, out, &n, md, NULL) || n != out_len)
        return GTEE_ECRYPTO;
    return 0;
}

int gtee_sha256(const void *msg, size_t len, uint8_t out[GTEE_SHA256_LEN])
{
    return digest(MD_SHA256, msg, len, out, GTEE_SHA256_LEN);
}

int gtee_sha384(const void *msg, size_t len, uint8_t out[GTEE_SHA384_LEN])
{
    return digest(MD_SHA384, msg, len, out, GTEE_SHA384_LEN);
}

int gtee_sha512(const void *msg, size_t len, uint8_t out[GTEE_SHA512_LEN])
{
    return digest(MD_SHA512, msg, len, out, GTEE_SHA512_LEN);
}

struct gtee_sha256_ctx {
    EVP_MD_CTX *md;
};

int gtee_sha256_new(struct gtee_sha256_ctx **ctx)
{
    const EVP_MD *md = md_get(MD_SHA256);
    struct gtee_sha256_ctx *c = OPENSSL_zalloc(sizeof(*c));

    *ctx = NULL;
    if (!c)
        return GTEE_ENOMEM;
    c->md = EVP_MD_CTX_new();
    if (!md || !c->md || !EVP_DigestInit_ex(c->md, md, NULL)) {
        gtee_sha256_free(c);
        return GTEE_ECRYPTO;
    }
    *ctx = c;
    return 0;
}

int gtee_sha256_update(struct gtee_sha256_ctx *ctx, const void *p, size_t len)
{
    return EVP_DigestUpdate(ctx->md, p, len) ? 0 : GTEE_ECRYPTO;
}

int gtee_sha256_final(struct gtee_sha256_ctx *ctx, uint8_t out[GTEE_SHA256_LEN])
{
    unsigned int n = 0;

    return EVP_DigestFinal_ex(ctx->md, out, &n) ? 0 : GTEE_ECRYPTO;
}

void gtee_sha256_free(struct gtee_sha256_ctx *ctx)
{
    if (!ctx)
        return;
    EVP_MD_CTX_free(ctx->md);
    OPENSSL_free(ctx);
}

int gtee_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len,
                     uint8_t out[GTEE_SHA256_LEN])
{
    size_t n = 0;

    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, msg, len, out, GTEE_SHA256_LEN, &n))
        return GTEE_ECRYPTO;
    return n == GTEE_SHA256_LEN ? 0 : GTEE_ECRYPTO;
}

/* One HKDF call through OpenSSL's KDF: mode EXTRACT_AND_EXPAND (RFC 5869) or EXPAND_ONLY. */
static int hkdf(int mode, uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len, const uint8_t *salt,
                size_t salt_len, const uint8_t *info, size_t info_len)
{
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[6], *p = params;
    static const uint8_t empty[1];
    int rc = GTEE_ECRYPTO;

    /* RFC 5869 §2.3: 0 < L <= 255 * HashLen */
    if (out_len == 0 || out_len > 255 * GTEE_SHA256_LEN)
        return GTEE_EINVAL;
    if (!md_get(MD_SHA256) || !hkdf_kdf)
        return GTEE_ECRYPTO;
    kctx = EVP_KDF_CTX_new(hkdf_kdf);
    if (!kctx)
        goto out;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(key_len ? key : empty), key_len);
    if (salt && salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info && info_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
        rc = 0;
out:
    EVP_KDF_CTX_free(kctx); /* cleanses the extracted key */
    if (rc < 0)
        gtee_wipe(out, out_len); /* no partial key material on failure */
    return rc;
}

int gtee_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                     size_t salt_len, const uint8_t *info, size_t info_len)
{
    return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, out, out_len, ikm, ikm_len, salt, salt_len, info, info_len);
}

/* HKDF-Expand alone (RFC 5869 §2.3), for HPKE's labelled expansion (RFC 9180 §4). */
int gtee_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[GTEE_SHA256_LEN], const uint8_t *info,
                            size_t info_len)
{
    return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, out, out_len, prk, GTEE_SHA256_LEN, NULL, 0, info, info_len);
}
