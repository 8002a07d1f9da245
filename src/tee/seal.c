/* Sealed blobs: data encrypted under a key only this enclave (MRENCLAVE policy) or enclaves
 * of its signer (MRSIGNER policy) can derive on this device. Layout in docs/tee.md. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "tee/tee_int.h"

#define SEAL_MAGIC "GTSL"
#define SEAL_VERSION 1
#define SEAL_HEADER_LEN 48
#define SEAL_KEY_ID_LEN 8
#define SEAL_SALT_LEN 16

static const char key_id_info[] = "gtee seal key id v1";
static const char blob_key_info[] = "gtee seal blob key v1";

/* The key id names the sealing key without revealing it (a keyed hash), so an unseal under
 * another identity fails as "wrong key", distinct from a tampered blob. */
static int key_id(const uint8_t skey[GTEE_SEAL_KEY_LEN], uint8_t id[SEAL_KEY_ID_LEN], struct gtee_err *err)
{
    uint8_t mac[GTEE_SHA256_LEN];
    int rc = gtee_hmac_sha256(skey, GTEE_SEAL_KEY_LEN, key_id_info, sizeof(key_id_info) - 1, mac);

    if (rc != 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "seal: key id computation failed");
    memcpy(id, mac, SEAL_KEY_ID_LEN);
    return 0;
}

/* A fresh key per blob (salt) keeps random 96-bit nonces far from any collision bound. */
static int blob_key(const uint8_t skey[GTEE_SEAL_KEY_LEN], const uint8_t salt[SEAL_SALT_LEN],
                    struct gtee_aead **aead, struct gtee_err *err)
{
    uint8_t k[GTEE_AEAD_KEY_LEN];
    int rc = GTEE_ECRYPTO;

    if (gtee_hkdf_sha256(k, sizeof(k), skey, GTEE_SEAL_KEY_LEN, salt, SEAL_SALT_LEN,
                         (const uint8_t *)blob_key_info, sizeof(blob_key_info) - 1) != 0) {
        rc = GTEE_FAIL(err, GTEE_ECRYPTO, "seal: key derivation failed");
        goto out;
    }
    rc = gtee_aead_new(aead, GTEE_AEAD_AES_256_GCM, k, err);
out:
    gtee_wipe(k, sizeof(k));
    return rc;
}

int gtee_tee_seal(struct gtee_tee *t, enum gtee_seal_policy policy, const void *pt, size_t len,
                  uint8_t **blob, size_t *blob_len, struct gtee_err *err)
{
    uint8_t skey[GTEE_SEAL_KEY_LEN], *b = NULL;
    struct gtee_aead *aead = NULL;
    int rc = GTEE_EINVAL;

    *blob = NULL;
    *blob_len = 0;
    ENSURE(len <= GTEE_SEAL_MAX, err, GTEE_EINVAL, "seal: %zu bytes exceed the %u-byte limit", len, GTEE_SEAL_MAX);
    ENSURE(pt || len == 0, err, GTEE_EINVAL, "seal: no plaintext");
    TRY(gtee_tee_sealing_key(t, policy, skey, err));
    b = malloc(len + GTEE_SEAL_OVERHEAD);
    ENSURE(b, err, GTEE_ENOMEM, "seal: out of memory");
    memcpy(b, SEAL_MAGIC, 4);
    b[4] = SEAL_VERSION;
    b[5] = (uint8_t)policy;
    b[6] = GTEE_AEAD_AES_256_GCM;
    b[7] = 0;
    TRY(key_id(skey, b + 8, err));
    ENSURE(gtee_random(b + 16, SEAL_SALT_LEN + GTEE_AEAD_NONCE_LEN) == 0, err, GTEE_ECRYPTO,
           "seal: no randomness for salt and nonce");
    put_u32be(b + 44, (uint32_t)len);
    TRY(blob_key(skey, b + 16, &aead, err));
    /* AAD is the whole header: policy, algorithm, key id and length cannot be changed. */
    TRY(gtee_aead_seal(aead, b + 32, b, SEAL_HEADER_LEN, pt, len, b + SEAL_HEADER_LEN,
                       b + SEAL_HEADER_LEN + len, err));
    *blob = b;
    *blob_len = len + GTEE_SEAL_OVERHEAD;
    b = NULL;
    rc = 0;
out:
    gtee_wipe(skey, sizeof(skey));
    gtee_aead_free(aead);
    free(b);
    return rc;
}

