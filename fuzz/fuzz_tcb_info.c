/* libFuzzer target: Intel collateral documents: the signed-JSON splitter (exact byte range
 * of "tcbInfo"/"enclaveIdentity" and the signature), then the TCB info and QE identity
 * parsers on the value. Seeds: the samples' tcb_info.json and qe_identity.json. */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tcb_info ti;
    static struct qe_identity qi;
    uint8_t sig[64];
    size_t off, len;
    struct gtee_err err;

    if (dcap_signed_json_split(data, size, "tcbInfo", &off, &len, sig, &err) == 0) {
        if (off + len > size)
            abort();
        (void)dcap_tcb_info_parse(data + off, len, &ti, &err);
    }
    if (dcap_signed_json_split(data, size, "enclaveIdentity", &off, &len, sig, &err) == 0) {
        if (off + len > size)
            abort();
        (void)dcap_qe_identity_parse(data + off, len, &qi, &err);
    }
    (void)dcap_tcb_info_parse(data, size, &ti, &err);
    (void)dcap_qe_identity_parse(data, size, &qi, &err);
    return 0;
}
