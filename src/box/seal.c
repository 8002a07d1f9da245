/* Sealed container writer: header, then the input in fixed-size authenticated chunks. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "box/internal.h"
#include "gtee/crypto.h"

static int build_header(const struct gtee_box_key *key, enum gtee_aead_alg alg, uint32_t chunk_size,
                        struct gtee_box_header *hdr, struct box_keys *keys, struct gtee_err *err)
{
    uint8_t *p = hdr->raw;
    int rc;

    memset(hdr, 0, sizeof(*hdr));
    hdr->version = GTEE_BOX_VERSION;
    hdr->alg = alg;
    hdr->chunk_size = chunk_size;
    if (gtee_box_key_id(key, hdr->key_id) < 0 || gtee_random(hdr->salt, sizeof(hdr->salt)) < 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "container: key id or salt generation failed");
    memcpy(p, BOX_MAGIC, BOX_MAGIC_LEN);
    p[8] = GTEE_BOX_VERSION;
    p[9] = (uint8_t)alg;
    put_u16be(p + 10, 0);
    put_u32be(p + 12, chunk_size);
    memcpy(p + 16, hdr->key_id, GTEE_BOX_KEY_ID_LEN);
    memcpy(p + 32, hdr->salt, GTEE_BOX_SALT_LEN);
    TRY(box_derive_keys(key, hdr, keys, err));
    TRY(box_commitment(keys, p, hdr->commitment, err));
    memcpy(p + 64, hdr->commitment, GTEE_BOX_COMMIT_LEN);
out:
    return rc;
}

int gtee_box_seal(const struct gtee_box_key *key, const struct gtee_box_opts *opts, int in_fd, int out_fd,
                  struct gtee_box_stats *stats, struct gtee_err *err)
{
    enum gtee_aead_alg alg = opts && opts->alg ? opts->alg : GTEE_AEAD_AES_256_GCM;
    uint32_t chunk = opts && opts->chunk_size ? opts->chunk_size : GTEE_BOX_CHUNK_DEFAULT;
    struct gtee_box_stats st = {0};
    struct gtee_box_header hdr;
    struct box_keys keys = {0};
    struct gtee_aead *aead = NULL;
    struct gtee_sha256_ctx *h = NULL;
    uint8_t *a = NULL, *b = NULL, *ct = NULL, nonce[GTEE_AEAD_NONCE_LEN];
    ssize_t na, nb = 0;
    int rc = GTEE_EINVAL;

    ENSURE(gtee_aead_name(alg) != NULL, err, GTEE_EUNSUPPORTED, "unknown algorithm %d", (int)alg);
    ENSURE(chunk >= GTEE_BOX_CHUNK_MIN && chunk <= GTEE_BOX_CHUNK_MAX, err, GTEE_EINVAL,
           "chunk size %u outside %u..%u", chunk, GTEE_BOX_CHUNK_MIN, GTEE_BOX_CHUNK_MAX);
    a = malloc(chunk);
    b = malloc(chunk);
    ct = malloc((size_t)chunk + GTEE_BOX_TAG_LEN);
    ENSURE(a && b && ct, err, GTEE_ENOMEM, "out of memory for %u-byte chunks", chunk);
    TRY(build_header(key, alg, chunk, &hdr, &keys, err));
    TRY(gtee_aead_new(&aead, alg, keys.data_key, err));
    ENSURE(gtee_sha256_new(&h) == 0, err, GTEE_ENOMEM, "out of memory for the content id's hash");
    ENSURE(gtee_sha256_update(h, hdr.raw, GTEE_BOX_HEADER_LEN) == 0, err, GTEE_ECRYPTO, "content id: hash failed");
    TRY(box_write_all(out_fd, hdr.raw, GTEE_BOX_HEADER_LEN, err));
    st.container_bytes = GTEE_BOX_HEADER_LEN;

    /* Read one chunk ahead: a chunk is final when the input ends within or right after it. */
    TRY(na = box_read_full(in_fd, a, chunk, err));
    for (uint64_t index = 0;; index++) {
        bool final;
        uint8_t *tmp;

        if ((size_t)na == chunk)
            TRY(nb = box_read_full(in_fd, b, chunk, err));
        final = (size_t)na < chunk || nb == 0;
        box_nonce(index, final, nonce);
        TRY(gtee_aead_seal(aead, nonce, hdr.raw, GTEE_BOX_HEADER_LEN, a, (size_t)na, ct, ct + na, err));
        ENSURE(gtee_sha256_update(h, ct, (size_t)na + GTEE_BOX_TAG_LEN) == 0, err, GTEE_ECRYPTO,
               "content id: hash failed");
        TRY(box_write_all(out_fd, ct, (size_t)na + GTEE_BOX_TAG_LEN, err));
        st.plaintext_bytes += (uint64_t)na;
        st.container_bytes += (uint64_t)na + GTEE_BOX_TAG_LEN;
        st.chunks++;
        if (opts && opts->progress)
            opts->progress(st.plaintext_bytes, opts->progress_arg);
        if (final)
            break;
        tmp = a, a = b, b = tmp;
        na = nb;
    }
    ENSURE(gtee_sha256_final(h, st.content_id) == 0, err, GTEE_ECRYPTO, "content id: hash failed");
    if (stats)
        *stats = st;
    rc = 0;
out:
    if (rc < 0)
        gtee_err_wrap(err, "encrypt: ");
    gtee_sha256_free(h);
    gtee_aead_free(aead);
    box_keys_wipe(&keys);
    /* plaintext buffers: wipe before release */
    if (a)
        gtee_wipe(a, chunk);
    if (b)
        gtee_wipe(b, chunk);
    free(a);
    free(b);
    free(ct);
    return rc;
}
