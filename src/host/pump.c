/* The host's relay between a client's TCP connection and the enclave's socket. It carries
 * TLS records it cannot read; altering one makes the receiver's AEAD check fail. Without a
 * tap the bytes move socket -> pipe -> socket with splice(2), never through user memory. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls_relay.h"

#define PUMP_BUF 16384
/* Bytes one splice may move. The pipe is enlarged to match (F_SETPIPE_SZ; an unprivileged
 * process may go up to fs.pipe-max-size, 1 MiB by default), so a bulk transfer costs one
 * poll and two splices per 256 KiB instead of per 16 KiB: on a machine whose cores the
 * client and the enclave already keep busy, the relay's own CPU time is what it costs. */
#define SPLICE_LEN (256 * 1024)

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One read and forward from src to dst; returns 1 while the direction stays open. */
static int step(int src, int dst, int dir, gtee_ratls_tap_fn tap, void *arg, uint8_t *buf)
{
    ssize_t n = read(src, buf, PUMP_BUF);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n > 0) {
        if (tap)
            tap(arg, dir, buf, (size_t)n);
        if (write_all(dst, buf, (size_t)n) == 0)
            return 1;
    }
    /* End of stream, a reset, or a peer that stopped reading: pass the end on. */
    (void)shutdown(dst, SHUT_WR);
    return 0;
}

/* splice(2) from src through a pipe into dst, the pipe drained before returning; 1 while
 * open, 0 at the end, -1 if splice cannot serve these descriptors (nothing moved: the
 * caller falls back to read/write). */
static int step_splice(int src, int dst, const int pipefd[2])
{
    ssize_t n = splice(src, NULL, pipefd[1], NULL, SPLICE_LEN, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n < 0 && errno == EINVAL)
        return -1;
    while (n > 0) {
        ssize_t m = splice(pipefd[0], NULL, dst, NULL, (size_t)n, SPLICE_F_MOVE);

        if (m < 0 && errno == EINTR)
            continue;
        if (m <= 0)
            break;
        n -= m;
        if (n == 0)
            return 1;
    }
    /* End of stream, a reset, or a peer that stopped reading: pass the end on. */
    (void)shutdown(dst, SHUT_WR);
    return 0;
}

int gtee_ratls_pump(int client_fd, int enclave_fd, gtee_ratls_tap_fn tap, void *tap_arg, struct gtee_err *err)
{
    uint8_t buf[PUMP_BUF];
    int open_up = 1, open_down = 1, pipes[2][2] = { { -1, -1 }, { -1, -1 } }, use_splice = !tap, rc = 0;

    if (client_fd < 0 || enclave_fd < 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "relay: bad descriptor");
    if (use_splice && (pipe2(pipes[0], O_CLOEXEC) != 0 || pipe2(pipes[1], O_CLOEXEC) != 0))
        use_splice = 0;
    for (int d = 0; use_splice && d < 2; d++)
        (void)fcntl(pipes[d][1], F_SETPIPE_SZ, SPLICE_LEN); /* a smaller pipe only moves less per call */
    while (open_up || open_down) {
        /* A finished direction's descriptor is left out (negative), so its HUP cannot spin us. */
        struct pollfd p[2] = { { open_up ? client_fd : -1, POLLIN, 0 }, { open_down ? enclave_fd : -1, POLLIN, 0 } };

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = GTEE_FAIL(err, GTEE_EIO, "relay: poll failed (%s)", strerror(errno));
            break;
        }
        for (int d = 0; d < 2; d++) {
            int *open = d ? &open_down : &open_up, src = d ? enclave_fd : client_fd, dst = d ? client_fd : enclave_fd;

            if (!*open || !(p[d].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (use_splice) {
                int r = step_splice(src, dst, pipes[d]);
                if (r >= 0) {
                    *open = r;
                    continue;
                }
                use_splice = 0; /* these descriptors do not splice: copy instead */
            }
            *open = step(src, dst, d, tap, tap_arg, buf);
        }
    }
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 2; i++)
            if (pipes[d][i] >= 0)
                close(pipes[d][i]);
    gtee_wipe(buf, sizeof(buf)); /* ciphertext only, but leave nothing behind */
    return rc;
}
