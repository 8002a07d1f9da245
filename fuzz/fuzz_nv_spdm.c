/* Fuzz target for the NVIDIA GPU report parser (SPDM 1.1 GET_MEASUREMENTS request and
 * MEASUREMENTS response): checks the parser's promises, not just the absence of crashes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gtee/nvidia.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_nv_report r;

    if (gtee_nv_report_parse(data, size, &r, NULL) == 0) {
        /* a parsed report: the lengths add up exactly, the signature ends the bytes, and the
         * kind is recognised from the same bytes */
        if (!gtee_nv_report_detect(data, size) || r.n_blocks == 0 || r.n_blocks > GTEE_NV_BLOCK_MAX ||
            r.record_len != 55 * r.n_blocks || r.signed_len + GTEE_NV_SIG_LEN != size ||
            r.opaque_off + r.opaque_len != r.signed_len ||
            r.opaque_off != GTEE_NV_REQUEST_LEN + 8 + r.record_len + GTEE_NV_NONCE_LEN + 2 ||
            memcmp(r.nonce, data + 4, GTEE_NV_NONCE_LEN) != 0 || r.bad_code[0] != '\0')
            __builtin_trap();
    } else if (r.bad_code[0] == '\0') {
        __builtin_trap(); /* every refusal carries a reason code */
    }
    return 0;
}
