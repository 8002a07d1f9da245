/* Fuzz target for the SEV-SNP parsers: the input as a report, as a VCEK certificate
 * (AMD extension decoder), and, split after 1184 bytes, as report + VCEK through the
 * whole verifier. Checks the parsers' promises, not just the absence of crashes. */
#include <stddef.h>
#include <stdint.h>

#include "gtee/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_snp_result res;
    struct gtee_snp_report r;
    struct gtee_snp_vcek v;
    struct gtee_snp_policy p;

    if (gtee_snp_report_parse(data, size, &r, NULL) == 0) {
        /* a parsed report is exactly one known layout with sane header fields */
        if (size != GTEE_SNP_REPORT_LEN || (r.version != 2 && r.version != 3) || r.vmpl > 3 ||
            r.signature_algo != GTEE_SNP_SIG_ALGO_ECDSA_P384_SHA384)
            __builtin_trap();
        gtee_snp_policy_decode(r.policy, &p);
        if (!p.reserved_one)
            __builtin_trap();
    }
    if (gtee_snp_vcek_parse(data, size, &v, NULL) == 0) {
        if (v.pub[0] != 0x04 || v.product_name[GTEE_SNP_PRODUCT_NAME_MAX - 1] != '\0' ||
            (!v.is_vlek && !v.has_hwid))
            __builtin_trap();
    }
    if (size > GTEE_SNP_REPORT_LEN) {
        int rc = gtee_snp_verify(data, GTEE_SNP_REPORT_LEN, data + GTEE_SNP_REPORT_LEN,
                                 size - GTEE_SNP_REPORT_LEN, NULL, 1752883200, &res, NULL);
        /* success and the reason list always agree */
        if ((rc == 0) != (res.verified && res.n_reasons == 0) || (rc != 0 && res.n_reasons == 0))
            __builtin_trap();
    }
    return 0;
}
