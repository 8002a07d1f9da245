/* Grants: a blob owner's terms for its container's key (docs/tee.md §7.2). The owner sends
 * them over the attested relay, so the host never sees the key; the enclave keeps them in
 * locked memory and returns them sealed to its own measurement for the host to store, so
 * they survive a restart (GRANT_RESTORE). A job names blobs by content id, and each must
 * have a grant that admits the job's kind, is not expired, and names the requester. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "gtee/crypto.h"
#include "gtee/jobs.h"

/* Parses a grant's bytes (the relay request after its op, or an unsealed stored grant). */
static int parse(struct span *in, struct enc_grant *g, struct gtee_err *err)
{
    struct gtee_grant w;
    int rc = gtee_grant_parse(in->p, in->len, &w, err);

    memset(g, 0, sizeof(*g));
    if (rc == 0) {
        memcpy(g->content_id, w.content_id, 32);
        memcpy(g->key.bytes, w.key, 32);
        memcpy(g->owner, w.owner, 32);
        g->kinds = w.kinds;
        g->flags = w.flags;
        g->until = w.until;
        g->n_to = w.n_to;
        memcpy(g->to, w.to, sizeof(g->to));
        if (gtee_box_key_id(&g->key, g->key_id) != 0)
            rc = GTEE_FAIL(err, GTEE_ECRYPTO, "enclave: key id failed");
    }
    gtee_wipe(&w, sizeof(w));
    return rc;
}

/* Keeps g: a grant for the same content id and owner replaces the older one; when every
 * place is taken, an expired grant's place is taken (it admits no job any more), so a node
 * that has served many blobs goes on taking grants. */
static int keep(struct enc *e, const struct enc_grant *g, size_t *place, struct gtee_err *err)
{
    struct enc_secrets *s = e->sec;
    uint64_t now = (uint64_t)time(NULL);
    size_t i;

    for (i = 0; i < s->n_grants; i++)
        if (!memcmp(s->grant[i].content_id, g->content_id, 32) && !memcmp(s->grant[i].owner, g->owner, 32))
            break;
    if (i == s->n_grants && s->n_grants == GTEE_ENCLAVE_GRANTS)
        for (i = 0; i < s->n_grants; i++)
            if (s->grant[i].until && now > s->grant[i].until)
                break;
    if (i == GTEE_ENCLAVE_GRANTS)
        return GTEE_FAIL(err, GTEE_ELIMIT, "enclave: %d grants held already, none of them expired", GTEE_ENCLAVE_GRANTS);
    if (i == s->n_grants)
        s->n_grants++;
    gtee_wipe(&s->grant[i], sizeof(s->grant[i]));
    s->grant[i] = *g;
    if (place)
        *place = i;
    return 0;
}

/* gtee_grant_id of the grant held (its key not part of it). */
static int grant_id(const struct enc_grant *g, uint8_t id[32], struct gtee_err *err)
{
    struct gtee_grant w = { 0 };

    memcpy(w.content_id, g->content_id, 32);
    memcpy(w.owner, g->owner, 32);
    w.kinds = g->kinds;
    w.flags = g->flags;
    w.until = g->until;
    w.n_to = g->n_to;
    memcpy(w.to, g->to, sizeof(w.to));
    return gtee_grant_id(&w, id, err);
}

int enc_grant(struct enc *e, struct span *req, uint8_t **resp, size_t *resp_len, uint8_t **host, size_t *host_len,
              struct gtee_err *err)
{
    struct enc_grant g;
    uint8_t id[32];
    const uint8_t *raw = req->p;
    size_t raw_len = req->len;
    int rc;

