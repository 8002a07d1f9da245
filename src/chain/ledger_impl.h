/* Internal: the two ledger backends behind include/gtee/ledger.h. src/chain/ledger.c holds
 * what both share (the domain, sorting and skipping what the ledger holds, batching); each
 * backend fills the operations table with the contract's functions. */
#ifndef GTEE_CHAIN_LEDGER_IMPL_H
#define GTEE_CHAIN_LEDGER_IMPL_H

#include "gtee/ledger.h"

struct ledger_ops {
    const char *kind;
    void (*close)(struct gtee_ledger *l);
    int (*reg)(struct gtee_ledger *l, const struct gtee_ledger_registration *r, int renew,
               struct gtee_evm_receipt *receipt, struct gtee_err *err);
    int (*standing)(struct gtee_ledger *l, const uint8_t id[20], struct gtee_ledger_standing *s,
                    struct gtee_err *err);
    /* n >= 1 proofs of one enclave in seq order, all or nothing */
    int (*submit)(struct gtee_ledger *l, const struct gtee_proof *p, size_t n, struct gtee_evm_receipt *receipt,
                  struct gtee_err *err);
    int (*rewards)(struct gtee_ledger *l, const uint8_t op[20], struct gtee_ledger_rewards *r, struct gtee_err *err);
    int (*claim)(struct gtee_ledger *l, uint8_t claimed[32], struct gtee_evm_receipt *receipt, struct gtee_err *err);
    int (*equivocation)(struct gtee_ledger *l, const struct gtee_proof *a, const struct gtee_proof *b,
                        struct gtee_evm_receipt *receipt, struct gtee_err *err);
    int (*revoke)(struct gtee_ledger *l, const uint8_t id[20], struct gtee_evm_receipt *receipt, struct gtee_err *err);
    int (*key_release)(struct gtee_ledger *l, const uint8_t id[20], const uint8_t blob[32], const uint8_t grant[32],
                       uint64_t time, const uint8_t sig[65], struct gtee_evm_receipt *receipt, struct gtee_err *err);
    int (*deployed_at)(struct gtee_ledger *l, uint64_t *block, struct gtee_err *err); /* NULL: 0 */
    int (*now)(struct gtee_ledger *l, uint64_t *t, struct gtee_err *err);
    int (*blob_uses)(struct gtee_ledger *l, const uint8_t blob[32], uint64_t *uses, struct gtee_err *err);
    int (*key_releases)(struct gtee_ledger *l, const uint8_t blob[32], struct gtee_ledger_key_release **out, size_t *n,
                        struct gtee_err *err);
    int (*policy)(struct gtee_ledger *l, struct gtee_ledger_policy *p, uint8_t governor[20], struct gtee_err *err);
    int (*set_policy)(struct gtee_ledger *l, const struct gtee_ledger_policy *p, struct gtee_evm_receipt *receipt,
                      struct gtee_err *err);
    int (*set_measurement)(struct gtee_ledger *l, const uint8_t m[32], int accepted, struct gtee_evm_receipt *receipt,
                           struct gtee_err *err);
    int (*set_min_tcb)(struct gtee_ledger *l, uint8_t tee_type, uint32_t tcb, struct gtee_evm_receipt *receipt,
                       struct gtee_err *err);
    int (*measurement_accepted)(struct gtee_ledger *l, const uint8_t m[32], int *accepted, struct gtee_err *err);
    int (*min_tcb)(struct gtee_ledger *l, uint8_t tee_type, uint32_t *tcb, struct gtee_err *err);
    int (*enclave)(struct gtee_ledger *l, const uint8_t id[20], struct gtee_ledger_enclave *e, struct gtee_err *err);
    int (*enclave_ids)(struct gtee_ledger *l, uint8_t (**ids)[20], size_t *n, struct gtee_err *err);
    /* evm only (NULL: the local ledger, which has no verifiers) */
    int (*join)(struct gtee_ledger *l, const uint8_t stake[32], struct gtee_evm_receipt *receipt, struct gtee_err *err);
    int (*verifier_stake)(struct gtee_ledger *l, const uint8_t addr[20], uint8_t stake[32], struct gtee_err *err);
    int (*vote)(struct gtee_ledger *l, const uint8_t id[20], uint32_t round, int approve,
                struct gtee_evm_receipt *receipt, struct gtee_err *err);
};

struct gtee_ledger {
    const struct ledger_ops *ops;
    uint64_t chain_id;
    uint8_t contract[GTEE_PROOF_ID_LEN];
    uint8_t operator_addr[GTEE_PROOF_ID_LEN]; /* the ledger's key's address */
    void *impl;
};

#endif
