/* NVIDIA GPU reports in the common verdict (evidence_gpu.c). Internal header. */
#ifndef GTEE_EVIDENCE_EVIDENCE_GPU_H
#define GTEE_EVIDENCE_EVIDENCE_GPU_H

#include <stdbool.h>

#include "gtee/evidence.h"

/* Verifies a GPU report with the collateral's GPU files and the expected nonce (NULL: none
 * given, which rejects), mapping reasons and claims into v; *complete when every check ran
 * and passed. GTEE_EFORMAT if the report is malformed, else 0. */
int evidence_gpu_verify(const uint8_t *report, size_t len, const struct gtee_collateral *col, const uint8_t *nonce,
                        int64_t at, struct gtee_verdict *v, bool *complete);

/* gtee_evidence_verify with the verifier's nonce for evidence that is signed over it (a GPU
 * report's requester nonce); gtee_evidence_verify passes NULL. */
int evidence_verify_nonce(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                          const struct gtee_anchors *anchors, const struct gtee_policy *policy, const uint8_t *nonce,
                          int64_t at, struct gtee_verdict *v, struct gtee_err *err);

#endif
