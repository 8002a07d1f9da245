/* Sealed container v1: header layout, key schedule and chunk nonces (docs/container.md). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "box/internal.h"

static const char KEY_ID_INFO[] = "gtee-box v1 key id";
static const char KEYS_INFO[] = "gtee-box v1 keys";

int gtee_box_key_generate(struct gtee_box_key *key)
{
    return gtee_random(key->bytes, sizeof(key->bytes));
}

void gtee_box_key_wipe(struct gtee_box_key *key)
{
    if (key)
        gtee_wipe(key->bytes, sizeof(key->bytes));
}

int gtee_box_key_id(const struct gtee_box_key *key, uint8_t id[GTEE_BOX_KEY_ID_LEN])
{
    return gtee_hkdf_sha256(id, GTEE_BOX_KEY_ID_LEN, key->bytes, sizeof(key->bytes), NULL, 0,
                            (const uint8_t *)KEY_ID_INFO, sizeof(KEY_ID_INFO) - 1);
}

uint64_t gtee_box_sealed_size(uint64_t plaintext_len, uint32_t chunk_size)
{
    uint64_t chunk = chunk_size ? chunk_size : GTEE_BOX_CHUNK_DEFAULT;
    uint64_t chunks = plaintext_len ? (plaintext_len + chunk - 1) / chunk : 1;

    return GTEE_BOX_HEADER_LEN + plaintext_len + chunks * GTEE_BOX_TAG_LEN;
}

int gtee_box_header_parse(const uint8_t *buf, size_t len, struct gtee_box_header *hdr, struct gtee_err *err)
{
    struct span s = span_init(buf, len);
    const uint8_t *magic;
    uint16_t reserved;
    int rc = GTEE_EFORMAT;

    memset(hdr, 0, sizeof(*hdr));
    ENSURE(len >= GTEE_BOX_HEADER_LEN, err, GTEE_EFORMAT,
           "not a sealed container: %zu bytes, shorter than the %d-byte header", len, GTEE_BOX_HEADER_LEN);
    memcpy(hdr->raw, buf, GTEE_BOX_HEADER_LEN);
    magic = span_take(&s, BOX_MAGIC_LEN);
    ENSURE(magic && memcmp(magic, BOX_MAGIC, BOX_MAGIC_LEN) == 0, err, GTEE_EFORMAT,
           "not a sealed container: bad magic at offset 0");
    hdr->version = span_u8(&s);
    ENSURE(hdr->version == GTEE_BOX_VERSION, err, GTEE_EUNSUPPORTED,
           "header: format version %u not supported (offset 8; this build reads version %d)",
           hdr->version, GTEE_BOX_VERSION);
    hdr->alg = (enum gtee_aead_alg)span_u8(&s);
    ENSURE(gtee_aead_name(hdr->alg) != NULL, err, GTEE_EUNSUPPORTED,
           "header: unknown algorithm %d (offset 9)", (int)hdr->alg);
    reserved = span_u16be(&s);
    ENSURE(reserved == 0, err, GTEE_EFORMAT, "header: reserved field is 0x%04x, must be zero (offset 10)", reserved);
    hdr->chunk_size = span_u32be(&s);
    ENSURE(hdr->chunk_size >= GTEE_BOX_CHUNK_MIN && hdr->chunk_size <= GTEE_BOX_CHUNK_MAX, err, GTEE_EFORMAT,
           "header: chunk size %u outside %u..%u (offset 12)", hdr->chunk_size, GTEE_BOX_CHUNK_MIN,
           GTEE_BOX_CHUNK_MAX);
    span_copy(&s, hdr->key_id, sizeof(hdr->key_id));
    span_copy(&s, hdr->salt, sizeof(hdr->salt));
    span_copy(&s, hdr->commitment, sizeof(hdr->commitment));
    ENSURE(!s.bad, err, GTEE_EFORMAT, "header: truncated");
    rc = 0;
out:
    return rc;
}

int box_derive_keys(const struct gtee_box_key *key, const struct gtee_box_header *hdr, struct box_keys *keys,
                    struct gtee_err *err)
{
    /* info = label || the first 16 header bytes (magic, version, algorithm, chunk size), so
     * the keys are bound to the parameters they are used with. */
    uint8_t info[sizeof(KEYS_INFO) - 1 + 16];
    uint8_t okm[GTEE_AEAD_KEY_LEN + 32];
    int rc;

    memcpy(info, KEYS_INFO, sizeof(KEYS_INFO) - 1);
    memcpy(info + sizeof(KEYS_INFO) - 1, hdr->raw, 16);
    rc = gtee_hkdf_sha256(okm, sizeof(okm), key->bytes, sizeof(key->bytes), hdr->salt, sizeof(hdr->salt), info,
                          sizeof(info));
    if (rc < 0) {
        rc = GTEE_FAIL(err, rc, "container: key derivation failed");
        goto out;
    }
    memcpy(keys->data_key, okm, sizeof(keys->data_key));
    memcpy(keys->commit_key, okm + sizeof(keys->data_key), sizeof(keys->commit_key));
out:
    gtee_wipe(okm, sizeof(okm));
    return rc;
}

int box_commitment(const struct box_keys *keys, const uint8_t raw[GTEE_BOX_HEADER_LEN],
                   uint8_t out[GTEE_BOX_COMMIT_LEN], struct gtee_err *err)
{
    /* HMAC-SHA256 is collision resistant, so this commits to the key: no second key can
     * produce the same header (the "decrypts under two keys" attack on bare GCM). */
    int rc = gtee_hmac_sha256(keys->commit_key, sizeof(keys->commit_key), raw,
                              GTEE_BOX_HEADER_LEN - GTEE_BOX_COMMIT_LEN, out);

    return rc < 0 ? GTEE_FAIL(err, rc, "container: header commitment failed") : 0;
}

void box_nonce(uint64_t index, bool final, uint8_t nonce[GTEE_AEAD_NONCE_LEN])
{
    /* 3 zero bytes || chunk index (64-bit big-endian) || final flag: the STREAM
     * construction (Hoang, Reyhanitabar, Rogaway, Vizar 2015) under a per-file key. */
    memset(nonce, 0, 3);
    put_u64be(nonce + 3, index);
    nonce[11] = final ? 1 : 0;
}

void box_keys_wipe(struct box_keys *keys)
{
    gtee_wipe(keys, sizeof(*keys));
}

ssize_t box_read_full(int fd, void *buf, size_t len, struct gtee_err *err)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, (uint8_t *)buf + got, len - got);

        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return GTEE_FAIL(err, GTEE_EIO, "read failed: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int box_write_all(int fd, const void *buf, size_t len, struct gtee_err *err)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return GTEE_FAIL(err, GTEE_EIO, "write failed: %s", strerror(errno));
        }
        buf = (const uint8_t *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}
