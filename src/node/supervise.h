/* The enclave under the node's supervision: started through the host launcher
 * (gtee/enclave.h), watched, restarted with a doubling backoff when it dies, every event
 * logged to the state store; requests to it overlap (the mux of gtee/enclave.h). Internal
 * to src/node/. */
#ifndef GTEE_NODE_SUPERVISE_H
#define GTEE_NODE_SUPERVISE_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "gtee/enclave.h"
#include "node/store.h"

struct gtee_node_enclave {
    /* Two locks, taken in this order: call_mu serialises the supervisor's use of proc (a
     * start, with its first requests one at a time; a stop); mu guards the state below for
     * moments only, so status, health and metrics never wait on the enclave. Requests do
     * not take call_mu: while the enclave runs they go through mux, whose reader thread
     * matches answers to request ids, so they overlap (a job's long request does not hold
     * back evidence, grants or reads; docs/node-api.md). users counts the requests inside
     * mux; a stop waits (idle) until none is, after failing the waiting ones at once. */
    pthread_mutex_t call_mu;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t idle;
    struct gtee_enclave_mux *mux;
    unsigned users;
    unsigned ends;            /* ends recorded (ended()), for a request that saw the stream end */
    int wake;                 /* the supervisor is to look now, not at its next poll */
    pthread_t thread;
    int thread_started;
    struct gtee_enclave_launch launch;
    struct gtee_enclave_proc proc;
    struct gtee_enclave_info info;
    int running;              /* proc is live and info was checked */
    int pid;                  /* its process id, for the status */
    int stop;
    int simulated;            /* the backend is sim (known before the first start) */
    unsigned restarts;        /* starts after the first */
    unsigned starts;
    int64_t started_at;       /* unix time of the current start */
    unsigned backoff_s, backoff_max_s;
    char last_exit[128];      /* how the last one ended ("" if none did) */
    char last_error[GTEE_ERR_MSG_MAX]; /* why the last start failed ("" if none did) */
    struct gtee_node_store *store;
    /* The node's own check of each start's evidence (selfcheck.c), what the status shows. */
    char collateral[1024];    /* "": none (kinds that need none) */
    char sim_root[1024];      /* sim only: the simulated root the check accepts */
    char policy[1024];        /* "": the strict default (with simulation allowed under sim) */
    char verdict[32];         /* accepted, rejected, not checked */
    char verdict_detail[512];
    int64_t verdict_at;
};

/* Fetches evidence over a fresh nonce from the enclave just started and verifies it as a
 * client would: against collateral, the anchors (the pinned vendor roots; under sim the
 * device's simulated root) and the policy, and bound to the enclave's keys and the nonce.
 * Records the verdict in e (e->call_mu held). Informational: clients verify for themselves. */
void gtee_node_selfcheck(struct gtee_node_enclave *e);
/* The collateral directory for evidence ev under the node's `collateral` dir: a simulated
 * device's directory holds sgx/ and tdx/, and the quote's version picks one (3: SGX, 4: TDX;
 * a bundle's CVM part decides); any other directory is itself. */
void gtee_node_collateral_dir(const char *dir, const uint8_t *ev, size_t len, char *out, size_t n);

/* What the node's own evidence check uses (selfcheck.c); NULL or "": none / the default. */
struct gtee_node_check {
    const char *collateral, *sim_root, *policy;
};

/* Starts the supervisor thread; it starts the enclave, checks its evidence, and keeps it
 * running. */
int gtee_node_enclave_run(struct gtee_node_enclave *e, const struct gtee_enclave_launch *l, unsigned backoff_max_s,
                          const struct gtee_node_check *check, struct gtee_node_store *store,
                          struct gtee_err *err) GTEE_MUST_USE;
/* Stops the thread, then the enclave. */
void gtee_node_enclave_shutdown(struct gtee_node_enclave *e);
/* Waits up to ms for the enclave to be running: 1 if it is. */
int gtee_node_enclave_wait(struct gtee_node_enclave *e, int ms);
/* One request to the enclave; GTEE_ESTATE while it is not running. The identity of the
 * enclave that answered is copied to info when non-NULL. */
int gtee_node_enclave_call(struct gtee_node_enclave *e, uint16_t type, const void *payload, size_t len,
                           uint8_t **reply, size_t *reply_len, struct gtee_enclave_info *info,
                           struct gtee_err *err) GTEE_MUST_USE;
/* Which start of the enclave is running (its count of starts), 0 while none is (also when
 * it died and the supervisor has not yet noticed); its channel key into channel_pub when
 * non-NULL. */
unsigned gtee_node_enclave_start_no(struct gtee_node_enclave *e, uint8_t channel_pub[GTEE_CHANNEL_PUB_LEN]);
/* One request of a job that spans several (its blobs, then its box): refused with
 * GTEE_ESTATE unless the enclave is still the start start_no, whose slots hold the job's
 * blobs. Progress reports go to on_progress (NULL: none) during this request only. */
int gtee_node_enclave_call_in(struct gtee_node_enclave *e, unsigned start_no, uint16_t type, const void *payload,
                              size_t len, uint8_t **reply, size_t *reply_len,
                              void (*on_progress)(void *arg, const struct gtee_enclave_progress *pr), void *arg,
                              struct gtee_err *err) GTEE_MUST_USE;
/* Requests of one type in the same start, their payloads given in order by next (1: one
 * in *payload, *len, read before next is called again; 0: no more; < 0: its error, err
 * set), with up to window of them in flight: for a container's pieces, which the enclave
 * takes in the order it reads them, so that the node reads and sends a piece while the
 * enclave opens the one before. Answers are dropped; the first failure (next's, or an
 * answer's) ends the run and is the result, once every request sent has its answer. */
int gtee_node_enclave_stream_in(struct gtee_node_enclave *e, unsigned start_no, uint16_t type,
                                int (*next)(void *arg, const void **payload, size_t *len, struct gtee_err *err),
                                void *arg, unsigned window, struct gtee_err *err) GTEE_MUST_USE;
/* Kills the running enclave (SIGKILL): the end of a drain that ran out of time. The
 * supervisor reports it and the job in flight fails. */
void gtee_node_enclave_kill(struct gtee_node_enclave *e);
/* The enclave's identity and state, nothing secret: {"state":...,"tee":...,...}. */
json_t *gtee_node_enclave_status(struct gtee_node_enclave *e);
/* The last evidence check: {"verdict","detail","simulated","checked"}. */
json_t *gtee_node_enclave_verdict(struct gtee_node_enclave *e);

#endif
