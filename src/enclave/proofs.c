/* The enclave's Work Proofs (docs/proofs.md "The node's proofs"): PROOF_START checks the
 * proof counter against the ledger's standing and gives the host fresh evidence and the
 * enclave's consent to register; each completed job's proof waits under its result id and is
 * signed with the next sequence number when the host takes it, the counter then sealed for
 * the host to keep and hand back at the next start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "enclave/proofs.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

#define PENDING 4              /* as many as the enclave's result slots */
#define START_FIXED 120        /* chain id 8, contract 20, operator 20, nonce 32, seq 8, hash 32 */
#define SEALED_LEN (GTEE_PROOF_COUNTER_LEN + 8 + GTEE_PROOF_ID_LEN) /* the counter, then its domain */

struct pending {
    int used;
    uint64_t age;
    struct enc_proof_job job;
};

struct enc_proofs {
    int ready;                 /* the counter passed a START: proofs may be signed */
    char why[GTEE_ERR_MSG_MAX];  /* why not, for the host's log */
    struct gtee_proof_domain domain;
    uint8_t evidence_hash[32];
    uint8_t gpu_evidence_hash[32]; /* of the GPU reports in the registered bundle (zero: none) */
    struct gtee_proof_counter ctr;
    struct pending pending[PENDING];
    uint64_t age;
};

int enc_proofs_new(struct enc_proofs **out, struct gtee_err *err)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    snprintf((*out)->why, sizeof((*out)->why), "the host has not started the proof counter (PROOF_START)");
    return 0;
}

void enc_proofs_free(struct enc_proofs *p)
{
    free(p);
}

static int sign(void *app, const uint8_t digest[32], uint8_t sig[65], struct gtee_err *err)
{
    return gtee_app_sign(app, digest, sig, err);
}

/* The counter the host handed back: the record, sealed with the domain it counts in. */
static int unseal_counter(struct gtee_app *app, const struct gtee_app_identity *id, const uint8_t *blob, size_t len,
                          struct gtee_proof_counter *c, struct gtee_proof_domain *d, struct gtee_err *err)
{
    uint8_t *pt = NULL;
    size_t n = 0;
    struct span s;
    int rc;

    TRY(gtee_app_unseal(app, blob, len, &pt, &n, err));
    ENSURE(n == SEALED_LEN, err, GTEE_EFORMAT, "enclave: the sealed proof counter is %zu bytes, not %d", n,
           SEALED_LEN);
    TRY(gtee_proof_counter_decode(pt, GTEE_PROOF_COUNTER_LEN, c, err));
    s = span_init(pt + GTEE_PROOF_COUNTER_LEN, n - GTEE_PROOF_COUNTER_LEN);
    d->chain_id = span_u64be(&s);
    memcpy(d->contract, span_take(&s, GTEE_PROOF_ID_LEN), GTEE_PROOF_ID_LEN);
    ENSURE(!memcmp(c->enclave_id, id->enclave_id, GTEE_PROOF_ID_LEN), err, GTEE_ESTATE,
           "enclave: the sealed proof counter is another enclave's");
out:
    gtee_app_free_secret(pt, n);
    return rc;
}

/* The rule of gtee_ledger_check_sealed, against the standing the host names: the counter may
 * be ahead of the ledger (proofs signed, not yet accepted), never behind it, nor at its seq
 * with another proof. */
static int check_standing(const struct gtee_proof_counter *c, uint64_t last_seq, const uint8_t last_hash[32],
                          struct gtee_err *err)
{
    if (c->seq < last_seq)
        return GTEE_FAIL(err, GTEE_ESTATE,
                         "enclave: the proof counter is at seq %llu, behind the ledger's last proof %llu: the host "
                         "restored old sealed state; no proof is signed",
                         (unsigned long long)c->seq, (unsigned long long)last_seq);
    if (c->seq == last_seq && memcmp(c->hash, last_hash, 32))
        return GTEE_FAIL(err, GTEE_ESTATE,
                         "enclave: the proof counter's proof seq %llu is not the ledger's proof with that seq: the "
                         "host restored other sealed state; no proof is signed",
                         (unsigned long long)c->seq);
    return 0;
}

