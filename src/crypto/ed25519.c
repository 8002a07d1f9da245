/* Ed25519 signatures (RFC 8032 §5.1, pure variant) through OpenSSL's EVP_PKEY raw keys.
 * The private key is the 32-byte seed of RFC 8032 §5.1.5; OpenSSL expands it per call. */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "gtee/crypto.h"

int gtee_ed25519_public(const uint8_t seed[GTEE_ED25519_SEED_LEN], uint8_t pub[GTEE_ED25519_PUB_LEN])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, GTEE_ED25519_SEED_LEN);
    size_t n = GTEE_ED25519_PUB_LEN;
    int rc = GTEE_ECRYPTO;

    if (pk && EVP_PKEY_get_raw_public_key(pk, pub, &n) == 1 && n == GTEE_ED25519_PUB_LEN)
        rc = 0;
    EVP_PKEY_free(pk); /* cleanses OpenSSL's copy of the seed */
    return rc;
}

int gtee_ed25519_keypair(uint8_t seed[GTEE_ED25519_SEED_LEN], uint8_t pub[GTEE_ED25519_PUB_LEN])
{
    /* RFC 8032 §5.1.5: the private key is 32 random bytes */
    int rc = gtee_random(seed, GTEE_ED25519_SEED_LEN);

    if (rc == 0)
        rc = gtee_ed25519_public(seed, pub);
    if (rc < 0)
        gtee_wipe(seed, GTEE_ED25519_SEED_LEN);
    return rc;
}

int gtee_ed25519_sign(const uint8_t seed[GTEE_ED25519_SEED_LEN], const void *msg, size_t len,
                      uint8_t sig[GTEE_ED25519_SIG_LEN])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, GTEE_ED25519_SEED_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = GTEE_ED25519_SIG_LEN;
    int rc = GTEE_ECRYPTO;

    /* Ed25519 is one-shot and hashes internally: no digest, no streaming (RFC 8032 §5.1.6) */
    if (pk && md && EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, pk, NULL) == 1 &&
        EVP_DigestSign(md, sig, &n, msg, len) == 1 && n == GTEE_ED25519_SIG_LEN)
        rc = 0;
    if (rc < 0) {
        gtee_wipe(sig, GTEE_ED25519_SIG_LEN);
        ERR_clear_error();
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return rc;
}

int gtee_ed25519_verify(const uint8_t pub[GTEE_ED25519_PUB_LEN], const void *msg, size_t len,
                        const uint8_t sig[GTEE_ED25519_SIG_LEN])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, GTEE_ED25519_PUB_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = GTEE_ECRYPTO;

    if (!pk) {
        rc = GTEE_EKEY;
        goto out;
    }
    if (!md || EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, pk, NULL) != 1)
        goto out;
    /* RFC 8032 §5.1.7; OpenSSL also rejects S >= L (the malleability check of step 1) */
    rc = EVP_DigestVerify(md, sig, GTEE_ED25519_SIG_LEN, msg, len) == 1 ? 0 : GTEE_EAUTH;
out:
    if (rc < 0)
        ERR_clear_error();
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return rc;
}
