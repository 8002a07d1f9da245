/* Relay boxes (include/gtee/msg.h): ECDH over P-256 (SEC 1 §3.3.1, through OpenSSL 3's
 * EVP_PKEY_derive), HKDF-SHA256 (RFC 5869) and AES-256-GCM. The host relays these bytes
 * and has no key for them. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"

#define NONCE_LEN GTEE_AEAD_NONCE_LEN
#define TAG_LEN GTEE_AEAD_TAG_LEN

static EVP_PKEY *key_from(const uint8_t *priv, const uint8_t pub[GTEE_RELAY_PUB_LEN])
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *d = NULL;

    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, GTEE_RELAY_PUB_LEN))
        goto out;
    if (priv) {
        d = BN_secure_new();
        if (!d || !BN_bin2bn(priv, 32, d) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
        key = NULL;
out:
    BN_clear_free(d);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* The point is checked on import (fromdata) and again by the public key check. */
static int ecdh(const uint8_t priv[32], const uint8_t my_pub[GTEE_RELAY_PUB_LEN],
                const uint8_t peer_pub[GTEE_RELAY_PUB_LEN], uint8_t shared[32], struct gtee_err *err)
{
    EVP_PKEY *me = key_from(priv, my_pub), *peer = key_from(NULL, peer_pub);
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    size_t n = 32;
    int rc = GTEE_EKEY;

    ENSURE(me, err, GTEE_EKEY, "relay: own P-256 key unusable");
    ENSURE(peer, err, GTEE_EKEY, "relay: peer public key is not a P-256 point");
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    ENSURE(chk && EVP_PKEY_public_check(chk) == 1, err, GTEE_EKEY, "relay: peer public key fails the check");
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, me, NULL);
    ENSURE(ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0 &&
           EVP_PKEY_derive(ctx, shared, &n) > 0 && n == 32, err, GTEE_ECRYPTO, "relay: ECDH failed");
    rc = 0;
out:
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(me);
    EVP_PKEY_free(peer);
    return rc;
}

/* Request and response keys, bound to both public keys. */
static int derive(const uint8_t shared[32], const uint8_t client_pub[GTEE_RELAY_PUB_LEN],
                  const uint8_t channel_pub[GTEE_RELAY_PUB_LEN], uint8_t req[32], uint8_t resp[32],
                  struct gtee_err *err)
{
    static const char info[] = "gtee relay v1 request+response";
    uint8_t salt[2 * GTEE_RELAY_PUB_LEN], okm[64];
    int rc = 0;

    memcpy(salt, client_pub, GTEE_RELAY_PUB_LEN);
    memcpy(salt + GTEE_RELAY_PUB_LEN, channel_pub, GTEE_RELAY_PUB_LEN);
    if (gtee_hkdf_sha256(okm, sizeof(okm), shared, 32, salt, sizeof(salt), (const uint8_t *)info, sizeof(info) - 1))
        rc = GTEE_FAIL(err, GTEE_ECRYPTO, "relay: key derivation failed");
    memcpy(req, okm, 32);
    memcpy(resp, okm + 32, 32);
    gtee_wipe(okm, sizeof(okm));
    return rc;
}

static int box_seal(const uint8_t key[32], const uint8_t *aad, size_t aad_len, const void *pt, size_t len,
                    uint8_t *out /* nonce || ct || tag */, struct gtee_err *err)
{
    struct gtee_aead *a = NULL;
    int rc;

    TRY(gtee_aead_new(&a, GTEE_AEAD_AES_256_GCM, key, err));
    ENSURE(gtee_random(out, NONCE_LEN) == 0, err, GTEE_ECRYPTO, "relay: no randomness");
    TRY(gtee_aead_seal(a, out, aad, aad_len, pt, len, out + NONCE_LEN, out + NONCE_LEN + len, err));
out:
    gtee_aead_free(a);
    return rc;
}

static int box_open(const uint8_t key[32], const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                    uint8_t **pt, size_t *pt_len, struct gtee_err *err)
{
    struct gtee_aead *a = NULL;
    uint8_t *p = NULL;
    size_t n = 0;
    int rc = GTEE_EFORMAT;

    ENSURE(in_len >= NONCE_LEN + TAG_LEN, err, GTEE_EFORMAT, "relay: box of %zu bytes is too short", in_len);
    n = in_len - NONCE_LEN - TAG_LEN;
    p = malloc(n ? n : 1);
    ENSURE(p, err, GTEE_ENOMEM, "relay: out of memory");
    TRY(gtee_aead_new(&a, GTEE_AEAD_AES_256_GCM, key, err));
    TRY(gtee_aead_open(a, in, aad, aad_len, in + NONCE_LEN, n, in + NONCE_LEN + n, p, err));
    *pt = p;
    *pt_len = n;
    p = NULL;
    rc = 0;
out:
    gtee_aead_free(a);
    if (p) {
        gtee_wipe(p, n);
        free(p);
    }
    return rc;
}

int gtee_relay_keypair(uint8_t priv[32], uint8_t pub[GTEE_RELAY_PUB_LEN], struct gtee_err *err)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    BIGNUM *d = NULL;
    size_t n = 0;
    int rc = GTEE_ECRYPTO;

    ENSURE(k, err, GTEE_ECRYPTO, "relay: P-256 key generation failed");
    ENSURE(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, GTEE_RELAY_PUB_LEN, &n) &&
           n == GTEE_RELAY_PUB_LEN && pub[0] == 0x04 && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d) &&
           BN_bn2binpad(d, priv, 32) == 32, err, GTEE_ECRYPTO, "relay: P-256 key export failed");
    rc = 0;
