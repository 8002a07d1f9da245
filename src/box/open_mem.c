/* Sealed container reader into memory, fed in pieces: what an enclave uses to open a
 * container the host passes it message by message, so that its plaintext exists only in the
 * enclave's memory. The declared length fixes every chunk's length (docs/container.md §2),
 * so each chunk is authenticated as soon as its bytes are in, the plaintext is allocated
 * once, at its exact size, and it is handed out only after the final chunk verified. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "box/internal.h"

struct gtee_box_mem {
    struct gtee_box_key key;       /* until the header is in; wiped then */
    uint64_t total, received, max_plaintext;
    uint8_t raw[GTEE_BOX_HEADER_LEN];
    struct gtee_box_header hdr;
    struct box_keys keys;
    struct gtee_aead *aead;
    struct gtee_sha256_ctx *id;    /* the content id: SHA-256 of every container byte */
    uint64_t chunks, index;        /* chunks in the container; the one being filled */
    uint8_t *block;                /* the chunk being filled (ciphertext and tag) */
    size_t block_len, fill;        /* its length (C + 16, or the last one's) and bytes in */
    uint8_t *pt;
    size_t pt_len, pt_off;
    int failed;
};

uint64_t gtee_box_mem_bound(uint64_t container_len)
{
    return container_len > GTEE_BOX_HEADER_LEN + GTEE_BOX_TAG_LEN
               ? container_len - GTEE_BOX_HEADER_LEN - GTEE_BOX_TAG_LEN
               : 0;
}

int gtee_box_mem_begin(const struct gtee_box_key *key, uint64_t container_len, uint64_t max_plaintext,
                       struct gtee_box_mem **out, struct gtee_err *err)
{
    struct gtee_box_mem *m = NULL;
    int rc = GTEE_EFORMAT;

    *out = NULL;
    ENSURE(container_len >= GTEE_BOX_HEADER_LEN + GTEE_BOX_TAG_LEN, err, GTEE_EFORMAT,
           "container of %llu bytes: shorter than a header and one chunk's tag (112 bytes)",
           (unsigned long long)container_len);
    /* Before anything is allocated for it. */
    ENSURE(gtee_box_mem_bound(container_len) <= max_plaintext, err, GTEE_ELIMIT,
           "container of %llu bytes may hold up to %llu bytes of plaintext, over the limit of %llu",
           (unsigned long long)container_len, (unsigned long long)gtee_box_mem_bound(container_len),
           (unsigned long long)max_plaintext);
    m = calloc(1, sizeof(*m));
    ENSURE(m, err, GTEE_ENOMEM, "out of memory");
    ENSURE(gtee_sha256_new(&m->id) == 0, err, GTEE_ECRYPTO, "hash init failed");
    m->key = *key;
    m->total = container_len;
    m->max_plaintext = max_plaintext;
    *out = m;
    m = NULL;
    rc = 0;
out:
    gtee_box_mem_free(m);
    if (rc < 0)
        gtee_err_wrap(err, "decrypt: ");
    return rc;
}

/* The header is in: check it, then lay out the chunks the declared length implies. */
static int start(struct gtee_box_mem *m, struct gtee_err *err)
{
    uint64_t body = m->total - GTEE_BOX_HEADER_LEN, block, last;
    int rc;

    TRY(box_check_header(&m->key, m->raw, sizeof(m->raw), &m->hdr, &m->keys, err));
    gtee_box_key_wipe(&m->key);
    block = (uint64_t)m->hdr.chunk_size + GTEE_BOX_TAG_LEN;
    m->chunks = (body + block - 1) / block;
    last = body - (m->chunks - 1) * block;
    ENSURE(last >= GTEE_BOX_TAG_LEN, err, GTEE_EAUTH,
           "truncated: chunk %llu at offset %llu has %llu bytes, fewer than its 16-byte tag",
           (unsigned long long)(m->chunks - 1),
           (unsigned long long)(GTEE_BOX_HEADER_LEN + (m->chunks - 1) * block), (unsigned long long)last);
    m->pt_len = (size_t)(body - m->chunks * GTEE_BOX_TAG_LEN);
    ENSURE(m->pt_len <= m->max_plaintext, err, GTEE_ELIMIT, "plaintext of %zu bytes over the limit of %llu",
           m->pt_len, (unsigned long long)m->max_plaintext);
    m->pt = malloc(m->pt_len ? m->pt_len : 1);
    m->block = malloc((size_t)block);
    ENSURE(m->pt && m->block, err, GTEE_ENOMEM, "out of memory for %zu bytes of plaintext", m->pt_len);
    m->block_len = (size_t)(m->chunks == 1 ? last : block);
    TRY(gtee_aead_new(&m->aead, m->hdr.alg, m->keys.data_key, err));
out:
    return rc;
}

