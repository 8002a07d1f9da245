/* Internal: the Solidity contract ABI (docs.soliditylang.org, "Contract ABI Specification")
 * as far as the evm client needs it: selectors, 32-byte head words, byte strings in a tail,
 * bounds-checked reading of return data, and revert reasons (Error(string), Panic(uint256)).
 * fuzz/fuzz_abi.c covers the readers. */
#ifndef GTEE_CHAIN_ABI_H
#define GTEE_CHAIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

struct chain_buf;

/* The 4-byte selector of a canonical signature ("vote(address,uint32,bool)"), written to b. */
void abi_selector(struct chain_buf *b, const char *signature);
void abi_u64(struct chain_buf *b, uint64_t v);
void abi_u256(struct chain_buf *b, const uint8_t be[32]);
void abi_address(struct chain_buf *b, const uint8_t addr[20]);
void abi_bytes32(struct chain_buf *b, const uint8_t w[32]);
/* A dynamic byte string's tail: its length word, then its bytes padded to 32. */
void abi_tail(struct chain_buf *b, const void *p, size_t n);

/* Word idx (32 bytes at 32*idx) of data. GTEE_EFORMAT if data is too short. */
int abi_word(const uint8_t *data, size_t len, size_t idx, uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;
/* The same as an integer: GTEE_EFORMAT if it does not fit in 64 bits. */
int abi_word_u64(const uint8_t *data, size_t len, size_t idx, uint64_t *out, struct gtee_err *err) GTEE_MUST_USE;
/* An address word: GTEE_EFORMAT unless its 12 high bytes are zero. */
int abi_word_address(const uint8_t *data, size_t len, size_t idx, uint8_t out[20], struct gtee_err *err) GTEE_MUST_USE;
/* The dynamic string whose offset (from base) is word idx of data+base: a malloc'ed copy,
 * NUL-terminated (a NUL inside is refused). */
int abi_string(const uint8_t *data, size_t len, size_t base, size_t idx, char **out,
               struct gtee_err *err) GTEE_MUST_USE;

/* The reason of a revert's return data, printable (gtee_err_escape) into out: the message of
 * Error(string), "panic 0x.." for Panic(uint256), or "no reason given"/"undecoded data". */
void abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t out_len);

#endif
