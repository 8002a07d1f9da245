/* TDX sealing key through a key release (docs/tee.md §4.3): the TD makes a fresh P-256 key,
 * asks the TDX module for a quote whose report data binds it, sends quote and key to the
 * key-release service through the configured transport (the host relays; it sees only the
 * quote and a box it cannot open), and opens the answer: K, its key root. The MRENCLAVE-policy
 * sealing key is HKDF-SHA256(K, info "gtee tdx seal key v1: measurement"). K stays in this
 * backend's state until close, so one start asks once. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/msg.h"
#include "tee/tee_int.h"

static const char seal_info[] = "gtee tdx seal key v1: measurement";

static int fetch_root(struct gtee_tee *t, uint8_t k[GTEE_KR_KEY_LEN], struct gtee_err *err)
{
    const struct gtee_key_release_transport *tr = t->opt.key_release;
    uint8_t priv[32], pub[GTEE_KR_PUB_LEN], rd[GTEE_KR_REPORT_DATA_LEN];
    uint8_t *ev = NULL, *req = NULL, *resp = NULL;
    size_t ev_len = 0, req_len = 0, resp_len = 0;
    int rc;

    /* Fail before asking for a quote: an unpinned answer could carry anyone's key root. */
    ENSURE(tr->service_pub, err, GTEE_EINVAL, "tee tdx: the key-release transport pins no service key");
    TRY(gtee_relay_keypair(priv, pub, err));
    ENSURE(gtee_kr_report_data(pub, rd) == 0, err, GTEE_ECRYPTO, "tee tdx: report data hash failed");
    TRY(t->ops->get_evidence(t, rd, &ev, &ev_len, err));
    TRY(gtee_kr_request_build(pub, ev, ev_len, &req, &req_len, err));
    if (err)
        err->code = 0;
    rc = tr->exchange(req, req_len, &resp, &resp_len, tr->arg, err);
    if (rc < 0) {
        if (err && err->code == 0)
            (void)GTEE_FAIL(err, rc, "tee tdx: the key-release service did not answer");
        goto out;
    }
    ENSURE(resp, err, GTEE_EFORMAT, "tee tdx: the key-release transport returned no answer");
    TRY(gtee_kr_response_open(priv, pub, tr->service_pub, req, req_len, resp, resp_len, k, err));
out:
    gtee_wipe(priv, sizeof(priv));
    free(ev);
    free(req);
    free(resp);
    return rc;
}

int tee_tdx_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                        struct gtee_err *err)
{
    int rc = GTEE_EUNSUPPORTED;

    /* A TD has no signer identity in its measurement (MROWNER is whatever the host sets). */
    ENSURE(policy == GTEE_SEAL_MRENCLAVE, err, GTEE_EUNSUPPORTED,
           "tee tdx: only measurement-bound sealing exists on TDX (no signer identity; docs/tee.md §4.3)");
    if (!t->state) {
        uint8_t *k = malloc(GTEE_KR_KEY_LEN);

        ENSURE(k, err, GTEE_ENOMEM, "tee tdx: out of memory");
        rc = fetch_root(t, k, err);
        if (rc < 0) {
            gtee_wipe(k, GTEE_KR_KEY_LEN);
            free(k);
            goto out;
        }
        t->state = k;
    }
    ENSURE(gtee_hkdf_sha256(key, GTEE_SEAL_KEY_LEN, t->state, GTEE_KR_KEY_LEN, NULL, 0, (const uint8_t *)seal_info,
                            sizeof(seal_info) - 1) == 0, err, GTEE_ECRYPTO, "tee tdx: key derivation failed");
    rc = 0;
out:
    return rc;
}

void tee_tdx_close(struct gtee_tee *t)
{
    if (t->state) {
        gtee_wipe(t->state, GTEE_KR_KEY_LEN);
        free(t->state);
        t->state = NULL;
    }
}

/* The transport over the TCP client of src/wire/keyrelease_tcp.c (gtee/tee.h). */
void gtee_kr_tcp_transport(struct gtee_kr_tcp *c, struct gtee_key_release_transport *tr)
{
    tr->exchange = gtee_kr_tcp_exchange;
    tr->arg = c;
    tr->service_pub = c->service_pub;
}
