/* Internal: the context shared by the DCAP verification steps (dcap_verify.c,
 * dcap_collateral_check.c, dcap_tcb.c). */
#ifndef GTEE_EVIDENCE_DCAP_STEPS_H
#define GTEE_EVIDENCE_DCAP_STEPS_H

#include "evidence/dcap.h"
#include "evidence/dcap_check.h"

struct dcap_ctx {
    const uint8_t *raw;
    size_t raw_len;
    const struct dcap_quote *q;
    const struct gtee_collateral *col;
    struct dcap_trust *trust;
    int64_t at;
    struct gtee_verdict *v;
    int anchors_seen; /* bit 0: Intel root, bit 1: simulated root */
    int rev_chains;   /* trusted chains whose revocation coverage was noted (PCK, TCB info, QE identity) */
    bool rev_partial; /* one of them had a certificate no CRL covered */
    unsigned crls;    /* GTEE_CRL_* that covered a certificate */
    unsigned passed;  /* bits (1u << enum dcap_check) of the checks that recorded a pass */
};

/* Records that check k passed (dcap_check_pass). */
void dcap_pass(struct dcap_ctx *c, enum dcap_check k);

void dcap_note_anchor(struct dcap_ctx *c, bool simulated);
/* The revocation coverage of one trusted chain's path (x509chain.c records it). */
void dcap_note_revocation(struct dcap_ctx *c, const struct dcap_path *path);
/* Each sets *out to the document's parse: the prepared one for prepared bytes, else parsed
 * into *buf (allocated here, freed by the caller). */
bool dcap_check_tcb_info(struct dcap_ctx *c, struct tcb_info **buf, const struct tcb_info **out);
bool dcap_check_qe_identity(struct dcap_ctx *c, struct qe_identity **buf, const struct qe_identity **out);
void dcap_note_crl_times(struct dcap_ctx *c);
/* dcap_tcb.c: QE identity match, platform TCB level, TDX module, status convergence; records
 * DCAP_CHECK_QE_IDENTITY_MATCH and DCAP_CHECK_TCB_STATUS. */
void dcap_eval_tcb(struct dcap_ctx *c, const struct pck_ext *ext, const struct tcb_info *ti,
                   const struct qe_identity *qi);

#endif