out:
    BN_clear_free(d);
    EVP_PKEY_free(k);
    return rc;
}

int gtee_relay_seal_request(const uint8_t channel_pub[GTEE_RELAY_PUB_LEN], const void *pt, size_t len,
                            uint8_t resp_key[GTEE_RELAY_KEY_LEN], uint8_t **box, size_t *box_len,
                            struct gtee_err *err)
{
    uint8_t cpriv[32], cpub[GTEE_RELAY_PUB_LEN];
    int rc;

    *box = NULL;
    *box_len = 0;
    TRY(gtee_relay_keypair(cpriv, cpub, err));
    rc = gtee_relay_seal_request_from(cpriv, cpub, channel_pub, pt, len, resp_key, box, box_len, err);
out:
    gtee_wipe(cpriv, sizeof(cpriv));
    return rc;
}

int gtee_relay_seal_request_from(const uint8_t cpriv[32], const uint8_t cpub[GTEE_RELAY_PUB_LEN],
                                 const uint8_t channel_pub[GTEE_RELAY_PUB_LEN], const void *pt, size_t len,
                                 uint8_t resp_key[GTEE_RELAY_KEY_LEN], uint8_t **box, size_t *box_len,
                                 struct gtee_err *err)
{
    uint8_t shared[32], req[32], *b = NULL;
    int rc = GTEE_EINVAL;

    *box = NULL;
    *box_len = 0;
    ENSURE(len <= GTEE_MSG_MAX_PAYLOAD - GTEE_RELAY_REQ_OVERHEAD, err, GTEE_EINVAL, "relay: request too long");
    TRY(ecdh(cpriv, cpub, channel_pub, shared, err));
    TRY(derive(shared, cpub, channel_pub, req, resp_key, err));
    b = malloc(GTEE_RELAY_REQ_OVERHEAD + len);
    ENSURE(b, err, GTEE_ENOMEM, "relay: out of memory");
    memcpy(b, cpub, GTEE_RELAY_PUB_LEN);
    TRY(box_seal(req, cpub, GTEE_RELAY_PUB_LEN, pt, len, b + GTEE_RELAY_PUB_LEN, err));
    *box = b;
    *box_len = GTEE_RELAY_REQ_OVERHEAD + len;
    b = NULL;
    rc = 0;
out:
    gtee_wipe(shared, sizeof(shared));
    gtee_wipe(req, sizeof(req));
    free(b);
    return rc;
}

int gtee_relay_open_request(const uint8_t channel_priv[32], const uint8_t channel_pub[GTEE_RELAY_PUB_LEN],
                            const uint8_t *box, size_t box_len, uint8_t resp_key[GTEE_RELAY_KEY_LEN],
                            uint8_t **pt, size_t *pt_len, struct gtee_err *err)
{
    uint8_t shared[32], req[32];
    int rc = GTEE_EFORMAT;

    *pt = NULL;
    *pt_len = 0;
    ENSURE(box_len >= GTEE_RELAY_REQ_OVERHEAD, err, GTEE_EFORMAT, "relay: request box of %zu bytes is too short",
           box_len);
    TRY(ecdh(channel_priv, channel_pub, box, shared, err));
    TRY(derive(shared, box, channel_pub, req, resp_key, err));
    TRY(box_open(req, box, GTEE_RELAY_PUB_LEN, box + GTEE_RELAY_PUB_LEN, box_len - GTEE_RELAY_PUB_LEN, pt, pt_len,
                 err));
out:
    gtee_wipe(shared, sizeof(shared));
    gtee_wipe(req, sizeof(req));
    if (rc < 0)
        gtee_wipe(resp_key, GTEE_RELAY_KEY_LEN);
    return rc;
}

int gtee_relay_seal_response(const uint8_t resp_key[GTEE_RELAY_KEY_LEN], const void *pt, size_t len, uint8_t **box,
                             size_t *box_len, struct gtee_err *err)
{
    static const char aad[] = "gtee relay v1 response";
    uint8_t *b;
    int rc;

    *box = NULL;
    *box_len = 0;
    if (len > GTEE_MSG_MAX_PAYLOAD)
        return GTEE_FAIL(err, GTEE_EINVAL, "relay: response too long");
    b = malloc(GTEE_RELAY_RESP_OVERHEAD + len);
    if (!b)
        return GTEE_FAIL(err, GTEE_ENOMEM, "relay: out of memory");
    rc = box_seal(resp_key, (const uint8_t *)aad, sizeof(aad) - 1, pt, len, b, err);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *box = b;
    *box_len = GTEE_RELAY_RESP_OVERHEAD + len;
    return 0;
}

int gtee_relay_open_response(const uint8_t resp_key[GTEE_RELAY_KEY_LEN], const uint8_t *box, size_t box_len,
                             uint8_t **pt, size_t *pt_len, struct gtee_err *err)
{
    static const char aad[] = "gtee relay v1 response";

    *pt = NULL;
    *pt_len = 0;
    return box_open(resp_key, (const uint8_t *)aad, sizeof(aad) - 1, box, box_len, pt, pt_len, err);
}
