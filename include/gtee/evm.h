/* The EVM client of the chain part (docs/chain.md "The evm client"): JSON-RPC to any EVM
 * node, EIP-1559 transactions signed with the operator's secp256k1 key, nonces from the
 * node, gas estimated (a revert is refused before sending, with its reason), receipts
 * waited for within a bound, transport failures retried with backoff. */
#ifndef GTEE_EVM_H
#define GTEE_EVM_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_EVM_ADDR_LEN 20

struct gtee_evm;

struct gtee_evm_options {
    const char *rpc_url;        /* http:// or https:// */
    unsigned timeout_ms;        /* per JSON-RPC attempt; 0: 10 s */
    unsigned retries;           /* attempts after the first on transport failures; 0: none */
    unsigned receipt_timeout_s; /* how long to wait for a receipt; 0: 60 s */
};

struct gtee_evm_receipt {
    uint8_t tx_hash[32];
    uint64_t block;
    uint64_t gas_used;
    int has_contract;
    uint8_t contract[GTEE_EVM_ADDR_LEN]; /* a creation's new address */
};

/* Connects (asks the chain id) with the operator's key (copied; wiped at close). */
int gtee_evm_open(const struct gtee_evm_options *o, const uint8_t key[32], struct gtee_evm **out,
                  struct gtee_err *err) GTEE_MUST_USE;
void gtee_evm_close(struct gtee_evm *e);
uint64_t gtee_evm_chain_id(const struct gtee_evm *e);
void gtee_evm_address(const struct gtee_evm *e, uint8_t addr[GTEE_EVM_ADDR_LEN]);

/* eth_call at the latest block; *out (malloc'ed) is the return data. A revert is
 * GTEE_EPOLICY with its reason. */
int gtee_evm_call(struct gtee_evm *e, const uint8_t to[GTEE_EVM_ADDR_LEN], const uint8_t *data, size_t len,
                  uint8_t **out, size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;

/* Sends a transaction (to NULL: a contract creation) with value wei (32 bytes big-endian;
 * NULL: 0) and waits for its receipt. A transaction the chain would revert is refused at
 * the gas estimate (GTEE_EPOLICY with the revert reason) and never sent; one that reverts
 * anyway is GTEE_EPOLICY after its receipt. */
int gtee_evm_send(struct gtee_evm *e, const uint8_t *to, const uint8_t *value, const uint8_t *data, size_t len,
                  struct gtee_evm_receipt *rc, struct gtee_err *err) GTEE_MUST_USE;

/* One event log (eth_getLogs): the emitting contract, its topics (topic 0 the event's
 * signature hash, then the indexed arguments) and its data. */
struct gtee_evm_log {
    uint64_t block, log_index;
    uint8_t tx_hash[32];
    uint8_t address[GTEE_EVM_ADDR_LEN];
    size_t n_topics;
    uint8_t topics[4][32];
    uint8_t *data; /* malloc'ed */
    size_t len;
};

/* eth_blockNumber. */
int gtee_evm_block_number(struct gtee_evm *e, uint64_t *block, struct gtee_err *err) GTEE_MUST_USE;
/* The latest block's timestamp (unix seconds): the time a transaction's gas estimate runs at. */
int gtee_evm_block_time(struct gtee_evm *e, uint64_t *t, struct gtee_err *err) GTEE_MUST_USE;
/* eth_getLogs of the contract at addr from block from to block to (inclusive), whose first
 * n_topics topics (1 to 4; topic 0 the event's signature hash) are topics; at most max logs
 * (more is GTEE_EFORMAT: ask for a shorter range). *logs is malloc'ed (gtee_evm_logs_free). */
int gtee_evm_logs(struct gtee_evm *e, const uint8_t addr[GTEE_EVM_ADDR_LEN], const uint8_t (*topics)[32],
                  size_t n_topics, uint64_t from, uint64_t to, size_t max, struct gtee_evm_log **logs, size_t *n,
                  struct gtee_err *err) GTEE_MUST_USE;
void gtee_evm_logs_free(struct gtee_evm_log *logs, size_t n);
/* The input data of the transaction hash (eth_getTransactionByHash); *data malloc'ed. */
int gtee_evm_tx_input(struct gtee_evm *e, const uint8_t hash[32], uint8_t **data, size_t *len,
                      struct gtee_err *err) GTEE_MUST_USE;

#endif
