/* Attested channel benchmark (not a test): handshake latency (connect, verify the evidence
 * and binding, first byte back) and bulk throughput through the host relay, beside a plain
 * OpenSSL TLS 1.3 connection (self-signed P-256 certificate, no verification) on the same
 * machine over loopback TCP. Built and run by bench/bench_ratls.sh.
 * Usage: bench_ratls SIM_DIR HANDSHAKES BULK_MIB
 * Prints "key value" lines: verify_ms (mean), handshake_ms_{ratls,plain} (median), bulk_mibps_{ratls_relay,plain,
 * plain_relay}. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "gtee/ratls_relay.h"
#include "gtee/sim.h"

#define CHUNK 16384

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_ratls: %s\n", what);
    exit(1);
}

static int listen_lo(uint16_t *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&a, &l))
        die("listen");
    *port = ntohs(a.sin_port);
    return fd;
}

static int dial_lo(uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    int one = 1;

    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as the SDK's client does */
    return fd;
}

/* ---- the enclave side on the sim device ---- */
struct enclave {
    struct gtee_sim *sim;
    struct gtee_sim_identity id;
};

static int evidence(void *arg, const uint8_t rd[64], uint8_t **ev, size_t *len, struct gtee_err *err)
{
    struct enclave *e = arg;

    return gtee_sim_quote(e->sim, GTEE_SIM_QUOTE_SGX, &e->id, rd, ev, len, err);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = malloc(1 << 16);

    if (!f || !p)
        die(path);
    *len = fread(p, 1, 1 << 16, f);
    fclose(f);
    return p;
}

/* ---- servers: one thread per mode, serving `n` connections ---- */
enum mode { RATLS, PLAIN };

struct server {
    enum mode mode;
    int lfd, n;
    long long bulk;               /* bytes to read before answering, 0: echo one byte */
    int relay;                    /* connections arrive through a relay pump (ratls bulk) */
    struct gtee_ratls_ctx *rctx;
    SSL_CTX *pctx;
};

