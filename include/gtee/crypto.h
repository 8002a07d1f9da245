/* Glacier TEE Node crypto layer: a thin, hard-to-misuse layer over OpenSSL 3 and
 * libsecp256k1. Fixed-size keys are byte arrays with a constant for every size; every
 * function returns 0 or a negative GTEE_E* code (gtee/err.h). */
#ifndef GTEE_CRYPTO_H
#define GTEE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

/* ---- sizes ---- */
#define GTEE_SHA256_LEN 32
#define GTEE_SHA384_LEN 48
#define GTEE_SHA512_LEN 64
#define GTEE_KECCAK256_LEN 32

#define GTEE_AEAD_KEY_LEN 32
#define GTEE_AEAD_NONCE_LEN 12
#define GTEE_AEAD_TAG_LEN 16

#define GTEE_X25519_KEY_LEN 32

#define GTEE_P256_PRIV_LEN 32
#define GTEE_P256_PUB_LEN 65  /* uncompressed SEC1: 0x04 || x || y */
#define GTEE_P256_SIG_LEN 64  /* raw r || s, big-endian, as in DCAP quotes */
#define GTEE_P384_PRIV_LEN 48
#define GTEE_P384_PUB_LEN 97
#define GTEE_P384_SIG_LEN 96

#define GTEE_ED25519_SEED_LEN 32
#define GTEE_ED25519_PUB_LEN 32
#define GTEE_ED25519_SIG_LEN 64

#define GTEE_SECP256K1_PRIV_LEN 32
#define GTEE_SECP256K1_PUB_LEN 65      /* uncompressed SEC1 */
#define GTEE_SECP256K1_RSIG_LEN 65     /* r || s || v, v in {0,1} (recovery id) */
#define GTEE_ETH_ADDR_LEN 20
#define GTEE_ETH_ADDR_HEX_LEN 42       /* "0x" + 40 hex digits, EIP-55 checksummed */

/* ---- hashes ---- */
int gtee_sha256(const void *msg, size_t len, uint8_t out[GTEE_SHA256_LEN]) GTEE_MUST_USE;
int gtee_sha384(const void *msg, size_t len, uint8_t out[GTEE_SHA384_LEN]) GTEE_MUST_USE;
int gtee_sha512(const void *msg, size_t len, uint8_t out[GTEE_SHA512_LEN]) GTEE_MUST_USE;
/* Ethereum's Keccak-256 (original Keccak padding 0x01, not FIPS 202 SHA3-256). */
void gtee_keccak256(const void *msg, size_t len, uint8_t out[GTEE_KECCAK256_LEN]);

/* Streaming SHA-256 for large inputs (content identifiers). */
struct gtee_sha256_ctx;
int gtee_sha256_new(struct gtee_sha256_ctx **ctx) GTEE_MUST_USE;
int gtee_sha256_update(struct gtee_sha256_ctx *ctx, const void *p, size_t len) GTEE_MUST_USE;
int gtee_sha256_final(struct gtee_sha256_ctx *ctx, uint8_t out[GTEE_SHA256_LEN]) GTEE_MUST_USE;
void gtee_sha256_free(struct gtee_sha256_ctx *ctx);

/* HMAC-SHA256 (RFC 2104). */
int gtee_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len,
                     uint8_t out[GTEE_SHA256_LEN]) GTEE_MUST_USE;

/* HKDF-SHA256 (RFC 5869): extract with salt (may be NULL/0), then expand to out_len. */
int gtee_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
                     const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len) GTEE_MUST_USE;

/* HKDF's two halves, for constructions that label each (HPKE): extract is HMAC(salt, ikm)
 * (an empty salt is HashLen zero bytes, RFC 5869 §2.2); expand takes the extracted key. */
int gtee_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[GTEE_SHA256_LEN], const uint8_t *info,
                            size_t info_len) GTEE_MUST_USE;

/* ---- HPKE (RFC 9180), base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM ----
 * Results encrypted to a requester's X25519 public key, to wait in any untrusted store. A
 * context seals (sender) or opens (receiver) a sequence of messages; seal writes len + 16
 * bytes. OpenSSL 3.0 (Debian 12's) has no HPKE, so it is built here from its primitives
 * and checked on the RFC's test vectors (tests/crypto/test_hpke.c). */
#define GTEE_HPKE_ENC_LEN 32
#define GTEE_HPKE_TAG_LEN 16
struct gtee_hpke;
/* Sender: a fresh ephemeral key; enc goes with the ciphertexts. */
int gtee_hpke_sender(const uint8_t pk_r[GTEE_HPKE_ENC_LEN], const uint8_t *info, size_t info_len,
                     uint8_t enc[GTEE_HPKE_ENC_LEN], struct gtee_hpke **out, struct gtee_err *err) GTEE_MUST_USE;
