/* Signing a Work Proof with the Enclave key (through the SDK's signing slot or a key held by
 * the caller) and verifying one: the signature, its canonical form, and that its signer is
 * the Enclave ID the proof names. */
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

/* secp256k1's group order n divided by 2 (SEC 2 §2.4.1): Ethereum's rule (EIP-2) and the
 * contract's accept only s <= n/2, so one signature has one encoding. */
static const uint8_t half_order[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

int gtee_proof_sign(struct gtee_proof *p, gtee_proof_sign_fn sign, void *arg, struct gtee_err *err)
{
    uint8_t digest[GTEE_PROOF_HASH_LEN], sig[65];
    int rc;

    TRY(gtee_proof_check(p, err));
    gtee_proof_hash(p, digest);
    TRY(sign(arg, digest, sig, err));
    ENSURE(sig[64] <= 1, err, GTEE_ECRYPTO, "proof: the signer returned recovery id %u", sig[64]);
    memcpy(p->sig, sig, 64);
    p->sig[64] = (uint8_t)(27 + sig[64]);
out:
    return rc;
}

static int sign_with_key(void *arg, const uint8_t digest[32], uint8_t sig[65], struct gtee_err *err)
{
    int rc = gtee_secp256k1_sign(arg, digest, sig);

    return rc < 0 ? GTEE_FAIL(err, rc, "proof: signing with the given key failed") : 0;
}

int gtee_proof_sign_key(struct gtee_proof *p, const uint8_t priv[32], struct gtee_err *err)
{
    return gtee_proof_sign(p, sign_with_key, (void *)priv, err);
}

static _Thread_local struct {
    int valid;
    uint8_t pub[GTEE_SECP256K1_PUB_LEN];
    uint8_t addr[GTEE_ETH_ADDR_LEN];
} last_signer;

int gtee_proof_verify(const struct gtee_proof *p, uint8_t digest[GTEE_PROOF_HASH_LEN], struct gtee_err *err)
{
    uint8_t h[GTEE_PROOF_HASH_LEN], sig[65], pub[GTEE_SECP256K1_PUB_LEN], signer[GTEE_ETH_ADDR_LEN];
    char want[GTEE_ETH_ADDR_HEX_LEN + 1], got[GTEE_ETH_ADDR_HEX_LEN + 1];
    int rc;

    TRY(gtee_proof_check(p, err));
    ENSURE(p->sig[64] == 27 || p->sig[64] == 28, err, GTEE_EAUTH,
           "proof seq %llu: signature v is %u, not 27 or 28", (unsigned long long)p->seq, p->sig[64]);
    ENSURE(memcmp(p->sig + 32, half_order, 32) <= 0, err, GTEE_EAUTH,
           "proof seq %llu: signature s is above n/2 (not canonical)", (unsigned long long)p->seq);
    gtee_proof_hash(p, h);
    memcpy(sig, p->sig, 64);
    sig[64] = (uint8_t)(p->sig[64] - 27);
    rc = gtee_secp256k1_recover(h, sig, pub);
    ENSURE(rc == 0, err, GTEE_EAUTH, "proof seq %llu: the signature does not verify", (unsigned long long)p->seq);
    /* The signer's address of the last key recovered on this thread is kept: a verifier's
     * proofs come in runs of one enclave, and the address costs a Keccak hash and a parse
     * of the point each time. */
    if (last_signer.valid && !memcmp(last_signer.pub, pub, sizeof(pub))) {
        memcpy(signer, last_signer.addr, sizeof(signer));
    } else {
        TRY(gtee_eth_address(pub, signer));
        memcpy(last_signer.pub, pub, sizeof(pub));
        memcpy(last_signer.addr, signer, sizeof(signer));
        last_signer.valid = 1;
    }
    if (memcmp(signer, p->enclave_id, sizeof(signer)) != 0) {
        gtee_eth_address_hex(p->enclave_id, want);
        gtee_eth_address_hex(signer, got);
        ENSURE(0, err, GTEE_EAUTH, "proof seq %llu: signed by %s, not by the Enclave ID %s",
               (unsigned long long)p->seq, got, want);
    }
    if (digest)
        memcpy(digest, h, sizeof(h));
out:
    return rc;
}
