/* libFuzzer target: SEV-SNP verification with a caller-supplied ASK/ARK bundle and AMD ARK
 * CRL (the PEM splitter, the pinned-ARK comparison, the CRL's DER, issuer, signature and
 * window, the VCEK -> ASK -> ARK chain with the CRL applied), directly through
 * gtee_snp_verify_crl and through the common entry point (gtee_evidence_verify, whose
 * collateral carries the bundle and ark_crl.der). Checks that return codes, reasons and the
 * revocation claim agree.
 *
 * Input format (seeds in fuzz/corpus/fuzz_snp_bundle/: the milan-1 report and VCEK with the
 * Milan bundle, with the Genoa one, which must be refused, and with a CRL under ARK-Milan's
 * name signed by another key, and one under ARK-Genoa's):
 *     report (1184 bytes) | VCEK length (2 bytes, little-endian) | VCEK DER
 *     | CRL length (2 bytes, little-endian; 0: no CRL) | CRL DER | bundle PEM
 * The bundle is the rest of the input, copied with a NUL after it; a short input is used as
 * far as it goes (a missing VCEK or bundle is empty, a missing CRL absent). Verification
 * time: 2025-07-19T00:00:00Z, where milan-1's chain is valid. */
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
    size_t rlen = size < GTEE_SNP_REPORT_LEN ? size : GTEE_SNP_REPORT_LEN, off = rlen, vlen = 0, clen = 0, blen;
    uint8_t *vcek, *crl = NULL, *bundle;
    int rc;

    if (size - off >= 2) {
        vlen = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (vlen > size - off)
            vlen = size - off;
    }
    vcek = malloc(vlen + 1);
    if (!vcek)
        abort();
    memcpy(vcek, data + off, vlen);
    off += vlen;
    if (size - off >= 2) {
        clen = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (clen > size - off)
            clen = size - off;
        if (clen) {
            if (!(crl = malloc(clen)))
                abort();
            memcpy(crl, data + off, clen);
        }
        off += clen;
    }
    blen = size - off;
    bundle = malloc(blen + 1);
    if (!bundle)
        abort();
    memcpy(bundle, data + off, blen);
    bundle[blen] = 0;

    rc = gtee_snp_verify_crl(data, rlen, vcek, vlen, (const char *)bundle, crl, clen, AT, &res, NULL);
    if ((rc == 0) != (res.verified && res.n_reasons == 0) || (rc != 0 && res.n_reasons == 0))
        __builtin_trap();
    /* revocation is claimed only with a CRL given, and a verified report with one has it */
    if ((res.revocation_checked && !crl) || (res.crl_given && !crl) || (res.verified && crl && !res.revocation_checked))
        __builtin_trap();

    col.snp_vcek.p = vcek;
    col.snp_vcek.len = vlen;
    col.snp_ask_ark.p = bundle;
    col.snp_ask_ark.len = blen;
    col.snp_ark_crl.p = crl;
    col.snp_ark_crl.len = clen;
    gtee_policy_default(&policy);
    policy.allow_debug = true;
    rc = gtee_evidence_verify(data, rlen, &col, NULL, &policy, AT, &v, NULL);
    if ((rc == 0) != v.accepted || (rc != 0 && rc != GTEE_ENOMEM && v.n_reasons == 0))
        __builtin_trap();
    /* the default policy requires revocation for SEV-SNP: nothing accepted without the CRL */
    if (v.accepted && (!v.claims.revocation_checked || !crl || v.claims.crls_applied != GTEE_CRL_SNP_ARK))
        __builtin_trap();
    free(vcek);
    free(crl);
    free(bundle);
    return 0;
}
