/* The key-release service's own key (docs/tee.md §4.3.1, "Service key"): a static P-256 key
 * pair derived from the master secret, so the service keeps one secret file. It seals every
 * answer (ECDH with the TD's ephemeral key), and the TD, which pins its public half in its
 * measured configuration, accepts only answers sealed with it: a host that answers itself,
 * or runs its own service with its own master secret, cannot produce one. */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"

static const char svc_tag[] = "gtee key release service key v1"; /* without its NUL, then a counter */

int gtee_kr_service_key(const uint8_t master[GTEE_KR_SECRET_LEN], uint8_t priv[32], uint8_t pub[GTEE_KR_PUB_LEN],
                        struct gtee_err *err)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *p = NULL;
    BIGNUM *d = NULL;
    BN_CTX *ctx = BN_CTX_new();
    uint8_t info[sizeof(svc_tag)];
    int rc = GTEE_ECRYPTO;

    ENSURE(g && ctx && (p = EC_POINT_new(g)) && (d = BN_secure_new()), err, GTEE_ECRYPTO,
           "keyrelease: P-256 set-up failed");
    memcpy(info, svc_tag, sizeof(svc_tag) - 1);
    /* Counter 0, 1, ... until the scalar is in [1, n-1] (a retry has probability ~2^-32). */
    for (unsigned i = 0;; i++) {
        ENSURE(i < 256, err, GTEE_ECRYPTO, "keyrelease: no valid service key scalar");
        info[sizeof(info) - 1] = (uint8_t)i;
        ENSURE(gtee_hkdf_sha256(priv, 32, master, GTEE_KR_SECRET_LEN, NULL, 0, info, sizeof(info)) == 0, err,
               GTEE_ECRYPTO, "keyrelease: service key derivation failed");
        ENSURE(BN_bin2bn(priv, 32, d), err, GTEE_ECRYPTO, "keyrelease: service key derivation failed");
        if (!BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0)
            break;
    }
    ENSURE(EC_POINT_mul(g, p, d, NULL, NULL, ctx) == 1 &&
               EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub, GTEE_KR_PUB_LEN, ctx) == GTEE_KR_PUB_LEN,
           err, GTEE_ECRYPTO, "keyrelease: service public key computation failed");
    rc = 0;
out:
    if (rc < 0)
        gtee_wipe(priv, 32);
    BN_clear_free(d);
    EC_POINT_free(p);
    EC_GROUP_free(g);
    BN_CTX_free(ctx);
    return rc;
}
