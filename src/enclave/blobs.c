/* Containers opened into the enclave's memory. The host, which holds only ciphertext, passes
 * a container in pieces (BLOB_BEGIN with its length, then BLOB_DATA); its key is the one a
 * grant holds (grants.c) for the key id in the container's header, and its content id must
 * be a grant's, so the host can neither see the key nor swap the container. The memory the
 * plaintext will take is reserved against the enclave's limit before anything is
 * allocated, and every plaintext is wiped when dropped (docs/tee.md, "Containers and ML
 * jobs"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "gtee/crypto.h"

static int slot_of(struct span *in, unsigned n, const char *what, size_t off, unsigned *slot, struct gtee_err *err)
{
    uint8_t v = span_u8(in);

    if (in->bad)
        return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: truncated before the %s slot (payload offset %zu)", what, off);
    if (v >= n)
        return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: %s slot %u out of range 0..%u (payload offset %zu)", what, v,
                         n - 1, off);
    *slot = v;
    return 0;
}

/* A slot the running job reads is neither refilled nor dropped under it. */
static int not_busy(const struct enc *e, unsigned slot, const char *msg, struct gtee_err *err)
{
    if (e->busy_slots & (1u << slot))
        return GTEE_FAIL(err, GTEE_ESTATE, "enclave: %s: blob %u is in use by the running job", msg, slot);
    return 0;
}

void enc_blob_clear(struct enc *e, unsigned slot)
{
    struct enc_blob *b = &e->blob[slot];

    gtee_box_mem_free(b->open);
    gtee_box_plaintext_free(b->pt, b->len);
    if (b->reserved)
        gtee_app_release(e->app, b->reserved);
    memset(b, 0, sizeof(*b));
}

int enc_blob_begin(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint64_t len, bound;
    struct enc_blob *b;
    unsigned slot;
    char what[64];
    int rc;

    (void)o;
    TRY(slot_of(in, GTEE_ENCLAVE_BLOB_SLOTS, "blob", 0, &slot, err));
    TRY(not_busy(e, slot, "BLOB_BEGIN", err));
    len = span_u64be(in);
    ENSURE(!in->bad && in->len == 0, err, GTEE_EFORMAT, "enclave: BLOB_BEGIN payload is not 9 bytes");
    ENSURE(len >= GTEE_BOX_HEADER_LEN + GTEE_BOX_TAG_LEN, err, GTEE_EFORMAT,
           "enclave: BLOB_BEGIN: a container of %llu bytes is shorter than 112", (unsigned long long)len);
    enc_blob_clear(e, slot);
    b = &e->blob[slot];
    /* The memory limit first: nothing is allocated for a container that would not fit. */
    bound = gtee_box_mem_bound(len);
    snprintf(what, sizeof(what), "container of %llu bytes (blob %u)", (unsigned long long)len, slot);
    TRY(gtee_app_reserve(e->app, bound, what, err));
    b->reserved = bound;
    b->container_len = len;
out:
    return rc;
}

/* The header is in: the grant holding its key, and the reader under that key. */
static int begin_open(struct enc *e, struct enc_blob *b, struct gtee_err *err)
{
    struct gtee_box_header h;
    const struct enc_grant *g;
    char hex[2 * GTEE_BOX_KEY_ID_LEN + 1];
    int rc;

    TRY(gtee_box_header_parse(b->header, sizeof(b->header), &h, err));
    g = enc_grant_by_key_id(e, h.key_id);
    gtee_hex_encode(h.key_id, sizeof(h.key_id), hex);
    ENSURE(g, err, GTEE_EPOLICY, "enclave: no grant holds the key of this container (key id %s)", hex);
    TRY(gtee_box_mem_begin(&g->key, b->container_len, b->reserved, &b->open, err));
    TRY(gtee_box_mem_feed(b->open, b->header, sizeof(b->header), err));
out:
    return rc;
}

/* Complete: the plaintext is out, and its content id must be one a grant names for its key. */
static int finish(struct enc *e, struct enc_blob *b, struct gtee_err *err)
{
    char hex[17];
    int rc;

    TRY(gtee_box_mem_finish(b->open, &b->pt, &b->len, b->id, err));
    gtee_box_mem_free(b->open);
    b->open = NULL;
    for (size_t i = 0; i < e->sec->n_grants; i++)
        if (!memcmp(e->sec->grant[i].content_id, b->id, sizeof(b->id)))
            return 0;
    gtee_hex_encode(b->id, 8, hex);
    rc = GTEE_FAIL(err, GTEE_EPOLICY, "enclave: the container (content id %s...) is in no grant", hex);
out:
    return rc;
}

int enc_blob_data(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t be[8], len_be[8];
    struct enc_blob *b;
    unsigned slot;
    int rc;

    TRY(slot_of(in, GTEE_ENCLAVE_BLOB_SLOTS, "blob", 0, &slot, err));
    TRY(not_busy(e, slot, "BLOB_DATA", err));
    b = &e->blob[slot];
    ENSURE(b->container_len && !b->pt, err, GTEE_ESTATE,
           "enclave: BLOB_DATA: blob %u is not being opened (BLOB_BEGIN first)", slot);
    rc = 0;
    if (!b->open) {
        size_t take = sizeof(b->header) - b->header_len;

        take = take < in->len ? take : in->len;
        memcpy(b->header + b->header_len, span_take(in, take), take);
        b->header_len += take;
        if (b->header_len == sizeof(b->header))
            rc = begin_open(e, b, err);
    }
    if (rc == 0 && b->open && in->len)
        rc = gtee_box_mem_feed(b->open, in->p, in->len, err);
    if (rc == 0 && b->open && gtee_box_mem_done(b->open))
        rc = finish(e, b, err);
    if (rc < 0) {
        enc_blob_clear(e, slot); /* a refused container leaves nothing behind */
        return rc;
    }
    if (b->pt && b->reserved > b->len) { /* the exact size is known now */
        gtee_app_release(e->app, b->reserved - b->len);
        b->reserved = b->len;
    }
    put_u64be(be, b->pt ? b->container_len : b->open ? gtee_box_mem_received(b->open) : b->header_len);
    TRY(enc_out_add(o, be, sizeof(be), err));
    if (b->pt) {
        put_u64be(len_be, b->len);
        TRY(enc_out_add(o, len_be, sizeof(len_be), err));
        TRY(enc_out_add(o, b->id, sizeof(b->id), err));
    }
out:
    return rc;
}

int enc_blob_drop(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    unsigned slot;
    int rc;

    (void)o;
    TRY(slot_of(in, GTEE_ENCLAVE_BLOB_SLOTS, "blob", 0, &slot, err));
    ENSURE(in->len == 0, err, GTEE_EFORMAT, "enclave: BLOB_DROP payload is not 1 byte");
    TRY(not_busy(e, slot, "BLOB_DROP", err));
    enc_blob_clear(e, slot);
out:
    return rc;
}

int enc_blob_get(struct enc *e, unsigned slot, const char *what, const struct enc_blob **b, struct gtee_err *err)
{
    if (slot >= GTEE_ENCLAVE_BLOB_SLOTS)
        return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: %s: blob slot %u out of range", what, slot);
    if (!e->blob[slot].pt)
        return GTEE_FAIL(err, GTEE_ESTATE, "enclave: %s: blob %u holds no opened container", what, slot);
    *b = &e->blob[slot];
    return 0;
}
