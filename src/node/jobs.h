/* The node's job queue (docs/node-api.md, "Jobs"): jobs submitted to POST /api/v1/jobs run
 * one at a time per enclave on a thread of their own, in the order they came. Internal to
 * src/node/. */
#ifndef GTEE_NODE_JOBS_H
#define GTEE_NODE_JOBS_H

#include <pthread.h>
#include <stdatomic.h>

#include "gtee/err.h"
#include "node/blobs.h"
#include "node/store.h"
#include "node/supervise.h"

/* The enclave blob slots a job's blobs go into, by convention: the requester's job box
 * names these. */
#define GTEE_NODE_SLOT_MODEL 0
#define GTEE_NODE_SLOT_INPUT 1   /* infer: the input; train: the features */
#define GTEE_NODE_SLOT_LABELS 2

struct gtee_node_jobs {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, wake, busy;
    int cut;                  /* the drain ran out: the running job is being cut */
    atomic_ullong runs;       /* job boxes relayed to the enclave (gtee_node_jobs_run_total) */
    struct gtee_node_store *store;
    struct gtee_node_blobs *blobs;
    struct gtee_node_enclave *enclave;
    struct gtee_node_ledger *ledger; /* set under mu once the ledger runs: jobs' Work Proofs */
};

/* Starts the queue's thread; jobs a previous run left queued run first. */
int gtee_node_jobs_start(struct gtee_node_jobs *j, struct gtee_node_store *store, struct gtee_node_blobs *blobs,
                         struct gtee_node_enclave *enclave, struct gtee_err *err) GTEE_MUST_USE;
/* A job was queued. */
void gtee_node_jobs_wake(struct gtee_node_jobs *j);
/* Takes no further job, waits up to drain_ms for the running one, then kills the enclave
 * under it (it is then reported failed); queued jobs stay queued for the next run. Returns
 * 1 if a job was cut off. */
int gtee_node_jobs_stop(struct gtee_node_jobs *j, int drain_ms);

#endif
