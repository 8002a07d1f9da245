/* The node daemon: loads the data directory (locked, so two daemons never share it), marks
 * jobs that a previous run left running as failed, starts the enclave supervisor and the
 * HTTP API, and on SIGTERM or SIGINT drains and stops in order: API, enclave, store. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/file.h"
#include "gtee/net.h"
#include "node/api.h"
#include "node/blobs.h"
#include "node/jobs.h"
#include "node/launch.h"
#include "node/ledger.h"
#include "node/daemon.h"
#include "node/node.h"

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t sig_got;

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;

    sig_got = sig;
    if (write(sig_pipe[1], &c, 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

/* How often the running daemon applies the retention rule (and once at start). */
#define RETAIN_EVERY_S 3600

/* The retention rule, logged; a failure is logged and retried at the next pass. */
static void retain(struct gtee_node_store *store, struct gtee_node_blobs *blobs, unsigned days)
{
    struct gtee_node_blob_row *gone = NULL;
    struct gtee_err err = { 0 };
    uint64_t bytes = 0;
    size_t n = 0;
    int sessions = 0, rc;

    rc = gtee_node_blobs_retain(blobs, (int64_t)time(NULL) - (int64_t)days * 86400, 0, &gone, &n, &sessions, &err);
    for (size_t i = 0; i < n; i++)
        bytes += gone[i].size;
    if (n || sessions)
        gtee_node_store_event(store, "info",
                              "retention (%u day%s): deleted %zu blob%s (%llu bytes) and %d idle upload session%s",
                              days, days == 1 ? "" : "s", n, n == 1 ? "" : "s", (unsigned long long)bytes, sessions,
                              sessions == 1 ? "" : "s");
    if (rc < 0)
        gtee_node_store_event(store, "error", "retention pass stopped: %s", err.msg);
    free(gone);
}

/* The start's check of the blob store, logged: what it found is the trace of a crash. */
static int check_blobs(struct gtee_node_store *store, struct gtee_node_blobs *blobs, struct gtee_err *err)
{
    struct gtee_node_blobs_fix f;
    int rc = gtee_node_blobs_check(blobs, &f, err);

    if (rc < 0)
        return rc;
    if (f.temporaries || f.orphans || f.staging || f.sessions)
        gtee_node_store_event(store, "warn",
                              "blob store: removed %d half-written temporar%s, %d file%s no row named, %d staging "
                              "file%s of no session and %d session%s without a staging file (left by a stop "
                              "mid-write)",
                              f.temporaries, f.temporaries == 1 ? "y" : "ies", f.orphans, f.orphans == 1 ? "" : "s",
                              f.staging, f.staging == 1 ? "" : "s", f.sessions, f.sessions == 1 ? "" : "s");
    if (f.missing || f.wrong_size)
        gtee_node_store_event(store, "error",
                              "blob store: %d recorded blob%s missing and %d of the wrong size: dropped (jobs that "
                              "name them will fail)",
                              f.missing, f.missing == 1 ? "" : "s", f.wrong_size);
    return 0;
}

