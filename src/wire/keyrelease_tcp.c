/* The TD's TCP client of `gtee keyrelease serve` (docs/tee.md §4.3.2): one connection per
 * request through gtee/net.h (bounded connect, bounded reads and writes), the frames of
 * keyrelease_wire.c, and the service key the TD pins. The address must be numeric (IPv4, or
 * IPv6 in brackets): name resolution would read host files and load NSS modules that no
 * measurement covers, and on a TD the host answers DNS anyway. Errors name the address; a
 * refusal carries the service's reason. The backend's transport hook over it is in
 * src/tee/tdx_key.c; the host's launcher checks an address with gtee_kr_tcp_init. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/net.h"

int gtee_kr_tcp_init(struct gtee_kr_tcp *c, const char *hostport, const char *service_pub_hex,
                     struct gtee_err *err)
{
    char host[GTEE_NET_HOST_MAX];
    uint8_t a6[16];
    uint16_t port = 0;
    int rc = GTEE_EINVAL;

    memset(c, 0, sizeof(*c));
    ENSURE(hostport && strlen(hostport) < sizeof(c->addr), err, GTEE_EINVAL,
           "keyrelease: no address, or an address too long (expected HOST:PORT)");
    memcpy(c->addr, hostport, strlen(hostport) + 1);
    if (gtee_net_split(hostport, 0, host, &port, err) < 0) {
        (void)gtee_err_wrap(err, "keyrelease: ");
        goto out;
    }
    /* gtee_net_split took any brackets off: a bracketed host must be IPv6, a bare one IPv4. */
    ENSURE(hostport[0] == '[' ? inet_pton(AF_INET6, host, a6) == 1 : inet_pton(AF_INET, host, a6) == 1, err,
           GTEE_EINVAL,
           "keyrelease: address '%s': the host must be a numeric IPv4 address or [IPv6] (no name lookup "
           "inside the enclave)", c->addr);
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

int gtee_kr_tcp_exchange(const uint8_t *req, size_t req_len, uint8_t **resp, size_t *resp_len, void *arg,
                         struct gtee_err *err)
{
    const struct gtee_kr_tcp *c = arg;
    int fd = -1, rc;

    *resp = NULL;
    *resp_len = 0;
    rc = gtee_net_dial(c->addr, c->connect_ms, c->io_ms, &fd, err);
    if (rc < 0) { /* "cannot connect to 10.0.0.1:7000: Connection refused" */
        (void)gtee_err_wrap(err, "keyrelease: ");
        goto out;
    }
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
