/* AEAD: AES-256-GCM and ChaCha20-Poly1305 (RFC 8439) through OpenSSL's EVP cipher API.
 * The context keeps the expanded key so a stream of chunks pays the key schedule once. */
#include <limits.h>
#include <openssl/evp.h>

#include "gtee/crypto.h"

struct gtee_aead {
    enum gtee_aead_alg alg;
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
};

const char *gtee_aead_name(enum gtee_aead_alg alg)
{
    switch (alg) {
    case GTEE_AEAD_AES_256_GCM: return "AES-256-GCM";
    case GTEE_AEAD_CHACHA20_POLY1305: return "ChaCha20-Poly1305";
    }
    return NULL;
}

static const EVP_CIPHER *cipher_of(enum gtee_aead_alg alg)
{
    switch (alg) {
    case GTEE_AEAD_AES_256_GCM: return EVP_aes_256_gcm();
    case GTEE_AEAD_CHACHA20_POLY1305: return EVP_chacha20_poly1305();
    }
    return NULL;
}

void gtee_aead_free(struct gtee_aead *ctx)
{
    if (!ctx)
        return;
    EVP_CIPHER_CTX_free(ctx->enc); /* frees and cleanses the key schedule */
    EVP_CIPHER_CTX_free(ctx->dec);
    OPENSSL_free(ctx);
}

int gtee_aead_new(struct gtee_aead **out, enum gtee_aead_alg alg, const uint8_t key[GTEE_AEAD_KEY_LEN],
                  struct gtee_err *err)
{
    const EVP_CIPHER *cipher = cipher_of(alg);
    struct gtee_aead *ctx;

    *out = NULL;
    if (!cipher)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "aead: unknown algorithm %d", (int)alg);
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (!ctx)
        return GTEE_FAIL(err, GTEE_ENOMEM, "aead: out of memory");
    ctx->alg = alg;
    ctx->enc = EVP_CIPHER_CTX_new();
    ctx->dec = EVP_CIPHER_CTX_new();
    if (!ctx->enc || !ctx->dec || !EVP_EncryptInit_ex2(ctx->enc, cipher, key, NULL, NULL) ||
        !EVP_DecryptInit_ex2(ctx->dec, cipher, key, NULL, NULL)) {
        gtee_aead_free(ctx);
        return GTEE_FAIL(err, GTEE_ECRYPTO, "aead: %s key setup failed", gtee_aead_name(alg));
    }
    *out = ctx;
    return 0;
}

/* EVP lengths are int: feed large buffers in slices. */
static int update(EVP_CIPHER_CTX *c, int enc, uint8_t *out, const uint8_t *in, size_t len)
{
    while (len > 0) {
        int n = len > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)len, got = 0;
        int ok = enc ? EVP_EncryptUpdate(c, out, &got, in, n) : EVP_DecryptUpdate(c, out, &got, in, n);

        if (!ok || got != n)
            return 0;
        if (out)
            out += n;
        in += n;
        len -= (size_t)n;
    }
    return 1;
}

int gtee_aead_seal(struct gtee_aead *ctx, const uint8_t nonce[GTEE_AEAD_NONCE_LEN], const void *aad,
                   size_t aad_len, const void *pt, size_t len, void *ct, uint8_t tag[GTEE_AEAD_TAG_LEN],
                   struct gtee_err *err)
{
    EVP_CIPHER_CTX *c = ctx->enc;
    uint8_t fin[EVP_MAX_BLOCK_LENGTH]; /* GCM and ChaCha20-Poly1305 emit nothing at final;
                                        * ct may be NULL for an empty message */
    int n = 0;

    if (!EVP_EncryptInit_ex2(c, NULL, NULL, nonce, NULL) ||
        (aad_len && !update(c, 1, NULL, aad, aad_len)) ||
        (len && !update(c, 1, ct, pt, len)) ||
        !EVP_EncryptFinal_ex(c, fin, &n) || n != 0 ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, GTEE_AEAD_TAG_LEN, tag))
        return GTEE_FAIL(err, GTEE_ECRYPTO, "aead: %s encryption failed", gtee_aead_name(ctx->alg));
    return 0;
}

int gtee_aead_open(struct gtee_aead *ctx, const uint8_t nonce[GTEE_AEAD_NONCE_LEN], const void *aad,
                   size_t aad_len, const void *ct, size_t len, const uint8_t tag[GTEE_AEAD_TAG_LEN],
                   void *pt, struct gtee_err *err)
{
    EVP_CIPHER_CTX *c = ctx->dec;
    uint8_t fin[EVP_MAX_BLOCK_LENGTH]; /* nothing is emitted at final (see seal) */
    int n = 0;

    if (!EVP_DecryptInit_ex2(c, NULL, NULL, nonce, NULL) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, GTEE_AEAD_TAG_LEN, (void *)tag) ||
        (aad_len && !update(c, 0, NULL, aad, aad_len)) ||
        (len && !update(c, 0, pt, ct, len))) {
        gtee_wipe(pt, len); /* a failed update may have written part of the plaintext */
        return GTEE_FAIL(err, GTEE_ECRYPTO, "aead: %s decryption failed", gtee_aead_name(ctx->alg));
    }
    if (EVP_DecryptFinal_ex(c, fin, &n) != 1 || n != 0) {
        gtee_wipe(pt, len); /* unauthenticated plaintext never leaves */
        return GTEE_FAIL(err, GTEE_EAUTH, "aead: %s tag mismatch", gtee_aead_name(ctx->alg));
    }
    return 0;
}