/* A whole chunk is in: authenticate it into its place in the plaintext. */
static int open_chunk(struct gtee_box_mem *m, struct gtee_err *err)
{
    size_t len = m->block_len - GTEE_BOX_TAG_LEN;
    bool final = m->index == m->chunks - 1;
    uint8_t nonce[GTEE_AEAD_NONCE_LEN];
    uint64_t block = (uint64_t)m->hdr.chunk_size + GTEE_BOX_TAG_LEN;

    box_nonce(m->index, final, nonce);
    if (gtee_aead_open(m->aead, nonce, m->hdr.raw, GTEE_BOX_HEADER_LEN, m->block, len, m->block + len,
                       m->pt + m->pt_off, NULL) < 0)
        return box_explain_chunk_failure(m->aead, &m->hdr, m->index, final, m->block, len, m->pt + m->pt_off, err);
    m->pt_off += len;
    m->index++;
    m->fill = 0;
    if (m->index == m->chunks - 1)
        m->block_len = (size_t)(m->total - GTEE_BOX_HEADER_LEN - m->index * block);
    return 0;
}

int gtee_box_mem_feed(struct gtee_box_mem *m, const uint8_t *p, size_t n, struct gtee_err *err)
{
    int rc = GTEE_ESTATE;

    ENSURE(!m->failed, err, GTEE_ESTATE, "the container already failed to open");
    ENSURE(n <= m->total - m->received, err, GTEE_EFORMAT,
           "%zu bytes at offset %llu run past the container's declared length of %llu bytes", n,
           (unsigned long long)m->received, (unsigned long long)m->total);
    ENSURE(gtee_sha256_update(m->id, p, n) == 0, err, GTEE_ECRYPTO, "hash failed");
    while (n) {
        size_t take;

        if (m->received < GTEE_BOX_HEADER_LEN) {
            take = GTEE_BOX_HEADER_LEN - (size_t)m->received;
            take = take < n ? take : n;
            memcpy(m->raw + m->received, p, take);
        } else {
            take = m->block_len - m->fill;
            take = take < n ? take : n;
            memcpy(m->block + m->fill, p, take);
            m->fill += take;
        }
        m->received += take;
        p += take;
        n -= take;
        if (m->received == GTEE_BOX_HEADER_LEN && !m->aead)
            TRY(start(m, err));
        else if (m->aead && m->fill == m->block_len)
            TRY(open_chunk(m, err));
    }
    rc = 0;
out:
    if (rc < 0) {
        m->failed = 1;
        gtee_err_wrap(err, "decrypt: ");
    }
    return rc;
}

uint64_t gtee_box_mem_received(const struct gtee_box_mem *m)
{
    return m->received;
}

int gtee_box_mem_done(const struct gtee_box_mem *m)
{
    return !m->failed && m->received == m->total;
}

int gtee_box_mem_finish(struct gtee_box_mem *m, uint8_t **pt, size_t *pt_len, uint8_t content_id[32],
                        struct gtee_err *err)
{
    int rc = GTEE_ESTATE;

    *pt = NULL;
    *pt_len = 0;
    ENSURE(!m->failed, err, GTEE_ESTATE, "the container already failed to open");
    ENSURE(m->received == m->total, err, GTEE_EAUTH, "truncated: %llu of the declared %llu bytes arrived",
           (unsigned long long)m->received, (unsigned long long)m->total);
    ENSURE(gtee_sha256_final(m->id, content_id) == 0, err, GTEE_ECRYPTO, "hash failed");
    *pt = m->pt;
    *pt_len = m->pt_len;
    m->pt = NULL;
    rc = 0;
out:
    if (rc < 0)
        gtee_err_wrap(err, "decrypt: ");
    return rc;
}

void gtee_box_plaintext_free(uint8_t *pt, size_t len)
{
    if (!pt)
        return;
    gtee_wipe(pt, len);
    free(pt);
}

void gtee_box_mem_free(struct gtee_box_mem *m)
{
    if (!m)
        return;
    gtee_box_key_wipe(&m->key);
    box_keys_wipe(&m->keys);
    gtee_aead_free(m->aead);
    gtee_sha256_free(m->id);
    if (m->block)
        gtee_wipe(m->block, m->block_len);
    free(m->block);
    gtee_box_plaintext_free(m->pt, m->pt_len);
    free(m);
}
