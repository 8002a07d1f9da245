/* The node host's relay server (include/gtee/ratls.h, docs/ratls.md "The relay"): one thread
 * and poll(2) over every connection, each a small state machine (first bytes, dialling the
 * enclave, relaying), with a handshake deadline, an idle limit and a drain limit, so a slot
 * is held only by a client that is doing a TLS session through it. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/net.h"
#include "gtee/ratls_relay.h"

/* A whole TLS record with its header: the first record the relay waits for before it dials
 * the enclave, and a fair read size for the rest. */
#define BUF_LEN GTEE_RATLS_HELLO_MAX
#define TICK_MS 100     /* deadlines are checked this often */
#define ACCEPT_BURST 64 /* connections taken per wake, so the live ones keep moving */

int gtee_ratls_relay_hello(const uint8_t *p, size_t len, struct gtee_err *err)
{
    /* RFC 8446 §5.1: ContentType handshake(22), legacy_record_version 0x0301 (or 0x0303),
     * a length of at most 2^14; §4: a client's first handshake message is ClientHello(1). */
    if (len > 0 && p[0] != 22)
        return GTEE_FAIL(err, GTEE_EFORMAT, "not TLS: first byte 0x%02x, not a handshake record (0x16)", p[0]);
    if (len > 1 && p[1] != 3)
        return GTEE_FAIL(err, GTEE_EFORMAT, "not TLS: record version byte 0x%02x at offset 1, expected 0x03", p[1]);
    if (len > 2 && p[2] > 4)
        return GTEE_FAIL(err, GTEE_EFORMAT, "not TLS: record version 3.%u at offset 2", p[2]);
    if (len > 4) {
        unsigned n = (unsigned)p[3] << 8 | p[4];

        if (n == 0 || n > 16384)
            return GTEE_FAIL(err, GTEE_EFORMAT, "not TLS: record length %u at offset 3 (1 to 16384)", n);
    }
    if (len > 5 && p[5] != 1)
        return GTEE_FAIL(err, GTEE_EFORMAT, "not a ClientHello: handshake message type %u at offset 5", p[5]);
    /* Complete once the whole first record is in: a client that stalls inside it never costs
     * the enclave a connection. */
    return len < 5 || len < 5 + ((size_t)p[3] << 8 | p[4]) ? 1 : 0;
}

enum state { ST_HELLO, ST_DIAL, ST_RELAY };

/* One direction: buf[off..len) waits to be written to dst. */
struct dir {
    uint8_t *buf;
    size_t off, len;
    int eof;      /* the source has closed */
    int shut;     /* end of stream passed on to dst */
};

struct rconn {
    int cfd, efd;
    enum state st;
    struct dir up, down;       /* client -> enclave (first: the ClientHello record), enclave -> client */
    int enclave_spoke;
    int64_t handshake_by;      /* 0 once the handshake went through */
    int64_t last_io;
    int64_t drain_by;          /* 0 until one side is done */
    unsigned long id;
};

struct relay {
    const struct gtee_ratls_relay *o;
    struct sockaddr_storage to;
    socklen_t to_len;
    struct rconn *c;
    size_t n;
};

