/* Internal to the SDK: what a side accepts (policy, collateral, trust anchors), loaded from
 * the files named in gtee_client_options (gtee/sdk.h), shared by an application that requires
 * attested clients and by the client (src/client). Includes gtee/evidence.h (through
 * ratls.h): never with tee.h. */
#ifndef GTEE_SDK_VERIFIER_H
#define GTEE_SDK_VERIFIER_H

#include "gtee/ratls.h"
#include "gtee/sdk.h"

struct sdk_verifier {
    struct gtee_policy policy;
    struct gtee_collateral sgx, tdx;
    uint8_t *root;
    struct gtee_anchors anchors;
    struct gtee_ratls_verify vfy;     /* points into this struct: do not copy it */
};

int sdk_verifier_load(struct sdk_verifier *v, const struct gtee_client_options *opt, struct gtee_err *err) GTEE_MUST_USE;
void sdk_verifier_free(struct sdk_verifier *v); /* NULL ok */

#endif
