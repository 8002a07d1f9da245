/* The ledger a node records its work on (docs/chain.md "Ledgers"): each enclave's standing,
 * its Work Proofs submitted in batches, once each, rewards, equivocation, key-release
 * receipts and governance. Two backends behind one interface with one set of rules: evm, the
 * Glacier contract over JSON-RPC (include/gtee/evm.h), and local, a SQLite file on one
 * machine that enforces the contract's rules itself and verifies registrations' evidence in
 * place of verifier votes. */
#ifndef GTEE_LEDGER_H
#define GTEE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/evidence.h"
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
/* "unregistered", "pending", "active", "rejected", "revoked" ("unknown" past them). */
const char *gtee_ledger_status_name(enum gtee_enclave_status s);

struct gtee_ledger_standing {
    enum gtee_enclave_status status;
    int slashed;
    int active;        /* may earn now: approved, not expired, measurement accepted, TCB not below the minimum */
    uint64_t last_seq; /* the last accepted proof: what the enclave's sealed counter is checked against */
    uint64_t expires;  /* unix seconds: the end of the last approved registration (0: never approved) */
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
    uint32_t tcb;                     /* the evidence's claims.tcb_number (docs/chain.md, "The TCB rule") */
    uint8_t evidence_hash[32];
    uint64_t evidence_time;           /* unix seconds */
    const char *evidence_url, *node_url;
    /* the enclave's signature (through gtee_app_sign, v = 27 + recovery id) over
     * gtee_proof_consent_hash(gtee_ledger_domain, enclave_id, gtee_ledger_operator, evidence_hash) */
    uint8_t consent_sig[GTEE_PROOF_SIG_LEN];
    uint8_t stake[32];                /* wei, big-endian; ignored by a renewal */
    /* The local ledger verifies the evidence itself (the evm ledger leaves it to verifiers
     * and ignores these): the evidence bytes, whose keccak256 must be evidence_hash, their
     * collateral, and the enclave's channel key the report data binds with the Enclave key. */
    const uint8_t *evidence;
    size_t evidence_len;
    const struct gtee_collateral *collateral;
    uint8_t channel_pub[65];
};

/* The governance values (contracts/Registry.sol's Policy). */
struct gtee_ledger_policy {
    uint64_t freshness;       /* seconds: the oldest evidence accepted at (re)registration */
    uint64_t epoch;           /* seconds an approved registration lasts */
    uint16_t quorum;          /* verifier votes that decide (evm only; local verifies itself) */
    int allow_simulated;
    uint8_t min_stake[32], min_verifier_stake[32], reward_per_unit[32]; /* wei, big-endian */
};

/* An operator's rewards: units credited and not yet claimed, what a unit is worth, the pool. */
struct gtee_ledger_rewards {
    uint8_t units[32], reward_per_unit[32], pool[32]; /* big-endian */
};

/* The local ledger's clock (unix seconds); NULL in the options: the system's. Tests step it. */
typedef uint64_t (*gtee_ledger_clock_fn)(void *arg);

struct gtee_ledger_local_options {
    int create; /* make the file if it does not exist; 0: GTEE_ENOTFOUND then */
    /* Used only when the file is created: the domain's chain id (the contract is a random
     * address made then, the ledger's identity) and the first policy. */
    uint64_t chain_id;
    struct gtee_ledger_policy policy;
    /* How registrations' evidence is verified (docs/policy.md): the policy is required for
     * register and renew and copied at open; anchors (NULL: the vendors' pinned roots only)
     * must outlive the ledger. */
    const struct gtee_policy *evidence_policy;
    const struct gtee_anchors *anchors;
    unsigned busy_timeout_ms;  /* wait for another opener's transaction; 0: 5000 */
    gtee_ledger_clock_fn clock;
    void *clock_arg;
};

/* The Glacier contract at contract, through the EVM client with key (the submitter's or the
 * operator's; any key for reads). */
int gtee_ledger_open_evm(const struct gtee_evm_options *o, const uint8_t key[32],
                         const uint8_t contract[GTEE_PROOF_ID_LEN], struct gtee_ledger **out,
                         struct gtee_err *err) GTEE_MUST_USE;
/* The local ledger in the SQLite file path, created if it does not exist and o->create
 * (mode 0600, the key's address its governor), with key's address as the operator and submitter. WAL and
 * synchronous FULL: each operation is one transaction, durable once it returns, all or
 * nothing; another opener (a node and a CLI) is waited for up to busy_timeout_ms. */
int gtee_ledger_open_local(const char *path, const struct gtee_ledger_local_options *o, const uint8_t key[32],
                           struct gtee_ledger **out, struct gtee_err *err) GTEE_MUST_USE;