/* The same from a given ephemeral private key (the RFC's test vectors; never otherwise). */
int gtee_hpke_sender_with(const uint8_t sk_e[GTEE_HPKE_ENC_LEN], const uint8_t pk_r[GTEE_HPKE_ENC_LEN],
                          const uint8_t *info, size_t info_len, uint8_t enc[GTEE_HPKE_ENC_LEN], struct gtee_hpke **out,
                          struct gtee_err *err) GTEE_MUST_USE;
int gtee_hpke_receiver(const uint8_t sk_r[GTEE_HPKE_ENC_LEN], const uint8_t enc[GTEE_HPKE_ENC_LEN],
                       const uint8_t *info, size_t info_len, struct gtee_hpke **out, struct gtee_err *err) GTEE_MUST_USE;
int gtee_hpke_seal(struct gtee_hpke *h, const void *aad, size_t aad_len, const void *pt, size_t len, uint8_t *ct,
                   struct gtee_err *err) GTEE_MUST_USE;
/* GTEE_EAUTH when the ciphertext (ct_len >= 16) does not verify; pt gets ct_len - 16 bytes. */
int gtee_hpke_open(struct gtee_hpke *h, const void *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                   uint8_t *pt, struct gtee_err *err) GTEE_MUST_USE;
void gtee_hpke_free(struct gtee_hpke *h); /* wipes the keys; NULL ok */

/* ---- randomness, comparison, wiping ---- */
int gtee_random(void *buf, size_t len) GTEE_MUST_USE;   /* OpenSSL's CSPRNG (RAND_priv_bytes) */
int gtee_ct_equal(const void *a, const void *b, size_t len); /* 1 if equal, constant time */
void gtee_wipe(void *p, size_t len);                        /* OPENSSL_cleanse */

/* ---- AEAD ---- */
enum gtee_aead_alg {
    GTEE_AEAD_AES_256_GCM = 1,
    GTEE_AEAD_CHACHA20_POLY1305 = 2,
};
const char *gtee_aead_name(enum gtee_aead_alg alg); /* NULL if unknown */

/* A keyed AEAD context, reusable across many messages (the key schedule runs once). */
struct gtee_aead;
int gtee_aead_new(struct gtee_aead **ctx, enum gtee_aead_alg alg, const uint8_t key[GTEE_AEAD_KEY_LEN],
                  struct gtee_err *err) GTEE_MUST_USE;
/* ct may equal pt (in place). */
int gtee_aead_seal(struct gtee_aead *ctx, const uint8_t nonce[GTEE_AEAD_NONCE_LEN],
                   const void *aad, size_t aad_len, const void *pt, size_t len,
                   void *ct, uint8_t tag[GTEE_AEAD_TAG_LEN], struct gtee_err *err) GTEE_MUST_USE;
/* Returns GTEE_EAUTH if the tag does not verify; pt is then wiped. pt may equal ct. */
int gtee_aead_open(struct gtee_aead *ctx, const uint8_t nonce[GTEE_AEAD_NONCE_LEN],
                   const void *aad, size_t aad_len, const void *ct, size_t len,
                   const uint8_t tag[GTEE_AEAD_TAG_LEN], void *pt, struct gtee_err *err) GTEE_MUST_USE;
void gtee_aead_free(struct gtee_aead *ctx); /* wipes the key schedule; NULL ok */

/* ---- X25519 (RFC 7748) ---- */
int gtee_x25519_keypair(uint8_t priv[GTEE_X25519_KEY_LEN], uint8_t pub[GTEE_X25519_KEY_LEN]) GTEE_MUST_USE;
int gtee_x25519_public(const uint8_t priv[GTEE_X25519_KEY_LEN], uint8_t pub[GTEE_X25519_KEY_LEN]) GTEE_MUST_USE;
/* Fails with GTEE_EKEY on an all-zero shared secret (small-order peer point). */
int gtee_x25519(uint8_t shared[GTEE_X25519_KEY_LEN], const uint8_t priv[GTEE_X25519_KEY_LEN],
                const uint8_t peer_pub[GTEE_X25519_KEY_LEN]) GTEE_MUST_USE;

