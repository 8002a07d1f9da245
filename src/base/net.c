/* TCP dial and listen on "HOST:PORT" strings (include/gtee/net.h). getaddrinfo does the
 * name work; this file adds the string's grammar, a bounded connect and the socket options
 * every caller wants, so the CLI, the SDK and the services behave alike. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/net.h"

int gtee_net_split(const char *hostport, int listening, char host[GTEE_NET_HOST_MAX], uint16_t *port,
                   struct gtee_err *err)
{
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    const char *h = hostport;
    size_t hl;
    char *end = NULL;
    unsigned long p;

    if (!colon)
        return GTEE_FAIL(err, GTEE_EINVAL, "address '%s': expected HOST:PORT", hostport ? hostport : "(none)");
    hl = (size_t)(colon - hostport);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [IPv6 literal]:port */
        h++;
        hl -= 2;
    } else if (memchr(h, ':', hl)) {
        return GTEE_FAIL(err, GTEE_EINVAL, "address '%s': an IPv6 host must be written in brackets, [::1]:PORT",
                         hostport);
    }
    if (hl >= GTEE_NET_HOST_MAX)
        return GTEE_FAIL(err, GTEE_EINVAL, "address '%.64s...': host longer than %d bytes", hostport,
                         GTEE_NET_HOST_MAX - 1);
    if (hl == 0 && !listening)
        return GTEE_FAIL(err, GTEE_EINVAL, "address '%s': no host before the port", hostport);
    errno = 0;
    p = colon[1] >= '0' && colon[1] <= '9' ? strtoul(colon + 1, &end, 10) : 0;
    if (!end || *end || errno || p > 65535 || (p == 0 && !listening))
        return GTEE_FAIL(err, GTEE_EINVAL, "address '%s': port is not a number from %d to 65535", hostport,
                         listening ? 0 : 1);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* One connect within ms milliseconds (0: blocking). Returns 0 or an errno value. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len, int ms)
{
    int flags = fcntl(fd, F_GETFL), e = 0;
    socklen_t el = sizeof(e);
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int n;

    if (ms <= 0)
        return connect(fd, sa, len) == 0 ? 0 : errno;
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return errno;
    if (connect(fd, sa, len) != 0) {
        if (errno != EINPROGRESS)
            return errno;
        do
            n = poll(&pfd, 1, ms);
        while (n < 0 && errno == EINTR);
        if (n == 0)
            return ETIMEDOUT;
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
            return errno;
        if (e != 0)
            return e;
    }
    return fcntl(fd, F_SETFL, flags) == 0 ? 0 : errno;
}

int gtee_net_dial(const char *hostport, int connect_ms, int io_ms, int *fd, struct gtee_err *err)
{
    char host[GTEE_NET_HOST_MAX], port[8];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
    uint16_t pn;
    int s = -1, g, e = 0, one = 1, rc;

    *fd = -1;
    if ((rc = gtee_net_split(hostport, 0, host, &pn, err)) != 0)
        return rc;
    snprintf(port, sizeof(port), "%u", pn);
    if ((g = getaddrinfo(host, port, &hints, &res)) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "cannot resolve %s: %s", hostport, gai_strerror(g));
    for (ai = res; ai && s < 0; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0) {
            e = errno;
            continue;
        }
        if ((e = connect_within(s, ai->ai_addr, ai->ai_addrlen, connect_ms)) != 0) {
            close(s);
            s = -1;
        }
    }
    freeaddrinfo(res);
    if (s < 0) {
        if (e == ETIMEDOUT && connect_ms > 0)
            return GTEE_FAIL(err, GTEE_EIO, "cannot connect to %s: no answer within %d ms", hostport, connect_ms);
        return GTEE_FAIL(err, GTEE_EIO, "cannot connect to %s: %s", hostport, strerror(e));
    }
    if (io_ms > 0) {
        struct timeval tv = { .tv_sec = io_ms / 1000, .tv_usec = (io_ms % 1000) * 1000 };

        (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *fd = s;
    return 0;
}

int gtee_net_listen(const char *hostport, int backlog, int *fd, uint16_t *port, struct gtee_err *err)
{
    char host[GTEE_NET_HOST_MAX], pstr[8];
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    uint16_t pn;
    int s = -1, one = 1, g, rc;

    *fd = -1;
    if ((rc = gtee_net_split(hostport, 1, host, &pn, err)) != 0)
        return rc;
    rc = GTEE_EIO;
    snprintf(pstr, sizeof(pstr), "%u", pn);
    g = getaddrinfo(host[0] ? host : NULL, pstr, &hints, &res);
    ENSURE(g == 0, err, GTEE_EIO, "cannot resolve %s: %s", hostport, gai_strerror(g));
    s = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    ENSURE(s >= 0, err, GTEE_EIO, "cannot listen on %s: %s", hostport, strerror(errno));
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ENSURE(bind(s, res->ai_addr, res->ai_addrlen) == 0 && listen(s, backlog) == 0, err, GTEE_EIO,
           "cannot listen on %s: %s", hostport, strerror(errno));
    ENSURE(getsockname(s, (struct sockaddr *)&ss, &sl) == 0, err, GTEE_EIO, "cannot listen on %s: %s", hostport,
           strerror(errno));
    if (port)
        *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd = s;
    s = -1;
    rc = 0;
out:
    if (res)
        freeaddrinfo(res);
    if (s >= 0)
        close(s);
    return rc;
}

int64_t gtee_net_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
