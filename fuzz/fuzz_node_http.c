/* libFuzzer target: the node's HTTP API (src/node/api.c on libmicrohttpd) fed whole
 * requests as raw bytes over a socket: request lines, headers (Range, Upload-Offset), the
 * JSON, job and relay bodies, uploads into real sessions. The daemon runs in this process over a
 * scratch data directory with no enclave (its routes answer 503), so any crash or sanitizer
 * report is the API's. Seeds: fuzz/corpus/fuzz_node_http. */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gtee/net.h"
#include "node/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gtee_node_config cfg;
static struct gtee_node_store *store;
static struct gtee_node_blobs blobs;
static struct gtee_node_enclave enclave;
static struct gtee_node_api api;
static struct gtee_node_jobs jobs;
static char addr[64];

static int start(void)
{
    static char dir[] = "/tmp/gtee-fuzz-node.XXXXXX";
    struct gtee_err err = { 0 };
    char p[128];
    uint16_t port = 0;
    int fd;

    if (!mkdtemp(dir))
        return -1;
    snprintf(p, sizeof(p), "%s/blobs", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/uploads", dir);
    mkdir(p, 0700);
    gtee_node_config_default(&cfg);
    cfg.threads = 2;
    cfg.connection_timeout_s = 2;
    cfg.max_blob_bytes = 1u << 16;
    if (gtee_node_store_open(dir, 1, &store, &err) || gtee_node_blobs_open(&blobs, dir, store, cfg.max_blob_bytes, &err))
        return -1;
    /* An enclave that never started: the routes that need it answer 503. */
    memset(&enclave, 0, sizeof(enclave));
    pthread_mutex_init(&enclave.call_mu, NULL);
    pthread_mutex_init(&enclave.mu, NULL);
    pthread_cond_init(&enclave.cv, NULL);
    enclave.store = store;
    api.config = &cfg;
    api.store = store;
    api.blobs = &blobs;
    api.enclave = &enclave;
    /* The job queue: jobs stay queued, since the enclave never runs. */
    if (gtee_node_jobs_start(&jobs, store, &blobs, &enclave, &err) != 0)
        return -1;
    api.jobs = &jobs;
    snprintf(api.url, sizeof(api.url), "http://fuzz/");
    if (gtee_net_listen("127.0.0.1:0", 64, &fd, &port, &err) || gtee_node_api_start(&api, fd, &err))
        return -1;
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct gtee_err err = { 0 };
    char buf[4096];
    int fd;

    if (!ready) {
        if (start() != 0)
            abort();
        ready = 1;
    }
    if (size > 256 * 1024 || gtee_net_dial(addr, 2000, 2000, &fd, &err) != 0)
        return 0;
    (void)send(fd, data, size, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (poll(&p, 1, 5000) <= 0 || read(fd, buf, sizeof(buf)) <= 0)
            break;
    }
    close(fd);
    return 0;
}
