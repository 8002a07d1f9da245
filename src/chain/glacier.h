/* Internal: the Glacier contract's calls as ABI bytes (contracts/WorkProofs.sol): Work
 * Proofs submitted alone or in a batch. */
#ifndef GTEE_CHAIN_GLACIER_H
#define GTEE_CHAIN_GLACIER_H

#include <stddef.h>

#include "gtee/proof.h"

struct chain_buf;

/* submitProof(SignedProof) for n == 1, submitProofs(SignedProof[]) otherwise (n >= 1). */
void glacier_submit_call(struct chain_buf *b, const struct gtee_proof *p, size_t n);

/* reportEquivocation(SignedProof, SignedProof): both tuples static, inline. */
void glacier_equivocation_call(struct chain_buf *b, const struct gtee_proof *a, const struct gtee_proof *c);

#endif
