/* Internal: the Glacier contract's calls as ABI bytes (contracts/WorkProofs.sol): Work
 * Proofs submitted alone or in a batch. */
#ifndef GTEE_CHAIN_GLACIER_H
#define GTEE_CHAIN_GLACIER_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#include "gtee/proof.h"

struct chain_buf;

/* submitProof(SignedProof) for n == 1, submitProofs(SignedProof[]) otherwise (n >= 1). */
void glacier_submit_call(struct chain_buf *b, const struct gtee_proof *p, size_t n);

/* reportEquivocation(SignedProof, SignedProof): both tuples static, inline. */
void glacier_equivocation_call(struct chain_buf *b, const struct gtee_proof *a, const struct gtee_proof *c);

/* The proofs of a submitProof or submitProofs transaction's input (read back from the chain
 * by a verifier), under domain d: at most max of them; *out malloc'ed. Anything else, or bytes
 * that do not decode (an offset or length out of bounds, a field wider than its type), is
 * GTEE_EFORMAT (fuzz/fuzz_abi.c). */
int glacier_submit_decode(const uint8_t *data, size_t len, const struct gtee_proof_domain *d, size_t max,
                          struct gtee_proof **out, size_t *n, struct gtee_err *err) GTEE_MUST_USE;

#endif
