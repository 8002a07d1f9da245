/* The enclave's message handler: the one place where bytes from the host are read. Each
 * message is parsed with span.h; anything malformed gets an ERROR reply, never a crash, and
 * no reply ever carries plaintext the host should not see. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "runtime/enclave.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"

struct secrets {                 /* one locked, dump-excluded page */
    uint8_t enclave_priv[32];
    uint8_t channel_priv[32];
    size_t secret_len;
    uint8_t secret[GTEE_ENCLAVE_SECRET_MAX];
    int have_secret;
};

struct gtee_enclave {
    struct gtee_tee *tee;
    uint8_t meas[GTEE_MEASUREMENT_MAX];
    size_t meas_len;
    uint8_t exe_sha256[32];
    uint8_t enclave_pub[GTEE_ENCLAVE_PUB_LEN];
    uint8_t enclave_addr[GTEE_ENCLAVE_ADDR_LEN];
    uint8_t channel_pub[GTEE_CHANNEL_PUB_LEN];
    struct secrets *sec;
};

int gtee_enclave_new(const char *tee, const struct gtee_tee_options *opt, const uint8_t exe_sha256[32],
                     struct gtee_enclave **out, struct gtee_err *err)
{
    struct gtee_enclave *e = calloc(1, sizeof(*e));
    int rc = GTEE_ENOMEM;

    *out = NULL;
    ENSURE(e, err, GTEE_ENOMEM, "enclave: out of memory");
    e->sec = gtee_enclave_secret_alloc(sizeof(*e->sec));
    ENSURE(e->sec, err, GTEE_ENOMEM, "enclave: cannot lock memory for secrets (RLIMIT_MEMLOCK)");
    memcpy(e->exe_sha256, exe_sha256, 32);
    TRY(gtee_tee_open(tee, opt, &e->tee, err));
    TRY(gtee_tee_measurement(e->tee, e->meas, &e->meas_len, err));
    TRY(gtee_tee_enclave_key(e->tee, e->sec->enclave_priv, e->enclave_pub, e->enclave_addr, err));
    /* A fresh channel key every start (docs/tee.md: P-256, the curve of the TLS certificate). */
    TRY(gtee_relay_keypair(e->sec->channel_priv, e->channel_pub, err));
    *out = e;
    e = NULL;
    rc = 0;
out:
    gtee_enclave_free(e);
    return rc;
}

void gtee_enclave_free(struct gtee_enclave *e)
{
    if (!e)
        return;
    gtee_tee_close(e->tee);
    gtee_enclave_secret_free(e->sec, sizeof(*e->sec));
    free(e);
}

/* A reply under construction: payload bytes appended, then framed. */
struct out {
    uint8_t *p;
    size_t len;
};

