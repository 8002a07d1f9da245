/* X25519 Diffie-Hellman (RFC 7748 §5, §6.1) through OpenSSL's EVP_PKEY raw-key interface. */
#include <openssl/evp.h>

#include "gtee/crypto.h"

int gtee_x25519_public(const uint8_t priv[GTEE_X25519_KEY_LEN], uint8_t pub[GTEE_X25519_KEY_LEN])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, GTEE_X25519_KEY_LEN);
    size_t n = GTEE_X25519_KEY_LEN;
    int rc = GTEE_ECRYPTO;

    if (pk && EVP_PKEY_get_raw_public_key(pk, pub, &n) == 1 && n == GTEE_X25519_KEY_LEN)
        rc = 0;
    EVP_PKEY_free(pk); /* frees and cleanses the private key copy */
    return rc;
}

int gtee_x25519_keypair(uint8_t priv[GTEE_X25519_KEY_LEN], uint8_t pub[GTEE_X25519_KEY_LEN])
{
    int rc = GTEE_ECRYPTO;

    /* RFC 7748 §5: any 32 random bytes are a valid scalar; clamping happens in X25519(). */
    rc = gtee_random(priv, GTEE_X25519_KEY_LEN);
    if (rc == 0)
        rc = gtee_x25519_public(priv, pub);
    if (rc < 0)
        gtee_wipe(priv, GTEE_X25519_KEY_LEN);
    return rc;
}

int gtee_x25519(uint8_t shared[GTEE_X25519_KEY_LEN], const uint8_t priv[GTEE_X25519_KEY_LEN],
                const uint8_t peer_pub[GTEE_X25519_KEY_LEN])
{
    static const uint8_t zero[GTEE_X25519_KEY_LEN];
    EVP_PKEY *mine = NULL, *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t n = GTEE_X25519_KEY_LEN;
    int rc = GTEE_ECRYPTO;

    mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, GTEE_X25519_KEY_LEN);
    peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, GTEE_X25519_KEY_LEN);
    if (!mine || !peer)
        goto out;
    ctx = EVP_PKEY_CTX_new(mine, NULL);
    if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1)
        goto out;
    if (EVP_PKEY_derive(ctx, shared, &n) != 1) {
        /* OpenSSL itself refuses an all-zero result; report it as the same key problem */
        rc = GTEE_EKEY;
        goto out;
    }
    if (n != GTEE_X25519_KEY_LEN)
        goto out;
    /* RFC 7748 §6.1: a small-order peer point gives the all-zero value; callers must not
     * derive keys from it, so it is an unusable key whatever OpenSSL's own checks do. */
    if (gtee_ct_equal(shared, zero, GTEE_X25519_KEY_LEN)) {
        rc = GTEE_EKEY;
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        gtee_wipe(shared, GTEE_X25519_KEY_LEN);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(mine);
    return rc;
}
