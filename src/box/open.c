/* Sealed container reader: checks the header's key commitment, then authenticates each
 * chunk before any of its plaintext is written. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "box/internal.h"

int box_check_header(const struct gtee_box_key *key, const uint8_t *raw, size_t n, struct gtee_box_header *hdr,
                     struct box_keys *keys, struct gtee_err *err)
{
    uint8_t id[GTEE_BOX_KEY_ID_LEN], commit[GTEE_BOX_COMMIT_LEN];
    char want[2 * GTEE_BOX_KEY_ID_LEN + 1], have[2 * GTEE_BOX_KEY_ID_LEN + 1];
    int rc;

    TRY(gtee_box_header_parse(raw, n, hdr, err));
    ENSURE(gtee_box_key_id(key, id) == 0, err, GTEE_ECRYPTO, "key id derivation failed");
    if (!gtee_ct_equal(id, hdr->key_id, sizeof(id))) {
        gtee_hex_encode(hdr->key_id, sizeof(hdr->key_id), want);
        gtee_hex_encode(id, sizeof(id), have);
        rc = GTEE_FAIL(err, GTEE_EKEY, "wrong key: the container was sealed for key id %s, this key's id is %s",
                       want, have);
        goto out;
    }
    TRY(box_derive_keys(key, hdr, keys, err));
    TRY(box_commitment(keys, hdr->raw, commit, err));
    ENSURE(gtee_ct_equal(commit, hdr->commitment, sizeof(commit)), err, GTEE_EAUTH,
           "header: key commitment does not verify (header bytes 0-95 tampered, or not sealed with this key)");
    rc = 0;
out:
    return rc;
}

static int check_header(const struct gtee_box_key *key, int in_fd, struct gtee_box_header *hdr,
                        struct box_keys *keys, struct gtee_err *err)
{
    uint8_t raw[GTEE_BOX_HEADER_LEN];
    ssize_t n = box_read_full(in_fd, raw, sizeof(raw), err);

    return n < 0 ? (int)n : box_check_header(key, raw, (size_t)n, hdr, keys, err);
}

int box_explain_chunk_failure(struct gtee_aead *aead, const struct gtee_box_header *hdr, uint64_t index,
                                 bool final, const uint8_t *ct, size_t len, uint8_t *scratch,
                                 struct gtee_err *err)
{
    uint64_t offset = GTEE_BOX_HEADER_LEN + index * ((uint64_t)hdr->chunk_size + GTEE_BOX_TAG_LEN);
    uint8_t nonce[GTEE_AEAD_NONCE_LEN];
    int flipped;

    box_nonce(index, !final, nonce);
    flipped = gtee_aead_open(aead, nonce, hdr->raw, GTEE_BOX_HEADER_LEN, ct, len, ct + len, scratch, NULL);
    gtee_wipe(scratch, len);
    if (flipped == 0 && final)
        return GTEE_FAIL(err, GTEE_EAUTH,
                         "truncated: chunk %llu (offset %llu) is the last one present but is not the final "
                         "chunk; the container was cut short",
                         (unsigned long long)index, (unsigned long long)offset);
    if (flipped == 0)
        return GTEE_FAIL(err, GTEE_EAUTH,
                         "chunk %llu (offset %llu) is marked final but data follows it (bytes appended)",
                         (unsigned long long)index, (unsigned long long)offset);
    return GTEE_FAIL(err, GTEE_EAUTH,
                     "chunk %llu (offset %llu, %zu bytes): authentication tag check failed (chunk modified, "
                     "reordered, duplicated or from another container)",
                     (unsigned long long)index, (unsigned long long)offset, len + GTEE_BOX_TAG_LEN);
}

int gtee_box_open(const struct gtee_box_key *key, const struct gtee_box_opts *opts, int in_fd, int out_fd,
                  struct gtee_box_stats *stats, struct gtee_err *err)
{
    struct gtee_box_stats st = {0};
    struct gtee_box_header hdr;
    struct box_keys keys = {0};
    struct gtee_aead *aead = NULL;
    uint8_t *a = NULL, *b = NULL, *pt = NULL, nonce[GTEE_AEAD_NONCE_LEN];
    size_t block = 0, chunk = 0;
    ssize_t na, nb = 0;
    int rc = GTEE_EFORMAT;

    TRY(check_header(key, in_fd, &hdr, &keys, err));
    chunk = hdr.chunk_size;
    block = chunk + GTEE_BOX_TAG_LEN;
    a = malloc(block);
    b = malloc(block);
    pt = malloc(chunk);
    ENSURE(a && b && pt, err, GTEE_ENOMEM, "out of memory for %zu-byte chunks", chunk);
    TRY(gtee_aead_new(&aead, hdr.alg, keys.data_key, err));
    st.container_bytes = GTEE_BOX_HEADER_LEN;

    TRY(na = box_read_full(in_fd, a, block, err));
    for (uint64_t index = 0;; index++) {
        uint64_t offset = st.container_bytes;
        bool final;
        size_t len;
        uint8_t *tmp;

        if ((size_t)na == block)
            TRY(nb = box_read_full(in_fd, b, block, err));
        final = (size_t)na < block || nb == 0;
        if (na < GTEE_BOX_TAG_LEN) {
            if (index == 0 && na == 0)
                rc = GTEE_FAIL(err, GTEE_EAUTH,
                               "truncated: the container ends after its header (offset %llu), no chunk present",
                               (unsigned long long)offset);
            else
                rc = GTEE_FAIL(err, GTEE_EAUTH,
                               "truncated: chunk %llu at offset %llu has %zd bytes, fewer than its 16-byte tag",
                               (unsigned long long)index, (unsigned long long)offset, na);
            goto out;
        }
        len = (size_t)na - GTEE_BOX_TAG_LEN;
        box_nonce(index, final, nonce);
        if (gtee_aead_open(aead, nonce, hdr.raw, GTEE_BOX_HEADER_LEN, a, len, a + len, pt, NULL) < 0) {
            rc = box_explain_chunk_failure(aead, &hdr, index, final, a, len, pt, err);
            goto out;
        }
        TRY(box_write_all(out_fd, pt, len, err));
        st.plaintext_bytes += len;
        st.container_bytes += (uint64_t)na;
        st.chunks++;
        if (opts && opts->progress)
            opts->progress(st.plaintext_bytes, opts->progress_arg);
        if (final)
            break;
        tmp = a, a = b, b = tmp;
        na = nb;
    }
    if (stats)
        *stats = st;
    rc = 0;
out:
    if (rc < 0)
        gtee_err_wrap(err, "decrypt: ");
    gtee_aead_free(aead);
    box_keys_wipe(&keys);
    if (pt)
        gtee_wipe(pt, chunk);
    free(a);
    free(b);
    free(pt);
    return rc;
}
