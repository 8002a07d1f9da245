/* The host-enclave message framing (include/gtee/msg.h): header checks, encoding and
 * whole-message socket I/O. Payloads are parsed by their receivers with span.h. */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/msg.h"
#include "gtee/net.h"

int gtee_msg_header_parse(const uint8_t *buf, size_t len, struct gtee_msg_header *h, struct gtee_err *err)
{
    struct span s = span_init(buf, len);
    int rc = GTEE_EFORMAT;

    h->magic = span_u32be(&s);
    h->version = span_u16be(&s);
    h->type = span_u16be(&s);
    h->request_id = span_u64be(&s);
    h->length = span_u32be(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "msg: %zu bytes, shorter than the %d-byte header", len, GTEE_MSG_HEADER_LEN);
    ENSURE(h->magic == GTEE_MSG_MAGIC, err, GTEE_EFORMAT, "msg: bad magic (offset 0)");
    ENSURE(h->version == GTEE_MSG_VERSION, err, GTEE_EUNSUPPORTED, "msg: version %u, expected %d (offset 4)",
           h->version, GTEE_MSG_VERSION);
    ENSURE(h->length <= GTEE_MSG_MAX_PAYLOAD, err, GTEE_EFORMAT, "msg: length %u over the %u-byte limit (offset 16)",
           h->length, GTEE_MSG_MAX_PAYLOAD);
    rc = 0;
out:
    return rc;
}

void gtee_msg_header_write(uint8_t out[GTEE_MSG_HEADER_LEN], uint16_t type, uint64_t request_id, uint32_t length)
{
    put_u32be(out, GTEE_MSG_MAGIC);
    put_u16be(out + 4, GTEE_MSG_VERSION);
    put_u16be(out + 6, type);
    put_u64be(out + 8, request_id);
    put_u32be(out + 16, length);
}

int gtee_msg_encode(uint16_t type, uint64_t request_id, const void *payload, size_t len, uint8_t **msg,
                    size_t *msg_len, struct gtee_err *err)
{
    uint8_t *m;

    *msg = NULL;
    *msg_len = 0;
    if (len > GTEE_MSG_MAX_PAYLOAD)
        return GTEE_FAIL(err, GTEE_EINVAL, "msg: payload of %zu bytes over the limit", len);
    m = malloc(GTEE_MSG_HEADER_LEN + len);
    if (!m)
        return GTEE_FAIL(err, GTEE_ENOMEM, "msg: out of memory");
    gtee_msg_header_write(m, type, request_id, (uint32_t)len);
    if (len)
        memcpy(m + GTEE_MSG_HEADER_LEN, payload, len);
    *msg = m;
    *msg_len = GTEE_MSG_HEADER_LEN + len;
    return 0;
}

int gtee_msg_encode_error(uint64_t request_id, int code, const char *text, uint8_t **msg, size_t *msg_len,
                          struct gtee_err *err)
{
    uint8_t p[4 + 256];
    size_t n = strnlen(text ? text : "", 256);

    put_u32be(p, (uint32_t)code);
    memcpy(p + 4, text ? text : "", n);
    return gtee_msg_encode(GTEE_MSG_ERROR | GTEE_MSG_REPLY, request_id, p, 4 + n, msg, msg_len, err);
}

/* Waits until fd is ready for events or the deadline passes: 0 ready, GTEE_EIO at the
 * deadline (naming it). No deadline (< 0): ready at once, the I/O call blocks. */
static int wait_ready(int fd, short events, int64_t deadline_ms, struct gtee_err *err)
{
    struct pollfd pfd = { .fd = fd, .events = events };

    if (deadline_ms < 0)
        return 0;
    for (;;) {
        int64_t left = deadline_ms - gtee_net_clock_ms();
        int r;

        if (left <= 0)
            return GTEE_FAIL(err, GTEE_EIO, "msg: the peer did not %s before the deadline",
                             events == POLLIN ? "answer" : "read");
        r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return GTEE_FAIL(err, GTEE_EIO, "msg: poll failed (%s)", strerror(errno));
    }
}

int gtee_msg_send_deadline(int fd, const uint8_t *msg, size_t len, int64_t deadline_ms, struct gtee_err *err)
{
    while (len > 0) {
        int flags = deadline_ms < 0 ? 0 : MSG_DONTWAIT, rc = wait_ready(fd, POLLOUT, deadline_ms, err);
        ssize_t w;

        if (rc < 0)
            return rc;
        w = send(fd, msg, len, MSG_NOSIGNAL | flags);
        if (w < 0 && errno == ENOTSOCK) /* a pipe or stdio, as under Gramine */
            w = write(fd, msg, len);

        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return GTEE_FAIL(err, GTEE_EIO, "msg: send failed (%s)", w < 0 ? strerror(errno) : "closed");
        msg += w;
        len -= (size_t)w;
    }
    return 0;
}

int gtee_msg_send(int fd, const uint8_t *msg, size_t len, struct gtee_err *err)
{
    return gtee_msg_send_deadline(fd, msg, len, -1, err);
}

/* 1: got n bytes; 0: end of stream before the first byte; <0: error. */
static int recv_exact(int fd, uint8_t *p, size_t n, int64_t deadline_ms, struct gtee_err *err)
{
    size_t got = 0;

    while (got < n) {
        int rc = wait_ready(fd, POLLIN, deadline_ms, err);
        ssize_t r;

        if (rc < 0)
            return rc;
        r = recv(fd, p + got, n - got, deadline_ms < 0 ? 0 : MSG_DONTWAIT);

        if (r < 0 && errno == ENOTSOCK)
            r = read(fd, p + got, n - got);

        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return GTEE_FAIL(err, GTEE_EIO, "msg: receive failed (%s)", strerror(errno));
        if (r == 0) {
            if (got == 0)
                return 0;
            return GTEE_FAIL(err, GTEE_EFORMAT, "msg: stream ended inside a message (%zu of %zu bytes)", got, n);
        }
        got += (size_t)r;
    }
    return 1;
}

int gtee_msg_recv(int fd, uint8_t **msg, size_t *len, struct gtee_err *err)
{
    return gtee_msg_recv_deadline(fd, -1, msg, len, err);
}

int gtee_msg_recv_deadline(int fd, int64_t deadline_ms, uint8_t **msg, size_t *len, struct gtee_err *err)
{
    uint8_t hdr[GTEE_MSG_HEADER_LEN], *m = NULL;
    struct gtee_msg_header h;
    int rc;

    *msg = NULL;
    *len = 0;
    rc = recv_exact(fd, hdr, sizeof(hdr), deadline_ms, err);
    if (rc == 0)
        return GTEE_FAIL(err, GTEE_ENOTFOUND, "msg: peer closed the stream");
    TRY(rc);
    TRY(gtee_msg_header_parse(hdr, sizeof(hdr), &h, err));
    m = malloc(GTEE_MSG_HEADER_LEN + (size_t)h.length);
    ENSURE(m, err, GTEE_ENOMEM, "msg: out of memory for a %u-byte payload", h.length);
    memcpy(m, hdr, sizeof(hdr));
    if (h.length) {
        rc = recv_exact(fd, m + GTEE_MSG_HEADER_LEN, h.length, deadline_ms, err);
        if (rc == 0)
            rc = GTEE_FAIL(err, GTEE_EFORMAT, "msg: stream ended before the payload");
        TRY(rc);
    }
    *msg = m;
    *len = GTEE_MSG_HEADER_LEN + (size_t)h.length;
    m = NULL;
    rc = 0;
out:
    free(m);
    return rc;
}
