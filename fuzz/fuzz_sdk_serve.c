/* libFuzzer target: the SDK server's handling of a connection's first bytes
 * (gtee_app_serve_fd, src/runtime/app_serve.c): the input is what a client sends on a fresh
 * connection to an application opened on a simulated device, then end of stream. It goes
 * through the TLS 1.3 server (ClientHello parsing, the attested certificate, alerts) and
 * the session's error paths; the session must end (no wait: the stream has ended) and the
 * application stay usable. Seeds: a real ClientHello (from an OpenSSL client), the same
 * followed by a stray application-data record, an HTTP request. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtee/sdk.h"
#include "gtee/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STREAM_MAX (64u * 1024)

static char base[] = "/tmp/gtee-fuzz-sdkserve-XXXXXX";
static struct gtee_app *app;

static void cleanup(void)
{
    char cmd[128];

    gtee_app_close(app);
    /* only the directory this process made */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        return;
}

static struct gtee_app *the_app(void)
{
    char dev[256];
    /* The application lives inside the fuzzer's process, which makes a socket pair per
     * input and writes its corpus: linked with tests/unhardened.c, as the SDK tests are. */
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .config = "fuzz_sdk_serve" };

    if (app)
        return app;
    if (!mkdtemp(base))
        abort();
    atexit(cleanup);
    snprintf(dev, sizeof(dev), "%s/dev", base);
    if (gtee_sim_init(dev, NULL) != 0 || gtee_app_open(&o, &app, NULL) != 0)
        abort();
    return app;
}

/* Unreachable from raw bytes (they would have to finish a TLS handshake), but the serve
 * loop needs one. */
static int handler(void *arg, struct gtee_app *a, uint16_t op, const uint8_t *req, size_t req_len, uint8_t **resp,
                   size_t *resp_len, struct gtee_err *err)
{
    (void)arg, (void)a, (void)op, (void)req, (void)req_len, (void)err;
    *resp = NULL;
    *resp_len = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_app *a = the_app();
    struct gtee_err err = {0};
    int sv[2], big = 4 * STREAM_MAX;

    if (size > STREAM_MAX)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    /* Room for all of the input and for the server's whole first flight, unread. */
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(sv[1], data + off, size - off);

        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    /* Non-blocking: a server that wants to write more than fits, or to read past the end,
     * fails at once instead of waiting; a real session would be cut at its deadline. */
    (void)gtee_app_serve_fd(a, sv[0], handler, NULL, &err);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
