/* libFuzzer target: SEV-SNP verification with a caller-supplied ASK/ARK bundle (the PEM
 * splitter, the pinned-ARK comparison, the VCEK -> ASK -> ARK chain), directly through
 * gtee_snp_verify and through the common entry point (gtee_evidence_verify, whose
 * collateral carries the bundle). Checks that return codes and reasons agree.
 *
 * Input format (seeds in fuzz/corpus/fuzz_snp_bundle/: the milan-1 report and VCEK with the
 * Milan bundle, and with the Genoa one, which must be refused):
 *     report (1184 bytes) | VCEK length (2 bytes, little-endian) | VCEK DER | bundle PEM
 * The bundle is the rest of the input, copied with a NUL after it; a short input is used as
 * far as it goes (a missing VCEK or bundle is empty). Verification time:
 * 2025-07-19T00:00:00Z, where milan-1's chain is valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/evidence.h"
#include "gtee/snp.h"

#define AT 1752883200 /* 2025-07-19T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtee_snp_result res;
    static struct gtee_verdict v;
    struct gtee_collateral col = {0};
    struct gtee_policy policy;
    size_t rlen = size < GTEE_SNP_REPORT_LEN ? size : GTEE_SNP_REPORT_LEN, off = rlen, vlen = 0, blen;
    uint8_t *vcek, *bundle;
    int rc;

    if (size - off >= 2) {
        vlen = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (vlen > size - off)
            vlen = size - off;
    }
    blen = size - off - vlen;
    vcek = malloc(vlen + 1);
    bundle = malloc(blen + 1);
    if (!vcek || !bundle)
        abort();
    memcpy(vcek, data + off, vlen);
    memcpy(bundle, data + off + vlen, blen);
    bundle[blen] = 0;

    rc = gtee_snp_verify(data, rlen, vcek, vlen, (const char *)bundle, AT, &res, NULL);
    if ((rc == 0) != (res.verified && res.n_reasons == 0) || (rc != 0 && res.n_reasons == 0))
        __builtin_trap();

    col.snp_vcek.p = vcek;
    col.snp_vcek.len = vlen;
    col.snp_ask_ark.p = bundle;
    col.snp_ask_ark.len = blen;
    gtee_policy_default(&policy);
    policy.allow_debug = true;
    rc = gtee_evidence_verify(data, rlen, &col, NULL, &policy, AT, &v, NULL);
    if ((rc == 0) != v.accepted || (rc != 0 && rc != GTEE_ENOMEM && v.n_reasons == 0))
        __builtin_trap();
    free(vcek);
    free(bundle);
    return 0;
}
