/* Fuzz target for the NVIDIA GPU report parser (SPDM 1.1 GET_MEASUREMENTS request and
 * MEASUREMENTS response), then the whole verifier on the same bytes against the h100-1
 * collateral prepared once: checks the promises of both, not just the absence of crashes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/file.h"
#include "gtee/nvidia.h"
#include "../tests/vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *vec(const char *rel, size_t *len)
{
    char path[4096];
    uint8_t *p = NULL;

    if (gtee_file_read(vector_path(path, sizeof(path), rel), 8u << 20, &p, len, NULL) != 0)
        abort();
    return p;
}

/* The h100-1 collateral with its production RIMs, prepared once for every input. */
static const struct gtee_nv_prepared *prepared(void)
{
    static struct gtee_nv_collateral c;
    static struct gtee_nv_prepared *p;

    if (!p) {
        c.chain_pem = (uint8_t *)vec("nvidia/h100-1/cert_chain.pem", &c.chain_len);
        c.driver_rim = (uint8_t *)vec("nvidia/h100-1/production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml",
                                      &c.driver_rim_len);
        c.vbios_rim = (uint8_t *)vec("nvidia/h100-1/production_rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml",
                                     &c.vbios_rim_len);
        if (gtee_nv_prepare(&c, &p, NULL) != 0)
            abort();
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_nv_report r;
    static struct gtee_nv_result res;
    int rc;

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
    /* The verifier over the input's own nonce (2025-10-24T12:00:00Z): success and the reasons
     * agree, and a malformed report is said to be so. */
    rc = gtee_nv_verify_prepared(prepared(), data, size, size > 36 ? data + 4 : NULL, 1761307200, &res, NULL);
    if ((rc == 0) != (res.verified && res.n_reasons == 0) || (rc != 0 && res.n_reasons == 0) ||
        (rc == GTEE_EFORMAT) != !res.parsed)
        __builtin_trap();
    return 0;
}