int gtee_tee_unseal(struct gtee_tee *t, const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *pt_len,
                    struct gtee_err *err)
{
    uint8_t skey[GTEE_SEAL_KEY_LEN], id[SEAL_KEY_ID_LEN], *p = NULL;
    struct gtee_aead *aead = NULL;
    struct span s = span_init(blob, blob_len);
    const uint8_t *magic, *hdr_id, *salt, *nonce, *ct, *tag;
    uint8_t version, policy, alg, reserved;
    uint32_t len;
    int rc = GTEE_EFORMAT;

    *pt = NULL;
    *pt_len = 0;
    magic = span_take(&s, 4);
    version = span_u8(&s);
    policy = span_u8(&s);
    alg = span_u8(&s);
    reserved = span_u8(&s);
    hdr_id = span_take(&s, SEAL_KEY_ID_LEN);
    salt = span_take(&s, SEAL_SALT_LEN);
    nonce = span_take(&s, GTEE_AEAD_NONCE_LEN);
    len = span_u32be(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "unseal: blob shorter than its %d-byte header", SEAL_HEADER_LEN);
    ENSURE(memcmp(magic, SEAL_MAGIC, 4) == 0, err, GTEE_EFORMAT, "unseal: not a sealed blob (magic, offset 0)");
    ENSURE(version == SEAL_VERSION, err, GTEE_EUNSUPPORTED, "unseal: version %u (offset 4)", version);
    ENSURE(policy == GTEE_SEAL_MRENCLAVE || policy == GTEE_SEAL_MRSIGNER, err, GTEE_EFORMAT,
           "unseal: unknown policy %u (offset 5)", policy);
    ENSURE(alg == GTEE_AEAD_AES_256_GCM, err, GTEE_EUNSUPPORTED, "unseal: algorithm %u (offset 6)", alg);
    ENSURE(reserved == 0, err, GTEE_EFORMAT, "unseal: reserved byte set (offset 7)");
    ENSURE(len <= GTEE_SEAL_MAX && s.len == (size_t)len + GTEE_AEAD_TAG_LEN, err, GTEE_EFORMAT,
           "unseal: length field %u does not match the blob's %zu bytes (offset 44)", len, blob_len);
    ct = span_take(&s, len);
    tag = span_take(&s, GTEE_AEAD_TAG_LEN);
    TRY(gtee_tee_sealing_key(t, (enum gtee_seal_policy)policy, skey, err));
    TRY(key_id(skey, id, err));
    ENSURE(gtee_ct_equal(id, hdr_id, SEAL_KEY_ID_LEN), err, GTEE_EKEY,
           "unseal: blob was sealed to another %s (key id, offset 8)",
           policy == GTEE_SEAL_MRENCLAVE ? "enclave measurement or device" : "signer or device");
    TRY(blob_key(skey, salt, &aead, err));
    p = malloc(len ? len : 1);
    ENSURE(p, err, GTEE_ENOMEM, "unseal: out of memory");
    TRY(gtee_aead_open(aead, nonce, blob, SEAL_HEADER_LEN, ct, len, tag, p, err));
    *pt = p;
    *pt_len = len;
    p = NULL;
    rc = 0;
out:
    gtee_wipe(skey, sizeof(skey));
    gtee_aead_free(aead);
    gtee_tee_free_secret(p, len);
    return rc;
}

void gtee_tee_free_secret(void *p, size_t len)
{
    if (!p)
        return;
    gtee_wipe(p, len);
    free(p);
}
