/* SEV-SNP reports in the common verdict: gtee_snp_verify (snp.h) does the verification;
 * its reasons become verdict reasons and its authenticated fields the claims (measurement,
 * host data, report data, guest policy DEBUG bit, whether AMD's ARK CRL was applied) that
 * the shared policy engine checks. */
#include <stdlib.h>
#include <string.h>

#include "evidence/dcap.h"
#include "evidence/dcap_check.h"
#include "evidence/evidence_snp.h"
#include "evidence/snp_internal.h"
#include "gtee/snp.h"

int evidence_snp_verify(const uint8_t *report, size_t len, const struct gtee_collateral *col, int64_t at,
                        struct gtee_verdict *v, bool *complete)
{
    struct gtee_snp_result *res = calloc(1, sizeof(*res));
    struct gtee_claims *c = &v->claims;
    struct gtee_err err = {0};
    const char *bundle;
    unsigned passed = 0;
    int rc = 0;

    *complete = false;
    c->tee = GTEE_TEE_SNP;
    if (!res) {
        verdict_add(v, "evidence.internal", "out of memory");
        return 0;
    }
    if (!col || !col->snp_vcek.p) {
        verdict_add(v, "snp.vcek.missing", "SEV-SNP evidence needs the VCEK certificate (vcek.der) in the "
                    "collateral");
        if (gtee_snp_report_parse(report, len, &res->report, &err) < 0) {
            verdict_add(v, "snp.report.malformed", "%s", err.msg);
            rc = GTEE_EFORMAT;
        }
        goto out;
    }
    /* The bundle blob is NUL-terminated by gtee_collateral_load; a caller-built one must be too.
     * Prepared collateral: the VCEK's parse and chain, if prepared from these exact bytes. */
    bundle = dcap_snp_bundle(col);
    (void)snp_verify_prepared(report, len, col->snp_vcek.p, col->snp_vcek.len, bundle, col->snp_ark_crl.p,
                              col->snp_ark_crl.len, (time_t)at,
                              snp_prepared_match(dcap_prepared_snp(col), col->snp_vcek.p, col->snp_vcek.len, bundle,
                                                 col->snp_ark_crl.p, col->snp_ark_crl.len),
                              res, &err);
    for (size_t i = 0; i < res->n_reasons; i++)
        verdict_add(v, res->reasons[i].code, "%s", res->reasons[i].msg);
    if (res->reasons_truncated)
        v->reasons_truncated = true;
    /* The verifier's pass flags reach the verdict: each one not set is a missing check (named
     * when no reason explains it), and its own overall flag must agree. */
    passed |= res->vcek_parsed ? 1u << SNP_CHECK_VCEK : 0;
    passed |= res->chain_ok ? 1u << SNP_CHECK_CHAIN : 0;
    passed |= res->signature_ok ? 1u << SNP_CHECK_SIGNATURE : 0;
    passed |= res->tcb_ok ? 1u << SNP_CHECK_TCB : 0;
    /* A CRL given must have been applied; without one the claim stays false for the policy. */
    passed |= res->chain_ok && res->revocation_checked == res->crl_given ? 1u << SNP_CHECK_REVOCATION : 0;
    *complete = snp_checks_gate(passed, v) && res->verified;
    if (!*complete && v->n_reasons == 0)
        verdict_add(v, "snp.internal", "%s", err.msg[0] ? err.msg : "snp: verification incomplete");
    if (!res->report_parsed) {
        rc = GTEE_EFORMAT;
        goto out;
    }
    memcpy(c->report_data, res->report.report_data, GTEE_REPORT_DATA_LEN);
    memcpy(c->snp.measurement, res->report.measurement, GTEE_MEASUREMENT_MAX_LEN);
    memcpy(c->snp.host_data, res->report.host_data, GTEE_HOST_DATA_LEN);
    c->snp.guest_policy = res->report.policy;
    c->snp.reported_tcb = res->report.reported_tcb.raw;
    /* REPORTED_TCB, the TCB the VCEK is issued for (snp_verify.c checks the two agree),
     * packed for a ledger: its bytes compare one by one (docs/chain.md, "The TCB rule") */
    c->tcb_number = (uint32_t)res->report.reported_tcb.bootloader << 24 | (uint32_t)res->report.reported_tcb.tee << 16 |
                    (uint32_t)res->report.reported_tcb.snp << 8 | res->report.reported_tcb.microcode;
    c->quote_version = (uint16_t)res->report.version;
    c->debug = res->policy.debug_allowed; /* guest policy bit 19: the hypervisor may debug the guest */
    /* ark_crl.der applied to a chain that verified with it (docs/evidence-snp.md, "Revocation") */
    c->revocation_checked = res->revocation_checked;
    c->crls_applied = res->revocation_checked ? GTEE_CRL_SNP_ARK : 0;
out:
    free(res);
    return rc;
}