    TRY(parse(req, &g, err));
    TRY(grant_id(&g, id, err));
    TRY(enc_release_room(e, err));
    TRY(keep(e, &g, NULL, err));
    /* for the host to store: only this code on this device opens it */
    TRY(gtee_app_seal(e->app, raw, raw_len, host, host_len, err));
    /* the key is released to this enclave: its receipt waits for the host (releases.c) */
    enc_release_add(e, g.content_id, id, (uint64_t)time(NULL));
    *resp = malloc(GTEE_BOX_KEY_ID_LEN);
    ENSURE(*resp, err, GTEE_ENOMEM, "enclave: out of memory");
    memcpy(*resp, g.key_id, GTEE_BOX_KEY_ID_LEN);
    *resp_len = GTEE_BOX_KEY_ID_LEN;
out:
    gtee_wipe(&g, sizeof(g));
    return rc;
}

int enc_grant_restore(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t *pt = NULL, reply[5];
    size_t pt_len = 0, place = 0;
    struct enc_grant g;
    struct span s;
    int rc;

    TRY(gtee_app_unseal(e->app, in->p, in->len, &pt, &pt_len, err));
    s = span_init(pt, pt_len);
    TRY(parse(&s, &g, err));
    TRY(keep(e, &g, &place, err));
    /* grants held, the place this one took (the host's stored grant that held it before is
     * replaced), and whether it has expired (it admits no job: the host may drop it) */
    put_u16be(reply, (uint16_t)e->sec->n_grants);
    put_u16be(reply + 2, (uint16_t)place);
    reply[4] = g.until && (uint64_t)time(NULL) > g.until;
    TRY(enc_out_add(o, reply, sizeof(reply), err));
out:
    gtee_wipe(&g, sizeof(g));
    gtee_app_free_secret(pt, pt_len);
    return rc;
}

const struct enc_grant *enc_grant_by_key_id(const struct enc *e, const uint8_t key_id[GTEE_BOX_KEY_ID_LEN])
{
    for (size_t i = 0; i < e->sec->n_grants; i++)
        if (gtee_ct_equal(e->sec->grant[i].key_id, key_id, GTEE_BOX_KEY_ID_LEN))
            return &e->sec->grant[i];
    return NULL;
}

static int names(const struct enc_grant *g, const uint8_t requester[32])
{
    if (!memcmp(g->owner, requester, 32))
        return 1; /* an owner's own jobs on its own blob */
    for (unsigned i = 0; i < g->n_to; i++)
        if (!memcmp(g->to[i], requester, 32))
            return 1;
    return 0;
}

/* Every grant for the blob is considered; the refusal names the first reason met, in the
 * order: none at all, none for this kind, all expired, none naming the requester. The
 * enclave's clock is the host's on sim and SGX (docs/tee.md §7.2 says what that means). */
int enc_grant_check(const struct enc *e, const uint8_t id[GTEE_BOX_CONTENT_ID_LEN], const char *what,
                    unsigned kind, const uint8_t requester[32], const struct enc_grant **out, struct gtee_err *err)
{
    uint64_t now = (uint64_t)time(NULL);
    int any = 0, kind_ok = 0, live = 0;
    char hex[17];

    gtee_hex_encode(id, 8, hex);
    for (size_t i = 0; i < e->sec->n_grants; i++) {
        const struct enc_grant *g = &e->sec->grant[i];

        if (memcmp(g->content_id, id, 32) != 0)
            continue;
        any = 1;
        if (!(g->kinds & kind))
            continue;
        kind_ok = 1;
        if (g->until && now > g->until)
            continue;
        live = 1;
        if (names(g, requester)) {
            *out = g;
            return 0;
        }
    }
    if (!any)
        return GTEE_FAIL(err, GTEE_EPOLICY, "enclave: the %s (content id %s...) has no grant", what, hex);
    if (!kind_ok)
        return GTEE_FAIL(err, GTEE_EPOLICY, "enclave: no grant of the %s (content id %s...) allows %s", what, hex,
                         kind == GTEE_GRANT_TRAIN ? "training" : "inference");
    if (!live)
        return GTEE_FAIL(err, GTEE_EPOLICY, "enclave: every grant of the %s (content id %s...) has expired", what,
                         hex);
    return GTEE_FAIL(err, GTEE_EPOLICY, "enclave: no grant of the %s (content id %s...) names this requester", what,
                     hex);
}
