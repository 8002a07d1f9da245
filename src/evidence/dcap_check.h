/* Internal: the checks a verification must positively pass before its verdict may say
 * "verified" (docs/evidence.md, "Fail-closed verdict"), for Intel DCAP quotes and SEV-SNP
 * reports, and the gate that turns a check that never recorded a pass into a rejection. */
#ifndef GTEE_EVIDENCE_DCAP_CHECK_H
#define GTEE_EVIDENCE_DCAP_CHECK_H

#include <stdbool.h>

#include "gtee/evidence.h"

/* The required checks of an Intel DCAP quote, each recorded by the step that passes it
 * (dcap_verify.c, dcap_collateral_check.c, dcap_tcb.c). */
enum dcap_check {
    DCAP_CHECK_QE_VENDOR,           /* header QE vendor ID is Intel's */
    DCAP_CHECK_PCK_CHAIN,           /* PCK chain verified to an anchor at the call's time */
    DCAP_CHECK_PCK_EXTENSIONS,      /* the PCK leaf's SGX extensions parsed */
    DCAP_CHECK_QE_REPORT_SIGNATURE, /* QE report signed by the PCK leaf key */
    DCAP_CHECK_QE_REPORT_BINDING,   /* QE report data binds the attestation key */
    DCAP_CHECK_QUOTE_SIGNATURE,     /* quote signed by the attestation key */
    DCAP_CHECK_TCB_INFO,            /* TCB info signed, inside its window, of the quote's kind */
    DCAP_CHECK_QE_IDENTITY,         /* QE identity signed, inside its window, of the quote's kind */
    DCAP_CHECK_REVOCATION,          /* revocation coverage established over all three chains */
    DCAP_CHECK_TCB_STATUS,          /* the TCB status computed, and not Revoked */
    DCAP_CHECK_QE_IDENTITY_MATCH,   /* the QE report matched the QE identity and one of its levels */
    DCAP_CHECK_COUNT
};
#define DCAP_CHECKS_ALL ((1u << DCAP_CHECK_COUNT) - 1)

/* The required checks of an SEV-SNP report (struct gtee_snp_result's flags, snp_verify.c). */
enum snp_check {
    SNP_CHECK_VCEK,       /* vcek_parsed */
    SNP_CHECK_CHAIN,      /* chain_ok: VCEK -> ASK -> pinned ARK */
    SNP_CHECK_SIGNATURE,  /* signature_ok */
    SNP_CHECK_TCB,        /* tcb_ok: reported TCB and chip ID equal the certificate's */
    SNP_CHECK_REVOCATION, /* a CRL given was applied (revocation_checked); none: the claim is false */
    SNP_CHECK_COUNT
};
#define SNP_CHECKS_ALL ((1u << SNP_CHECK_COUNT) - 1)

/* "qe_vendor", "quote_signature", ...: the last part of the check's reason code. */
const char *dcap_check_name(enum dcap_check k);
const char *snp_check_name(enum snp_check k);

/* Records that check k passed: the bit in *passed, unless the check is disabled (only a
 * test binary disables one, see dcap_check_enabled). */
void dcap_check_pass(unsigned *passed, enum dcap_check k);
void snp_check_pass(bool *flag, enum snp_check k);

/* Whether a step records its pass. The library's definition (dcap_check_hook.c,
 * snp_check_hook.c: each alone in its file) always answers 1; a test binary defines the
 * same symbol to make one step forget its pass, and shows that the gate below still
 * rejects. There is no run-time knob. */
int dcap_check_enabled(enum dcap_check k);
int snp_check_enabled(enum snp_check k);

/* The gate: true only when every bit of `required` is in `passed`. Each missing check adds
 * "dcap.check_missing.<name>" (or "snp.check_missing.<name>") to v, unless v already holds a
 * reason (then that reason, which stopped the check, explains the rejection). */
bool dcap_checks_gate(unsigned passed, struct gtee_verdict *v);
bool snp_checks_gate(unsigned passed, struct gtee_verdict *v);

#endif
