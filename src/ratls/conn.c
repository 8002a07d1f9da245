/* TLS 1.3 contexts and connections over file descriptors. The peer's certificate is judged
 * by our own callback (SSL_CTX_set_cert_verify_callback) in place of X.509 path building:
 * evidence, binding and policy decide, and a rejection aborts the handshake before it
 * completes. No session resumption, so every connection is verified in full. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "ratls/conn_int.h"
#include "ratls/internal.h"

static void ssl_errors(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();

    if (e)
        ERR_error_string_n(e, buf, n);
    else
        snprintf(buf, n, "no OpenSSL error recorded");
    ERR_clear_error();
}

/* OpenSSL calls this with the peer's chain; only the leaf matters (it is self-signed). */
static int cert_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct gtee_ratls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
    int rc;

    (void)arg;
    if (!c)
        return 0;
    if (!leaf) {
        c->peer.failure = GTEE_RATLS_FAIL_CERT;
        snprintf(c->peer.why, sizeof(c->peer.why), "no certificate");
        rc = GTEE_EPOLICY;
    } else {
        rc = ratls_verify_x509(leaf, &c->ctx->vfy, &c->peer, &c->verr);
    }
    if (rc != 0) {
        if (c->peer.failure == GTEE_RATLS_OK)
            c->peer.failure = GTEE_RATLS_FAIL_EVIDENCE;
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    c->attested = true;
    return 1;
}

static int present(struct gtee_ratls_ctx *ctx, const struct gtee_ratls_cred *cred, struct gtee_err *err)
{
    uint8_t rd[64], *ev = NULL, *der = NULL;
    size_t ev_len = 0, der_len = 0;
    EVP_PKEY *key = NULL;
    int rc;

    ctx->cred = *cred;
    ctx->has_cred = true;
    if (cred->cert_der) {
        der = malloc(cred->cert_der_len);
        ENSURE(der, err, GTEE_ENOMEM, "ratls: out of memory");
        memcpy(der, cred->cert_der, cred->cert_der_len);
        der_len = cred->cert_der_len;
    } else {
        ENSURE(cred->evidence, err, GTEE_EINVAL, "ratls: credential has no evidence source");
        TRY(gtee_ratls_report_data(cred->enclave_pub, cred->channel_pub, NULL, rd));
        TRY(cred->evidence(cred->evidence_arg, rd, &ev, &ev_len, err));
        TRY(gtee_ratls_cert_new(cred->channel_priv, cred->channel_pub, cred->enclave_pub, cred->tee, ev, ev_len, &der,
                                &der_len, err));
    }
    key = ratls_p256_key(cred->channel_priv, cred->channel_pub);
    ENSURE(key, err, GTEE_EKEY, "ratls: channel key unusable (not a P-256 key pair)");
    ENSURE(der_len <= INT32_MAX && SSL_CTX_use_certificate_ASN1(ctx->ssl, (int)der_len, der) == 1 &&
               SSL_CTX_use_PrivateKey(ctx->ssl, key) == 1 && SSL_CTX_check_private_key(ctx->ssl) == 1,
           err, GTEE_EKEY, "ratls: certificate and channel key do not fit together");
    rc = 0;
out:
    ctx->cred.cert_der = NULL; /* the caller's buffer: used above, never kept */
    ctx->cred.cert_der_len = 0;
    EVP_PKEY_free(key);
    free(ev);
    free(der);
    return rc;
}

static int ctx_new(bool server, const struct gtee_ratls_verify *vfy, const struct gtee_ratls_cred *cred,
                   struct gtee_ratls_ctx **out, struct gtee_err *err)
{
    struct gtee_ratls_ctx *ctx = calloc(1, sizeof(*ctx));
    int rc = GTEE_ECRYPTO;

    *out = NULL;
    ENSURE(ctx, err, GTEE_ENOMEM, "ratls: out of memory");
    ctx->server = server;
    ctx->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    ENSURE(ctx->ssl, err, GTEE_ECRYPTO, "ratls: SSL_CTX_new failed");
    ENSURE(SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_3_VERSION) == 1 &&
               SSL_CTX_set_max_proto_version(ctx->ssl, TLS1_3_VERSION) == 1,
           err, GTEE_ECRYPTO, "ratls: cannot restrict to TLS 1.3");
    SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_TICKET);
    ENSURE(SSL_CTX_set_num_tickets(ctx->ssl, 0) == 1, err, GTEE_ECRYPTO, "ratls: cannot disable tickets");
    if (cred)
        TRY(present(ctx, cred, err));
    if (vfy) {
        ctx->vfy = *vfy;
        ctx->has_vfy = true;
        SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
        SSL_CTX_set_cert_verify_callback(ctx->ssl, cert_verify_cb, ctx);
    }
    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    gtee_ratls_ctx_free(ctx);
    return rc;
}

int gtee_ratls_server_new(const struct gtee_ratls_cred *cred, const struct gtee_ratls_verify *peer_vfy,
                          struct gtee_ratls_ctx **out, struct gtee_err *err)
{
    if (!cred) {
        *out = NULL;
        return GTEE_FAIL(err, GTEE_EINVAL, "ratls: a server needs a credential");
    }
    return ctx_new(true, peer_vfy, cred, out, err);
}

int gtee_ratls_client_new(const struct gtee_ratls_verify *vfy, const struct gtee_ratls_cred *cred,
                          struct gtee_ratls_ctx **out, struct gtee_err *err)
{
    if (!vfy) {
        *out = NULL;
        return GTEE_FAIL(err, GTEE_EINVAL, "ratls: a client needs a policy to verify the server with");
    }
    return ctx_new(false, vfy, cred, out, err);
}

