/* Key-release requests over a stream (a TCP connection to `gtee keyrelease serve`):
 * request frame = u32 big-endian length || request; answer frame = status u8 (0: the answer
 * follows, 1: refused, a UTF-8 reason follows) || u32 big-endian length || bytes.
 * docs/tee.md §4.3.1. The TD's side is here; the service's (gtee_kr_wire_serve_one) is
 * src/service/keyrelease_stream.c, over the same frame helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/keyrelease.h"
#include "wire/keyrelease_int.h"

/* Both return 0, or a positive errno: EPIPE for a peer that closed, EAGAIN for a socket
 * timeout (SO_RCVTIMEO / SO_SNDTIMEO, set by the TCP transport). A socket is written with
 * MSG_NOSIGNAL, so a closed peer is an error, not a SIGPIPE that kills the process. */
static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

        if (w < 0 && errno == ENOTSOCK)
            w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EWOULDBLOCK ? EAGAIN : errno;
        if (w == 0)
            return EPIPE;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int gtee_kr_read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;

    while (n > 0) {
        ssize_t r = read(fd, b, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EWOULDBLOCK ? EAGAIN : errno;
        if (r == 0)
            return EPIPE;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static const char *io_why(int e)
{
    if (e == EAGAIN)
        return "timed out";
    if (e == EPIPE)
        return "connection closed";
    return strerror(e);
}

int gtee_kr_send_frame(int fd, int status, const void *p, size_t n)
{
    uint8_t h[5];

    h[0] = (uint8_t)status;
    put_u32be(h + 1, (uint32_t)n);
    return (write_all(fd, h, 5) == 0 && write_all(fd, p, n) == 0) ? 0 : -1;
}

int gtee_kr_wire_exchange(int fd, const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len,
                          struct gtee_err *err)
{
    uint8_t h[5], len4[4], *b = NULL;
    uint32_t n;
    int rc = GTEE_EIO, e;

    *resp = NULL;
    *resp_len = 0;
    ENSURE(req_len <= KR_REQ_MAX, err, GTEE_EINVAL, "keyrelease: request too long");
    put_u32be(len4, (uint32_t)req_len);
    e = write_all(fd, len4, 4);
    if (e == 0)
        e = write_all(fd, req, req_len);
    ENSURE(e == 0, err, GTEE_EIO, "keyrelease: cannot send the request to the service (%s)", io_why(e));
    e = gtee_kr_read_all(fd, h, 5);
    ENSURE(e == 0, err, GTEE_EIO, "keyrelease: no answer from the service (%s)", io_why(e));
    n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
    ENSURE(h[0] <= 1 && n <= (h[0] ? KR_REASON_MAX : GTEE_KR_RESPONSE_LEN), err, GTEE_EFORMAT,
           "keyrelease: malformed answer frame (status %u, length %u)", h[0], n);
    b = malloc(n + 1);
    ENSURE(b, err, GTEE_ENOMEM, "keyrelease: out of memory");
    e = gtee_kr_read_all(fd, b, n);
    ENSURE(e == 0, err, GTEE_EIO, "keyrelease: answer frame cut short (%s)", io_why(e));
    if (h[0] == 1) {
        b[n] = '\0';
        for (uint32_t i = 0; i < n; i++)
            if (b[i] < 0x20 || b[i] > 0x7e)
                b[i] = '?';
        ENSURE(0, err, GTEE_EPOLICY, "keyrelease: the service refused: %s", (char *)b);
    }
    *resp = b;
    *resp_len = n;
    b = NULL;
    rc = 0;
out:
    free(b);
    return rc;
}
