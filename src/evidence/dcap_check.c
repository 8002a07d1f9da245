/* The fail-closed gate of a verdict (docs/evidence.md, "Fail-closed verdict"): evidence is
 * verified only when every required check recorded a pass, not merely when no step recorded
 * a failure, so that a step that returns early or forgets a case rejects rather than accepts. */
#include <string.h>

#include "evidence/dcap.h"
#include "evidence/dcap_check.h"

#define MISSING_DCAP "dcap.check_missing."
#define MISSING_SNP "snp.check_missing."

/* Reason codes, one per check (their last part is the check's name). */
static const char *const dcap_missing[DCAP_CHECK_COUNT] = {
    [DCAP_CHECK_QE_VENDOR] = "dcap.check_missing.qe_vendor",
    [DCAP_CHECK_PCK_CHAIN] = "dcap.check_missing.pck_chain",
    [DCAP_CHECK_PCK_EXTENSIONS] = "dcap.check_missing.pck_extensions",
    [DCAP_CHECK_QE_REPORT_SIGNATURE] = "dcap.check_missing.qe_report_signature",
    [DCAP_CHECK_QE_REPORT_BINDING] = "dcap.check_missing.qe_report_binding",
    [DCAP_CHECK_QUOTE_SIGNATURE] = "dcap.check_missing.quote_signature",
    [DCAP_CHECK_TCB_INFO] = "dcap.check_missing.tcb_info",
    [DCAP_CHECK_QE_IDENTITY] = "dcap.check_missing.qe_identity",
    [DCAP_CHECK_REVOCATION] = "dcap.check_missing.revocation",
    [DCAP_CHECK_TCB_STATUS] = "dcap.check_missing.tcb_status",
    [DCAP_CHECK_QE_IDENTITY_MATCH] = "dcap.check_missing.qe_identity_match",
};

static const char *const snp_missing[SNP_CHECK_COUNT] = {
    [SNP_CHECK_VCEK] = "snp.check_missing.vcek",
    [SNP_CHECK_CHAIN] = "snp.check_missing.chain",
    [SNP_CHECK_SIGNATURE] = "snp.check_missing.signature",
    [SNP_CHECK_TCB] = "snp.check_missing.tcb",
    [SNP_CHECK_REVOCATION] = "snp.check_missing.revocation",
};

const char *dcap_check_name(enum dcap_check k)
{
    return (unsigned)k < DCAP_CHECK_COUNT ? dcap_missing[k] + sizeof(MISSING_DCAP) - 1 : "unknown";
}

const char *snp_check_name(enum snp_check k)
{
    return (unsigned)k < SNP_CHECK_COUNT ? snp_missing[k] + sizeof(MISSING_SNP) - 1 : "unknown";
}

void dcap_check_pass(unsigned *passed, enum dcap_check k)
{
    if (dcap_check_enabled(k))
        *passed |= 1u << k;
}

void snp_check_pass(bool *flag, enum snp_check k)
{
    if (snp_check_enabled(k))
        *flag = true;
}

static bool gate(unsigned passed, unsigned all, int count, const char *const *codes, const char *kind,
                 struct gtee_verdict *v)
{
    bool explained = v->n_reasons > 0;

    if ((passed & all) == all)
        return true;
    for (int k = 0; k < count && !explained; k++)
        if (!(passed & (1u << k)))
            verdict_add(v, codes[k], "the %s check %s recorded no pass, and no other reason says why",
                        kind, codes[k] + strlen(kind) + strlen(".check_missing."));
    return false;
}

bool dcap_checks_gate(unsigned passed, struct gtee_verdict *v)
{
    return gate(passed, DCAP_CHECKS_ALL, DCAP_CHECK_COUNT, dcap_missing, "dcap", v);
}

bool snp_checks_gate(unsigned passed, struct gtee_verdict *v)
{
    return gate(passed, SNP_CHECKS_ALL, SNP_CHECK_COUNT, snp_missing, "snp", v);
}