static int out_add(struct out *o, const void *p, size_t n, struct gtee_err *err)
{
    uint8_t *np;

    if (n > GTEE_MSG_MAX_PAYLOAD || o->len > GTEE_MSG_MAX_PAYLOAD - n)
        return GTEE_FAIL(err, GTEE_EINVAL, "enclave: reply over the message limit");
    np = realloc(o->p, o->len + n + 1);
    if (!np)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    o->p = np;
    if (n)
        memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

static int do_info(struct gtee_enclave *e, struct span *in, struct out *o, struct gtee_err *err)
{
    uint8_t head[3] = { (uint8_t)gtee_tee_kind(e->tee), gtee_tee_is_simulated(e->tee) ? GTEE_MSG_FLAG_SIMULATED : 0,
                        (uint8_t)e->meas_len };
    int rc;

    ENSURE(in->len == 0, err, GTEE_EFORMAT, "enclave: INFO takes no payload");
    TRY(out_add(o, head, sizeof(head), err));
    TRY(out_add(o, e->meas, e->meas_len, err));
    TRY(out_add(o, e->exe_sha256, 32, err));
    TRY(out_add(o, e->enclave_pub, sizeof(e->enclave_pub), err));
    TRY(out_add(o, e->enclave_addr, sizeof(e->enclave_addr), err));
    TRY(out_add(o, e->channel_pub, sizeof(e->channel_pub), err));
out:
    return rc;
}

/* The host supplies only the nonce half: the first half always commits to our own keys, so
 * the host cannot obtain evidence that vouches for a key of its choosing. */
static int do_evidence(struct gtee_enclave *e, struct span *in, struct out *o, struct gtee_err *err)
{
    uint8_t rd[GTEE_REPORT_DATA_LEN], *ev = NULL;
    size_t ev_len = 0;
    int rc;

    ENSURE(in->len == GTEE_MSG_NONCE_LEN, err, GTEE_EFORMAT, "enclave: EVIDENCE payload is %zu bytes, expected %d",
           in->len, GTEE_MSG_NONCE_LEN);
    TRY(gtee_tee_report_data(e->enclave_pub, e->channel_pub, in->p, rd));
    TRY(gtee_tee_evidence(e->tee, rd, &ev, &ev_len, err));
    TRY(out_add(o, rd, sizeof(rd), err));
    TRY(out_add(o, ev, ev_len, err));
out:
    free(ev);
    return rc;
}

static int do_seal(struct gtee_enclave *e, struct span *in, struct out *o, struct gtee_err *err)
{
    uint8_t policy = span_u8(in), *blob = NULL;
    size_t blob_len = 0;
    int rc;

    ENSURE(!in->bad, err, GTEE_EFORMAT, "enclave: SEAL payload has no policy byte");
    ENSURE(policy == GTEE_SEAL_MRENCLAVE || policy == GTEE_SEAL_MRSIGNER, err, GTEE_EFORMAT,
           "enclave: SEAL policy %u unknown (payload offset 0)", policy);
    TRY(gtee_tee_seal(e->tee, (enum gtee_seal_policy)policy, in->p, in->len, &blob, &blob_len, err));
    TRY(out_add(o, blob, blob_len, err));
out:
    free(blob);
    return rc;
}

static int keep_secret(struct gtee_enclave *e, const uint8_t *p, size_t n, struct gtee_err *err)
{
    if (n > GTEE_ENCLAVE_SECRET_MAX)
        return GTEE_FAIL(err, GTEE_EINVAL, "enclave: secret of %zu bytes over the %d-byte slot", n,
                         GTEE_ENCLAVE_SECRET_MAX);
    gtee_wipe(e->sec->secret, sizeof(e->sec->secret));
    memcpy(e->sec->secret, p, n);
    e->sec->secret_len = n;
    e->sec->have_secret = 1;
    return 0;
}

/* The plaintext stays in the enclave: the host learns only its length. */
static int do_unseal(struct gtee_enclave *e, struct span *in, struct out *o, struct gtee_err *err)
{
    uint8_t *pt = NULL, len_be[4];
    size_t pt_len = 0;
    int rc;

    TRY(gtee_tee_unseal(e->tee, in->p, in->len, &pt, &pt_len, err));
    TRY(keep_secret(e, pt, pt_len, err));
    put_u32be(len_be, (uint32_t)pt_len);
    TRY(out_add(o, len_be, sizeof(len_be), err));
out:
    gtee_tee_free_secret(pt, pt_len);
    return rc;
}

/* Reply: host_len u32 || host part (a sealed blob to store, or nothing) || client box. */
static int do_relay(struct gtee_enclave *e, struct span *in, struct out *o, struct gtee_err *err)
{
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], *pt = NULL, *blob = NULL, *box = NULL, result[32], len_be[4];
    size_t pt_len = 0, blob_len = 0, box_len = 0;
    struct span r;
    uint8_t op;
    int rc;

    TRY(gtee_relay_open_request(e->sec->channel_priv, e->channel_pub, in->p, in->len, resp_key, &pt, &pt_len, err));
    r = span_init(pt, pt_len);
    op = span_u8(&r);
    ENSURE(!r.bad, err, GTEE_EFORMAT, "enclave: empty relay request");
    if (op == GTEE_RELAY_PUT_SECRET) {
        TRY(keep_secret(e, r.p, r.len, err));
        TRY(gtee_tee_seal(e->tee, GTEE_SEAL_MRENCLAVE, e->sec->secret, e->sec->secret_len, &blob, &blob_len, err));
        put_u32be(len_be, (uint32_t)e->sec->secret_len);
        TRY(gtee_relay_seal_response(resp_key, len_be, sizeof(len_be), &box, &box_len, err));
    } else if (op == GTEE_RELAY_JOB) {
        ENSURE(e->sec->have_secret, err, GTEE_ESTATE, "enclave: JOB before a secret was given or unsealed");
        ENSURE(gtee_hmac_sha256(e->sec->secret, e->sec->secret_len, r.p, r.len, result) == 0, err, GTEE_ECRYPTO,
               "enclave: job failed");
        TRY(gtee_relay_seal_response(resp_key, result, sizeof(result), &box, &box_len, err));
    } else {
        ENSURE(0, err, GTEE_EFORMAT, "enclave: relay operation %u unknown", op);
    }
    put_u32be(len_be, (uint32_t)blob_len);
    TRY(out_add(o, len_be, sizeof(len_be), err));
    TRY(out_add(o, blob, blob_len, err));
    TRY(out_add(o, box, box_len, err));
out:
    gtee_wipe(resp_key, sizeof(resp_key));
    gtee_wipe(result, sizeof(result));
    gtee_tee_free_secret(pt, pt_len);
    free(blob);
    free(box);
    return rc;
}

int gtee_enclave_handle(struct gtee_enclave *e, const uint8_t *msg, size_t len, uint8_t **reply, size_t *reply_len)
{
    struct gtee_msg_header h = {0};
    struct gtee_err err = {0};
    struct out o = {0};
    struct span in;
    int rc, fatal = 0;

    *reply = NULL;
    *reply_len = 0;
    rc = gtee_msg_header_parse(msg, len, &h, &err);
    if (rc == 0 && len - GTEE_MSG_HEADER_LEN != h.length)
        rc = GTEE_FAIL(&err, GTEE_EFORMAT, "msg: length field %u, but %zu payload bytes", h.length,
                       len - GTEE_MSG_HEADER_LEN);
    if (rc < 0) {
        fatal = 1;
        goto reply;
    }
    in = span_init(msg + GTEE_MSG_HEADER_LEN, h.length);
    switch (h.type) {
    case GTEE_MSG_INFO: rc = do_info(e, &in, &o, &err); break;
    case GTEE_MSG_EVIDENCE: rc = do_evidence(e, &in, &o, &err); break;
    case GTEE_MSG_SEAL: rc = do_seal(e, &in, &o, &err); break;
    case GTEE_MSG_UNSEAL: rc = do_unseal(e, &in, &o, &err); break;
    case GTEE_MSG_RELAY: rc = do_relay(e, &in, &o, &err); break;
    default: rc = GTEE_FAIL(&err, GTEE_EUNSUPPORTED, "msg: unknown type 0x%04x (offset 6)", h.type); break;
    }
reply:
    if (rc == 0)
        rc = gtee_msg_encode((uint16_t)(h.type | GTEE_MSG_REPLY), h.request_id, o.p, o.len, reply, reply_len, &err);
    if (rc < 0)
        rc = gtee_msg_encode_error(h.request_id, err.code ? err.code : rc, err.msg, reply, reply_len, NULL);
    free(o.p);
    if (rc < 0)
        return GTEE_ENOMEM;
    return fatal;
}
