/* NVIDIA GPU reports in the common verdict (evidence_gpu.c), and the internal entries that
 * composite bundles share with the one verification entry (bundle.c). Internal header. */
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

/* gtee_evidence_verify_bound for one evidence that is not a bundle (a bundle's CVM part: a
 * bundle inside a bundle is then of no known kind). */
int evidence_verify_bound_plain(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                                const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                                const struct gtee_binding_expect *expect, int64_t at, struct gtee_verdict *v,
                                struct gtee_err *err);

/* A bundle (bundle.h) against a bundle's collateral (col->cvm and col->gpus; a collateral of
 * one kind stands for the CVM part, and the GPUs then have none): gtee_bundle_verify. */
int evidence_verify_bundle(const uint8_t *bundle, size_t len, const struct gtee_collateral *col,
                           const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                           const struct gtee_binding_expect *expect, int64_t at, struct gtee_verdict *v,
                           struct gtee_err *err);

#endif
