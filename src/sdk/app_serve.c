/* The SDK's channel half: the attested server context, the per-client request loop
 * (application requests to the handler, FRESH answered here), and a TCP listener. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "gtee/net.h"
#include "gtee/sdk.h"
#include "sdk/internal.h"
#include "sdk/verifier.h"

_Static_assert(GTEE_APP_OP_MAX + GTEE_RATLS_MSG_APP == 0xffff, "application ops fill the message types");

void sdk_app_cred(const struct gtee_app *app, struct gtee_ratls_cred *cred)
{
    memset(cred, 0, sizeof(*cred));
    memcpy(cred->channel_priv, app->sec->channel_priv, sizeof(cred->channel_priv));
    memcpy(cred->channel_pub, app->channel_pub, sizeof(cred->channel_pub));
    memcpy(cred->enclave_pub, app->enclave_pub, sizeof(cred->enclave_pub));
    cred->tee = app->quote_is_tdx ? GTEE_TEE_TDX : GTEE_TEE_SGX;
    cred->evidence = sdk_evidence;
    cred->evidence_arg = (void *)app;
}

/* (Re)makes the server context: the attested certificate, and the client check if any. */
static int make_ctx(struct gtee_app *app, struct gtee_err *err)
{
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ctx *ctx = NULL;
    int rc;

    sdk_app_cred(app, &cred);
    rc = gtee_ratls_server_new(&cred, app->peer_vfy ? &app->peer_vfy->vfy : NULL, &ctx, err);
    gtee_wipe(&cred, sizeof(cred));
    if (rc == 0) {
        gtee_ratls_ctx_free(app->ctx);
        app->ctx = ctx;
    }
    return rc;
}

int gtee_app_open(const struct gtee_app_options *opt, struct gtee_app **out, struct gtee_err *err)
{
    struct gtee_app *app = calloc(1, sizeof(*app));
    int rc = GTEE_ENOMEM;

    *out = NULL;
    ENSURE(app, err, GTEE_ENOMEM, "sdk: out of memory");
    ENSURE(opt, err, GTEE_EINVAL, "sdk: no options");
    TRY(sdk_tee_open(app, opt, err));
    TRY(make_ctx(app, err));
    TRY(sdk_tee_seccomp(opt, err));
    *out = app;
    app = NULL;
    rc = 0;
out:
    gtee_app_close(app);
    return rc;
}

int gtee_app_require_attested_clients(struct gtee_app *app, const struct gtee_client_options *accept,
                                      struct gtee_err *err)
{
    struct sdk_verifier *v = calloc(1, sizeof(*v)), *old = app->peer_vfy;
    int rc;

    if (!v)
        return GTEE_FAIL(err, GTEE_ENOMEM, "sdk: out of memory");
    rc = sdk_verifier_load(v, accept, err);
    if (rc == 0) {
        app->peer_vfy = v;
        rc = make_ctx(app, err);
        if (rc < 0)
            app->peer_vfy = old;
    }
    if (rc < 0) {
        sdk_verifier_free(v);
        free(v);
        return rc;
    }
    sdk_verifier_free(old);
    free(old);
    return 0;
}

const struct gtee_claims *gtee_app_peer_claims(const struct gtee_app *app)
{
    return app->peer ? &app->peer->verdict.claims : NULL;
}

int gtee_app_peer_enclave_id(const struct gtee_app *app, uint8_t id[GTEE_APP_ID_LEN])
{
    if (!app->peer)
        return GTEE_ESTATE;
    memcpy(id, app->peer->enclave_id, GTEE_APP_ID_LEN);
    return 0;
}

void gtee_app_close(struct gtee_app *app)
{
    if (!app)
        return;
    gtee_ratls_ctx_free(app->ctx);
    sdk_verifier_free(app->peer_vfy);
    free(app->peer_vfy);
    sdk_tee_close(app);
    free(app);
}

static int one_request(struct gtee_app *app, struct gtee_ratls_conn *c, uint16_t type, const uint8_t *body,
                       size_t len, gtee_app_handler_fn handler, void *arg, struct gtee_err *err)
{
    struct gtee_err herr = {0};
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int rc;

    if (type == GTEE_RATLS_MSG_FRESH)
        return gtee_ratls_answer_fresh(c, body, len, err);
    if (type < GTEE_RATLS_MSG_APP)
        return gtee_ratls_send_error(c, GTEE_EUNSUPPORTED, "sdk: unknown message type", err);
    rc = handler(arg, app, (uint16_t)(type - GTEE_RATLS_MSG_APP), body, len, &resp, &resp_len, &herr);
    if (rc < 0)
        rc = gtee_ratls_send_error(c, rc, herr.msg[0] ? herr.msg : gtee_strerror(rc), err);
    else
        rc = gtee_ratls_send_msg(c, type, resp, resp_len, err);
    if (resp) {
        gtee_wipe(resp, resp_len); /* a reply may be a secret the client asked for */
        free(resp);
    }
    return rc;
}

int gtee_app_serve_fd(struct gtee_app *app, int fd, gtee_app_handler_fn handler, void *arg, struct gtee_err *err)
{
    struct gtee_ratls_conn *c = NULL;
    int rc;

    TRY(gtee_ratls_accept(app->ctx, fd, &c, NULL, err));
    app->peer = gtee_ratls_peer_of(c); /* NULL unless clients are attested */
    for (;;) {
        uint8_t *body = NULL;
        size_t len = 0;
        uint16_t type = 0;

        rc = gtee_ratls_recv_msg(c, &type, &body, &len, err);
        if (rc == GTEE_ENOTFOUND) {
            rc = 0; /* the client closed: done */
            break;
        }
        if (rc == 0)
            rc = one_request(app, c, type, body, len, handler, arg, err);
        if (body) {
            gtee_wipe(body, len);
            free(body);
        }
        if (rc < 0)
            break;
    }
out:
    app->peer = NULL;
    gtee_ratls_conn_free(c);
    return rc;
}

int gtee_app_listen(const char *hostport, int *fd, uint16_t *port, struct gtee_err *err)
{
    return gtee_net_listen(hostport, 16, fd, port, err);
}

int gtee_app_serve(struct gtee_app *app, int listen_fd, unsigned max_clients, gtee_app_handler_fn handler, void *arg,
                   struct gtee_err *err)
{
    const struct timeval idle = { .tv_sec = GTEE_APP_IDLE_SECONDS };

    for (unsigned n = 0; max_clients == 0 || n < max_clients; n++) {
        struct gtee_err cerr = {0};
        int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC), one = 1;

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return GTEE_FAIL(err, GTEE_EIO, "sdk: accept failed (%s)", strerror(errno));
        }
        /* Requests and answers are small records: no Nagle delay (fails harmlessly off TCP).
         * Clients are served one after another, so one that stalls is dropped after a while. */
        (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
        (void)setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle));
        /* One client's failure (a rejected handshake, a reset) ends only its session. */
        if (gtee_app_serve_fd(app, c, handler, arg, &cerr) < 0)
            cerr.code = 0; /* reported to that client (an alert or an ERROR message) */
        close(c);
    }
    return 0;
}
