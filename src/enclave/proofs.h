/* The enclave's Work Proofs (docs/proofs.md "The node's proofs"): the counter checked at start
 * against the ledger's standing the host hands in, one proof signed per completed job, the
 * counter sealed after each for the host to keep. Internal to the enclave application. */
#ifndef GTEE_ENCLAVE_PROOFS_H
#define GTEE_ENCLAVE_PROOFS_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/proof.h"
#include "gtee/sdk.h"

struct enc_proofs;

/* What a completed job puts in its proof (the enclave's own view of it). */
struct enc_proof_job {
    uint8_t job_id[32];          /* SHA-256 of the relay box: the node's job id */
    uint8_t kind;                /* 1 inference, 2 training */
    uint8_t model[32], input[32], output[32];
    uint64_t units;              /* multiply-accumulates (docs/ml.md) */
    uint8_t receipt[32];         /* training: SHA-256 of the job record; zero otherwise */
    uint64_t start, end;         /* unix seconds */
};

int enc_proofs_new(struct enc_proofs **out, struct gtee_err *err) GTEE_MUST_USE;
void enc_proofs_free(struct enc_proofs *p);

/* GTEE_MSG_PROOF_START (gtee/msg.h): checks the sealed counter (or, once started, the one in
 * memory) against the ledger's standing the host names, then makes fresh evidence over the
 * host's nonce and signs the consent to the operator. *out: report data, consent signature,
 * evidence hash, evidence. A counter behind the standing is GTEE_ESTATE, and the enclave
 * signs no proof until a later START passes. */
int enc_proofs_start(struct enc_proofs *p, struct gtee_app *app, const uint8_t *in, size_t len, uint8_t **out,
                     size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;
/* The domain this run's proofs count in, once a PROOF_START passed; GTEE_ESTATE naming why
 * not otherwise (key-release receipts are signed under it: releases.c). */
int enc_proofs_domain(const struct enc_proofs *p, struct gtee_proof_domain *d, struct gtee_err *err) GTEE_MUST_USE;
/* A job completed: its proof waits, unsigned, under its output's id for the host's TAKE. */
void enc_proofs_job_done(struct enc_proofs *p, const struct enc_proof_job *j);
/* GTEE_MSG_PROOF_TAKE: the proof of the job whose result id is given, signed now with the
 * next sequence number, and the counter sealed; or why it is not signed. */
int enc_proofs_take(struct enc_proofs *p, struct gtee_app *app, const uint8_t *in, size_t len, uint8_t **out,
                    size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;

#endif
