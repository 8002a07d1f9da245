/* The evidence verification entry point: recognises the kind of evidence, dispatches to its
 * verifier (Intel DCAP: dcap_verify.c; AMD SEV-SNP: snp.h through evidence_snp.c; NVIDIA GPU
 * reports: nvidia.h through evidence_gpu.c), gates the
 * verdict on every required check having passed (dcap_check.c), then applies the policy. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "evidence/dcap.h"
#include "evidence/dcap_check.h"
#include "evidence/evidence_gpu.h"
#include "evidence/evidence_snp.h"
#include "gtee/bundle.h"
#include "gtee/nvidia.h"

enum evidence_kind { KIND_UNKNOWN, KIND_DCAP, KIND_SNP, KIND_GPU };

#define SNP_REPORT_LEN 1184 /* AMD SEV-SNP ABI, table 22 "ATTESTATION_REPORT" */

static enum evidence_kind detect(const uint8_t *p, size_t len)
{
    struct span s = span_init(p, len);
    uint16_t v16 = span_u16le(&s), key = span_u16le(&s);

    if (s.bad)
        return KIND_UNKNOWN;
    /* An SPDM 1.1 GET_MEASUREMENTS request then a MEASUREMENTS response: 11 E0 .. 11 60. */
    if (gtee_nv_report_detect(p, len))
        return KIND_GPU;
    /* DCAP quotes carry the attestation key type 2 at offset 2 in every version; the parser
     * then names a bad version. SNP reports have a 32-bit version there (high half zero). */
    if (key == DCAP_ATT_KEY_ECDSA_P256)
        return KIND_DCAP;
    if (len == SNP_REPORT_LEN && key == 0 && v16 >= 2 && v16 <= 5)
        return KIND_SNP;
    return KIND_UNKNOWN;
}

int evidence_verify_nonce(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                          const struct gtee_anchors *anchors, const struct gtee_policy *policy, const uint8_t *nonce,
                          int64_t at, struct gtee_verdict *v, struct gtee_err *err)
{
    struct gtee_policy def;
    struct dcap_quote *q = NULL;
    struct gtee_err e = {0};
    int rc = GTEE_EINVAL;
    bool complete = false;

    ENSURE(v != NULL, err, GTEE_EINVAL, "evidence: no verdict to fill");
    verdict_reset(v);
    if (!policy) {
        gtee_policy_default(&def);
        policy = &def;
    }
    /* A bundle's collateral given for one plain evidence: its CVM part's. */
    if (col && col->cvm)
        col = col->cvm;
    if (!evidence || len == 0) {
        verdict_add(v, "evidence.malformed", "no evidence bytes");
        ENSURE(false, err, GTEE_EFORMAT, "evidence: no bytes");
    }
    switch (detect(evidence, len)) {
    case KIND_DCAP:
        q = calloc(1, sizeof(*q));
        ENSURE(q != NULL, err, GTEE_ENOMEM, "evidence: out of memory");
        if (dcap_quote_parse(evidence, len, q, &e) < 0) {
            verdict_add(v, "quote.malformed", "%s", e.msg);
            ENSURE(false, err, GTEE_EFORMAT, "%s", e.msg);
        }
        complete = dcap_checks_gate(dcap_verify(evidence, len, q, col, anchors, at, v), v);
        break;
    case KIND_SNP:
        /* AMD SEV-SNP: verified by snp.h (evidence_snp.c maps its result to the verdict). */
        rc = evidence_snp_verify(evidence, len, col, at, v, &complete);
        ENSURE(rc != GTEE_EFORMAT, err, GTEE_EFORMAT, "evidence: SEV-SNP report malformed (%s)",
               v->n_reasons ? v->reasons[0].msg : "");
        break;
    case KIND_GPU:
        rc = evidence_gpu_verify(evidence, len, col, nonce, at, v, &complete);
        ENSURE(rc != GTEE_EFORMAT, err, GTEE_EFORMAT, "evidence: GPU report malformed (%s)",
               v->n_reasons ? v->reasons[0].msg : "");
        break;
    default:
        verdict_add(v, "evidence.malformed", "evidence is neither a DCAP quote (v3/v4/v5), an SEV-SNP report nor "
                    "an NVIDIA GPU report (offset 0)");
        ENSURE(false, err, GTEE_EFORMAT, "evidence: unknown kind (offset 0)");
    }
    /* Fail closed: verified only when every required check recorded a pass, and no step
     * recorded a failure (docs/evidence.md, "Fail-closed verdict"). */
    v->verified = complete && v->n_reasons == 0;
    gtee_policy_apply(policy, at, v);
    rc = v->accepted ? 0 : GTEE_EPOLICY;
    if (rc < 0)
        GTEE_FAIL(err, rc, "evidence: rejected (%s: %s)", v->reasons[0].code, v->reasons[0].msg);
out:
    free(q);
    if (v && rc < 0)
        v->accepted = false;
    return rc;
}

int gtee_evidence_verify(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                         const struct gtee_anchors *anchors, const struct gtee_policy *policy, int64_t at,
                         struct gtee_verdict *v, struct gtee_err *err)
{
    if (gtee_bundle_detect(evidence, len))
        return evidence_verify_bundle(evidence, len, col, anchors, policy, NULL, at, v, err);
    return evidence_verify_nonce(evidence, len, col, anchors, policy, NULL, at, v, err);
}
