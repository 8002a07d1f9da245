/* The providers' side of a node's enclave (docs/cli.md, "gtee grant"): attest it over the
 * node's evidence route with the client's own anchors, collateral and policy, and exchange
 * relay boxes with the enclave it attested. Internal to src/cli/ (the host's gtee only). */
#ifndef GTEE_CLI_NODE_CLIENT_H
#define GTEE_CLI_NODE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gtee/err.h"
#include "gtee/jobs.h"
#include "gtee/msg.h"

/* What the client accepts: files, as `gtee evidence verify` and `gtee attest` take them. */
struct cli_attest_opts {
    const char *policy;       /* NULL: the strict default */
    const char *collateral;   /* NULL: none (every kind but sim needs it) */
    const char *sim_root;     /* NULL: no simulated root trusted */
};

/* The enclave a client attested: the keys its verified evidence commits to. */
struct cli_enclave {
    char url[1024];
    uint8_t channel_pub[GTEE_RELAY_PUB_LEN];
    uint8_t enclave_pub[65];
    char enclave_id[43];      /* 0x and 40 hex digits */
    char tee[16];
    int simulated;
    /* what the verified evidence claims, for a registration to be checked against */
    uint8_t enclave_addr[20];
    uint8_t tee_kind;         /* include/gtee/tee_kind.h: sim for simulated evidence */
    uint8_t measurement[32];  /* gtee_ledger_measurement_of */
    uint32_t tcb;             /* the evidence's TCB figure (claims.tcb_number, docs/chain.md) */
    /* when the evidence is rejected: the verdict's first reason's stable code */
    char reject_code[48];
};

/* Asks the node for the enclave's evidence over a fresh nonce and verifies it, bound to the
 * enclave and channel keys the node reports and to the nonce. GTEE_EPOLICY (exit 7) with
 * the verifier's first reason unless it is accepted. */
int cli_node_attest(const char *url, const struct cli_attest_opts *o, struct cli_enclave *e,
                    struct gtee_err *err) GTEE_MUST_USE;
/* The same from an evidence URL (a registration's: GET URL?nonce=..), within timeout_s, its
 * answer at most 8 MiB; with expect_id, the evidence must bind that Enclave ID (the
 * verdict's binding check). e->url is left empty. */
int cli_attest_evidence_url(const char *evidence_url, const struct cli_attest_opts *o, long timeout_s,
                            const uint8_t *expect_id, struct cli_enclave *e, struct gtee_err *err) GTEE_MUST_USE;
/* One relay request to the attested enclave: *out is the opened answer (malloc'd; it may be
 * a secret: wipe it). The enclave's refusal is GTEE_EPOLICY with its reason. */
int cli_node_relay(const struct cli_enclave *e, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len,
                   struct gtee_err *err) GTEE_MUST_USE;
/* GET a node's path (a job's record, a blob) into bytes (*out malloc'd). A 400 is the
 * enclave's refusal of the job: GTEE_EPOLICY with its reason; anything else but 200 is
 * GTEE_EIO with the node's message. */
int cli_node_get(const char *url, const char *path, uint8_t **out, size_t *len, struct gtee_err *err) GTEE_MUST_USE;

/* A job's record as gtee infer, train and job fetch show it: the JSON summary {"job",
 * "kind", "result", "recipient", "model", "input"|"features", "labels"?, "macs", "samples",
 * "epochs"?} (NULL when out of memory), and the text lines of its epochs and work. */
json_t *cli_job_summary(const char *id, const struct gtee_job_record *rec, const char *result);
void cli_job_print(const struct gtee_job_record *rec);

#endif
