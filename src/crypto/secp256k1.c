/* secp256k1 for Ethereum identities (the Enclave key): keys, recoverable ECDSA signatures
 * over 32-byte digests (SEC 1 §4.1.6 recovery, as Ethereum's ecrecover), addresses
 * (Ethereum Yellow Paper, Appendix F) and EIP-55 checksummed hex, through libsecp256k1.
 *
 * Context: one process-wide context, created on first use under pthread_once and then
 * randomized with 32 bytes from OpenSSL's CSPRNG. Randomization blinds the base-point
 * multiplications that take a secret key (signing, public key creation) against side
 * channels; it is the one mutating call, so it runs once inside the once-routine and every
 * later use is read-only, which libsecp256k1 allows from many threads at once. A context
 * per call would redo that work on every signature; the static context cannot be
 * randomized. The context lives for the whole process and is never freed. */
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>

#include "gtee/crypto.h"

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *shared_ctx;

static void ctx_init(void)
{
    uint8_t seed[32];
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);

    if (!c)
        return;
    if (gtee_random(seed, sizeof(seed)) != 0 || !secp256k1_context_randomize(c, seed)) {
        secp256k1_context_destroy(c);
        c = NULL;
    }
    gtee_wipe(seed, sizeof(seed));
    shared_ctx = c;
}

static const secp256k1_context *ctx_get(void)
{
    if (pthread_once(&ctx_once, ctx_init) != 0)
        return NULL;
    return shared_ctx;
}

static int serialize_pub(const secp256k1_context *c, const secp256k1_pubkey *pk,
                         uint8_t pub[GTEE_SECP256K1_PUB_LEN])
{
    size_t n = GTEE_SECP256K1_PUB_LEN;

    if (!secp256k1_ec_pubkey_serialize(c, pub, &n, pk, SECP256K1_EC_UNCOMPRESSED) ||
        n != GTEE_SECP256K1_PUB_LEN)
        return GTEE_ECRYPTO;
    return 0;
}

int gtee_secp256k1_public(const uint8_t priv[GTEE_SECP256K1_PRIV_LEN], uint8_t pub[GTEE_SECP256K1_PUB_LEN])
{
    const secp256k1_context *c = ctx_get();
    secp256k1_pubkey pk;

    if (!c)
        return GTEE_ECRYPTO;
    /* SEC 1 §3.2.1: the scalar must lie in [1, n-1] */
    if (!secp256k1_ec_seckey_verify(c, priv) || !secp256k1_ec_pubkey_create(c, &pk, priv))
        return GTEE_EKEY;
    return serialize_pub(c, &pk, pub);
}

int gtee_secp256k1_keypair(uint8_t priv[GTEE_SECP256K1_PRIV_LEN], uint8_t pub[GTEE_SECP256K1_PUB_LEN])
{
    const secp256k1_context *c = ctx_get();
    int rc = GTEE_ECRYPTO;

    if (!c)
        return GTEE_ECRYPTO;
    /* Rejection sampling: a 32-byte string is out of range with probability about 2^-128. */
    for (int tries = 0; tries < 16; tries++) {
        if ((rc = gtee_random(priv, GTEE_SECP256K1_PRIV_LEN)) < 0)
            break;
        if (secp256k1_ec_seckey_verify(c, priv)) {
            rc = gtee_secp256k1_public(priv, pub);
            break;
        }
        rc = GTEE_ECRYPTO;
    }
    if (rc < 0)
        gtee_wipe(priv, GTEE_SECP256K1_PRIV_LEN);
    return rc;
}

int gtee_secp256k1_sign(const uint8_t priv[GTEE_SECP256K1_PRIV_LEN], const uint8_t digest[32],
                        uint8_t sig[GTEE_SECP256K1_RSIG_LEN])
{
    const secp256k1_context *c = ctx_get();
    secp256k1_ecdsa_recoverable_signature rs;
    int recid = -1, rc = GTEE_ECRYPTO;

    if (!c)
        return GTEE_ECRYPTO;
    if (!secp256k1_ec_seckey_verify(c, priv)) {
        rc = GTEE_EKEY;
        goto out;
    }
    /* RFC 6979 deterministic nonce; libsecp256k1 always emits low-s (s <= n/2, EIP-2) */
    if (!secp256k1_ecdsa_sign_recoverable(c, &rs, digest, priv, secp256k1_nonce_function_rfc6979, NULL))
        goto out;
    if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(c, sig, &recid, &rs))
        goto out;
    /* recid 2 and 3 need r >= n, which RFC 6979 nonces reach with probability ~2^-127;
     * Ethereum's v cannot express them, so such a signature is refused. */
    if (recid != 0 && recid != 1)
        goto out;
    sig[64] = (uint8_t)recid;
    rc = 0;