/* "evm:URL" or "local:PATH": a ledger as the commands name it; *kind is "evm" or "local",
 * *rest the URL or path (pointing into spec). GTEE_EINVAL naming what is wrong. */
int gtee_ledger_spec_parse(const char *spec, const char **kind, const char **rest, struct gtee_err *err) GTEE_MUST_USE;
void gtee_ledger_close(struct gtee_ledger *l);
/* "evm" or "local". */
const char *gtee_ledger_kind(const struct gtee_ledger *l);
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

/* The rollback check an enclave makes at start (docs/proofs.md "Sequence numbers and the
 * hash chain"): its sealed counter (gtee_proof_counter: the last seq it signed and that
 * proof's hash) against the ledger's last accepted proof. The sealed state may be ahead of the ledger (proofs signed, not yet
 * submitted) but never behind it, nor at the same seq with another hash: either means the
 * host restored old sealed state, and the enclave must not sign again (GTEE_ESTATE naming
 * both). */
int gtee_ledger_check_sealed(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN], uint64_t sealed_seq,
                             const uint8_t sealed_hash[GTEE_PROOF_HASH_LEN], struct gtee_err *err) GTEE_MUST_USE;

/* The operations below are the contract's functions of the same names. A refusal is
 * GTEE_EPOLICY carrying the contract's revert reason (the local ledger uses the same words). */

/* rewardUnits(operator), policy().rewardPerUnit, rewardPool(). */
int gtee_ledger_rewards(struct gtee_ledger *l, const uint8_t operator_addr[GTEE_PROOF_ID_LEN],
                        struct gtee_ledger_rewards *r, struct gtee_err *err) GTEE_MUST_USE;
/* claimRewards() by the ledger's key: *claimed the units claimed. The local ledger moves no
 * money: it zeroes the units and records the claim (its pool is always zero). */
int gtee_ledger_claim(struct gtee_ledger *l, uint8_t claimed[32], struct gtee_evm_receipt *receipt,
                      struct gtee_err *err) GTEE_MUST_USE;
/* reportEquivocation(a, b): two different proofs signed by one registered enclave with one
 * seq; the enclave is revoked and marked slashed. */
int gtee_ledger_report_equivocation(struct gtee_ledger *l, const struct gtee_proof *a, const struct gtee_proof *b,
                                    struct gtee_evm_receipt *receipt, struct gtee_err *err) GTEE_MUST_USE;
/* revoke(enclaveId) by the governor or the enclave's operator. */
int gtee_ledger_revoke(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                       struct gtee_evm_receipt *receipt, struct gtee_err *err) GTEE_MUST_USE;
/* recordKeyRelease: the enclave's signature (v 27 or 28) over gtee_proof_keyrelease_hash,
 * sent by its operator while it is active, once per receipt. */
int gtee_ledger_record_key_release(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                                   const uint8_t blob_cid[32], const uint8_t grant_id[32], uint64_t time,
                                   const uint8_t sig[GTEE_PROOF_SIG_LEN], struct gtee_evm_receipt *receipt,
                                   struct gtee_err *err) GTEE_MUST_USE;
/* blobUses(blobCid): recorded key releases of the blob. */
int gtee_ledger_blob_uses(struct gtee_ledger *l, const uint8_t blob_cid[32], uint64_t *uses,
                          struct gtee_err *err) GTEE_MUST_USE;
/* One recorded key release of a blob (the KeyReleased event, or the local ledger's row). */
struct gtee_ledger_key_release {
    uint8_t enclave_id[GTEE_PROOF_ID_LEN], grant_id[32];
    uint64_t time;   /* the receipt's: when the enclave accepted the grant (unix seconds) */
    uint64_t block;  /* the block that recorded it (the local ledger: its change number) */
    uint64_t uses;   /* the blob's count of uses with it */
    uint8_t tx_hash[32]; /* the transaction (zero on a local ledger) */
};
/* Every recorded key release of blob_cid in the order recorded (*out malloc'ed): the
 * contract's KeyReleased events from its deployment on an evm ledger, the table on a local
 * one. */
/* Where a reader of the ledger's events starts: the block its contract was deployed in
 * (deployedAt()) on an evm ledger, 0 on a local one. */
int gtee_ledger_deployed_at(struct gtee_ledger *l, uint64_t *block, struct gtee_err *err) GTEE_MUST_USE;
/* The ledger's clock, which its time checks (evidence from the future, freshness, expiry) read:
 * the latest block's timestamp on an evm ledger (behind this machine's clock by up to a block
 * interval, and more on a chain that mines only on demand), this machine's clock on a local
 * one. */