int gtee_node_run(const struct gtee_node_run_opts *o, struct gtee_err *err)
{
    struct gtee_node_config cfg;
    struct gtee_node_store *store = NULL;
    struct gtee_node_blobs blobs = { .blobs_fd = -1, .uploads_fd = -1 };
    struct gtee_node_enclave enc;
    struct gtee_node_api *api = NULL;
    struct gtee_node_launch *launch = NULL;
    struct sigaction sa, old_term, old_int;
    uint8_t priv[GTEE_SECP256K1_PRIV_LEN], pub[GTEE_SECP256K1_PUB_LEN], addr[GTEE_ETH_ADDR_LEN];
    char path[GTEE_FILE_PATH_MAX], host[GTEE_NET_HOST_MAX], url_line[160];
    struct gtee_node_jobs jobs;
    struct gtee_node_ledger ledger;
    int jobs_started = 0, ledger_started = 0;
    char url[128];
    int dir_fd = -1, listen_fd = -1, rc, enclave_started = 0, signals_set = 0, failed, left;
    uint16_t port = 0;
    time_t retained_at = 0;

    memset(&enc, 0, sizeof(enc));
    TRY(gtee_node_config_load(o->dir, &cfg, err));
    if (o->listen) {
        ENSURE(strlen(o->listen) < sizeof(cfg.listen), err, GTEE_EINVAL, "--listen: too long");
        strcpy(cfg.listen, o->listen);
    }
    dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(dir_fd >= 0, err, GTEE_EIO, "data directory %s: %s", o->dir, strerror(errno));
    ENSURE(flock(dir_fd, LOCK_EX | LOCK_NB) == 0, err, GTEE_ESTATE,
           "data directory %s is in use by another running node", o->dir);
    snprintf(path, sizeof(path), "%s/%s", o->dir, GTEE_NODE_OPERATOR_KEY);
    TRY(gtee_node_opkey_read(path, priv, err));
    rc = gtee_secp256k1_public(priv, pub) == 0 && gtee_eth_address(pub, addr) == 0 ? 0 : GTEE_ECRYPTO;
    ENSURE(rc == 0, err, GTEE_ECRYPTO, "operator key %s: cannot derive its address", path);
    TRY(gtee_node_store_open(o->dir, 0, &store, err));
    failed = gtee_node_store_jobs_fail_running(store, "the node stopped while the job ran; submit it again", err);
    TRY(failed < 0 ? failed : 0);
    if (failed > 0)
        gtee_node_store_event(store, "warn", "%d job%s left running by the last run reported failed", failed,
                              failed == 1 ? "" : "s");
    TRY(gtee_node_blobs_open(&blobs, o->dir, store, cfg.max_blob_bytes, err));
    blobs.quota = cfg.blob_store_max_bytes;
    TRY(check_blobs(store, &blobs, err));
    if (cfg.blob_retention_days)
        retain(store, &blobs, cfg.blob_retention_days);
    retained_at = time(NULL);

    /* The enclave and the node's check of its evidence, as `gtee node register` starts it. */
    launch = calloc(1, sizeof(*launch));
    ENSURE(launch, err, GTEE_ENOMEM, "node: out of memory");
    TRY(gtee_node_launch_prepare(o->dir, &cfg, o->enclave, launch, err));

    sig_got = 0;
    ENSURE(pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == 0, err, GTEE_EIO, "node: pipe: %s", strerror(errno));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    signals_set = 1;
    signal(SIGPIPE, SIG_IGN);

    if (!strcmp(cfg.tee, "sim"))
        gtee_node_store_event(store, "warn", "SIMULATED TEE: this node is NOT SECURE; for development and tests only");
    /* Listen first: a node that cannot serve fails before it starts an enclave. */
    TRY(gtee_net_listen(cfg.listen, 128, &listen_fd, &port, err));
    TRY(gtee_net_split(cfg.listen, 1, host, &(uint16_t){ 0 }, err));
    TRY(gtee_node_enclave_run(&enc, &launch->l, cfg.restart_max_s, &launch->check, store, err));
    enclave_started = 1;
    snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%u/" : "http://%s:%u/", host[0] ? host : "0.0.0.0",
             (unsigned)port);
    /* The ledger before the jobs, so that every job's proof has the counter started. */
    TRY(gtee_node_ledger_start(&ledger, o->dir, &cfg, priv, &launch->check, url, store, &enc, err));
    ledger_started = 1;
    gtee_wipe(priv, sizeof(priv));
    TRY(gtee_node_jobs_start(&jobs, store, &blobs, &enc, err));
    jobs_started = 1;
    pthread_mutex_lock(&jobs.mu);
    jobs.ledger = &ledger;
    pthread_mutex_unlock(&jobs.mu);
    api = calloc(1, sizeof(*api));
    ENSURE(api, err, GTEE_ENOMEM, "node: out of memory");
    api->config = &cfg;
    api->store = store;
    api->blobs = &blobs;
    api->enclave = &enc;
    api->jobs = &jobs;
    api->ledger = &ledger;
    gtee_eth_address_hex(addr, api->operator_addr);
    snprintf(api->url, sizeof(api->url), "%s", url);
    rc = gtee_node_api_start(api, listen_fd, err);
    listen_fd = -1; /* taken over, or closed on failure */
    TRY(rc);
    snprintf(url_line, sizeof(url_line), "%s\n", api->url);
    snprintf(path, sizeof(path), "%s/%s", o->dir, GTEE_NODE_URL_FILE);
    TRY(gtee_file_write(path, url_line, strlen(url_line), 0644, GTEE_FILE_REPLACE, err));
    gtee_node_store_event(store, "info", "listening on %s (operator %s)%s", api->url, api->operator_addr,
                          enc.simulated ? "; SIMULATED TEE" : "");
    printf("gtee node: listening on %s%s\n", api->url, enc.simulated ? " (SIMULATED TEE: not secure)" : "");
    fflush(stdout);

    while (!sig_got) {
        struct pollfd p = { .fd = sig_pipe[0], .events = POLLIN };

        (void)poll(&p, 1, 1000);
        if (cfg.blob_retention_days && time(NULL) - retained_at >= RETAIN_EVERY_S) {
            retain(store, &blobs, cfg.blob_retention_days);
            retained_at = time(NULL);
        }
    }
    gtee_node_store_event(store, "info", "%s: stopping; draining requests for up to %u s",
                          sig_got == SIGINT ? "SIGINT" : "SIGTERM", cfg.drain_timeout_s);
    left = gtee_node_api_stop(api, (int)cfg.drain_timeout_s * 1000);
    if (left > 0)
        gtee_node_store_event(store, "warn", "%d request%s still in flight at the drain limit: cut off", left,
                              left == 1 ? "" : "s");
    /* The job that runs gets the same time to finish; queued ones wait for the next run. */
    if (gtee_node_jobs_stop(&jobs, (int)cfg.drain_timeout_s * 1000))
        gtee_node_store_event(store, "warn", "the running job did not finish in the drain time: the enclave was "
                                             "stopped under it and the job reported failed");
    jobs_started = 0;
    gtee_node_ledger_stop(&ledger);
    ledger_started = 0;
    (void)unlink(path);
    rc = 0;
out:
    gtee_wipe(priv, sizeof(priv));
    if (api && api->mhd)
        (void)gtee_node_api_stop(api, 0);
    if (jobs_started)
        (void)gtee_node_jobs_stop(&jobs, 0);
    if (ledger_started)
        gtee_node_ledger_stop(&ledger);
    if (enclave_started)
        gtee_node_enclave_shutdown(&enc);
    if (store && rc == 0)
        gtee_node_store_event(store, "info", "stopped");
    free(api);
    free(launch);
    if (listen_fd >= 0)
        close(listen_fd);
    gtee_node_blobs_close(&blobs);
    gtee_node_store_close(store);
    if (signals_set) {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (sig_pipe[i] >= 0) {
            close(sig_pipe[i]);
            sig_pipe[i] = -1;
        }
    if (dir_fd >= 0)
        close(dir_fd);
    return rc;
}
