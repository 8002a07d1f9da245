/* The node's HTTP API and status page on libmicrohttpd (docs/node-api.md): routes,
 * request bodies, responses, metrics and the drain on shutdown. Internal to src/node/. */
#ifndef GTEE_NODE_API_H
#define GTEE_NODE_API_H

#include <stdatomic.h>
#include <stdint.h>

#include "gtee/err.h"
#include "node/blobs.h"
#include "node/config.h"
#include "node/jobs.h"
#include "node/store.h"
#include "node/supervise.h"

struct MHD_Daemon;

struct gtee_node_metrics {
    atomic_ullong requests, responses_2xx, responses_4xx, responses_5xx;
    atomic_ullong upload_bytes, download_bytes, relay_requests, evidence_requests;
    atomic_ullong blobs_stored, uploads_failed;
};

struct gtee_node_api {
    struct MHD_Daemon *mhd;
    const struct gtee_node_config *config;
    struct gtee_node_store *store;
    struct gtee_node_blobs *blobs;
    struct gtee_node_enclave *enclave;
    struct gtee_node_jobs *jobs;
    struct gtee_node_ledger *ledger;   /* NULL: none (tests) */
    struct gtee_node_watch *watch;     /* long polls on jobs (watch.c) */
    char operator_addr[64];
    char url[128];
    int64_t started_at;
    atomic_int in_flight;      /* requests being handled (drain waits for 0) */
    atomic_int enclave_users;  /* requests waiting on the enclave (bounded: threads - 1) */
    struct gtee_node_metrics m;
};

/* Starts serving on the bound, listening socket fd (taken over). */
int gtee_node_api_start(struct gtee_node_api *a, int listen_fd, struct gtee_err *err) GTEE_MUST_USE;
/* Stops accepting, waits up to drain_ms for requests in flight, then stops. Returns how many
 * were still in flight when the wait ended. */
int gtee_node_api_stop(struct gtee_node_api *a, int drain_ms);

/* The status page (page.c): one HTML document with its script, no data in it. */
extern const char gtee_node_page_html[];

#endif
