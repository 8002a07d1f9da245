/* libFuzzer target: the key-release stream frames (src/wire/keyrelease_wire.c) from both
 * ends of the untrusted network. First input byte even: the rest is what a "service" sends
 * back to a TD's request (gtee_kr_wire_exchange: status, length, answer or refusal reason);
 * odd: the rest is what a "TD" sends to the service (gtee_kr_wire_serve_one: request frame,
 * then the request parsed and its quote verified against a simulated device's collateral).
 * Seeds: an answer frame, a refusal frame, a request frame around the real tdx-1 quote. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"
#include "gtee/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STREAM_MAX (64u * 1024)

static char base[] = "/tmp/gtee-fuzz-krwire-XXXXXX";

static void cleanup(void)
{
    char cmd[128];

    /* only the directory this process made */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        return;
}

static struct gtee_kr_service *service(void)
{
    static struct gtee_kr_service *svc;
    static const uint8_t master[GTEE_KR_SECRET_LEN] = { 7 };
    char dev[256], col[300], root[300];
    struct gtee_kr_config cfg = { .master = master, .collateral_dir = col, .sim_root_file = root,
                                  .policy_json = "{\"allow_simulation\": true}", .at = 1767225600 };

    if (svc)
        return svc;
    if (!mkdtemp(base))
        abort();
    atexit(cleanup);
    snprintf(dev, sizeof(dev), "%s/dev", base);
    if (gtee_sim_init(dev, NULL) != 0)
        abort();
    snprintf(col, sizeof(col), "%s/%s", dev, GTEE_SIM_TDX_COLLATERAL_DIR);
    snprintf(root, sizeof(root), "%s/%s", dev, GTEE_SIM_ROOT_CA_FILE);
    if (gtee_kr_service_new(&cfg, &svc, NULL) != 0)
        abort();
    return svc;
}

/* The input in the peer's end of a socket pair, then end of stream. */
static void feed(int sv[2], const uint8_t *p, size_t n)
{
    int big = 4 * STREAM_MAX;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
        abort();
    for (size_t off = 0; off < n;) {
        ssize_t w = write(sv[1], p + off, n - off);

        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t req[] = "GKQ1 a request the fuzzer answers";
    struct gtee_kr_service *svc = service();
    struct gtee_err err;
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int sv[2];

    if (size < 1 || size > STREAM_MAX)
        return 0;
    feed(sv, data + 1, size - 1);
    if ((data[0] & 1) == 0) {
        memset(&err, 0, sizeof(err));
        if (gtee_kr_wire_exchange(sv[0], req, sizeof(req), &resp, &resp_len, &err) == 0) {
            if (!resp || resp_len > GTEE_KR_RESPONSE_LEN || resp_len + 6 > size)
                abort();
        } else {
            /* a refusal's reason reaches the operator's terminal: printable only */
            for (const char *c = err.msg; *c; c++)
                if (*c < 0x20 || *c > 0x7e)
                    abort();
            if (resp)
                abort();
        }
        free(resp);
    } else {
        (void)gtee_kr_wire_serve_one(svc, sv[0], &err);
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
