/* The host's relay between a client's TCP connection (loopback) and the enclave's socket:
 * its recorded traffic never contains the plaintext the two ends exchange, and a relay that
 * flips one byte breaks the session instead of altering what the enclave reads. */
#include "ratls/ratls_testlib.h"
#include "gtee/ratls_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>

#define SIM_OK "{\"allow_simulation\":true}"
#define TRAFFIC_MAX (1u << 20)

static const char canary[] = "CANARY-plaintext-9d41c7e2-never-on-the-wire";

static char base[PATH_MAX], dev[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    t_tmpdir(base, sizeof(base), "relay");
    snprintf(dev, sizeof(dev), "%.*s/dev", PATH_MAX - 16, base);
    return gtee_sim_init(dev, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    t_rmtree(base);
    return 0;
}

struct host {
    int listen_fd, enclave_fd;
    int no_tap;                  /* relay without a tap: the splice(2) path */
    uint8_t *traffic;
    size_t traffic_len;
    atomic_int flip_next_up;     /* flip a byte in the next client->enclave chunk */
    int flipped;
    int pump_rc;
    pthread_t th;
};

static void tap(void *arg, int dir, uint8_t *p, size_t len)
{
    struct host *h = arg;
    size_t n = len < TRAFFIC_MAX - h->traffic_len ? len : TRAFFIC_MAX - h->traffic_len;

    memcpy(h->traffic + h->traffic_len, p, n);
    h->traffic_len += n;
    if (dir == 0 && atomic_exchange(&h->flip_next_up, 0)) {
        p[len - 1] ^= 0x01; /* inside the record's ciphertext or tag */
        h->flipped = 1;
    }
}

static void *host_main(void *arg)
{
    struct host *h = arg;
    struct gtee_err err = {0};
    int c = accept(h->listen_fd, NULL, NULL);

    h->pump_rc = c < 0 ? -1 : gtee_ratls_pump(c, h->enclave_fd, h->no_tap ? NULL : tap, h, &err);
    if (c >= 0)
        close(c);
    shutdown(h->enclave_fd, SHUT_RDWR);
    return NULL;
}

static int listen_loopback(uint16_t *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_loopback(uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

struct session {
    int handshake_rc, echo_rc, echo_ok;
    struct gtee_err err;
    struct t_server srv;
    struct host host;
};

/* client --TCP 127.0.0.1--> host relay --socketpair--> enclave (server thread) */
static void session(int flip, int no_tap, struct session *s)
{
    struct t_enclave e;
    struct t_verifier v;
    struct gtee_ratls_cred cred;
    struct gtee_ratls_ctx *sctx = NULL, *cctx = NULL;
    struct gtee_ratls_conn *c = NULL;
    struct gtee_err err = {0};
    uint16_t port = 0, type = 0;
    uint8_t *body = NULL;
    size_t len = 0;
    int sv[2], cfd;

    memset(s, 0, sizeof(*s));
    t_enclave_open(&e, dev, 0xa1, 0);
    t_verifier_open(&v, dev, SIM_OK);
    cred = t_cred(&e);
    assert_int_equal(gtee_ratls_server_new(&cred, NULL, &sctx, &err), 0);
    assert_int_equal(gtee_ratls_client_new(&v.vfy, NULL, &cctx, &err), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s->host.traffic = malloc(TRAFFIC_MAX);
    assert_non_null(s->host.traffic);
    s->host.no_tap = no_tap;
    s->host.listen_fd = listen_loopback(&port);
    s->host.enclave_fd = sv[0];
    assert_int_equal(pthread_create(&s->host.th, NULL, host_main, &s->host), 0);
    t_server_start(&s->srv, sctx, sv[1], 0);

    cfd = connect_loopback(port);
    s->handshake_rc = gtee_ratls_connect(cctx, cfd, &c, NULL, &s->err);
    if (s->handshake_rc == 0) {
        atomic_store(&s->host.flip_next_up, flip);
        s->echo_rc = gtee_ratls_send_msg(c, GTEE_RATLS_MSG_APP, canary, sizeof(canary), &s->err);
        if (s->echo_rc == 0)
            s->echo_rc = gtee_ratls_recv_msg(c, &type, &body, &len, &s->err);
        s->echo_ok = s->echo_rc == 0 && len == sizeof(canary) && memcmp(body, canary, len) == 0;
        free(body);
    }
    gtee_ratls_conn_free(c);
    shutdown(cfd, SHUT_RDWR);
    close(cfd);
    t_server_join(&s->srv);
    assert_int_equal(pthread_join(s->host.th, NULL), 0);
    close(s->host.listen_fd);
    close(sv[0]);
    close(sv[1]);
    gtee_ratls_ctx_free(sctx);
    gtee_ratls_ctx_free(cctx);
    t_verifier_close(&v);
    t_enclave_close(&e);
}

static void test_relay_traffic_never_holds_the_plaintext(void **state)
{
    struct session s;

    (void)state;
    session(0, 0, &s);
    if (s.handshake_rc != 0)
        fail_msg("%s", s.err.msg);
    assert_true(s.echo_ok);            /* the canary did cross the relay, both ways */
    assert_int_equal(s.host.pump_rc, 0);
    assert_true(s.host.traffic_len > 2 * sizeof(canary));
    assert_null(memmem(s.host.traffic, s.host.traffic_len, canary, sizeof(canary) - 1));
    assert_null(memmem(s.host.traffic, s.host.traffic_len, canary, 16)); /* not even a prefix */
    free(s.host.traffic);
}

static void test_relay_flipping_a_byte_breaks_the_session(void **state)
{
    struct session s;

    (void)state;
    session(1, 0, &s);
    assert_int_equal(s.handshake_rc, 0);
    assert_true(s.host.flipped);
    assert_false(s.echo_ok);
    assert_int_not_equal(s.echo_rc, 0);               /* the client got no answer */
    assert_int_equal(s.srv.serve_rc, GTEE_EAUTH);     /* the enclave refused the altered record */
    free(s.host.traffic);
}

static void test_relay_without_tap_carries_the_session(void **state)
{
    struct session s;

    (void)state;
    session(0, 1, &s);
    if (s.handshake_rc != 0)
        fail_msg("%s", s.err.msg);
    assert_true(s.echo_ok);
    assert_int_equal(s.host.pump_rc, 0);
    assert_int_equal(s.host.traffic_len, 0); /* nothing passed through user memory */
    assert_int_equal(s.srv.serve_rc, GTEE_ENOTFOUND);
    free(s.host.traffic);
}

/* The enclave's end for the bulk test: reads until the relay passes on the client's end of
 * stream, checks every byte, then answers with a stream of its own and closes. */
struct bulk_end {
    int fd;
    const uint8_t *want;
    size_t want_len, got_len, reply_len;
    int same;
};

static void *bulk_enclave(void *arg)
{
    struct bulk_end *b = arg;
    uint8_t buf[65536];
    ssize_t n;

    b->same = 1;
    while ((n = read(b->fd, buf, sizeof(buf))) > 0) {
        if (b->got_len + (size_t)n > b->want_len || memcmp(buf, b->want + b->got_len, (size_t)n) != 0)
            b->same = 0;
        b->got_len += (size_t)n;
    }
    for (size_t off = 0; off < b->reply_len;) { /* the reply: the first reply_len bytes of want */
        ssize_t w = write(b->fd, b->want + off, b->reply_len - off);

        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(b->fd, SHUT_WR);
    return NULL;
}

/* Megabytes both ways through the splice(2) path, in transfers larger than one pipe: every
 * byte arrives unchanged and in order, and each end of stream is passed on. */
static void test_relay_splice_carries_bulk_bytes_unchanged(void **state)
{
    enum { UP = 24u << 20, DOWN = 9u << 20, CHUNK = 3u << 20 };
    struct host h = { .no_tap = 1 };
    struct bulk_end b = { .want_len = UP, .reply_len = DOWN };
    uint8_t *whole = malloc(UP), buf[65536];
    size_t down = 0;
    uint16_t port = 0;
    pthread_t th;
    ssize_t n;
    int sv[2], cfd, down_same = 1;

    (void)state;
    assert_non_null(whole);
    for (size_t i = 0; i < CHUNK; i++)
        whole[i] = (uint8_t)(i * 2654435761u >> 13);
    for (size_t off = CHUNK; off < UP; off += CHUNK)
        memcpy(whole + off, whole, CHUNK);
    b.want = whole;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    h.listen_fd = listen_loopback(&port);
    h.enclave_fd = sv[0];
    b.fd = sv[1];
    assert_int_equal(pthread_create(&h.th, NULL, host_main, &h), 0);
    assert_int_equal(pthread_create(&th, NULL, bulk_enclave, &b), 0);
    cfd = connect_loopback(port);
    for (size_t k = 0; k < UP;) {
        n = write(cfd, whole + k, UP - k > CHUNK ? CHUNK : UP - k);
        assert_true(n > 0);
        k += (size_t)n;
    }
    shutdown(cfd, SHUT_WR);
    while ((n = read(cfd, buf, sizeof(buf))) > 0) {
        if (down + (size_t)n > DOWN || memcmp(buf, whole + down, (size_t)n) != 0)
            down_same = 0;
        down += (size_t)n;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    close(cfd);
    assert_int_equal(pthread_join(h.th, NULL), 0);
    assert_int_equal(h.pump_rc, 0);
    assert_int_equal(b.got_len, UP);
    assert_true(b.same);
    assert_int_equal(down, DOWN);
    assert_true(down_same);
    close(h.listen_fd);
    close(sv[0]);
    close(sv[1]);
    free(whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_traffic_never_holds_the_plaintext),
        cmocka_unit_test(test_relay_flipping_a_byte_breaks_the_session),
        cmocka_unit_test(test_relay_without_tap_carries_the_session),
        cmocka_unit_test(test_relay_splice_carries_bulk_bytes_unchanged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
