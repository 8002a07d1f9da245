/* The ledger a node records its work on (docs/chain.md): each enclave's standing and its
 * Work Proofs submitted in batches, once each. One backend today, evm: the Glacier contract
 * over JSON-RPC (include/gtee/evm.h); the local SQLite backend with the same rules is to
 * come. */
#ifndef GTEE_LEDGER_H
#define GTEE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/evm.h"
#include "gtee/proof.h"

struct gtee_ledger;

/* The contract's Status values (contracts/Registry.sol). */
enum gtee_enclave_status {
    GTEE_ENCLAVE_UNREGISTERED = 0,
    GTEE_ENCLAVE_PENDING = 1,
    GTEE_ENCLAVE_ACTIVE = 2,   /* approved; see active for whether it may earn now */
    GTEE_ENCLAVE_REJECTED = 3,
    GTEE_ENCLAVE_REVOKED = 4,
};

struct gtee_ledger_standing {
    enum gtee_enclave_status status;
    int slashed;
    int active;        /* may earn now: approved, not expired, measurement accepted, TCB not below the minimum */
    uint64_t last_seq; /* the last accepted proof: what the enclave's sealed counter is checked against */
    uint8_t last_hash[GTEE_PROOF_HASH_LEN];
};

/* One transaction of proofs, as gtee_ledger_submit reports it. */
struct gtee_ledger_batch {
    uint8_t enclave_id[GTEE_PROOF_ID_LEN];
    uint64_t first_seq, last_seq;
    size_t proofs;
    struct gtee_evm_receipt receipt;
};
typedef void (*gtee_ledger_batch_fn)(void *arg, const struct gtee_ledger_batch *b);

/* A registration (or its renewal with fresh evidence), as the contract takes it. */
struct gtee_ledger_registration {
    uint8_t enclave_id[GTEE_PROOF_ID_LEN];
    uint8_t tee_type;                 /* include/gtee/tee_kind.h */
    uint8_t measurement[32];
    uint32_t tcb;                     /* Intel: TCB evaluation data number; AMD: TCB version */
    uint8_t evidence_hash[32];
    uint64_t evidence_time;           /* unix seconds */
    const char *evidence_url, *node_url;
    /* the enclave's signature (through gtee_app_sign, v = 27 + recovery id) over
     * gtee_proof_consent_hash(gtee_ledger_domain, enclave_id, gtee_ledger_operator, evidence_hash) */
    uint8_t consent_sig[GTEE_PROOF_SIG_LEN];
    uint8_t stake[32];                /* wei, big-endian; ignored by a renewal */
};

/* The Glacier contract at contract, through the EVM client with key (the submitter's or the
 * operator's; any key for reads). */
int gtee_ledger_open_evm(const struct gtee_evm_options *o, const uint8_t key[32],
                         const uint8_t contract[GTEE_PROOF_ID_LEN], struct gtee_ledger **out,
                         struct gtee_err *err) GTEE_MUST_USE;
void gtee_ledger_close(struct gtee_ledger *l);
uint64_t gtee_ledger_chain_id(const struct gtee_ledger *l);
/* The domain of the proofs and consents this ledger takes, and the address of its key. */
void gtee_ledger_domain(const struct gtee_ledger *l, struct gtee_proof_domain *d);
void gtee_ledger_operator(const struct gtee_ledger *l, uint8_t addr[GTEE_PROOF_ID_LEN]);

/* Registers the enclave with the ledger's key as its operator (renew: fresh evidence for the
 * next epoch). A registration the contract refuses (unaccepted measurement, TCB below the
 * minimum, simulation not allowed, stale evidence, a consent not the enclave's, already
 * registered) is GTEE_EPOLICY with its reason; it is then pending until verifiers approve. */
int gtee_ledger_register(struct gtee_ledger *l, const struct gtee_ledger_registration *r, int renew,
                         struct gtee_evm_receipt *receipt, struct gtee_err *err) GTEE_MUST_USE;

int gtee_ledger_standing(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                         struct gtee_ledger_standing *s, struct gtee_err *err) GTEE_MUST_USE;

/* Submits proofs already verified one by one and as a chain (gtee_proof_verify,
 * gtee_proof_chain_check), made for this chain and contract: sorted per enclave by seq (p is
 * reordered), those the ledger already holds skipped (the one with its last seq must be the
 * very proof there, else GTEE_EPOLICY: equivocation), the rest sent up to batch (1..64) per
 * transaction, each reported to on_batch (may be NULL). A refused batch is GTEE_EPOLICY with
 * the contract's reason; the batches before it stay on the ledger (*sent counts their proofs). */
int gtee_ledger_submit(struct gtee_ledger *l, struct gtee_proof *p, size_t n, unsigned batch,
                       gtee_ledger_batch_fn on_batch, void *arg, size_t *skipped, size_t *sent,
                       struct gtee_err *err) GTEE_MUST_USE;

#endif
