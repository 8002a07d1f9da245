/* The host's relay between a client's TCP connection and the enclave's socket. It carries
 * TLS records it cannot read; altering one makes the receiver's AEAD check fail. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/ratls.h"

#define PUMP_BUF 16384

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

int gtee_ratls_pump(int client_fd, int enclave_fd, gtee_ratls_tap_fn tap, void *tap_arg, struct gtee_err *err)
{
    uint8_t buf[PUMP_BUF];
    int open_up = 1, open_down = 1;

    if (client_fd < 0 || enclave_fd < 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "relay: bad descriptor");
    while (open_up || open_down) {
        /* A finished direction's descriptor is left out (negative), so its HUP cannot spin us. */
        struct pollfd p[2] = { { open_up ? client_fd : -1, POLLIN, 0 }, { open_down ? enclave_fd : -1, POLLIN, 0 } };

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return GTEE_FAIL(err, GTEE_EIO, "relay: poll failed (%s)", strerror(errno));
        }
        if (open_up && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            open_up = step(client_fd, enclave_fd, 0, tap, tap_arg, buf);
        if (open_down && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            open_down = step(enclave_fd, client_fd, 1, tap, tap_arg, buf);
    }
    gtee_wipe(buf, sizeof(buf)); /* ciphertext only, but leave nothing behind */
    return 0;
}
