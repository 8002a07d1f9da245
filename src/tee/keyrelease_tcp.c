/* The TD's TCP transport to `gtee keyrelease serve` (docs/tee.md §4.3.1, "Transport"): one
 * connection per request, a bounded connect and bounded reads and writes, the frames of
 * keyrelease_wire.c, and the service key the TD pins. The address is numeric (IPv4, or IPv6 in brackets): name resolution
 * would read host files and load NSS modules that no measurement covers, and on a TD the
 * host answers DNS anyway. Errors name the address; a refusal carries the service's reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/tee.h"

static int fcntl_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;

    if (!*s || strlen(s) > 5)
        return -1;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        v = v * 10 + (unsigned long)(*c - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int gtee_kr_tcp_init(struct gtee_kr_tcp *c, const char *hostport, const char *service_pub_hex,
                     struct gtee_err *err)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon, *h = hostport;
    size_t hl;
    uint16_t port = 0;
    int rc = GTEE_EINVAL;

    memset(c, 0, sizeof(*c));
    ENSURE(hostport && strlen(hostport) < sizeof(c->addr), err, GTEE_EINVAL,
           "keyrelease: no address, or an address too long (expected HOST:PORT)");
    memcpy(c->addr, hostport, strlen(hostport) + 1);
    colon = strrchr(hostport, ':');
    ENSURE(colon && colon > hostport, err, GTEE_EINVAL, "keyrelease: address '%s' is not HOST:PORT", c->addr);
    hl = (size_t)(colon - hostport);
    if (h[0] == '[') { /* [IPv6]:port */
        ENSURE(hl >= 2 && h[hl - 1] == ']', err, GTEE_EINVAL, "keyrelease: address '%s': unbalanced [ ]", c->addr);
        h++;
        hl -= 2;
    }
    ENSURE(hl > 0 && hl < sizeof(host), err, GTEE_EINVAL, "keyrelease: address '%s' has no host", c->addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    ENSURE(parse_port(colon + 1, &port) == 0, err, GTEE_EINVAL,
           "keyrelease: address '%s': the port must be a number from 1 to 65535", c->addr);
    if (hostport[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        c->sa_len = sizeof(*s4);
    } else if (hostport[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        c->sa_len = sizeof(*s6);
    } else {
        ENSURE(0, err, GTEE_EINVAL,
               "keyrelease: address '%s': the host must be a numeric IPv4 address or [IPv6] (no name lookup "
               "inside the enclave)", c->addr);
    }
    /* The point itself is checked when the TD first uses it (ECDH on the answer). */
    ENSURE(service_pub_hex && strlen(service_pub_hex) == 2 * GTEE_KR_PUB_LEN &&
               gtee_hex_decode(service_pub_hex, c->service_pub, GTEE_KR_PUB_LEN) == 0 && c->service_pub[0] == 0x04,
           err, GTEE_EINVAL,
           "keyrelease: the service key to pin must be 130 hex digits, an uncompressed P-256 point (04...), "
           "as `gtee keyrelease init` prints it");
    c->connect_ms = GTEE_KR_TCP_CONNECT_MS;
    c->io_ms = GTEE_KR_TCP_IO_MS;
    rc = 0;
out:
    return rc;
}

/* Non-blocking connect bounded by poll, then blocking I/O bounded by socket timeouts. */
static int dial(const struct gtee_kr_tcp *c, int *out, struct gtee_err *err)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->sa;
    struct timeval tv = { .tv_sec = c->io_ms / 1000, .tv_usec = (c->io_ms % 1000) * 1000 };
    struct pollfd pfd;
    socklen_t sl = sizeof(int);
    int fd, e = 0, r, rc = GTEE_EIO;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ENSURE(fd >= 0, err, GTEE_EIO, "keyrelease %s: cannot make a socket (%s)", c->addr, strerror(errno));
    if (connect(fd, sa, (socklen_t)c->sa_len) != 0) {
        ENSURE(errno == EINPROGRESS, err, GTEE_EIO, "keyrelease %s: cannot connect (%s)", c->addr, strerror(errno));
        pfd.fd = fd;
        pfd.events = POLLOUT;
        do
            r = poll(&pfd, 1, c->connect_ms);
        while (r < 0 && errno == EINTR);
        ENSURE(r > 0, err, GTEE_EIO, "keyrelease %s: cannot connect (%s after %d ms)", c->addr,
               r == 0 ? "no answer" : strerror(errno), c->connect_ms);
        ENSURE(getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0, err, GTEE_EIO,
               "keyrelease %s: cannot connect (%s)", c->addr, strerror(e ? e : errno));
    }
    ENSURE(fcntl_blocking(fd) == 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
               setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0,
           err, GTEE_EIO, "keyrelease %s: cannot set socket timeouts (%s)", c->addr, strerror(errno));
    *out = fd;
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int gtee_kr_tcp_exchange(const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len, void *arg,
                         struct gtee_err *err)
{
    const struct gtee_kr_tcp *c = arg;
    int fd = -1, rc;

    *resp = NULL;
    *resp_len = 0;
    TRY(dial(c, &fd, err));
    rc = gtee_kr_wire_exchange(fd, req, req_len, resp, resp_len, err);
    if (rc < 0 && err) {
        /* "keyrelease: the service refused: <reason>" -> "keyrelease 10.0.0.1:7000: the service ..." */
        char m[GTEE_ERR_MSG_MAX];
        const char *tail = strncmp(err->msg, "keyrelease: ", 12) == 0 ? err->msg + 12 : err->msg;

        snprintf(m, sizeof(m), "%s", tail);
        (void)GTEE_FAIL(err, rc, "keyrelease %s: %.300s", c->addr, m);
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

void gtee_kr_tcp_transport(struct gtee_kr_tcp *c, struct gtee_key_release_transport *tr)
{
    tr->exchange = gtee_kr_tcp_exchange;
    tr->arg = c;
    tr->service_pub = c->service_pub;
}
