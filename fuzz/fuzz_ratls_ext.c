/* libFuzzer target: the RA-TLS certificate parser (X.509 DER, the quote and Enclave key
 * extensions, the P-256 key and self-signature) on arbitrary bytes. Seeds in
 * fuzz/corpus/fuzz_ratls_ext: certificates carrying simulated SGX and TDX quotes and the
 * real samples' quotes, and one without extensions. */
#include <stdint.h>
#include <stdlib.h>

#include "gtee/ratls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_ratls_ext ext;
    struct gtee_err err;
    uint8_t rd[GTEE_REPORT_DATA_LEN];

    if (gtee_ratls_ext_parse(data, size, &ext, &err) == 0) {
        if (!ext.evidence || ext.evidence_len == 0 || ext.evidence_len > GTEE_RATLS_EVIDENCE_MAX ||
            (ext.tee != GTEE_TEE_SGX && ext.tee != GTEE_TEE_TDX) || ext.channel_pub[0] != 0x04)
            abort();
        if (gtee_ratls_report_data(ext.enclave_pub, ext.channel_pub, NULL, rd) != 0)
            abort();
        gtee_ratls_ext_free(&ext);
    }
    return 0;
}
