/* Work Proofs (docs/proofs.md): the EIP-712 typed record of one job that an enclave signs
 * with its Enclave key, its JSON file format, its hash, signing and offline verification
 * (signature, signer == Enclave ID, the per-enclave hash chain). */
#ifndef GTEE_PROOF_H
#define GTEE_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_PROOF_HASH_LEN 32
#define GTEE_PROOF_ID_LEN 20   /* an Enclave ID, a contract: Ethereum addresses */
#define GTEE_PROOF_SIG_LEN 65  /* r || s || v; v is 27 or 28, as Ethereum's ecrecover takes it */
/* The largest proof file `gtee proof verify` and gtee_proof_parse accept, and its proofs. */
#define GTEE_PROOF_FILE_MAX (16u << 20)
#define GTEE_PROOF_MAX_PROOFS 65536u

/* What the job was (docs/proofs.md "Job kinds"); the EIP-712 field is a uint8. (Its tag is not
 * gtee/jobs.h's, so the enclave, which reads ML jobs and signs proofs, includes both.) */
enum gtee_proof_job_kind {
    GTEE_JOB_INFERENCE = 1,
    GTEE_JOB_TRAINING = 2,
    GTEE_JOB_APP = 3, /* any other SDK application's work */
};

/* The EIP-712 domain: the chain and the proofs contract the proof is meant for. */
struct gtee_proof_domain {
    uint64_t chain_id;
    uint8_t contract[GTEE_PROOF_ID_LEN];
};

/* One Work Proof. A hash field of all zeros means "none" (no training receipt, no GPU
 * evidence, no previous proof for sequence number 1). */
struct gtee_proof {
    struct gtee_proof_domain domain;
    uint8_t enclave_id[GTEE_PROOF_ID_LEN];
    uint8_t job_id[32];
    uint8_t job_kind;                   /* enum gtee_proof_job_kind */
    uint8_t model_cid[32];              /* content ids (docs/container.md §5) */
    uint8_t input_cid[32];
    uint8_t output_cid[32];
    uint64_t units;                     /* units of work (docs/proofs.md "Units of work") */
    uint8_t receipt_hash[32];           /* training: the training receipt's hash */
    uint64_t start_time, end_time;      /* unix seconds */
    uint64_t seq;                       /* per-enclave sequence number, from 1 */
    uint8_t prev_hash[GTEE_PROOF_HASH_LEN]; /* gtee_proof_hash of proof seq - 1 */
    uint8_t evidence_hash[32];          /* the evidence the enclave is registered under */
    uint8_t gpu_evidence_hash[32];
    uint8_t sig[GTEE_PROOF_SIG_LEN];
};

/* The EIP-712 digest (keccak256(0x19 0x01 || domainSeparator || hashStruct(proof))): what
 * the Enclave key signs, what the contract recovers the signer from, and the hash the next
 * proof's prev_hash names. The signature is not part of it. */
void gtee_proof_hash(const struct gtee_proof *p, uint8_t digest[GTEE_PROOF_HASH_LEN]);

/* The two other records an enclave signs for the contract (docs/chain.md), EIP-712 digests
 * under the same domain: its consent to be registered by an operator with some evidence,
 * Consent(address enclaveId,address operator,bytes32 evidenceHash), and a key-release
 * receipt, KeyRelease(address enclaveId,bytes32 blobCid,bytes32 grantId,uint64 time). The
 * enclave signs them through the SDK's slot (gtee_app_sign); v is then 27 + recovery id. */
void gtee_proof_consent_hash(const struct gtee_proof_domain *d, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                             const uint8_t operator_addr[GTEE_PROOF_ID_LEN], const uint8_t evidence_hash[32],
                             uint8_t digest[GTEE_PROOF_HASH_LEN]);
void gtee_proof_keyrelease_hash(const struct gtee_proof_domain *d, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                                const uint8_t blob_cid[32], const uint8_t grant_id[32], uint64_t time,
                                uint8_t digest[GTEE_PROOF_HASH_LEN]);