int enc_proofs_start(struct enc_proofs *p, struct gtee_app *app, const uint8_t *in, size_t len, uint8_t **out,
                     size_t *out_len, struct gtee_err *err)
{
    struct gtee_app_identity id;
    struct gtee_proof_domain d = { 0 }, sd;
    struct gtee_proof_counter c = { 0 };
    uint8_t op[GTEE_PROOF_ID_LEN], nonce[32], last_hash[32], rd[64], h[32], sig[65], eh[32], *ev = NULL;
    size_t ev_len = 0;
    uint64_t last_seq;
    struct span s = span_init(in, len);
    int rc;

    *out = NULL;
    *out_len = 0;
    ENSURE(len >= START_FIXED, err, GTEE_EFORMAT, "enclave: PROOF_START payload is %zu bytes, under %d", len,
           START_FIXED);
    d.chain_id = span_u64be(&s);
    memcpy(d.contract, span_take(&s, 20), 20);
    memcpy(op, span_take(&s, 20), 20);
    memcpy(nonce, span_take(&s, 32), 32);
    last_seq = span_u64be(&s);
    memcpy(last_hash, span_take(&s, 32), 32);
    ENSURE(d.chain_id >= 1, err, GTEE_EFORMAT, "enclave: PROOF_START: chain id 0 (payload offset 0)");
    gtee_app_identity(app, &id);
    if (p->ready) {
        /* Started already (a renewal): the counter in memory is the truth, the host's copy is
         * not read, and the domain may not change under it. */
        ENSURE(d.chain_id == p->domain.chain_id && !memcmp(d.contract, p->domain.contract, 20), err, GTEE_ESTATE,
               "enclave: PROOF_START names another chain or contract than this run's proofs count in");
        c = p->ctr;
    } else if (s.len) {
        TRY(unseal_counter(app, &id, s.p, s.len, &c, &sd, err));
        /* The counter and its hash chain are per domain: one of another ledger does not count
         * here, and a counter cannot be carried to one where its proofs are unknown. */
        ENSURE(sd.chain_id == d.chain_id && !memcmp(sd.contract, d.contract, 20), err, GTEE_ESTATE,
               "enclave: the sealed proof counter counts proofs for chain %llu and another contract, not the "
               "ledger the host names (chain %llu)",
               (unsigned long long)sd.chain_id, (unsigned long long)d.chain_id);
    } else {
        memcpy(c.enclave_id, id.enclave_id, 20); /* none handed back: proof 0 */
    }
    rc = check_standing(&c, last_seq, last_hash, err);
    if (rc < 0) {
        p->ready = 0; /* the host says the ledger is past this counter: sign nothing more */
        goto out;
    }
    TRY(gtee_app_evidence(app, nonce, rd, &ev, &ev_len, err));
    gtee_keccak256(ev, ev_len, eh);
    gtee_proof_consent_hash(&d, id.enclave_id, op, eh, h);
    TRY(gtee_app_sign(app, h, sig, err));
    sig[64] = (uint8_t)(27 + sig[64]);
    *out = malloc(64 + 65 + 32 + ev_len);
    ENSURE(*out, err, GTEE_ENOMEM, "enclave: out of memory");
    memcpy(*out, rd, 64);
    memcpy(*out + 64, sig, 65);
    memcpy(*out + 129, eh, 32);
    memcpy(*out + 161, ev, ev_len);
    *out_len = 161 + ev_len;
    p->domain = d;
    p->ctr = c;
    memcpy(p->evidence_hash, eh, 32);
    TRY(gtee_app_gpu_evidence_hash(ev, ev_len, p->gpu_evidence_hash, err));
    p->ready = 1;
out:
    if (rc < 0 && !p->ready)
        snprintf(p->why, sizeof(p->why), "%s", err->msg);
    free(ev);
    return rc;
}

int enc_proofs_domain(const struct enc_proofs *p, struct gtee_proof_domain *d, struct gtee_err *err)
{
    if (!p->ready)
        return GTEE_FAIL(err, GTEE_ESTATE, "enclave: no receipt is signed: %s", p->why);
    *d = p->domain;
    return 0;
}