/* ---- ECDSA over NIST P-256 (SHA-256) and P-384 (SHA-384), raw r||s signatures ---- */
enum gtee_ec_curve { GTEE_EC_P256 = 1, GTEE_EC_P384 = 2 };
size_t gtee_ec_priv_len(enum gtee_ec_curve c);
size_t gtee_ec_pub_len(enum gtee_ec_curve c);
size_t gtee_ec_sig_len(enum gtee_ec_curve c);
int gtee_ecdsa_keypair(enum gtee_ec_curve c, uint8_t *priv, uint8_t *pub) GTEE_MUST_USE;
/* Signs msg (hashed inside with the curve's hash). */
int gtee_ecdsa_sign(enum gtee_ec_curve c, const uint8_t *priv, const void *msg, size_t len,
                    uint8_t *sig) GTEE_MUST_USE;
/* 0 if valid, GTEE_EAUTH if not, GTEE_EKEY if pub is not a point on the curve. */
int gtee_ecdsa_verify(enum gtee_ec_curve c, const uint8_t *pub, const void *msg, size_t len,
                      const uint8_t *sig) GTEE_MUST_USE;
/* Same with a precomputed digest of the curve's hash length. */
int gtee_ecdsa_verify_digest(enum gtee_ec_curve c, const uint8_t *pub, const uint8_t *digest,
                             size_t digest_len, const uint8_t *sig) GTEE_MUST_USE;

/* ---- Ed25519 (RFC 8032) ---- */
int gtee_ed25519_keypair(uint8_t seed[GTEE_ED25519_SEED_LEN], uint8_t pub[GTEE_ED25519_PUB_LEN]) GTEE_MUST_USE;
int gtee_ed25519_public(const uint8_t seed[GTEE_ED25519_SEED_LEN], uint8_t pub[GTEE_ED25519_PUB_LEN]) GTEE_MUST_USE;
int gtee_ed25519_sign(const uint8_t seed[GTEE_ED25519_SEED_LEN], const void *msg, size_t len,
                      uint8_t sig[GTEE_ED25519_SIG_LEN]) GTEE_MUST_USE;
int gtee_ed25519_verify(const uint8_t pub[GTEE_ED25519_PUB_LEN], const void *msg, size_t len,
                        const uint8_t sig[GTEE_ED25519_SIG_LEN]) GTEE_MUST_USE;

/* ---- secp256k1 (libsecp256k1): Ethereum keys, recoverable signatures, addresses ---- */
int gtee_secp256k1_keypair(uint8_t priv[GTEE_SECP256K1_PRIV_LEN], uint8_t pub[GTEE_SECP256K1_PUB_LEN]) GTEE_MUST_USE;
/* GTEE_EKEY if priv is zero or not below the group order. */
int gtee_secp256k1_public(const uint8_t priv[GTEE_SECP256K1_PRIV_LEN], uint8_t pub[GTEE_SECP256K1_PUB_LEN]) GTEE_MUST_USE;
/* Signs a 32-byte digest (RFC 6979 nonce, low-s); sig = r || s || recid. */
int gtee_secp256k1_sign(const uint8_t priv[GTEE_SECP256K1_PRIV_LEN], const uint8_t digest[32],
                        uint8_t sig[GTEE_SECP256K1_RSIG_LEN]) GTEE_MUST_USE;
/* Recovers the signer's public key; GTEE_EAUTH if the signature is invalid. */
int gtee_secp256k1_recover(const uint8_t digest[32], const uint8_t sig[GTEE_SECP256K1_RSIG_LEN],
                           uint8_t pub[GTEE_SECP256K1_PUB_LEN]) GTEE_MUST_USE;
/* address = last 20 bytes of keccak256(x || y). */
int gtee_eth_address(const uint8_t pub[GTEE_SECP256K1_PUB_LEN], uint8_t addr[GTEE_ETH_ADDR_LEN]) GTEE_MUST_USE;
/* EIP-55 mixed-case checksum encoding, NUL-terminated. */
void gtee_eth_address_hex(const uint8_t addr[GTEE_ETH_ADDR_LEN], char out[GTEE_ETH_ADDR_HEX_LEN + 1]);

/* ---- hex helpers (lowercase) ---- */
void gtee_hex_encode(const uint8_t *in, size_t len, char *out); /* out holds 2*len+1 */
/* The value of one hex digit (either case), or -1 for any other character. */
int gtee_hex_digit(int c);
/* Decodes exactly 2*len hex digits (either case, no prefix, not NUL-terminated) into len
 * bytes: 0, or GTEE_EFORMAT if any of them is not a hex digit (out is then partly written). */
int gtee_hex_bytes(const char *hex, size_t len, uint8_t *out) GTEE_MUST_USE;
/* Decodes exactly out_len bytes from a hex string of 2*out_len digits (optional 0x). */
int gtee_hex_decode(const char *hex, uint8_t *out, size_t out_len) GTEE_MUST_USE;

#endif
