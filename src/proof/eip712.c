/* The Work Proof's EIP-712 hash (EIP-712 "Specification": hashStruct, domainSeparator and
 * the 0x19 0x01 prefix), the other records an enclave signs for the contract (its consent to
 * an operator, key-release receipts), and the rules of one proof alone. The type strings here are the
 * contract's (contracts/) and docs/proofs.md's; all three must change together. */
#include <pthread.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

static const char domain_type[] =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
static const char proof_type[] =
    "WorkProof(address enclaveId,bytes32 jobId,uint8 jobKind,bytes32 modelCid,bytes32 inputCid,"
    "bytes32 outputCid,uint64 units,bytes32 receiptHash,uint64 startTime,uint64 endTime,uint64 seq,"
    "bytes32 prevHash,bytes32 evidenceHash,bytes32 gpuEvidenceHash)";
static const char consent_type[] = "Consent(address enclaveId,address operator,bytes32 evidenceHash)";
static const char keyrelease_type[] = "KeyRelease(address enclaveId,bytes32 blobCid,bytes32 grantId,uint64 time)";
static const char domain_name[] = "Glacier Work Proof";
static const char domain_version[] = "1";

#define PROOF_FIELDS 14

/* The hashes of the constant strings, computed once: a verifier hashes many proofs, and
 * these are four of the seven Keccak calls a proof would otherwise cost. */
static pthread_once_t consts_once = PTHREAD_ONCE_INIT;
static uint8_t domain_typehash[32], name_hash[32], version_hash[32], proof_typehash[32];

static void consts_init(void)
{
    gtee_keccak256(domain_type, sizeof(domain_type) - 1, domain_typehash);
    gtee_keccak256(domain_name, sizeof(domain_name) - 1, name_hash);
    gtee_keccak256(domain_version, sizeof(domain_version) - 1, version_hash);
    gtee_keccak256(proof_type, sizeof(proof_type) - 1, proof_typehash);
}

/* ABI encoding of one static value: big-endian, left-padded to 32 bytes. */
static void word_u64(uint8_t w[32], uint64_t v)
{
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
}

static void word_bytes(uint8_t w[32], const uint8_t *p, size_t n)
{
    memset(w, 0, 32 - n);
    memcpy(w + 32 - n, p, n);
}

static void domain_separator(const struct gtee_proof_domain *d, uint8_t out[32])
{
    uint8_t enc[5][32];

    memcpy(enc[0], domain_typehash, 32);
    memcpy(enc[1], name_hash, 32);
    memcpy(enc[2], version_hash, 32);
    word_u64(enc[3], d->chain_id);
    word_bytes(enc[4], d->contract, GTEE_PROOF_ID_LEN);
    gtee_keccak256(enc, sizeof(enc), out);
}

static void struct_hash(const struct gtee_proof *p, uint8_t out[32])
{
    uint8_t enc[1 + PROOF_FIELDS][32];
    uint8_t kind = p->job_kind;

    memcpy(enc[0], proof_typehash, 32);
    word_bytes(enc[1], p->enclave_id, GTEE_PROOF_ID_LEN);
    memcpy(enc[2], p->job_id, 32);
    word_bytes(enc[3], &kind, 1);
    memcpy(enc[4], p->model_cid, 32);
    memcpy(enc[5], p->input_cid, 32);
    memcpy(enc[6], p->output_cid, 32);
    word_u64(enc[7], p->units);
    memcpy(enc[8], p->receipt_hash, 32);
    word_u64(enc[9], p->start_time);
    word_u64(enc[10], p->end_time);
    word_u64(enc[11], p->seq);
    memcpy(enc[12], p->prev_hash, 32);
    memcpy(enc[13], p->evidence_hash, 32);
    memcpy(enc[14], p->gpu_evidence_hash, 32);
    gtee_keccak256(enc, sizeof(enc), out);
}

/* The last domain's separator, per thread: the proofs a verifier reads in one go are
 * nearly always for one chain and contract, and the separator is two of the six Keccak
 * permutations a proof would otherwise cost. */
static _Thread_local struct {
    int valid;
    struct gtee_proof_domain d;
    uint8_t sep[32];
} last_domain;

