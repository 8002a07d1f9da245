/* The enclave's proof counter as the bytes it seals: which enclave, the last sequence number
 * it signed and that proof's hash, so that old sealed state a host restores is caught
 * against the ledger (docs/proofs.md "Sequence numbers and the hash chain"). */
#include <string.h>

#include "base/guard.h"
#include "gtee/proof.h"

static const char magic[16] = { 'g', 't', 'e', 'e', '-', 'p', 'r', 'o', 'o', 'f', '-', 'c', 't', 'r', '-', '1' };

void gtee_proof_counter_encode(const struct gtee_proof_counter *c, uint8_t out[GTEE_PROOF_COUNTER_LEN])
{
    memcpy(out, magic, sizeof(magic));
    memcpy(out + 16, c->enclave_id, GTEE_PROOF_ID_LEN);
    for (int i = 0; i < 8; i++)
        out[36 + i] = (uint8_t)(c->seq >> (56 - 8 * i));
    memcpy(out + 44, c->hash, GTEE_PROOF_HASH_LEN);
}

int gtee_proof_counter_decode(const uint8_t *buf, size_t len, struct gtee_proof_counter *c, struct gtee_err *err)
{
    int rc = 0;

    memset(c, 0, sizeof(*c));
    ENSURE(len == GTEE_PROOF_COUNTER_LEN && !memcmp(buf, magic, sizeof(magic)), err, GTEE_EFORMAT,
           "proof counter: %zu bytes, not a %u-byte gtee-proof-ctr-1 record", len, GTEE_PROOF_COUNTER_LEN);
    memcpy(c->enclave_id, buf + 16, GTEE_PROOF_ID_LEN);
    for (int i = 0; i < 8; i++)
        c->seq = c->seq << 8 | buf[36 + i];
    memcpy(c->hash, buf + 44, GTEE_PROOF_HASH_LEN);
out:
    return rc;
}
