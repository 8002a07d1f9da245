/* The SDK's client: the attested handshake over TCP (verification settings from
 * verifier.c), requests as framed messages, fresh evidence on demand. It is in the host
 * library and calls nothing of the enclave runtime's (runtime/internal.h: cred). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/net.h"
#include "gtee/ratls.h"
#include "gtee/sdk.h"
#include "gtee/sdk_client.h"
#include "runtime/internal.h"
#include "runtime/verifier.h"

/* A client waits this long for a connection, and then for each read or write. */
#define SDK_CONNECT_MS 10000
#define SDK_IO_MS 30000

struct gtee_client {
    struct sdk_verifier v;
    struct gtee_ratls_ctx *ctx;
    struct gtee_ratls_conn *conn;
    struct gtee_ratls_peer peer;
    int own_fd;                        /* the socket gtee_client_connect opened, or -1 */
};

static int setup(struct gtee_client *c, const struct gtee_client_options *opt, struct gtee_err *err)
{
    struct gtee_ratls_cred cred;
    int rc;

    memset(&cred, 0, sizeof(cred));
    TRY(sdk_verifier_load(&c->v, opt, err));
    if (opt && opt->present_as)
        opt->present_as->cred(opt->present_as, &cred); /* mutual attestation: an enclave as the client */
    rc = gtee_ratls_client_new(&c->v.vfy, opt && opt->present_as ? &cred : NULL, &c->ctx, err);
out:
    gtee_wipe(&cred, sizeof(cred));
    return rc;
}

int gtee_client_connect_fd(int fd, const struct gtee_client_options *opt, struct gtee_client **out,
                           struct gtee_err *err)
{
    struct gtee_client *c = calloc(1, sizeof(*c));
    int rc = GTEE_ENOMEM;

    *out = NULL;
    ENSURE(c, err, GTEE_ENOMEM, "sdk: out of memory");
    c->own_fd = -1;
    TRY(setup(c, opt, err));
    TRY(gtee_ratls_connect(c->ctx, fd, &c->conn, &c->peer, err));
    *out = c;
    c = NULL;
out:
    gtee_client_close(c);
    return rc;
}

int gtee_client_connect(const char *hostport, const struct gtee_client_options *opt, struct gtee_client **out,
                        struct gtee_err *err)
{
    int fd = -1, rc;

    *out = NULL;
    rc = gtee_net_dial(hostport, SDK_CONNECT_MS, SDK_IO_MS, &fd, err);
    if (rc < 0)
        return rc;
    rc = gtee_client_connect_fd(fd, opt, out, err);
    if (rc < 0)
        close(fd);
    else
        (*out)->own_fd = fd;
    return rc;
}

void gtee_client_close(struct gtee_client *c)
{
    if (!c)
        return;
    gtee_ratls_conn_free(c->conn);
    gtee_ratls_ctx_free(c->ctx);
    if (c->own_fd >= 0)
        close(c->own_fd);
    sdk_verifier_free(&c->v);
    free(c);
}

const struct gtee_claims *gtee_client_claims(const struct gtee_client *c)
{
    return &c->peer.verdict.claims;
}

void gtee_client_enclave_id(const struct gtee_client *c, uint8_t id[20])
{
    memcpy(id, c->peer.enclave_id, 20);
}

int gtee_client_call(struct gtee_client *c, uint16_t op, const void *req, size_t len, uint8_t **resp,
                     size_t *resp_len, struct gtee_err *err)
{
    uint16_t type = 0;
    int rc;

    *resp = NULL;
    *resp_len = 0;
    ENSURE(op <= GTEE_APP_OP_MAX, err, GTEE_EINVAL, "sdk: operation %u over %u", op, GTEE_APP_OP_MAX);
    TRY(gtee_ratls_send_msg(c->conn, (uint16_t)(op + GTEE_RATLS_MSG_APP), req, len, err));
    TRY(gtee_ratls_recv_msg(c->conn, &type, resp, resp_len, err));
    if (type == GTEE_RATLS_MSG_ERROR) {
        int32_t code = *resp_len >= 4 ? (int32_t)((uint32_t)(*resp)[0] << 24 | (uint32_t)(*resp)[1] << 16 |
                                                  (uint32_t)(*resp)[2] << 8 | (*resp)[3])
                                      : GTEE_EFORMAT;
        int n = *resp_len > 4 ? (int)(*resp_len - 4 > 256 ? 256 : *resp_len - 4) : 0;

        /* The enclave's own code, if it is one of ours; anything else is a format error. */
        if (code >= 0 || code < GTEE_ERR_LOWEST)
            code = GTEE_EFORMAT;
        rc = GTEE_FAIL(err, code, "enclave: %.*s", n, n ? (const char *)*resp + 4 : "error");
        free(*resp);
        *resp = NULL;
        *resp_len = 0;
        goto out;
    }
    ENSURE(type == (uint16_t)(op + GTEE_RATLS_MSG_APP), err, GTEE_EFORMAT, "sdk: answer of type %u to op %u", type,
           op);
out:
    if (rc < 0 && *resp) {
        free(*resp);
        *resp = NULL;
        *resp_len = 0;
    }
    return rc;
}

int gtee_client_refresh(struct gtee_client *c, struct gtee_err *err)
{
    uint8_t nonce[GTEE_RATLS_NONCE_LEN];

    return gtee_ratls_fresh(c->conn, nonce, &c->peer, err);
}
