/* The SDK's channel half: the attested server context, the per-client request loop
 * (application requests to the handler, FRESH answered here), and a TCP listener whose
 * clients are served concurrently, each session within its own total deadline. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "gtee/net.h"
#include "gtee/sdk.h"
#include "runtime/internal.h"
#include "runtime/verifier.h"

_Static_assert(GTEE_APP_OP_MAX + GTEE_RATLS_MSG_APP == 0xffff, "application ops fill the message types");

/* The attested client of the session this thread serves (NULL when clients are not
 * attested): per thread, since sessions run side by side. */
static _Thread_local const struct gtee_ratls_peer *session_peer;

/* struct gtee_app's cred. */
static void app_cred(const struct gtee_app *app, struct gtee_ratls_cred *cred)
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

    app_cred(app, &cred);
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
    if (pthread_mutex_init(&app->lock, NULL) != 0) {
        free(app);
        app = NULL;
        ENSURE(0, err, GTEE_ENOMEM, "sdk: cannot make a lock");
    }
    app->cred = app_cred;
    ENSURE(opt, err, GTEE_EINVAL, "sdk: no options");
    ENSURE(opt->max_sessions <= GTEE_APP_MAX_SESSIONS_LIMIT, err, GTEE_EINVAL,
           "sdk: max_sessions %u over the limit of %d", opt->max_sessions, GTEE_APP_MAX_SESSIONS_LIMIT);
    ENSURE(opt->session_seconds <= GTEE_APP_SESSION_SECONDS_LIMIT, err, GTEE_EINVAL,
           "sdk: session_seconds %u over the limit of %d", opt->session_seconds, GTEE_APP_SESSION_SECONDS_LIMIT);
    app->max_sessions = opt->max_sessions ? opt->max_sessions : GTEE_APP_MAX_SESSIONS;
    app->session_seconds = opt->session_seconds ? opt->session_seconds : GTEE_APP_SESSION_SECONDS;
    TRY(sdk_tee_open(app, opt, err));
    /* The attested certificate carries SGX and TDX quotes (docs/ratls.md); an SEV-SNP
     * application has the rest of the runtime, and its channel is to come. */
    if (app->kind != GTEE_TEE_KIND_SNP)
        TRY(make_ctx(app, err));
    TRY(sdk_harden_seccomp(opt, err));
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
    struct sdk_verifier *v, *old = app->peer_vfy;
    int rc;

    if (app->kind == GTEE_TEE_KIND_SNP)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "sdk: the attested channel under SEV-SNP is not wired yet");
    v = calloc(1, sizeof(*v));
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
    (void)app;
    return session_peer ? &session_peer->verdict.claims : NULL;
}

int gtee_app_peer_enclave_id(const struct gtee_app *app, uint8_t id[GTEE_APP_ID_LEN])
{
    (void)app;
    if (!session_peer)
        return GTEE_ESTATE;
    memcpy(id, session_peer->enclave_id, GTEE_APP_ID_LEN);
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
    pthread_mutex_destroy(&app->lock);
    free(app);
}

static int one_request(struct gtee_app *app, struct gtee_ratls_conn *c, uint16_t type, const uint8_t *body,
                       size_t len, gtee_app_handler_fn handler, void *arg, struct gtee_err *err)
{
    struct gtee_err herr = {0};
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int rc;

    if (type == GTEE_RATLS_MSG_FRESH) {
        pthread_mutex_lock(&app->lock); /* the TEE makes one piece of evidence at a time */
        rc = gtee_ratls_answer_fresh(c, body, len, err);
        pthread_mutex_unlock(&app->lock);
        return rc;
    }
    if (type < GTEE_RATLS_MSG_APP)
        return gtee_ratls_send_error(c, GTEE_EUNSUPPORTED, "sdk: unknown message type", err);
    /* One handler call at a time (include/gtee/sdk.h): the request is read whole before the
     * lock is taken, so a slow client never holds it. */
    pthread_mutex_lock(&app->lock);
    rc = handler(arg, app, (uint16_t)(type - GTEE_RATLS_MSG_APP), body, len, &resp, &resp_len, &herr);
    pthread_mutex_unlock(&app->lock);
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

    ENSURE(app->ctx, err, GTEE_EUNSUPPORTED,
           "sdk: the attested channel carries SGX and TDX quotes; SEV-SNP's is not wired yet");
    TRY(gtee_ratls_accept(app->ctx, fd, &c, NULL, err));
    session_peer = gtee_ratls_peer_of(c); /* NULL unless clients are attested */
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
    session_peer = NULL;
    gtee_ratls_conn_free(c);
    return rc;
}

int gtee_app_listen(const char *hostport, int *fd, uint16_t *port, struct gtee_err *err)
{
    return gtee_net_listen(hostport, 16, fd, port, err);
}

struct serve_ctx {
    struct gtee_app *app;
    gtee_app_handler_fn handler;
    void *arg;
};

static int serve_session(void *arg, int fd, struct gtee_err *err)
{
    struct serve_ctx *s = arg;
    int one = 1;

    /* Requests and answers are small records: no Nagle delay (fails harmlessly off TCP). */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* One client's failure (a rejected handshake, a reset, its deadline) ends only its
     * session; it was told (an alert or an ERROR message) where it could be. */
    return gtee_app_serve_fd(s->app, fd, s->handler, s->arg, err);
}

int gtee_app_serve(struct gtee_app *app, int listen_fd, unsigned max_clients, gtee_app_handler_fn handler, void *arg,
                   struct gtee_err *err)
{
    struct serve_ctx s = { .app = app, .handler = handler, .arg = arg };
    struct gtee_net_server srv = {
        .max_active = app->max_sessions,
        .max_clients = max_clients,
        .session_ms = app->session_seconds * 1000u,
        .session = serve_session,
        .arg = &s,
    };
    int rc = gtee_net_serve(listen_fd, &srv, err);

    if (rc < 0)
        (void)gtee_err_wrap(err, "sdk: ");
    return rc;
}
