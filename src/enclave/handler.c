/* The enclave's message handler: the one place where bytes from the host are read. Each
 * message is parsed with span.h; anything malformed gets an ERROR reply, never a crash, and
 * no reply ever carries plaintext the host should not see. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "enclave/enclave.h"
#include "enclave/proofs.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"
#include "gtee/report_data.h"

int enc_new(struct gtee_app *app, struct enc **out, struct gtee_err *err)
{
    struct enc *e = calloc(1, sizeof(*e));
    int rc = GTEE_ENOMEM;

    *out = NULL;
    ENSURE(e, err, GTEE_ENOMEM, "enclave: out of memory");
    e->app = app;
    gtee_app_identity(app, &e->id);
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->send_mu, NULL);
    e->sec = gtee_app_secret_alloc(sizeof(*e->sec));
    ENSURE(e->sec, err, GTEE_ENOMEM, "enclave: cannot lock memory for secrets (RLIMIT_MEMLOCK)");
    TRY(enc_proofs_new(&e->proofs, err));
    *out = e;
    e = NULL;
    rc = 0;
out:
    enc_free(e);
    return rc;
}

void enc_free(struct enc *e)
{
    if (!e)
        return;
    enc_ml_job_join(e); /* the job reads the slots cleared below */
    for (unsigned i = 0; i < GTEE_ENCLAVE_BLOB_SLOTS; i++)
        enc_blob_clear(e, i);
    for (unsigned i = 0; i < GTEE_ENCLAVE_RESULTS; i++)
        enc_result_clear(e, i);
    gtee_app_secret_free(e->sec, sizeof(*e->sec));
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->send_mu);
    enc_proofs_free(e->proofs);
    free(e);
}

int enc_send(struct enc *e, const uint8_t *msg, size_t len)
{
    int rc = GTEE_EIO;

    pthread_mutex_lock(&e->send_mu);
    if (e->send)
        rc = e->send(e->send_arg, msg, len);
    pthread_mutex_unlock(&e->send_mu);
    return rc;
}

int enc_answer(struct enc *e, uint16_t type, uint64_t id, int rc, const struct enc_out *o, const struct gtee_err *err)
{
    uint8_t *msg = NULL;
    size_t len = 0;

    if (rc == 0)
        rc = gtee_msg_encode((uint16_t)(type | GTEE_MSG_REPLY), id, o->p, o->len, &msg, &len, NULL);
    if (rc < 0)
        rc = gtee_msg_encode_error(id, err->code ? err->code : rc, err->msg, &msg, &len, NULL);
    if (rc == 0)
        rc = enc_send(e, msg, len);
    free(msg);
    return rc;
}

int enc_relay_answer(const uint8_t resp_key[GTEE_RELAY_KEY_LEN], const uint8_t *resp, size_t resp_len,
                     const uint8_t *host, size_t host_len, struct enc_out *o, struct gtee_err *err)
{
    uint8_t *box = NULL, len_be[4];
    size_t box_len = 0;
    int rc;

    ENSURE(host_len + resp_len <= GTEE_MSG_MAX_PAYLOAD - GTEE_RELAY_RESP_OVERHEAD - 4, err, GTEE_ELIMIT,
           "enclave: an answer of %zu bytes is over the message limit (%u bytes)", host_len + resp_len,
           GTEE_MSG_MAX_PAYLOAD - GTEE_RELAY_RESP_OVERHEAD - 4);
    TRY(gtee_relay_seal_response(resp_key, resp, resp_len, &box, &box_len, err));
    put_u32be(len_be, (uint32_t)host_len);
    TRY(enc_out_add(o, len_be, sizeof(len_be), err));
    TRY(enc_out_add(o, host, host_len, err));
    TRY(enc_out_add(o, box, box_len, err));
out:
    free(box);
    return rc;
}

/* Grows by copying, not realloc: an answer may hold a secret (a job's result), and the
 * block it leaves must be wiped. */
