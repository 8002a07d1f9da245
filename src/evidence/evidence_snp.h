/* Internal: SEV-SNP reports through the common evidence verdict (evidence_snp.c). */
#ifndef GTEE_EVIDENCE_SNP_GLUE_H
#define GTEE_EVIDENCE_SNP_GLUE_H

#include "gtee/evidence.h"

/* Verifies an SNP report with the VCEK (and optional ASK/ARK bundle) of col, filling v's
 * claims and reasons, and *complete with whether every required check recorded a pass
 * (snp_checks_gate, dcap_check.h). Returns GTEE_EFORMAT if the report itself is malformed,
 * else 0. */
int evidence_snp_verify(const uint8_t *report, size_t len, const struct gtee_collateral *col, int64_t at,
                        struct gtee_verdict *v, bool *complete);

#endif
