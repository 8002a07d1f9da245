/* HPKE (RFC 9180) in base mode for one suite: DHKEM(X25519, HKDF-SHA256) = 0x0020,
 * HKDF-SHA256 = 0x0001, AES-256-GCM = 0x0002. Written here because OpenSSL 3.0, the
 * version Debian 12 ships, has no HPKE (it arrived in 3.2); every primitive is OpenSSL's,
 * and the construction is checked on the RFC's test vectors. Section numbers are RFC 9180's. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "crypto/hpke_int.h"
#include "gtee/crypto.h"

#define NH 32        /* HKDF-SHA256 output */
#define NK 32        /* AES-256-GCM key */
#define NN 12        /* nonce */

static const uint8_t kem_suite[5] = { 'K', 'E', 'M', 0x00, 0x20 };

struct gtee_hpke {
    struct gtee_aead *aead;
    uint8_t base_nonce[NN];
    uint64_t seq;
};

/* §4: LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite || label || ikm). */
static int labeled_extract(const uint8_t *suite, size_t suite_len, const uint8_t *salt, size_t salt_len,
                           const char *label, const uint8_t *ikm, size_t ikm_len, uint8_t prk[NH])
{
    size_t l = strlen(label), n = 7 + suite_len + l + ikm_len;
    uint8_t *buf = malloc(n ? n : 1);
    int rc;

    if (!buf)
        return GTEE_ENOMEM;
    memcpy(buf, "HPKE-v1", 7);
    memcpy(buf + 7, suite, suite_len);
    memcpy(buf + 7 + suite_len, label, l);
    if (ikm_len)
        memcpy(buf + 7 + suite_len + l, ikm, ikm_len);
    /* HKDF-Extract is HMAC with the salt as key; an empty salt is NH zeros (RFC 5869 §2.2) */
    if (salt_len == 0) {
        static const uint8_t zeros[NH];

        salt = zeros;
        salt_len = NH;
    }
    rc = gtee_hmac_sha256(salt, salt_len, buf, n, prk);
    gtee_wipe(buf, n);
    free(buf);
    return rc;
}

/* §4: LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite ||
 * label || info, L). */
static int labeled_expand(const uint8_t *suite, size_t suite_len, const uint8_t prk[NH], const char *label,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    size_t l = strlen(label), n = 2 + 7 + suite_len + l + info_len;
    uint8_t *buf = malloc(n);
    int rc;

    if (!buf)
        return GTEE_ENOMEM;
    buf[0] = (uint8_t)(out_len >> 8);
    buf[1] = (uint8_t)out_len;
    memcpy(buf + 2, "HPKE-v1", 7);
    memcpy(buf + 9, suite, suite_len);
    memcpy(buf + 9 + suite_len, label, l);
    if (info_len)
        memcpy(buf + 9 + suite_len + l, info, info_len);
    rc = gtee_hkdf_sha256_expand(out, out_len, prk, buf, n);
    free(buf);
    return rc;
}

/* §4.1: the DHKEM's shared secret from the DH output and kem_context = enc || pkR. */
static int extract_and_expand(const uint8_t dh[32], const uint8_t enc[32], const uint8_t pk_r[32], uint8_t shared[NH])
{
    uint8_t prk[NH], ctx[64];
    int rc;

    memcpy(ctx, enc, 32);
    memcpy(ctx + 32, pk_r, 32);
    rc = labeled_extract(kem_suite, sizeof(kem_suite), NULL, 0, "eae_prk", dh, 32, prk);
    if (rc == 0)
        rc = labeled_expand(kem_suite, sizeof(kem_suite), prk, "shared_secret", ctx, sizeof(ctx), shared, NH);
    gtee_wipe(prk, sizeof(prk));
    return rc;
}

/* §5.1: the key schedule in base mode (no PSK): key (nk bytes) and base nonce for the suite
 * of aead_id (ours: 2, AES-256-GCM; the tests also run the RFC's A.1 suite, 1). */