int gtee_ledger_now(struct gtee_ledger *l, uint64_t *t, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_key_releases(struct gtee_ledger *l, const uint8_t blob_cid[32], struct gtee_ledger_key_release **out,
                             size_t *n, struct gtee_err *err) GTEE_MUST_USE;

/* Governance, by the governor's key: the policy, a measurement accepted or withdrawn, the
 * minimum TCB of a TEE type; and reading them, and who the governor is. */
int gtee_ledger_policy(struct gtee_ledger *l, struct gtee_ledger_policy *p, uint8_t governor[GTEE_PROOF_ID_LEN],
                       struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_set_policy(struct gtee_ledger *l, const struct gtee_ledger_policy *p,
                           struct gtee_evm_receipt *receipt, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_set_measurement(struct gtee_ledger *l, const uint8_t measurement[32], int accepted,
                                struct gtee_evm_receipt *receipt, struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_set_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t tcb, struct gtee_evm_receipt *receipt,
                            struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_measurement_accepted(struct gtee_ledger *l, const uint8_t measurement[32], int *accepted,
                                     struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t *tcb, struct gtee_err *err) GTEE_MUST_USE;

/* An enclave's registration as the ledger keeps it (contracts/Registry.sol's Enclave). */
struct gtee_ledger_enclave {
    uint8_t enclave_id[GTEE_PROOF_ID_LEN], operator_addr[GTEE_PROOF_ID_LEN];
    uint8_t tee_type;
    enum gtee_enclave_status status;
    int slashed, active;
    uint32_t tcb, round, approved_round; /* the local ledger has no rounds: round as registered, approved_round = round once active */
    uint64_t expires, evidence_time, last_seq;
    uint8_t measurement[32], evidence_hash[32];
    char *evidence_url, *node_url;       /* malloc'ed */
};

/* The registration of enclave_id (status GTEE_ENCLAVE_UNREGISTERED if none): free its strings
 * with gtee_ledger_enclave_free. */
int gtee_ledger_enclave(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN],
                        struct gtee_ledger_enclave *e, struct gtee_err *err) GTEE_MUST_USE;
void gtee_ledger_enclave_free(struct gtee_ledger_enclave *e);
/* Every Enclave ID ever registered, in the order of their first registration (*ids malloc'ed):
 * the local ledger's table; on an evm ledger the contract's Registered events from block 0. */
int gtee_ledger_enclave_ids(struct gtee_ledger *l, uint8_t (**ids)[GTEE_PROOF_ID_LEN], size_t *n,
                            struct gtee_err *err) GTEE_MUST_USE;

/* Verifiers (evm only: the local ledger verifies evidence itself, and refuses these with
 * GTEE_EPOLICY): joinVerifiers() with stake wei (big-endian) by the ledger's key, the stake
 * of addr, and vote(enclaveId, round, approve). */
int gtee_ledger_join_verifiers(struct gtee_ledger *l, const uint8_t stake[32], struct gtee_evm_receipt *receipt,
                               struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_verifier_stake(struct gtee_ledger *l, const uint8_t addr[GTEE_PROOF_ID_LEN], uint8_t stake[32],
                               struct gtee_err *err) GTEE_MUST_USE;
int gtee_ledger_vote(struct gtee_ledger *l, const uint8_t enclave_id[GTEE_PROOF_ID_LEN], uint32_t round, int approve,
                     struct gtee_evm_receipt *receipt, struct gtee_err *err) GTEE_MUST_USE;
/* The EVM client under an evm ledger (for a watcher's event logs); NULL for a local one. */
struct gtee_evm *gtee_ledger_evm(struct gtee_ledger *l);
/* The contract's address (the evm ledger's, or the local ledger's random identity). */
void gtee_ledger_contract(const struct gtee_ledger *l, uint8_t contract[GTEE_PROOF_ID_LEN]);

/* The 32-byte measurement a registration names for verified evidence: SGX's MRENCLAVE;
 * keccak256 of TDX's MRTD and of SEV-SNP's MEASUREMENT (48 bytes each). */
void gtee_ledger_measurement_of(const struct gtee_claims *c, uint8_t measurement[32]);

/* The TCB rule (docs/chain.md, "The TCB rule"; contracts/Registry.sol's tcbMeets): whether a
 * TCB figure is not below a minimum for a TEE type (tee_kind.h). SEV-SNP figures (the four
 * SVN bytes packed, gtee_claims.tcb_number) compare component by component, every other
 * type's as numbers. */
bool gtee_ledger_tcb_meets(uint8_t tee_type, uint32_t tcb, uint32_t min);
/* A TCB figure as people read it: "17" (a TCB evaluation data number), or for SEV-SNP
 * "0x02000544 (bootloader 2, tee 0, snp 5, microcode 68)". Returns out. */
#define GTEE_LEDGER_TCB_TEXT_MAX 64
char *gtee_ledger_tcb_text(uint8_t tee_type, uint32_t tcb, char out[GTEE_LEDGER_TCB_TEXT_MAX]);

#endif