static void logf_(const struct relay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct relay *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (!r->o->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    r->o->log(r->o->log_arg, line);
}

static void drop(struct relay *r, size_t i, const char *why)
{
    struct rconn *c = &r->c[i];

    if (why)
        logf_(r, "connection %lu closed: %s", c->id, why);
    close(c->cfd);
    if (c->efd >= 0)
        close(c->efd);
    free(c->up.buf);
    free(c->down.buf);
    r->c[i] = r->c[--r->n];
}

/* Starts the connection to the enclave (non-blocking). 0, or an errno value. */
static int dial(struct relay *r, struct rconn *c)
{
    int fd = socket(r->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return errno;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->efd = fd;
    if (connect(fd, (const struct sockaddr *)&r->to, r->to_len) == 0) {
        c->st = ST_RELAY;
        return 0;
    }
    if (errno != EINPROGRESS)
        return errno;
    c->st = ST_DIAL;
    return 0;
}

/* Reads what the client sent first; NULL while all is well, else why to drop it. */
static const char *on_hello(struct relay *r, struct rconn *c, char *why, size_t why_len)
{
    struct gtee_err err = {0};
    ssize_t n;
    int rc, e;

    if (!c->up.buf && !(c->up.buf = malloc(BUF_LEN)))
        return "out of memory";
    n = recv(c->cfd, c->up.buf + c->up.len, BUF_LEN - c->up.len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return NULL;
    if (n <= 0)
        return n == 0 ? "the client closed before its ClientHello" : "the client's connection failed";
    c->up.len += (size_t)n;
    c->last_io = gtee_net_clock_ms();
    rc = gtee_ratls_relay_hello(c->up.buf, c->up.len, &err);
    if (rc < 0) {
        snprintf(why, why_len, "%s", err.msg);
        return why;
    }
    if (rc == 1)
        return NULL;
    c->down.buf = malloc(BUF_LEN);
    if (!c->down.buf)
        return "out of memory";
    if ((e = dial(r, c)) != 0) {
        snprintf(why, why_len, "cannot connect to the enclave at %s: %s", r->o->to, strerror(e));
        return why;
    }
    return NULL;
}

/* Writes what d holds to dst; -1 if dst failed. */
static int flush(struct dir *d, int dst)
{
    while (d->off < d->len) {
        ssize_t n = send(dst, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            return -1;
        d->off += (size_t)n;
    }
    d->off = d->len = 0;
    if (d->eof && !d->shut) {
        (void)shutdown(dst, SHUT_WR); /* pass the end on */
        d->shut = 1;
    }
    return 0;
}

/* Reads from src into an empty d; -1 if src failed. */
static int fill(struct dir *d, int src, int64_t now, int64_t *last_io)
{
    ssize_t n = recv(src, d->buf, BUF_LEN, 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n < 0)
        return -1;
    if (n == 0) {
        d->eof = 1;
        return 0;
    }
    d->len = (size_t)n;
    d->off = 0;
    *last_io = now;
    return 1;
}

/* One connection's events; NULL while it lives on, else why it ends (or "" for a clean end). */
static const char *step(struct relay *r, struct rconn *c, short cev, short eev, int64_t now, char *why, size_t wl)
{
    if (c->st == ST_HELLO) {
        if (cev & (POLLIN | POLLHUP | POLLERR))
            return on_hello(r, c, why, wl);
        return NULL;
    }
    if (c->st == ST_DIAL) {
        int e = 0;
        socklen_t el = sizeof(e);

        if (!(eev & (POLLOUT | POLLHUP | POLLERR)))
            return NULL;
        if (getsockopt(c->efd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
            e = errno;
        if (e != 0) {
            snprintf(why, wl, "cannot connect to the enclave at %s: %s", r->o->to, strerror(e));
            return why;
        }
        c->st = ST_RELAY;
        eev = POLLOUT;
    }
    /* client -> enclave */
    if (c->up.len == 0 && !c->up.eof && (cev & (POLLIN | POLLHUP | POLLERR))) {
        int got = fill(&c->up, c->cfd, now, &c->last_io);

        if (got < 0)
            return "the client's connection failed";
        if (got > 0 && c->enclave_spoke)
            c->handshake_by = 0; /* the client's second flight: the handshake went through */
    } else if (c->up.len > 0 && (cev & (POLLHUP | POLLERR))) {
        return "the client vanished";
    }
    if (flush(&c->up, c->efd) < 0)
        return "the enclave's connection failed";
    /* enclave -> client */
    if (c->down.len == 0 && !c->down.eof && (eev & (POLLIN | POLLHUP | POLLERR))) {
        int got = fill(&c->down, c->efd, now, &c->last_io);

        if (got < 0)
            return "the enclave's connection failed";
        if (got > 0)
            c->enclave_spoke = 1;
    } else if (c->down.len > 0 && (eev & (POLLHUP | POLLERR))) {
        return "the enclave vanished";
    }
    if (flush(&c->down, c->cfd) < 0)
        return "the client's connection failed";
    if (c->up.shut && c->down.shut)
        return ""; /* both ends closed: done */
    if ((c->up.shut || c->down.shut) && !c->drain_by)
        c->drain_by = now + GTEE_RATLS_RELAY_DRAIN_MS; /* one side is done: the other may finish */
    return NULL;
}

static short want_client(const struct rconn *c)
{
    if (c->st == ST_HELLO)
        return POLLIN;
    if (c->st == ST_DIAL)
        return 0;
    return (short)((c->up.len == 0 && !c->up.eof ? POLLIN : 0) | (c->down.len > 0 ? POLLOUT : 0));
}

static short want_enclave(const struct rconn *c)
{
    if (c->st == ST_HELLO)
        return 0;
    if (c->st == ST_DIAL)
        return POLLOUT;
    return (short)((c->down.len == 0 && !c->down.eof ? POLLIN : 0) | (c->up.len > 0 ? POLLOUT : 0));
}

/* Deadlines: why c must end now, or NULL. */
static const char *late(const struct relay *r, const struct rconn *c, int64_t now, char *why, size_t wl)
{
    if (c->handshake_by && now >= c->handshake_by) {
        snprintf(why, wl, "no TLS handshake within %u ms (%s)", r->o->handshake_ms,
                 c->st == ST_HELLO   ? (c->up.len ? "ClientHello incomplete" : "the client sent nothing")
                 : c->st == ST_DIAL  ? "the enclave did not accept the connection"
                 : c->enclave_spoke ? "the client did not finish it"
                                     : "the enclave did not answer");
        return why;
    }
    if (r->o->idle_ms && now - c->last_io >= r->o->idle_ms) {
        snprintf(why, wl, "idle for %u ms", r->o->idle_ms);
        return why;
    }
    if (c->drain_by && now >= c->drain_by)
        return c->up.shut ? "the client closed; the enclave did not finish within the drain time"
                          : "the enclave closed; the client did not finish within the drain time";
    return NULL;
}

static int resolve(struct relay *r, struct gtee_err *err)
{
    char host[GTEE_NET_HOST_MAX], port[8];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    uint16_t pn;
    int rc, g;

    TRY(gtee_net_split(r->o->to, 0, host, &pn, err));
    snprintf(port, sizeof(port), "%u", pn);
    g = getaddrinfo(host, port, &hints, &res);
    ENSURE(g == 0 && res && res->ai_addrlen <= sizeof(r->to), err, GTEE_EIO, "relay: cannot resolve %s: %s", r->o->to,
           g ? gai_strerror(g) : "no address");
    memcpy(&r->to, res->ai_addr, res->ai_addrlen);
    r->to_len = res->ai_addrlen;
    rc = 0;
out:
    if (res)
        freeaddrinfo(res);
    return rc;
}

/* Takes the connections waiting on lfd; those beyond max_active are closed at once. */
static int take(struct relay *r, int lfd, unsigned long *accepted, unsigned long *next_id, struct gtee_err *err)
{
    for (int k = 0; k < ACCEPT_BURST && (!r->o->max_clients || *accepted < r->o->max_clients); k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        int64_t now = gtee_net_clock_ms();

        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
                return 0;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                return 0; /* deadlines free descriptors; try again next tick */
            return GTEE_FAIL(err, GTEE_EIO, "relay: accept failed (%s)", strerror(errno));
        }
        if (r->n >= r->o->max_active) {
            logf_(r, "refused a connection: all %u slots busy", r->o->max_active);
            close(fd);
            continue;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        r->c[r->n++] = (struct rconn){ .cfd = fd, .efd = -1, .st = ST_HELLO, .last_io = now,
                                       .handshake_by = now + r->o->handshake_ms, .id = (*next_id)++ };
        (*accepted)++;
    }
    return 0;
}

int gtee_ratls_relay_serve(int listen_fd, const struct gtee_ratls_relay *o, struct gtee_err *err)
{
    struct relay r = { .o = o };
    struct pollfd *p = NULL;
    unsigned long accepted = 0, next_id = 1;
    int flags = -1, rc = GTEE_EINVAL;

    ENSURE(o && o->to && o->max_active >= 1 && o->max_active <= GTEE_RATLS_RELAY_ACTIVE_MAX && o->handshake_ms > 0,
           err, GTEE_EINVAL, "relay: needs an enclave address, 1 to %d connections and a handshake deadline",
           GTEE_RATLS_RELAY_ACTIVE_MAX);
    TRY(resolve(&r, err));
    r.c = calloc(o->max_active, sizeof(*r.c));
    p = calloc(2 * (size_t)o->max_active + 1, sizeof(*p));
    ENSURE(r.c && p, err, GTEE_ENOMEM, "relay: out of memory for %u connections", o->max_active);
    flags = fcntl(listen_fd, F_GETFL);
    ENSURE(flags >= 0 && fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == 0, err, GTEE_EIO,
           "relay: bad listening descriptor (%s)", strerror(errno));
    rc = 0;
    while (r.n > 0 || !o->max_clients || accepted < o->max_clients) {
        int listening = !o->max_clients || accepted < o->max_clients;
        int64_t now;
        size_t n = r.n;
        int k;

        p[0] = (struct pollfd){ .fd = listening ? listen_fd : -1, .events = POLLIN };
        for (size_t i = 0; i < n; i++) {
            short ce = want_client(&r.c[i]), ee = want_enclave(&r.c[i]);

            /* A descriptor with nothing to wait for is left out, so its HUP cannot spin us. */
            p[1 + 2 * i] = (struct pollfd){ .fd = ce ? r.c[i].cfd : -1, .events = ce };
            p[2 + 2 * i] = (struct pollfd){ .fd = ee ? r.c[i].efd : -1, .events = ee };
        }
        k = poll(p, 1 + 2 * n, TICK_MS);
        if (k < 0 && errno != EINTR) {
            rc = GTEE_FAIL(err, GTEE_EIO, "relay: poll failed (%s)", strerror(errno));
            break;
        }
        now = gtee_net_clock_ms();
        /* Back to front: drop() moves the last connection into the freed place. */
        for (size_t i = n; i-- > 0;) {
            char why[GTEE_ERR_MSG_MAX];
            const char *end = k > 0 ? step(&r, &r.c[i], p[1 + 2 * i].revents, p[2 + 2 * i].revents, now, why,
                                           sizeof(why))
                                    : NULL;

            if (!end)
                end = late(&r, &r.c[i], now, why, sizeof(why));
            if (end)
                drop(&r, i, end[0] ? end : NULL);
        }
        if (k > 0 && (p[0].revents & POLLIN) && (rc = take(&r, listen_fd, &accepted, &next_id, err)) < 0)
            break;
    }
    while (r.n > 0)
        drop(&r, r.n - 1, "the relay stopped");
out:
    if (flags >= 0)
        (void)fcntl(listen_fd, F_SETFL, flags);
    free(r.c);
    free(p);
    return rc;
}
