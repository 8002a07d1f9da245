/* The node's ledger (docs/node.md, "Ledger"): at each start of the enclave it hands the
 * enclave its proof counter and the ledger's standing (PROOF_START), registers the enclave
 * with the consent and fresh evidence it gives, or renews it, and again every half epoch; a
 * thread submits the proofs the store keeps, in order and in batches, retrying with backoff.
 * Internal to src/node/. */
#ifndef GTEE_NODE_LEDGER_H
#define GTEE_NODE_LEDGER_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "gtee/err.h"
#include "gtee/evidence.h"
#include "gtee/ledger.h"
#include "node/store.h"
#include "node/supervise.h"

struct gtee_node_config;

struct gtee_node_ledger {
    struct gtee_ledger *l;
    struct gtee_node_store *store;
    struct gtee_node_enclave *enc;
    unsigned batch;
    unsigned batch_wait; /* seconds a proof may wait for a full batch (proof_batch_wait) */
    uint8_t stake[32];          /* node.conf's stake: wei sent with a new registration */
    char kind[8];
    char evidence_url[256], node_url[256];
    /* how registrations' evidence is read: the node's own check's settings */
    struct gtee_policy policy;
    struct gtee_anchors anchors;
    uint8_t *sim_root;
    size_t sim_root_len;
    char collateral[1024];
    pthread_t thread;
    int opened, started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    /* under mu: what status shows */
    unsigned attached_no;       /* the start of the enclave whose counter was started */
    int proofs_ok;              /* that start's counter passed: the enclave signs */
    char refusal[GTEE_ERR_MSG_MAX];
    int enrolled;               /* this start's registration or renewal went through */
    int renewed;                /* and it was a renewal */
    int64_t registered_at;      /* last registration or renewal */
    uint64_t epoch;
    uint8_t enclave_id[20];
    int have_id;
    struct gtee_ledger_standing standing;
    uint64_t refused;           /* jobs whose proof the enclave would not sign */
    char last_error[GTEE_ERR_MSG_MAX];
};

/* Opens the ledger the config names (local: DIR/ledger.db with the operator key) and starts
 * the thread. check: the node's evidence check settings; url: the node's. */
int gtee_node_ledger_start(struct gtee_node_ledger *nl, const char *dir, const struct gtee_node_config *cfg,
                           const uint8_t operator_key[32], const struct gtee_node_check *check, const char *url,
                           struct gtee_node_store *store, struct gtee_node_enclave *enc,
                           struct gtee_err *err) GTEE_MUST_USE;
/* The same without the thread (`gtee node register`): the ledger opened, nothing running. */
int gtee_node_ledger_open(struct gtee_node_ledger *nl, const char *dir, const struct gtee_node_config *cfg,
                          const uint8_t operator_key[32], const struct gtee_node_check *check, const char *url,
                          struct gtee_node_store *store, struct gtee_node_enclave *enc,
                          struct gtee_err *err) GTEE_MUST_USE;
/* Stops the thread if started, closes the ledger if opened. */
void gtee_node_ledger_stop(struct gtee_node_ledger *nl);

/* What one registration or renewal did (`gtee node register`). */
struct gtee_node_enrollment {
    uint8_t enclave_id[20];
    int signing;                /* the enclave's proof counter was accepted: it signs proofs */
    int enrolled, renewed;
    uint64_t epoch;             /* seconds a registration lasts */
    int64_t registered_at;      /* unix seconds */
    struct gtee_ledger_standing standing; /* read back after it */
};
/* What the thread does at each start of the enclave, now, on the caller's thread, on a ledger
 * opened without the thread: PROOF_START with the sealed counter and the ledger's standing,
 * then the registration (or renewal) with the enclave's fresh evidence and consent. A ledger
 * that refuses it: its error (GTEE_EPOLICY with the reason); one away: GTEE_EIO. */
int gtee_node_ledger_enroll_now(struct gtee_node_ledger *nl, struct gtee_node_enrollment *out,
                                struct gtee_err *err) GTEE_MUST_USE;
/* Waits up to ms for the enclave's start start_no to have its counter started (or refused). */
void gtee_node_ledger_wait(struct gtee_node_ledger *nl, unsigned start_no, int ms);
/* A job's proof refused by the enclave: counted and logged as an error. */
void gtee_node_ledger_refused(struct gtee_node_ledger *nl, const char *job_id, const char *why);
/* Wakes the submitter (a proof was stored). */
void gtee_node_ledger_wake(struct gtee_node_ledger *nl);
/* {"kind","enclave":{status,active,last_seq},"proofs":{pending,submitted,refused},...}. */
json_t *gtee_node_ledger_status(struct gtee_node_ledger *nl);

#endif
