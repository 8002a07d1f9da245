/* The Glacier contract's proof submissions (and equivocation reports) as ABI bytes: SignedProof is the static tuple
 * (WorkProof's fourteen fields in src/proof/eip712.c's order, then r, s, v), so a proof is
 * seventeen words inline, and an array of them is its length then its elements. */
#include <string.h>

#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/glacier.h"

#define SIGNED_PROOF                                                                                         \
    "((address,bytes32,uint8,bytes32,bytes32,bytes32,uint64,bytes32,uint64,uint64,uint64,bytes32,bytes32," \
    "bytes32),(bytes32,bytes32,uint8))"

static void signed_proof(struct chain_buf *b, const struct gtee_proof *p)
{
    abi_address(b, p->enclave_id);
    abi_bytes32(b, p->job_id);
    abi_u64(b, p->job_kind);
    abi_bytes32(b, p->model_cid);
    abi_bytes32(b, p->input_cid);
    abi_bytes32(b, p->output_cid);
    abi_u64(b, p->units);
    abi_bytes32(b, p->receipt_hash);
    abi_u64(b, p->start_time);
    abi_u64(b, p->end_time);
    abi_u64(b, p->seq);
    abi_bytes32(b, p->prev_hash);
    abi_bytes32(b, p->evidence_hash);
    abi_bytes32(b, p->gpu_evidence_hash);
    abi_bytes32(b, p->sig);      /* r */
    abi_bytes32(b, p->sig + 32); /* s */
    abi_u64(b, p->sig[64]);      /* v, 27 or 28 */
}

void glacier_equivocation_call(struct chain_buf *b, const struct gtee_proof *a, const struct gtee_proof *c)
{
    abi_selector(b, "reportEquivocation(" SIGNED_PROOF "," SIGNED_PROOF ")");
    signed_proof(b, a);
    signed_proof(b, c);
}

void glacier_submit_call(struct chain_buf *b, const struct gtee_proof *p, size_t n)
{
    if (n == 1) {
        abi_selector(b, "submitProof(" SIGNED_PROOF ")");
        signed_proof(b, p);
        return;
    }
    abi_selector(b, "submitProofs(" SIGNED_PROOF "[])");
    abi_u64(b, 32); /* the array's offset: the one argument's head is this word */
    abi_u64(b, n);
    for (size_t i = 0; i < n; i++)
        signed_proof(b, &p[i]);
}