int enc_out_add(struct enc_out *o, const void *p, size_t n, struct gtee_err *err)
{
    uint8_t *np;

    if (n > GTEE_MSG_MAX_PAYLOAD || o->len > GTEE_MSG_MAX_PAYLOAD - n)
        return GTEE_FAIL(err, GTEE_ELIMIT, "enclave: reply over the message limit");
    np = malloc(o->len + n + 1);
    if (!np)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    if (o->len)
        memcpy(np, o->p, o->len);
    if (o->p) {
        gtee_wipe(o->p, o->len);
        free(o->p);
    }
    o->p = np;
    if (n)
        memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

static int do_info(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    const struct gtee_app_identity *id = &e->id;
    uint8_t head[3] = { (uint8_t)id->kind, id->simulated ? GTEE_MSG_FLAG_SIMULATED : 0,
                        (uint8_t)id->measurement_len };
    int rc;

    ENSURE(in->len == 0, err, GTEE_EFORMAT, "enclave: INFO takes no payload");
    TRY(enc_out_add(o, head, sizeof(head), err));
    TRY(enc_out_add(o, id->measurement, id->measurement_len, err));
    TRY(enc_out_add(o, id->exe_sha256, 32, err));
    TRY(enc_out_add(o, id->enclave_key, GTEE_ENCLAVE_PUB_LEN, err));
    TRY(enc_out_add(o, id->enclave_id, GTEE_ENCLAVE_ADDR_LEN, err));
    TRY(enc_out_add(o, id->channel_key, GTEE_CHANNEL_PUB_LEN, err));
out:
    return rc;
}

/* The host supplies only the nonce half: the first half always commits to our own keys, so
 * the host cannot obtain evidence that vouches for a key of its choosing. */
static int do_evidence(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t rd[GTEE_REPORT_DATA_LEN], *ev = NULL;
    size_t ev_len = 0;
    int rc;

    ENSURE(in->len == GTEE_MSG_NONCE_LEN, err, GTEE_EFORMAT, "enclave: EVIDENCE payload is %zu bytes, expected %d",
           in->len, GTEE_MSG_NONCE_LEN);
    TRY(gtee_app_evidence(e->app, in->p, rd, &ev, &ev_len, err));
    TRY(enc_out_add(o, rd, sizeof(rd), err));
    TRY(enc_out_add(o, ev, ev_len, err));
out:
    free(ev);
    return rc;
}

static int do_seal(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t policy = span_u8(in), *blob = NULL;
    size_t blob_len = 0;
    int rc;

    ENSURE(!in->bad, err, GTEE_EFORMAT, "enclave: SEAL payload has no policy byte");
    ENSURE(policy == GTEE_APP_SEAL_CODE || policy == GTEE_APP_SEAL_SIGNER, err, GTEE_EFORMAT,
           "enclave: SEAL policy %u unknown (payload offset 0)", policy);
    TRY(gtee_app_seal_to(e->app, policy, in->p, in->len, &blob, &blob_len, err));
    TRY(enc_out_add(o, blob, blob_len, err));
out:
    free(blob);
    return rc;
}

static int keep_secret(struct enc *e, const uint8_t *p, size_t n, struct gtee_err *err)
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
static int do_unseal(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t *pt = NULL, len_be[4];
    size_t pt_len = 0;
    int rc;

    TRY(gtee_app_unseal(e->app, in->p, in->len, &pt, &pt_len, err));
    TRY(keep_secret(e, pt, pt_len, err));
    put_u32be(len_be, (uint32_t)pt_len);
    TRY(enc_out_add(o, len_be, sizeof(len_be), err));
out:
    gtee_app_free_secret(pt, pt_len);
    return rc;
}

/* Reply: host_len u32 || host part (a sealed blob to store, or nothing) || client box. */
static int do_relay(struct enc *e, uint64_t id, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], *pt = NULL, *blob = NULL, *box = NULL, result[32], len_be[4], *resp = NULL;
    size_t pt_len = 0, blob_len = 0, box_len = 0, resp_len = 0;
    struct span r;
    uint8_t op;
    int rc;

    ENSURE(gtee_sha256(in->p, in->len, e->relay_id) == 0, err, GTEE_ECRYPTO, "enclave: hash failed");
    TRY(gtee_app_relay_open(e->app, in->p, in->len, resp_key, &pt, &pt_len, err));
    r = span_init(pt, pt_len);
    op = span_u8(&r);
    ENSURE(!r.bad, err, GTEE_EFORMAT, "enclave: empty relay request");
    if (op == GTEE_RELAY_PUT_SECRET) {
        TRY(keep_secret(e, r.p, r.len, err));
        TRY(gtee_app_seal(e->app, e->sec->secret, e->sec->secret_len, &blob, &blob_len, err));
        put_u32be(len_be, (uint32_t)e->sec->secret_len);
        TRY(gtee_relay_seal_response(resp_key, len_be, sizeof(len_be), &box, &box_len, err));
    } else if (op == GTEE_RELAY_JOB) {
        ENSURE(e->sec->have_secret, err, GTEE_ESTATE, "enclave: JOB before a secret was given or unsealed");
        ENSURE(gtee_hmac_sha256(e->sec->secret, e->sec->secret_len, r.p, r.len, result) == 0, err, GTEE_ECRYPTO,
               "enclave: job failed");
        TRY(gtee_relay_seal_response(resp_key, result, sizeof(result), &box, &box_len, err));
    } else if (op == GTEE_RELAY_ML_JOB && e->send) {
        /* On the job's thread, which answers this request when the job ends; the host's
         * other requests are answered meanwhile. */
        TRY(enc_ml_job_start(e, &r, resp_key, id, err));
        rc = ENC_DEFERRED;
        goto out;
    } else {
        /* Grants and ML jobs: the answer to the client alone; the host part (a sealed grant,
         * a sealed result) for the host to store. */
        if (op == GTEE_RELAY_GRANT)
            TRY(enc_grant(e, &r, &resp, &resp_len, &blob, &blob_len, err));
        else if (op == GTEE_RELAY_ML_JOB)
            TRY(enc_ml_job(e, &r, &resp, &resp_len, &blob, &blob_len, err));
        else
            ENSURE(0, err, GTEE_EFORMAT, "enclave: relay operation %u unknown", op);
        TRY(enc_relay_answer(resp_key, resp, resp_len, blob, blob_len, o, err));
        goto out;
    }
    put_u32be(len_be, (uint32_t)blob_len);
    TRY(enc_out_add(o, len_be, sizeof(len_be), err));
    TRY(enc_out_add(o, blob, blob_len, err));
    TRY(enc_out_add(o, box, box_len, err));
out:
    gtee_wipe(resp_key, sizeof(resp_key));
    gtee_wipe(result, sizeof(result));
    gtee_app_free_secret(pt, pt_len);
    gtee_app_free_secret(resp, resp_len);
    free(blob);
    free(box);
    return rc;
}