/* A signer over a 32-byte digest that returns r || s || recovery id (0 or 1), as
 * gtee_app_sign (include/gtee/sdk.h) does with the Enclave key inside the enclave. */
typedef int (*gtee_proof_sign_fn)(void *arg, const uint8_t digest[32], uint8_t sig[65], struct gtee_err *err);

/* Checks p's fields (gtee_proof_check), hashes it and fills p->sig through sign. */
int gtee_proof_sign(struct gtee_proof *p, gtee_proof_sign_fn sign, void *arg, struct gtee_err *err) GTEE_MUST_USE;
/* The same with a secp256k1 private key held by the caller (tests, tools). */
int gtee_proof_sign_key(struct gtee_proof *p, const uint8_t priv[32], struct gtee_err *err) GTEE_MUST_USE;

/* The rules of one proof alone: a known job kind, seq >= 1, prev_hash zero exactly when seq
 * is 1, end_time >= start_time. GTEE_EFORMAT naming the field. */
int gtee_proof_check(const struct gtee_proof *p, struct gtee_err *err) GTEE_MUST_USE;

/* gtee_proof_check, then the signature: low-s, v 27 or 28, and the recovered signer must be
 * p->enclave_id (GTEE_EAUTH otherwise). digest (may be NULL) receives gtee_proof_hash. */
int gtee_proof_verify(const struct gtee_proof *p, uint8_t digest[GTEE_PROOF_HASH_LEN],
                      struct gtee_err *err) GTEE_MUST_USE;

/* The hash chain over proofs already verified one by one, in any order, of one or more
 * enclaves and domains: per (domain, enclave), sorted by seq, each must be one past the one
 * before and name its hash as prev_hash. Two proofs with one seq are a replay when equal
 * and equivocation when not. hashes[i] is gtee_proof_hash(&p[i]). GTEE_EPOLICY naming the
 * enclave and the seq. The first proof of each enclave may start anywhere (its earlier
 * proofs are not given); its own prev_hash rule is gtee_proof_check's. */
int gtee_proof_chain_check(const struct gtee_proof *p, const uint8_t (*hashes)[GTEE_PROOF_HASH_LEN], size_t n,
                           struct gtee_err *err) GTEE_MUST_USE;

/* Parses a proof file (docs/proofs.md "File format"): one proof object or an array of up to
 * GTEE_PROOF_MAX_PROOFS of them. Every field is required, no other is allowed. *out is
 * malloc'ed (free it); GTEE_EFORMAT naming the proof's index and the field. Does not verify. */
int gtee_proof_parse(const void *buf, size_t len, struct gtee_proof **out, size_t *n,
                     struct gtee_err *err) GTEE_MUST_USE;

/* One proof as a JSON object in the file format, NUL-terminated and malloc'ed (free it). */
int gtee_proof_encode(const struct gtee_proof *p, char **json, struct gtee_err *err) GTEE_MUST_USE;

/* The enclave's proof counter (docs/proofs.md "Sequence numbers and the hash chain"): the
 * last proof it signed, as the bytes it seals (gtee_app_seal) after each proof and unseals
 * at start, to compare with the ledger's last proof (gtee_ledger_check_sealed) before it
 * signs again. */
#define GTEE_PROOF_COUNTER_LEN 76 /* "gtee-proof-ctr-1" || enclave id || seq (BE) || hash */
struct gtee_proof_counter {
    uint8_t enclave_id[GTEE_PROOF_ID_LEN];
    uint64_t seq;                       /* 0: no proof signed yet */
    uint8_t hash[GTEE_PROOF_HASH_LEN];  /* gtee_proof_hash of proof seq; zeros for seq 0 */
};
void gtee_proof_counter_encode(const struct gtee_proof_counter *c, uint8_t out[GTEE_PROOF_COUNTER_LEN]);
/* GTEE_EFORMAT unless buf is exactly such a record. */
int gtee_proof_counter_decode(const uint8_t *buf, size_t len, struct gtee_proof_counter *c,
                              struct gtee_err *err) GTEE_MUST_USE;

/* "inference", "training", "app"; NULL for an unknown kind. */
const char *gtee_job_kind_name(unsigned kind);

#endif