int hpke_schedule(uint16_t aead_id, size_t nk, const uint8_t shared[NH], const uint8_t *info, size_t info_len,
                  uint8_t *key, uint8_t base_nonce[NN])
{
    const uint8_t suite[10] = { 'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, (uint8_t)(aead_id >> 8), (uint8_t)aead_id };
    uint8_t psk_id_hash[NH], info_hash[NH], ctx[1 + 2 * NH], secret[NH];
    int rc;

    if ((rc = labeled_extract(suite, sizeof(suite), NULL, 0, "psk_id_hash", NULL, 0, psk_id_hash)) < 0 ||
        (rc = labeled_extract(suite, sizeof(suite), NULL, 0, "info_hash", info, info_len, info_hash)) < 0)
        return rc;
    ctx[0] = 0x00; /* mode_base */
    memcpy(ctx + 1, psk_id_hash, NH);
    memcpy(ctx + 1 + NH, info_hash, NH);
    rc = labeled_extract(suite, sizeof(suite), shared, NH, "secret", NULL, 0, secret);
    if (rc == 0)
        rc = labeled_expand(suite, sizeof(suite), secret, "key", ctx, sizeof(ctx), key, nk);
    if (rc == 0)
        rc = labeled_expand(suite, sizeof(suite), secret, "base_nonce", ctx, sizeof(ctx), base_nonce, NN);
    gtee_wipe(secret, sizeof(secret));
    return rc;
}

static int key_schedule(const uint8_t shared[NH], const uint8_t *info, size_t info_len, struct gtee_hpke **out,
                        struct gtee_err *err)
{
    struct gtee_hpke *h = calloc(1, sizeof(*h));
    uint8_t key[NK];
    int rc;

    *out = NULL;
    ENSURE(h, err, GTEE_ENOMEM, "hpke: out of memory");
    ENSURE(hpke_schedule(0x0002, NK, shared, info, info_len, key, h->base_nonce) == 0, err, GTEE_ECRYPTO,
           "hpke: key schedule failed");
    TRY(gtee_aead_new(&h->aead, GTEE_AEAD_AES_256_GCM, key, err));
    *out = h;
    h = NULL;
out:
    gtee_wipe(key, sizeof(key));
    gtee_hpke_free(h);
    return rc;
}

/* §4.1: Encap with a given ephemeral key. */
int hpke_encap_with(const uint8_t sk_e[32], const uint8_t pk_r[32], uint8_t enc[32], uint8_t shared[NH])
{
    uint8_t dh[32];
    int rc = gtee_x25519_public(sk_e, enc);

    if (rc == 0)
        rc = gtee_x25519(dh, sk_e, pk_r);
    if (rc == 0)
        rc = extract_and_expand(dh, enc, pk_r, shared);
    gtee_wipe(dh, sizeof(dh));
    return rc;
}

int gtee_hpke_sender_with(const uint8_t sk_e[32], const uint8_t pk_r[32], const uint8_t *info, size_t info_len,
                          uint8_t enc[32], struct gtee_hpke **out, struct gtee_err *err)
{
    uint8_t shared[NH];
    int rc;

    *out = NULL;
    ENSURE(hpke_encap_with(sk_e, pk_r, enc, shared) == 0, err, GTEE_EKEY,
           "hpke: encapsulation failed (the recipient's public key is unusable)");
    TRY(key_schedule(shared, info, info_len, out, err));
out:
    gtee_wipe(shared, sizeof(shared));
    return rc;
}

int gtee_hpke_sender(const uint8_t pk_r[32], const uint8_t *info, size_t info_len, uint8_t enc[32],
                     struct gtee_hpke **out, struct gtee_err *err)
{
    uint8_t sk_e[32], pk_e[32];
    int rc;

    *out = NULL;
    if (gtee_x25519_keypair(sk_e, pk_e) != 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "hpke: ephemeral key failed");
    rc = gtee_hpke_sender_with(sk_e, pk_r, info, info_len, enc, out, err);
    gtee_wipe(sk_e, sizeof(sk_e));
    return rc;
}

int gtee_hpke_receiver(const uint8_t sk_r[32], const uint8_t enc[32], const uint8_t *info, size_t info_len,
                       struct gtee_hpke **out, struct gtee_err *err)
{
    uint8_t dh[32], shared[NH], pk_r[32];
    int rc;

    *out = NULL;
    ENSURE(gtee_x25519_public(sk_r, pk_r) == 0, err, GTEE_ECRYPTO, "hpke: recipient key failed");
    ENSURE(gtee_x25519(dh, sk_r, enc) == 0, err, GTEE_EAUTH, "hpke: the encapsulated key is unusable");
    ENSURE(extract_and_expand(dh, enc, pk_r, shared) == 0, err, GTEE_ECRYPTO, "hpke: decapsulation failed");
    TRY(key_schedule(shared, info, info_len, out, err));
out:
    gtee_wipe(dh, sizeof(dh));
    gtee_wipe(shared, sizeof(shared));
    return rc;
}

/* §5.2: nonce = base_nonce XOR I2OSP(seq, Nn). */
static int next_nonce(struct gtee_hpke *h, uint8_t nonce[NN], struct gtee_err *err)
{
    if (h->seq == UINT64_MAX)
        return GTEE_FAIL(err, GTEE_ESTATE, "hpke: message limit reached");
    memcpy(nonce, h->base_nonce, NN);
    for (int i = 0; i < 8; i++)
        nonce[NN - 1 - i] ^= (uint8_t)(h->seq >> (8 * i));
    return 0;
}

int gtee_hpke_seal(struct gtee_hpke *h, const void *aad, size_t aad_len, const void *pt, size_t len, uint8_t *ct,
                   struct gtee_err *err)
{
    uint8_t nonce[NN];
    int rc;

    TRY(next_nonce(h, nonce, err));
    TRY(gtee_aead_seal(h->aead, nonce, aad, aad_len, pt, len, ct, ct + len, err));
    h->seq++;
out:
    return rc;
}

int gtee_hpke_open(struct gtee_hpke *h, const void *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                   uint8_t *pt, struct gtee_err *err)
{
    uint8_t nonce[NN];
    int rc;

    ENSURE(ct_len >= GTEE_HPKE_TAG_LEN, err, GTEE_EFORMAT, "hpke: ciphertext of %zu bytes is shorter than its tag",
           ct_len);
    TRY(next_nonce(h, nonce, err));
    TRY(gtee_aead_open(h->aead, nonce, aad, aad_len, ct, ct_len - GTEE_HPKE_TAG_LEN, ct + ct_len - GTEE_HPKE_TAG_LEN,
                       pt, err));
    h->seq++;
out:
    return rc;
}

void gtee_hpke_free(struct gtee_hpke *h)
{
    if (!h)
        return;
    gtee_aead_free(h->aead);
    gtee_wipe(h, sizeof(*h));
    free(h);
}