void enc_proofs_job_done(struct enc_proofs *p, const struct enc_proof_job *j)
{
    unsigned at = 0;

    /* a free entry, or the oldest (a proof its host never took) makes room */
    for (unsigned i = 0; i < PENDING; i++) {
        if (!p->pending[i].used) {
            at = i;
            break;
        }
        if (p->pending[i].age < p->pending[at].age)
            at = i;
    }
    p->pending[at].used = 1;
    p->pending[at].age = ++p->age;
    p->pending[at].job = *j;
}

static int refused(const char *why, uint8_t **out, size_t *out_len, struct gtee_err *err)
{
    size_t n = strlen(why);

    *out = malloc(1 + n);
    if (!*out)
        return GTEE_FAIL(err, GTEE_ENOMEM, "enclave: out of memory");
    (*out)[0] = 0;
    memcpy(*out + 1, why, n);
    *out_len = 1 + n;
    return 0;
}

int enc_proofs_take(struct enc_proofs *p, struct gtee_app *app, const uint8_t *in, size_t len, uint8_t **out,
                    size_t *out_len, struct gtee_err *err)
{
    struct gtee_proof q = { 0 };
    struct gtee_proof_counter c;
    struct gtee_app_identity id;
    const struct enc_proof_job *j;
    uint8_t rec[SEALED_LEN], *blob = NULL;
    size_t blob_len = 0, jlen;
    char *json = NULL;
    struct pending *pe = NULL;
    int rc;

    *out = NULL;
    *out_len = 0;
    ENSURE(len == 32, err, GTEE_EFORMAT, "enclave: PROOF_TAKE payload is %zu bytes, not a 32-byte result id", len);
    for (unsigned i = 0; i < PENDING; i++)
        if (p->pending[i].used && !memcmp(p->pending[i].job.output, in, 32))
            pe = &p->pending[i];
    ENSURE(pe, err, GTEE_ENOTFOUND, "enclave: PROOF_TAKE: no job's proof waits under that result id");
    j = &pe->job;
    if (!p->ready) {
        TRY(refused(p->why, out, out_len, err));
        pe->used = 0;
        goto out;
    }
    gtee_app_identity(app, &id);
    q.domain = p->domain;
    memcpy(q.enclave_id, id.enclave_id, 20);
    memcpy(q.job_id, j->job_id, 32);
    q.job_kind = j->kind == 2 ? GTEE_JOB_TRAINING : GTEE_JOB_INFERENCE;
    memcpy(q.model_cid, j->model, 32);
    memcpy(q.input_cid, j->input, 32);
    memcpy(q.output_cid, j->output, 32);
    q.units = j->units;
    memcpy(q.receipt_hash, j->receipt, 32);
    q.start_time = j->start;
    q.end_time = j->end;
    q.seq = p->ctr.seq + 1;
    memcpy(q.prev_hash, p->ctr.hash, 32);
    memcpy(q.evidence_hash, p->evidence_hash, 32);
    memcpy(q.gpu_evidence_hash, p->gpu_evidence_hash, 32);
    TRY(gtee_proof_sign(&q, sign, app, err));
    /* The counter moves with the signature, so no two proofs ever share a seq in one run; a
     * host that loses this one restarts the enclave, which counts on from its sealed copy. */
    c = p->ctr;
    c.seq = q.seq;
    gtee_proof_hash(&q, c.hash);
    gtee_proof_counter_encode(&c, rec);
    for (int i = 0; i < 8; i++)
        rec[GTEE_PROOF_COUNTER_LEN + i] = (uint8_t)(q.domain.chain_id >> (56 - 8 * i));
    memcpy(rec + GTEE_PROOF_COUNTER_LEN + 8, q.domain.contract, 20);
    TRY(gtee_app_seal(app, rec, sizeof(rec), &blob, &blob_len, err));
    TRY(gtee_proof_encode(&q, &json, err));
    jlen = strlen(json);
    *out = malloc(5 + jlen + blob_len);
    ENSURE(*out, err, GTEE_ENOMEM, "enclave: out of memory");
    (*out)[0] = 1;
    put_u32be(*out + 1, (uint32_t)jlen);
    memcpy(*out + 5, json, jlen);
    memcpy(*out + 5 + jlen, blob, blob_len);
    *out_len = 5 + jlen + blob_len;
    p->ctr = c;
    pe->used = 0;
out:
    free(json);
    free(blob);
    return rc;
}
