/* The per-enclave hash chain over a set of Work Proofs: sequence numbers one apart, each
 * proof naming its predecessor's hash, no two proofs with one sequence number. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

struct link {
    const struct gtee_proof *p;
    const uint8_t *h;
};

/* One chain per (chain id, contract, enclave): a proof's domain is part of what it signs. */
static int same_chain(const struct gtee_proof *a, const struct gtee_proof *b)
{
    return a->domain.chain_id == b->domain.chain_id &&
           !memcmp(a->domain.contract, b->domain.contract, sizeof(a->domain.contract)) &&
           !memcmp(a->enclave_id, b->enclave_id, sizeof(a->enclave_id));
}

static int by_chain_then_seq(const void *x, const void *y)
{
    const struct gtee_proof *a = ((const struct link *)x)->p, *b = ((const struct link *)y)->p;
    int c;

    if (a->domain.chain_id != b->domain.chain_id)
        return a->domain.chain_id < b->domain.chain_id ? -1 : 1;
    if ((c = memcmp(a->domain.contract, b->domain.contract, sizeof(a->domain.contract))) != 0)
        return c;
    if ((c = memcmp(a->enclave_id, b->enclave_id, sizeof(a->enclave_id))) != 0)
        return c;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return memcmp(((const struct link *)x)->h, ((const struct link *)y)->h, GTEE_PROOF_HASH_LEN);
}

int gtee_proof_chain_check(const struct gtee_proof *p, const uint8_t (*hashes)[GTEE_PROOF_HASH_LEN], size_t n,
                           struct gtee_err *err)
{
    struct link *l = NULL;
    char id[GTEE_ETH_ADDR_HEX_LEN + 1];
    int rc = 0;

    if (n < 2)
        return 0;
    l = calloc(n, sizeof(*l));
    ENSURE(l, err, GTEE_ENOMEM, "proof chain: out of memory for %zu proofs", n);
    for (size_t i = 0; i < n; i++)
        l[i] = (struct link){ &p[i], hashes[i] };
    qsort(l, n, sizeof(*l), by_chain_then_seq);
    for (size_t i = 1; i < n; i++) {
        const struct gtee_proof *a = l[i - 1].p, *b = l[i].p;
        unsigned long long seq = (unsigned long long)b->seq;

        if (!same_chain(a, b))
            continue;
        /* the checksummed address (a Keccak hash) only for the message of a broken link */
        if (a->seq == b->seq || b->seq != a->seq + 1 || memcmp(b->prev_hash, l[i - 1].h, GTEE_PROOF_HASH_LEN))
            gtee_eth_address_hex(b->enclave_id, id);
        ENSURE(a->seq != b->seq || memcmp(l[i - 1].h, l[i].h, GTEE_PROOF_HASH_LEN) != 0, err, GTEE_EPOLICY,
               "proof chain: enclave %s: seq %llu appears twice (a replayed proof)", id, seq);
        ENSURE(a->seq != b->seq, err, GTEE_EPOLICY,
               "proof chain: enclave %s: two different proofs with seq %llu (equivocation)", id, seq);
        ENSURE(b->seq == a->seq + 1, err, GTEE_EPOLICY,
               "proof chain: enclave %s: seq %llu follows seq %llu (a sequence number is missing)", id, seq,
               (unsigned long long)a->seq);
        ENSURE(!memcmp(b->prev_hash, l[i - 1].h, GTEE_PROOF_HASH_LEN), err, GTEE_EPOLICY,
               "proof chain: enclave %s: seq %llu names a prev_hash that is not the hash of seq %llu", id, seq,
               (unsigned long long)a->seq);
    }
out:
    free(l);
    return rc;
}
