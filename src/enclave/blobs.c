/* Containers opened into the enclave's memory. The host, which holds only ciphertext, passes
 * a container in pieces (BLOB_BEGIN with its length, then BLOB_DATA); its owner gives the
 * key over the attested relay (PUT_KEY), so the host never sees it. The memory the
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
    unsigned slot, key;
    uint64_t len, bound;
    struct enc_blob *b;
    char what[64];
    int rc;

    (void)o;
    TRY(slot_of(in, GTEE_ENCLAVE_BLOB_SLOTS, "blob", 0, &slot, err));
    TRY(slot_of(in, GTEE_ENCLAVE_KEY_SLOTS, "key", 1, &key, err));
    len = span_u64be(in);
    ENSURE(!in->bad && in->len == 0, err, GTEE_EFORMAT, "enclave: BLOB_BEGIN payload is not 10 bytes");
    ENSURE(e->sec->have_key[key], err, GTEE_ESTATE, "enclave: BLOB_BEGIN: key slot %u holds no key (PUT_KEY first)",
           key);
    enc_blob_clear(e, slot);
    b = &e->blob[slot];
    /* The memory limit first: nothing is allocated for a container that would not fit. */
    bound = gtee_box_mem_bound(len);
    snprintf(what, sizeof(what), "container of %llu bytes (blob %u)", (unsigned long long)len, slot);
    TRY(gtee_app_reserve(e->app, bound, what, err));
    b->reserved = bound;
    b->container_len = len;
    rc = gtee_box_mem_begin(&e->sec->key[key], len, bound, &b->open, err);
    if (rc < 0)
        enc_blob_clear(e, slot);
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
    b = &e->blob[slot];
    ENSURE(b->open, err, GTEE_ESTATE, "enclave: BLOB_DATA: blob %u is not being opened (BLOB_BEGIN first)", slot);
    rc = gtee_box_mem_feed(b->open, in->p, in->len, err);
    if (rc == 0 && gtee_box_mem_done(b->open)) {
        rc = gtee_box_mem_finish(b->open, &b->pt, &b->len, b->id, err);
        gtee_box_mem_free(b->open);
        b->open = NULL;
    }
    if (rc < 0) {
        enc_blob_clear(e, slot); /* a failed container leaves nothing behind */
        return rc;
    }
    if (!b->open && b->reserved > b->len) { /* the exact size is known now */
        gtee_app_release(e->app, b->reserved - b->len);
        b->reserved = b->len;
    }
    put_u64be(be, b->open ? gtee_box_mem_received(b->open) : b->container_len);
    TRY(enc_out_add(o, be, sizeof(be), err));
    if (!b->open) {
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

int enc_put_key(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, struct gtee_err *err)
{
    const uint8_t *k;
    unsigned slot;
    int rc;

    TRY(slot_of(req, GTEE_ENCLAVE_KEY_SLOTS, "key", 1, &slot, err));
    k = span_take(req, GTEE_BOX_KEY_LEN);
    ENSURE(k && req->len == 0, err, GTEE_EFORMAT, "enclave: PUT_KEY takes a slot and a %d-byte key",
           GTEE_BOX_KEY_LEN);
    memcpy(e->sec->key[slot].bytes, k, GTEE_BOX_KEY_LEN);
    e->sec->have_key[slot] = 1;
    *resp = malloc(GTEE_BOX_KEY_ID_LEN);
    ENSURE(*resp, err, GTEE_ENOMEM, "enclave: out of memory");
    *resp_len = GTEE_BOX_KEY_ID_LEN;
    ENSURE(gtee_box_key_id(&e->sec->key[slot], *resp) == 0, err, GTEE_ECRYPTO, "enclave: key id failed");
out:
    return rc;
}
