/* Internal: Recursive Length Prefix encoding (Ethereum Yellow Paper, Appendix B), as the
 * EIP-1559 transactions of the evm client need it, and a strict decoder that accepts the
 * canonical encoding only (fuzz/fuzz_rlp.c). */
#ifndef GTEE_CHAIN_RLP_H
#define GTEE_CHAIN_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

struct chain_buf;

void rlp_bytes(struct chain_buf *b, const uint8_t *s, size_t n); /* a byte string */
void rlp_uint(struct chain_buf *b, uint64_t v);                  /* minimal big-endian; 0 is "" */
void rlp_u256(struct chain_buf *b, const uint8_t be[32]);        /* the same for 256 bits */
/* Makes everything written since start (rlp_buf.len then) one list. */
void rlp_list_close(struct chain_buf *b, size_t start);

struct rlp_item {
    const uint8_t *p; /* the payload */
    size_t len;
    int list;
};

/* Reads one item at *cur (before end) and advances *cur past it. GTEE_EFORMAT, naming the
 * offset from base, on a truncated or non-canonical encoding. */
int rlp_next(const uint8_t *base, const uint8_t **cur, const uint8_t *end, struct rlp_item *it,
             struct gtee_err *err) GTEE_MUST_USE;

#endif
