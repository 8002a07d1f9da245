/* Key-release receipts (docs/chain.md "Key-release receipts"): each grant the enclave accepts
 * is a key released to it, and waits here as a receipt until the host takes it, signed then
 * by the Enclave key under the domain of its Work Proofs, for the host to record on the
 * ledger. The host cannot invent a use (it has no Enclave key) and a grant is refused rather
 * than accepted without its receipt when too many wait. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "enclave/proofs.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

int enc_release_room(const struct enc *e, struct gtee_err *err)
{
    if (e->n_releases < GTEE_ENCLAVE_RELEASES)
        return 0;
    return GTEE_FAIL(err, GTEE_ELIMIT,
                     "enclave: %d key-release receipts wait for the host to take them (its ledger); no grant is "
                     "accepted until it does",
                     GTEE_ENCLAVE_RELEASES);
}

void enc_release_add(struct enc *e, const uint8_t blob[32], const uint8_t grant_id[32], uint64_t time)
{
    struct enc_release *r = &e->release[e->n_releases++];

    memcpy(r->blob, blob, 32);
    memcpy(r->grant_id, grant_id, 32);
    r->time = time;
}

int enc_release_take(struct enc *e, struct span *in, struct enc_out *o, struct gtee_err *err)
{
    struct gtee_proof_domain d;
    struct gtee_app_identity id;
    uint8_t count, rec[GTEE_RELEASE_RECEIPT_LEN], h[32];
    int rc;

    ENSURE(in->len == 0, err, GTEE_EFORMAT, "enclave: RELEASE_TAKE takes no payload (%zu bytes)", in->len);
    TRY(enc_proofs_domain(e->proofs, &d, err));
    gtee_app_identity(e->app, &id);
    count = (uint8_t)e->n_releases;
    TRY(enc_out_add(o, &count, 1, err));
    for (size_t i = 0; i < e->n_releases; i++) {
        const struct enc_release *r = &e->release[i];

        gtee_proof_keyrelease_hash(&d, id.enclave_id, r->blob, r->grant_id, r->time, h);
        memcpy(rec, r->blob, 32);
        memcpy(rec + 32, r->grant_id, 32);
        for (int k = 0; k < 8; k++)
            rec[64 + k] = (uint8_t)(r->time >> (56 - 8 * k));
        TRY(gtee_app_sign(e->app, h, rec + 72, err));
        rec[72 + 64] = (uint8_t)(27 + rec[72 + 64]);
        TRY(enc_out_add(o, rec, sizeof(rec), err));
    }
    /* handed over whole or not at all: the answer is sent only when rc is 0 */
    e->n_releases = 0;
out:
    return rc;
}
