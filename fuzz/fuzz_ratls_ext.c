/* libFuzzer target: the RA-TLS certificate parser (X.509 DER, the quote, bundle and Enclave
 * key extensions, the P-256 key and self-signature) on arbitrary bytes. Seeds in
 * fuzz/corpus/fuzz_ratls_ext: certificates carrying simulated SGX and TDX quotes, the real
 * samples' quotes, a bundle (a simulated SGX quote and the h100-1 GPU report), and one
 * without extensions. */
#include <stdint.h>
#include <stdlib.h>

#include "gtee/bundle.h"
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
        /* a bundle the parser took parses exactly, and its CVM part is the quote it named */
        if (ext.bundle != gtee_bundle_detect(ext.evidence, ext.evidence_len))
            abort();
        if (ext.bundle) {
            struct gtee_bundle b;

            if (gtee_bundle_parse(ext.evidence, ext.evidence_len, &b, NULL) != 0 || b.cvm_len < 8 ||
                (b.cvm[4] == 0x81) != (ext.tee == GTEE_TEE_TDX))
                abort();
        }
        gtee_ratls_ext_free(&ext);
    }
    return 0;
}