static void domain_separator_cached(const struct gtee_proof_domain *d, uint8_t out[32])
{
    if (!last_domain.valid || last_domain.d.chain_id != d->chain_id ||
        memcmp(last_domain.d.contract, d->contract, sizeof(d->contract)) != 0) {
        domain_separator(d, last_domain.sep);
        last_domain.d.chain_id = d->chain_id;
        memcpy(last_domain.d.contract, d->contract, sizeof(d->contract));
        last_domain.valid = 1;
    }
    memcpy(out, last_domain.sep, 32);
}

/* keccak256(0x19 0x01 || domainSeparator || structHash) */
static void typed_digest(const struct gtee_proof_domain *d, const uint8_t struct_h[32], uint8_t digest[32])
{
    uint8_t msg[2 + 32 + 32];

    (void)pthread_once(&consts_once, consts_init);
    msg[0] = 0x19;
    msg[1] = 0x01;
    domain_separator_cached(d, msg + 2);
    memcpy(msg + 34, struct_h, 32);
    gtee_keccak256(msg, sizeof(msg), digest);
}

void gtee_proof_hash(const struct gtee_proof *p, uint8_t digest[GTEE_PROOF_HASH_LEN])
{
    uint8_t h[32];

    (void)pthread_once(&consts_once, consts_init);
    struct_hash(p, h);
    typed_digest(&p->domain, h, digest);
}

void gtee_proof_consent_hash(const struct gtee_proof_domain *d, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                             const uint8_t operator_addr[GTEE_PROOF_ID_LEN], const uint8_t evidence_hash[32],
                             uint8_t digest[GTEE_PROOF_HASH_LEN])
{
    uint8_t enc[4][32], h[32];

    gtee_keccak256(consent_type, sizeof(consent_type) - 1, enc[0]);
    word_bytes(enc[1], enclave_id, GTEE_PROOF_ID_LEN);
    word_bytes(enc[2], operator_addr, GTEE_PROOF_ID_LEN);
    memcpy(enc[3], evidence_hash, 32);
    gtee_keccak256(enc, sizeof(enc), h);
    typed_digest(d, h, digest);
}

void gtee_proof_keyrelease_hash(const struct gtee_proof_domain *d, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                                const uint8_t blob_cid[32], const uint8_t grant_id[32], uint64_t time,
                                uint8_t digest[GTEE_PROOF_HASH_LEN])
{
    uint8_t enc[5][32], h[32];

    gtee_keccak256(keyrelease_type, sizeof(keyrelease_type) - 1, enc[0]);
    word_bytes(enc[1], enclave_id, GTEE_PROOF_ID_LEN);
    memcpy(enc[2], blob_cid, 32);
    memcpy(enc[3], grant_id, 32);
    word_u64(enc[4], time);
    gtee_keccak256(enc, sizeof(enc), h);
    typed_digest(d, h, digest);
}

const char *gtee_job_kind_name(unsigned kind)
{
    switch (kind) {
    case GTEE_JOB_INFERENCE: return "inference";
    case GTEE_JOB_TRAINING: return "training";
    case GTEE_JOB_APP: return "app";
    default: return NULL;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int gtee_proof_check(const struct gtee_proof *p, struct gtee_err *err)
{
    int rc = 0;

    ENSURE(gtee_job_kind_name(p->job_kind), err, GTEE_EFORMAT, "proof: job_kind %u is not a known job kind",
           p->job_kind);
    ENSURE(p->seq >= 1, err, GTEE_EFORMAT, "proof: seq is 0 (sequence numbers start at 1)");
    /* The first proof of an enclave has no predecessor; every later one names it. */
    ENSURE((p->seq == 1) == all_zero(p->prev_hash, sizeof(p->prev_hash)), err, GTEE_EFORMAT,
           "proof: prev_hash must be zero exactly when seq is 1 (seq %llu)", (unsigned long long)p->seq);
    ENSURE(p->end_time >= p->start_time, err, GTEE_EFORMAT, "proof: end_time %llu is before start_time %llu",
           (unsigned long long)p->end_time, (unsigned long long)p->start_time);
    ENSURE(!all_zero(p->enclave_id, sizeof(p->enclave_id)), err, GTEE_EFORMAT, "proof: enclave_id is zero");
out:
    return rc;
}
