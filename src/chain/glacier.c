/* The Glacier contract's proof submissions (and equivocation reports) as ABI bytes: SignedProof is the static tuple
 * (WorkProof's fourteen fields in src/proof/eip712.c's order, then r, s, v), so a proof is
 * seventeen words inline, and an array of them is its length then its elements. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
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

/* One SignedProof: seventeen words at word idx of data. */
static int signed_proof_read(const uint8_t *data, size_t len, size_t idx, const struct gtee_proof_domain *d,
                             struct gtee_proof *p, struct gtee_err *err)
{
    uint64_t kind = 0, v = 0;
    int rc;

    memset(p, 0, sizeof(*p));
    p->domain = *d;
    TRY(abi_word_address(data, len, idx + 0, p->enclave_id, err));
    TRY(abi_word(data, len, idx + 1, p->job_id, err));
    TRY(abi_word_u64(data, len, idx + 2, &kind, err));
    TRY(abi_word(data, len, idx + 3, p->model_cid, err));
    TRY(abi_word(data, len, idx + 4, p->input_cid, err));
    TRY(abi_word(data, len, idx + 5, p->output_cid, err));
    TRY(abi_word_u64(data, len, idx + 6, &p->units, err));
    TRY(abi_word(data, len, idx + 7, p->receipt_hash, err));
    TRY(abi_word_u64(data, len, idx + 8, &p->start_time, err));
    TRY(abi_word_u64(data, len, idx + 9, &p->end_time, err));
    TRY(abi_word_u64(data, len, idx + 10, &p->seq, err));
    TRY(abi_word(data, len, idx + 11, p->prev_hash, err));
    TRY(abi_word(data, len, idx + 12, p->evidence_hash, err));
    TRY(abi_word(data, len, idx + 13, p->gpu_evidence_hash, err));
    TRY(abi_word(data, len, idx + 14, p->sig, err));
    TRY(abi_word(data, len, idx + 15, p->sig + 32, err));
    TRY(abi_word_u64(data, len, idx + 16, &v, err));
    ENSURE(kind <= 255 && v <= 255, err, GTEE_EFORMAT, "abi: a proof's jobKind or v is wider than uint8");
    p->job_kind = (uint8_t)kind;
    p->sig[64] = (uint8_t)v;
out:
    return rc;
}

int glacier_submit_decode(const uint8_t *data, size_t len, const struct gtee_proof_domain *d, size_t max,
                          struct gtee_proof **out, size_t *n, struct gtee_err *err)
{
    struct chain_buf one = {0}, many = {0};
    uint64_t off = 0, count = 0;
    size_t base = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    abi_selector(&one, "submitProof(" SIGNED_PROOF ")");
    abi_selector(&many, "submitProofs(" SIGNED_PROOF "[])");
    ENSURE(!one.oom && !many.oom, err, GTEE_ENOMEM, "abi: out of memory");
    ENSURE(len >= 4, err, GTEE_EFORMAT, "abi: a transaction input of %zu bytes has no selector", len);
    if (!memcmp(data, one.p, 4)) {
        count = 1;
    } else {
        ENSURE(!memcmp(data, many.p, 4), err, GTEE_EFORMAT, "abi: the transaction is neither submitProof nor submitProofs");
        TRY(abi_word_u64(data + 4, len - 4, 0, &off, err));
        ENSURE(off % 32 == 0 && off / 32 < (len - 4) / 32, err, GTEE_EFORMAT, "abi: the proofs' offset is out of bounds");
        TRY(abi_word_u64(data + 4, len - 4, off / 32, &count, err));
        base = off / 32 + 1;
        ENSURE(count >= 1 && count <= max && count <= ((len - 4) / 32 - base) / 17, err, GTEE_EFORMAT,
               "abi: %llu proofs do not fit the transaction input (at most %zu)", (unsigned long long)count, max);
    }
    *out = calloc((size_t)count, sizeof(**out));
    ENSURE(*out, err, GTEE_ENOMEM, "abi: out of memory for %llu proofs", (unsigned long long)count);
    for (size_t i = 0; i < count; i++)
        TRY(signed_proof_read(data + 4, len - 4, base + 17 * i, d, &(*out)[i], err));
    *n = (size_t)count;
out:
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    chain_buf_free(&one);
    chain_buf_free(&many);
    return rc;
}
