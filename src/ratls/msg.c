/* Framed messages inside an attested session (type u16 || length u32, big-endian, then the
 * body), and the freshness exchange: the client's nonce in, evidence over binding || nonce
 * out (docs/ratls.md, "Freshness"). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "ratls/conn_int.h"
#include "ratls/internal.h"

#define HDR_LEN 6

int gtee_ratls_send_msg(struct gtee_ratls_conn *c, uint16_t type, const void *p, size_t len, struct gtee_err *err)
{
    uint8_t *buf;
    int rc;

    if (len > GTEE_RATLS_MSG_MAX)
        return GTEE_FAIL(err, GTEE_EINVAL, "ratls: message of %zu bytes over the %u limit", len, GTEE_RATLS_MSG_MAX);
    /* One write, so header and body travel in one record when they fit. */
    buf = malloc(HDR_LEN + len);
    if (!buf)
        return GTEE_FAIL(err, GTEE_ENOMEM, "ratls: out of memory");
    buf[0] = (uint8_t)(type >> 8);
    buf[1] = (uint8_t)type;
    buf[2] = (uint8_t)(len >> 24);
    buf[3] = (uint8_t)(len >> 16);
    buf[4] = (uint8_t)(len >> 8);
    buf[5] = (uint8_t)len;
    if (len)
        memcpy(buf + HDR_LEN, p, len);
    rc = gtee_ratls_write(c, buf, HDR_LEN + len, err);
    gtee_wipe(buf, HDR_LEN + len);
    free(buf);
    return rc;
}

int gtee_ratls_recv_msg(struct gtee_ratls_conn *c, uint16_t *type, uint8_t **p, size_t *len, struct gtee_err *err)
{
    uint8_t h[HDR_LEN];
    uint32_t n;
    int rc;

    *p = NULL;
    *len = 0;
    rc = gtee_ratls_read(c, h, sizeof(h), err);
    if (rc < 0)
        return rc;
    *type = (uint16_t)(h[0] << 8 | h[1]);
    n = (uint32_t)h[2] << 24 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 8 | h[5];
    if (n > GTEE_RATLS_MSG_MAX)
        return GTEE_FAIL(err, GTEE_EFORMAT, "ratls: message length %u over the %u limit (offset 2)", n,
                         GTEE_RATLS_MSG_MAX);
    *p = malloc(n ? n : 1);
    if (!*p)
        return GTEE_FAIL(err, GTEE_ENOMEM, "ratls: out of memory");
    rc = n ? gtee_ratls_read(c, *p, n, err) : 0;
    if (rc < 0) {
        free(*p);
        *p = NULL;
        return rc == GTEE_ENOTFOUND ? GTEE_FAIL(err, GTEE_EFORMAT, "ratls: session closed inside a message") : rc;
    }
    *len = n;
    return 0;
}

int gtee_ratls_send_error(struct gtee_ratls_conn *c, int code, const char *text, struct gtee_err *err)
{
    uint8_t buf[4 + 256];
    size_t n = strnlen(text, 256);
    uint32_t u = (uint32_t)code;

    buf[0] = (uint8_t)(u >> 24);
    buf[1] = (uint8_t)(u >> 16);
    buf[2] = (uint8_t)(u >> 8);
    buf[3] = (uint8_t)u;
    memcpy(buf + 4, text, n);
    return gtee_ratls_send_msg(c, GTEE_RATLS_MSG_ERROR, buf, 4 + n, err);
}

int gtee_ratls_answer_fresh(struct gtee_ratls_conn *c, const uint8_t *body, size_t len, struct gtee_err *err)
{
    const struct gtee_ratls_cred *cred = &c->ctx->cred;
    uint8_t rd[64], *ev = NULL;
    size_t ev_len = 0;
    struct gtee_err e = {0};
    int rc;

    if (!c->ctx->has_cred || !cred->evidence)
        return gtee_ratls_send_error(c, GTEE_ESTATE, "ratls: this side has no evidence source", err);
    if (len != GTEE_RATLS_NONCE_LEN)
        return gtee_ratls_send_error(c, GTEE_EFORMAT, "ratls: FRESH body is not a 32-byte nonce", err);
    rc = gtee_ratls_report_data(cred->enclave_pub, cred->channel_pub, body, rd);
    if (rc == 0)
        rc = cred->evidence(cred->evidence_arg, rd, &ev, &ev_len, &e);
    if (rc < 0)
        rc = gtee_ratls_send_error(c, rc, e.msg[0] ? e.msg : "ratls: evidence failed", err);
    else
        rc = gtee_ratls_send_msg(c, GTEE_RATLS_MSG_FRESH, ev, ev_len, err);
    free(ev);
    return rc;
}

int gtee_ratls_fresh(struct gtee_ratls_conn *c, uint8_t nonce[GTEE_RATLS_NONCE_LEN], struct gtee_ratls_peer *peer,
                     struct gtee_err *err)
{
    uint8_t *body = NULL;
    size_t len = 0;
    uint16_t type = 0;
    int rc;

    ENSURE(c->attested && c->ctx->has_vfy, err, GTEE_ESTATE, "ratls: the peer of this session was not attested");
    ENSURE(gtee_random(nonce, GTEE_RATLS_NONCE_LEN) == 0, err, GTEE_ECRYPTO, "ratls: no randomness for the nonce");
    TRY(gtee_ratls_send_msg(c, GTEE_RATLS_MSG_FRESH, nonce, GTEE_RATLS_NONCE_LEN, err));
    TRY(gtee_ratls_recv_msg(c, &type, &body, &len, err));
    ENSURE(type != GTEE_RATLS_MSG_ERROR, err, GTEE_EIO, "ratls: peer could not give fresh evidence (%.*s)",
           len > 4 ? (int)(len - 4 > 200 ? 200 : len - 4) : 0, len > 4 ? (const char *)body + 4 : "");
    ENSURE(type == GTEE_RATLS_MSG_FRESH, err, GTEE_EFORMAT, "ratls: answer of type %u to FRESH", type);
    rc = ratls_verify_fresh(body, len, nonce, &c->ctx->vfy, &c->peer, err);
    if (rc != 0)
        c->attested = false; /* the session's peer no longer counts as verified */
out:
    if (peer)
        *peer = c->peer;
    free(body);
    return rc;
}