out:
    gtee_wipe(&rs, sizeof(rs));
    if (rc < 0)
        gtee_wipe(sig, GTEE_SECP256K1_RSIG_LEN);
    return rc;
}

int gtee_secp256k1_recover(const uint8_t digest[32], const uint8_t sig[GTEE_SECP256K1_RSIG_LEN],
                           uint8_t pub[GTEE_SECP256K1_PUB_LEN])
{
    const secp256k1_context *c = ctx_get();
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_ecdsa_signature plain;
    secp256k1_pubkey pk;

    if (!c)
        return GTEE_ECRYPTO;
    /* v is the bare recovery id 0 or 1 (Ethereum's 27/28 or EIP-155 values are the
     * caller's to map); parse_compact also rejects r or s of zero or not below n. */
    if (sig[64] > 1 || !secp256k1_ecdsa_recoverable_signature_parse_compact(c, &rs, sig, sig[64]))
        return GTEE_EAUTH;
    /* EIP-2: a high-s signature is the malleated twin of a valid one; refuse it, since
     * our own signatures are always low-s and proofs must have one encoding. */
    if (!secp256k1_ecdsa_recoverable_signature_convert(c, &plain, &rs) ||
        secp256k1_ecdsa_signature_normalize(c, NULL, &plain))
        return GTEE_EAUTH;
    if (!secp256k1_ecdsa_recover(c, &pk, &rs, digest))
        return GTEE_EAUTH;
    return serialize_pub(c, &pk, pub);
}

int gtee_eth_address(const uint8_t pub[GTEE_SECP256K1_PUB_LEN], uint8_t addr[GTEE_ETH_ADDR_LEN])
{
    const secp256k1_context *c = ctx_get();
    uint8_t h[GTEE_KECCAK256_LEN];
    secp256k1_pubkey pk;

    if (!c)
        return GTEE_ECRYPTO;
    /* only an uncompressed point on the curve names an account */
    if (pub[0] != 0x04 || !secp256k1_ec_pubkey_parse(c, &pk, pub, GTEE_SECP256K1_PUB_LEN))
        return GTEE_EKEY;
    /* Yellow Paper (Appendix F, eq. 284): A(p) = B_96..255(KEC(ECDSAPUBKEY(p))), the
     * 64 bytes x || y without the SEC 1 prefix */
    gtee_keccak256(pub + 1, GTEE_SECP256K1_PUB_LEN - 1, h);
    memcpy(addr, h + GTEE_KECCAK256_LEN - GTEE_ETH_ADDR_LEN, GTEE_ETH_ADDR_LEN);
    return 0;
}

void gtee_eth_address_hex(const uint8_t addr[GTEE_ETH_ADDR_LEN], char out[GTEE_ETH_ADDR_HEX_LEN + 1])
{
    char lower[2 * GTEE_ETH_ADDR_LEN + 1];
    uint8_t h[GTEE_KECCAK256_LEN];

    /* EIP-55: hash the lowercase hex digits (ASCII, no 0x); a letter is upper case when
     * the hash's nibble at the same position is 8 or more. */
    gtee_hex_encode(addr, GTEE_ETH_ADDR_LEN, lower);
    gtee_keccak256(lower, 2 * GTEE_ETH_ADDR_LEN, h);
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < 2 * GTEE_ETH_ADDR_LEN; i++) {
        unsigned nib = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 15;
        char ch = lower[i];

        if (ch >= 'a' && ch <= 'f' && nib >= 8)
            ch = (char)(ch - 'a' + 'A');
        out[2 + i] = ch;
    }
    out[GTEE_ETH_ADDR_HEX_LEN] = '\0';
}