/* Work Proofs (proofs.c): the answer as proofs.c makes it. */
static int do_proof(struct enc *e, uint16_t type, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int rc;

    if (type == GTEE_MSG_PROOF_START)
        TRY(enc_proofs_start(e->proofs, e->app, in->p, in->len, &out, &len, err));
    else
        TRY(enc_proofs_take(e->proofs, e->app, in->p, in->len, &out, &len, err));
    TRY(enc_out_add(o, out, len, err));
out:
    free(out);
    return rc;
}

int enc_handle(struct enc *e, const uint8_t *msg, size_t len, uint8_t **reply, size_t *reply_len)
{
    struct gtee_msg_header h = {0};
    struct gtee_err err = {0};
    struct enc_out o = {0};
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
    pthread_mutex_lock(&e->mu);
    switch (h.type) {
    case GTEE_MSG_INFO: rc = do_info(e, &in, &o, &err); break;
    case GTEE_MSG_EVIDENCE: rc = do_evidence(e, &in, &o, &err); break;
    case GTEE_MSG_SEAL: rc = do_seal(e, &in, &o, &err); break;
    case GTEE_MSG_UNSEAL: rc = do_unseal(e, &in, &o, &err); break;
    case GTEE_MSG_RELAY: rc = do_relay(e, h.request_id, &in, &o, &err); break;
    case GTEE_MSG_BLOB_BEGIN: rc = enc_blob_begin(e, &in, &o, &err); break;
    case GTEE_MSG_BLOB_DATA: rc = enc_blob_data(e, &in, &o, &err); break;
    case GTEE_MSG_BLOB_DROP: rc = enc_blob_drop(e, &in, &o, &err); break;
    case GTEE_MSG_GRANT_RESTORE: rc = enc_grant_restore(e, &in, &o, &err); break;
    case GTEE_MSG_RESULT_READ: rc = enc_result_read(e, &in, &o, &err); break;
    case GTEE_MSG_RESULT_DROP: rc = enc_result_drop(e, &in, &o, &err); break;
    case GTEE_MSG_PROOF_START:
    case GTEE_MSG_PROOF_TAKE: rc = do_proof(e, h.type, &in, &o, &err); break;
    case GTEE_MSG_RELEASE_TAKE: rc = enc_release_take(e, &in, &o, &err); break;
    default: rc = GTEE_FAIL(&err, GTEE_EUNSUPPORTED, "msg: unknown type 0x%04x (offset 6)", h.type); break;
    }
    pthread_mutex_unlock(&e->mu);
    if (rc == ENC_DEFERRED) {
        free(o.p);
        return 0;
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