void gtee_ratls_ctx_free(struct gtee_ratls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    gtee_wipe(&ctx->cred, sizeof(ctx->cred));
    free(ctx);
}

/* A handshake that failed below the evidence: why, in words, and the code. A peer that
 * timed out, closed or does not speak TLS is an I/O failure (GTEE_EIO); a TLS peer that
 * refused us (an alert, no common parameters) is GTEE_EAUTH. */
static int tls_failure(SSL *ssl, int r, char *why, size_t n)
{
    int e = SSL_get_error(ssl, r);
    unsigned long q = ERR_peek_error();
    int reason = ERR_GET_REASON(q);
    char ossl[200];

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        snprintf(why, n, "timed out: the peer sent no TLS answer in time");
        return GTEE_EIO;
    }
    if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN || (q && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        ERR_clear_error();
        snprintf(why, n, "the peer closed the connection during the TLS handshake");
        return GTEE_EIO;
    }
    ssl_errors(ossl, sizeof(ossl));
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
        reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
        reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNEXPECTED_RECORD) {
        snprintf(why, n, "the peer does not speak TLS (%s)", ossl);
        return GTEE_EIO;
    }
    snprintf(why, n, "TLS handshake failed (%s)", ossl);
    return GTEE_EAUTH;
}

static int handshake(struct gtee_ratls_ctx *ctx, int fd, bool accept, struct gtee_ratls_conn **out,
                     struct gtee_ratls_peer *peer, struct gtee_err *err)
{
    struct gtee_ratls_conn *c = calloc(1, sizeof(*c));
    char why[256];
    int rc = GTEE_ECRYPTO, r;

    *out = NULL;
    if (peer)
        memset(peer, 0, sizeof(*peer));
    ENSURE(c, err, GTEE_ENOMEM, "ratls: out of memory");
    c->ctx = ctx;
    c->ssl = SSL_new(ctx->ssl);
    ENSURE(c->ssl, err, GTEE_ECRYPTO, "ratls: SSL_new failed");
    {
        BIO *bio = ratls_fd_bio(fd);

        ENSURE(bio, err, GTEE_ECRYPTO, "ratls: cannot make a BIO for descriptor %d", fd);
        SSL_set_bio(c->ssl, bio, bio); /* the SSL owns the BIO; the descriptor stays the caller's */
    }
    SSL_set_app_data(c->ssl, c);
    ERR_clear_error();
    r = accept ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
    if (r != 1) {
        if (ctx->has_vfy && c->peer.failure != GTEE_RATLS_OK) {
            rc = GTEE_FAIL(err, GTEE_EPOLICY, "%s", c->verr.msg[0] ? c->verr.msg : "ratls: peer rejected");
        } else {
            int code = tls_failure(c->ssl, r, why, sizeof(why));

            c->peer.failure = GTEE_RATLS_FAIL_TLS;
            snprintf(c->peer.why, sizeof(c->peer.why), "%s", why);
            rc = GTEE_FAIL(err, code, "ratls: %s", why);
        }
        goto out;
    }
    ENSURE(!ctx->has_vfy || c->attested, err, GTEE_EPOLICY, "ratls: handshake completed without an attested peer");
    *out = c;
    rc = 0;
out:
    if (peer && c)
        *peer = c->peer;
    if (rc < 0)
        gtee_ratls_conn_free(c);
    return rc;
}

int gtee_ratls_accept(struct gtee_ratls_ctx *ctx, int fd, struct gtee_ratls_conn **out, struct gtee_ratls_peer *peer,
                      struct gtee_err *err)
{
    return handshake(ctx, fd, true, out, peer, err);
}

int gtee_ratls_connect(struct gtee_ratls_ctx *ctx, int fd, struct gtee_ratls_conn **out, struct gtee_ratls_peer *peer,
                       struct gtee_err *err)
{
    return handshake(ctx, fd, false, out, peer, err);
}

void gtee_ratls_conn_free(struct gtee_ratls_conn *c)
{
    if (!c)
        return;
    if (c->ssl && SSL_is_init_finished(c->ssl))
        (void)SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    ERR_clear_error();
    free(c);
}

const struct gtee_ratls_peer *gtee_ratls_peer_of(const struct gtee_ratls_conn *c)
{
    return c && c->attested ? &c->peer : NULL;
}

int gtee_ratls_write(struct gtee_ratls_conn *c, const void *p, size_t len, struct gtee_err *err)
{
    const uint8_t *b = p;
    char why[256];

    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len, n;

        ERR_clear_error();
        n = SSL_write(c->ssl, b, chunk);
        if (n <= 0) {
            ssl_errors(why, sizeof(why));
            return GTEE_FAIL(err, GTEE_EIO, "ratls: write failed (%s)", why);
        }
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

int gtee_ratls_read(struct gtee_ratls_conn *c, void *p, size_t len, struct gtee_err *err)
{
    uint8_t *b = p;
    size_t got = 0;
    char why[256];

    while (got < len) {
        size_t want = len - got;
        int n;

        ERR_clear_error();
        n = SSL_read(c->ssl, b + got, want > (1u << 30) ? (1 << 30) : (int)want);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN) {
            if (got == 0)
                return GTEE_FAIL(err, GTEE_ENOTFOUND, "ratls: peer closed the session");
            return GTEE_FAIL(err, GTEE_EFORMAT, "ratls: session closed after %zu of %zu bytes", got, len);
        }
        ssl_errors(why, sizeof(why));
        /* A record that fails its AEAD check (bytes altered in transit) lands here. */
        return GTEE_FAIL(err, GTEE_EAUTH, "ratls: read failed (%s)", why);
    }
    return 0;
}