static void serve_one(struct server *s, int fd)
{
    uint8_t buf[CHUNK];
    long long got = 0;

    if (s->mode == RATLS) {
        struct gtee_ratls_conn *c = NULL;
        if (gtee_ratls_accept(s->rctx, fd, &c, NULL, NULL) != 0)
            die("ratls accept");
        do {
            size_t want = s->bulk ? (size_t)(s->bulk - got < CHUNK ? s->bulk - got : CHUNK) : 1;
            if (gtee_ratls_read(c, buf, want, NULL) != 0)
                die("ratls read");
            got += (long long)want;
        } while (got < s->bulk);
        if (gtee_ratls_write(c, buf, 1, NULL) != 0)
            die("ratls write");
        gtee_ratls_conn_free(c);
    } else {
        SSL *ssl = SSL_new(s->pctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) != 1)
            die("plain accept");
        do {
            int n = SSL_read(ssl, buf, s->bulk ? CHUNK : 1);
            if (n <= 0)
                die("plain read");
            got += n;
        } while (got < s->bulk);
        if (SSL_write(ssl, buf, 1) != 1)
            die("plain write");
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;

    for (int i = 0; i < s->n; i++) {
        int fd = accept(s->lfd, NULL, NULL), one = 1;
        if (fd < 0)
            die("accept");
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

/* The enclave's end of the relay: one connection on a socket pair. */
struct pair_server {
    struct server *s;
    int fd;
};

static void *pair_main(void *arg)
{
    struct pair_server *p = arg;

    serve_one(p->s, p->fd);
    shutdown(p->fd, SHUT_RDWR);
    return NULL;
}

/* The host: accepts the client's TCP connection and pumps it to the enclave's socket. */
struct relay {
    int lfd, enclave_fd;
};

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    int c = accept(r->lfd, NULL, NULL), one = 1;

    if (c >= 0)
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (c < 0 || gtee_ratls_pump(c, r->enclave_fd, NULL, NULL, NULL) != 0)
        die("relay");
    close(c);
    return NULL;
}

static EVP_PKEY *plain_key;
static X509 *plain_cert;

static void make_plain_cert(void)
{
    X509_NAME *n;

    plain_key = EVP_EC_gen("P-256");
    plain_cert = X509_new();
    if (!plain_key || !plain_cert)
        die("plain key");
    n = X509_get_subject_name(plain_cert);
    X509_set_version(plain_cert, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(plain_cert), 1);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"plain", -1, -1, 0);
    X509_set_issuer_name(plain_cert, n);
    X509_gmtime_adj(X509_getm_notBefore(plain_cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(plain_cert), 86400);
    X509_set_pubkey(plain_cert, plain_key);
    if (X509_sign(plain_cert, plain_key, EVP_sha256()) <= 0)
        die("plain cert");
}

static SSL_CTX *plain_ctx(int server)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
        die("plain ctx");
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (server && (SSL_CTX_use_certificate(ctx, plain_cert) != 1 || SSL_CTX_use_PrivateKey(ctx, plain_key) != 1))
        die("plain server cert");
    return ctx;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* One client connection: handshake, then `bulk` bytes (or one) and one byte back.
 * *hs gets the time to the first byte back when bulk is 0; *xfer the bulk transfer time. */
static void client_once(enum mode m, struct gtee_ratls_ctx *cctx, SSL_CTX *pcli, uint16_t port, long long bulk,
                        double *hs, double *xfer)
{
    static uint8_t buf[CHUNK];
    double t0 = now(), t1;
    int fd = dial_lo(port);
    long long sent = 0;

    if (m == RATLS) {
        struct gtee_ratls_conn *c = NULL;
        struct gtee_err err = {0};
        if (gtee_ratls_connect(cctx, fd, &c, NULL, &err) != 0)
            die(err.msg);
        t1 = now();
        do {
            size_t n = bulk ? (size_t)(bulk - sent < CHUNK ? bulk - sent : CHUNK) : 1;
            if (gtee_ratls_write(c, buf, n, NULL) != 0)
                die("ratls client write");
            sent += (long long)n;
        } while (sent < bulk);
        if (gtee_ratls_read(c, buf, 1, NULL) != 0)
            die("ratls client read");
        gtee_ratls_conn_free(c);
    } else {
        SSL *ssl = SSL_new(pcli);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1)
            die("plain connect");
        t1 = now();
        do {
            int n = bulk ? (int)(bulk - sent < CHUNK ? bulk - sent : CHUNK) : 1;
            if (SSL_write(ssl, buf, n) != n)
                die("plain client write");
            sent += n;
        } while (sent < bulk);
        if (SSL_read(ssl, buf, 1) != 1)
            die("plain client read");
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    if (hs)
        *hs = now() - t0;
    if (xfer)
        *xfer = now() - t1;
    close(fd);
}

static double handshakes(enum mode m, struct server *s, struct gtee_ratls_ctx *cctx, SSL_CTX *pcli, int n)
{
    double *t = calloc((size_t)n, sizeof(double)), med;
    uint16_t port;
    pthread_t th;

    s->lfd = listen_lo(&port);
    s->n = n;
    s->bulk = 0;
    pthread_create(&th, NULL, server_main, s);
    for (int i = 0; i < n; i++)
        client_once(m, cctx, pcli, port, 0, &t[i], NULL);
    pthread_join(th, NULL);
    close(s->lfd);
    qsort(t, (size_t)n, sizeof(double), cmp);
    med = t[n / 2];
    free(t);
    return med * 1e3;
}

static double bulk_relay(enum mode m, struct server *s, struct gtee_ratls_ctx *cctx, SSL_CTX *pcli, long long bytes)
{
    struct pair_server ps;
    struct relay r;
    pthread_t ts, tr;
    uint16_t port;
    int sv[2];
    double xfer = 0;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair");
    s->bulk = bytes;
    ps.s = s;
    ps.fd = sv[1];
    r.lfd = listen_lo(&port);
    r.enclave_fd = sv[0];
    pthread_create(&ts, NULL, pair_main, &ps);
    pthread_create(&tr, NULL, relay_main, &r);
    client_once(m, cctx, pcli, port, bytes, NULL, &xfer);
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    close(r.lfd);
    close(sv[0]);
    close(sv[1]);
    return (double)bytes / (1 << 20) / xfer;
}

static double bulk_plain(struct server *s, SSL_CTX *pcli, long long bytes)
{
    pthread_t th;
    uint16_t port;
    double xfer = 0;

    s->lfd = listen_lo(&port);
    s->n = 1;
    s->bulk = bytes;
    pthread_create(&th, NULL, server_main, s);
    client_once(PLAIN, NULL, pcli, port, bytes, NULL, &xfer);
    pthread_join(th, NULL);
    close(s->lfd);
    return (double)bytes / (1 << 20) / xfer;
}

int main(int argc, char **argv)
{
    struct enclave e = {0};
    struct gtee_err err = {0};
    struct gtee_ratls_cred cred = {0};
    struct gtee_collateral col = {0};
    struct gtee_anchors anchors = {0};
    struct gtee_policy policy;
    struct gtee_ratls_verify vfy = {0};
    struct server rs = { .mode = RATLS }, ps = { .mode = PLAIN };
    struct gtee_ratls_ctx *cctx = NULL;
    uint8_t enclave_priv[32];
    char path[4096];
    int n;
    long long bulk;

    if (argc != 4)
        die("usage: bench_ratls SIM_DIR HANDSHAKES BULK_MIB");
    n = atoi(argv[2]);
    bulk = atoll(argv[3]) << 20;
    if (n < 1 || bulk < 1)
        die("bad counts");
    signal(SIGPIPE, SIG_IGN);
    if (gtee_sim_open(argv[1], &e.sim, &err) != 0)
        die(err.msg);
    memset(e.id.mrenclave, 0xa1, 32);
    memset(e.id.mrsigner, 0x5a, 32);
    if (gtee_secp256k1_keypair(enclave_priv, cred.enclave_pub) != 0 ||
        gtee_ecdsa_keypair(GTEE_EC_P256, cred.channel_priv, cred.channel_pub) != 0)
        die("keys");
    cred.tee = GTEE_TEE_SGX;
    cred.evidence = evidence;
    cred.evidence_arg = &e;
    if (gtee_ratls_server_new(&cred, NULL, &rs.rctx, &err) != 0)
        die(err.msg);
    snprintf(path, sizeof(path), "%s/sgx", argv[1]);
    if (gtee_collateral_load(path, &col, &err) != 0)
        die(err.msg);
    snprintf(path, sizeof(path), "%s/sim_root_ca.der", argv[1]);
    anchors.sim_root_der = slurp(path, &anchors.sim_root_len);
    gtee_policy_default(&policy);
    policy.allow_simulation = true;
    /* A long-lived client (a node, a verifier) parses its collateral once; every check
     * still runs on each handshake (gtee/evidence.h). */
    if (gtee_collateral_prepare(&col, &anchors, &err) != 0)
        die(err.msg);
    vfy.policy = &policy;
    vfy.sgx_col = &col;
    vfy.anchors = &anchors;
    if (gtee_ratls_client_new(&vfy, NULL, &cctx, &err) != 0)
        die(err.msg);
    {
        /* The verification alone, on the same certificate the server presents. */
        static struct gtee_ratls_peer peer;
        uint8_t rd[64], *ev = NULL, *der = NULL;
        size_t ev_len = 0, der_len = 0;
        double t0;

        if (gtee_ratls_report_data(cred.enclave_pub, cred.channel_pub, NULL, rd) != 0 ||
            evidence(&e, rd, &ev, &ev_len, &err) != 0 ||
            gtee_ratls_cert_new(cred.channel_priv, cred.channel_pub, cred.enclave_pub, GTEE_TEE_SGX, ev, ev_len, &der,
                                &der_len, &err) != 0)
            die("certificate");
        t0 = now();
        for (int i = 0; i < n; i++)
            if (gtee_ratls_verify_cert(der, der_len, &vfy, &peer, &err) != 0)
                die(err.msg);
        printf("verify_ms %.3f\n", (now() - t0) / n * 1e3);
        free(ev);
        free(der);
    }
    make_plain_cert();
    ps.pctx = plain_ctx(1);
    {
        SSL_CTX *pcli = plain_ctx(0);

        printf("handshake_ms_ratls %.3f\n", handshakes(RATLS, &rs, cctx, NULL, n));
        printf("handshake_ms_plain %.3f\n", handshakes(PLAIN, &ps, NULL, pcli, n));
        double best[3] = { 0, 0, 0 };

        /* Interleaved rounds, best of each: on a shared machine the load of the moment
         * otherwise decides which mode looks faster. */
        for (int round = 0; round < 3; round++) {
            double r[3] = { bulk_relay(RATLS, &rs, cctx, NULL, bulk), bulk_plain(&ps, pcli, bulk),
                            bulk_relay(PLAIN, &ps, NULL, pcli, bulk) };
            for (int k = 0; k < 3; k++)
                best[k] = r[k] > best[k] ? r[k] : best[k];
        }
        printf("bulk_mibps_ratls_relay %.1f\n", best[0]);
        printf("bulk_mibps_plain %.1f\n", best[1]);
        printf("bulk_mibps_plain_relay %.1f\n", best[2]);
        SSL_CTX_free(pcli);
    }
    SSL_CTX_free(ps.pctx);
    gtee_ratls_ctx_free(rs.rctx);
    gtee_ratls_ctx_free(cctx);
    gtee_collateral_free(&col);
    free((void *)anchors.sim_root_der);
    gtee_sim_close(e.sim);
    gtee_wipe(enclave_priv, sizeof(enclave_priv));
    return 0;
}
