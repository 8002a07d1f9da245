/* The Enclave identity: a secp256k1 key derived from the sealing key bound to the enclave's
 * measurement (its Ethereum address is the Enclave ID). The report data that commits to it
 * and to the channel key is a shared format (src/wire/report_data.c). */
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "tee/tee_int.h"

static const char key_info[] = "gtee enclave key v1: secp256k1";

int gtee_tee_enclave_key(struct gtee_tee *t, uint8_t priv[32], uint8_t pub[GTEE_ENCLAVE_PUB_LEN],
                         uint8_t addr[GTEE_ENCLAVE_ADDR_LEN], struct gtee_err *err)
{
    uint8_t skey[GTEE_SEAL_KEY_LEN], info[sizeof(key_info)];
    int rc;

    TRY(gtee_tee_sealing_key(t, GTEE_SEAL_MRENCLAVE, skey, err));
    memcpy(info, key_info, sizeof(key_info) - 1);
    /* A candidate is a valid scalar unless it is 0 or >= n (chance about 2^-128); the
     * counter byte then gives the next candidate, deterministically. */
    rc = GTEE_EKEY;
    for (unsigned ctr = 0; ctr < 256 && rc != 0; ctr++) {
        info[sizeof(info) - 1] = (uint8_t)ctr;
        ENSURE(gtee_hkdf_sha256(priv, 32, skey, sizeof(skey), NULL, 0, info, sizeof(info)) == 0, err,
               GTEE_ECRYPTO, "identity: key derivation failed");
        rc = gtee_secp256k1_public(priv, pub);
    }
    ENSURE(rc == 0, err, GTEE_EKEY, "identity: no valid secp256k1 scalar derived");
    ENSURE(gtee_eth_address(pub, addr) == 0, err, GTEE_ECRYPTO, "identity: address computation failed");
out:
    gtee_wipe(skey, sizeof(skey));
    if (rc < 0)
        gtee_wipe(priv, 32);
    return rc;
}
