/* libFuzzer target: the bytes of the TDX key release that cross the host (docs/tee.md
 * §4.3.1): a request as the service parses it, and an answer as the TD opens it (with a
 * fixed ephemeral key, so only the framing and the box's authentication run).
 * Seeds: a request around the real tdx-1 quote, and an answer-sized box. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/keyrelease.h"
#include "gtee/msg.h"
#include "wire/keyrelease_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t priv[32], pub[GTEE_KR_PUB_LEN];
    static int have_key;
    struct gtee_kr_request r;
    struct gtee_err err;
    uint8_t k[GTEE_KR_KEY_LEN];

    if (size > (1u << 20) + GTEE_KR_REQUEST_HDR)
        return 0;
    if (!have_key) {
        if (gtee_relay_keypair(priv, pub, NULL) != 0)
            abort();
        have_key = 1;
    }
    if (gtee_kr_request_parse(data, size, &r, &err) == 0 &&
        (r.evidence + r.evidence_len != data + size || r.eph_pub != data + 4))
        abort();
    /* An answer never opens without the service's box: the fuzzer cannot forge one. The pin
     * is the box's own sender key when the input is long enough, so the opening runs on. */
    if (gtee_kr_response_open(priv, pub, size >= 4 + GTEE_KR_PUB_LEN ? data + 4 : pub, data, size, data, size, k,
                              &err) == 0)
        abort();
    return 0;
}
