/* Job results out of the enclave in pieces (docs/tee.md §7.1): an ML job's sealed result
 * (HPKE to its recipient: ciphertext only) waits in a result slot under its SHA-256, its
 * memory reserved against the enclave's limit, while the host reads it with RESULT_READ
 * (bounded pieces, exact offsets) and frees it with RESULT_DROP. A reply never carries more
 * than one piece, so a result is bounded by the memory limit, not by the message limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "gtee/crypto.h"

void enc_result_clear(struct enc *e, unsigned i)
{
    struct enc_result *r = &e->result[i];

    free(r->p);
    if (r->reserved)
        gtee_app_release(e->app, r->reserved);
    memset(r, 0, sizeof(*r));
}

int enc_result_reserve(struct enc *e, uint64_t len, struct gtee_err *err)
{
    char what[64];

    snprintf(what, sizeof(what), "the sealed result (%llu bytes)", (unsigned long long)len);
    return gtee_app_reserve(e->app, len, what, err);
}

void enc_result_keep(struct enc *e, uint8_t *p, size_t len, uint64_t reserved, struct gtee_result_notice *n)
{
    unsigned at = 0;

    /* a free slot, or the oldest result (one its host never dropped) makes room */
    for (unsigned i = 0; i < GTEE_ENCLAVE_RESULTS; i++) {
        if (!e->result[i].p) {
            at = i;
            break;
        }
        if (e->result[i].seq < e->result[at].seq)
            at = i;
    }
    enc_result_clear(e, at);
    e->result[at].p = p;
    e->result[at].len = len;
    e->result[at].reserved = reserved;
    e->result[at].seq = ++e->result_seq;
    memcpy(e->result[at].id, n->sha256, 32);
}

static int find(struct enc *e, struct span *in, const char *what, unsigned *at, struct gtee_err *err)
{
    const uint8_t *id = span_take(in, 32);
    char hex[17];

    if (!id)
        return GTEE_FAIL(err, GTEE_EFORMAT, "enclave: %s: truncated before the result id's 32 bytes (payload offset 0)",
                         what);
    for (unsigned i = 0; i < GTEE_ENCLAVE_RESULTS; i++)
        if (e->result[i].p && !memcmp(e->result[i].id, id, 32)) {
            *at = i;
            return 0;
        }
    gtee_hex_encode(id, 8, hex);
    return GTEE_FAIL(err, GTEE_ENOTFOUND, "enclave: %s: no result %s... is held (dropped, or evicted by newer ones)",
                     what, hex);
}

int enc_result_read(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    const struct enc_result *r;
    uint64_t off;
    uint32_t n;
    unsigned at;
    int rc;

    TRY(find(e, in, "RESULT_READ", &at, err));
    off = span_u64be(in);
    n = span_u32be(in);
    ENSURE(!in->bad && in->len == 0, err, GTEE_EFORMAT, "enclave: RESULT_READ payload is not 44 bytes");
    r = &e->result[at];
    ENSURE(n >= 1 && n <= GTEE_MSG_RESULT_PIECE_MAX, err, GTEE_EFORMAT,
           "enclave: RESULT_READ: length %u out of range 1..%u (payload offset 40)", n, GTEE_MSG_RESULT_PIECE_MAX);
    ENSURE(off <= r->len && n <= r->len - off, err, GTEE_EFORMAT,
           "enclave: RESULT_READ: %u bytes at offset %llu are outside the result's %zu (payload offset 32)", n,
           (unsigned long long)off, r->len);
    TRY(enc_out_add(o, r->p + off, n, err));
out:
    return rc;
}

int enc_result_drop(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    unsigned at;
    int rc;

    (void)o;
    TRY(find(e, in, "RESULT_DROP", &at, err));
    ENSURE(in->len == 0, err, GTEE_EFORMAT, "enclave: RESULT_DROP payload is not 32 bytes");
    enc_result_clear(e, at);
out:
    return rc;
}
