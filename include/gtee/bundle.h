/* Composite evidence: one bundle of a confidential VM's evidence (TDX quote or SEV-SNP
 * report, whose report data commits to the enclave keys and the verifier's nonce) and the
 * reports of the GPUs beside it, each over the nonce the CVM evidence commits to. Verifying
 * a bundle verifies every part and the binding. Format and binding: docs/evidence-nvidia.md,
 * "Composite evidence". */
#ifndef GTEE_BUNDLE_H
#define GTEE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"
#include "gtee/evidence.h"

#define GTEE_BUNDLE_MAGIC "GTEEBNDL"
#define GTEE_BUNDLE_MAGIC_LEN 8
#define GTEE_BUNDLE_VERSION 1
#define GTEE_BUNDLE_GPU_MAX 8
#define GTEE_BUNDLE_CVM_MAX (1u << 20)
#define GTEE_BUNDLE_GPU_LEN_MAX (64u << 10)

/* A parsed bundle: pointers into the bytes it was parsed from. */
struct gtee_bundle {
    const uint8_t *cvm;
    size_t cvm_len;
    size_t n_gpu;
    const uint8_t *gpu[GTEE_BUNDLE_GPU_MAX];
    size_t gpu_len[GTEE_BUNDLE_GPU_MAX];
};

/* True if buf starts with the bundle magic. */
bool gtee_bundle_detect(const uint8_t *buf, size_t len);

/* Parses exactly: magic, version 1, GPU count 0..8, reserved zero, the CVM evidence
 * (1..1 MiB), each GPU report (1..64 KiB), no trailing bytes. GTEE_EFORMAT naming the field
 * and offset. */
int gtee_bundle_parse(const uint8_t *buf, size_t len, struct gtee_bundle *b, struct gtee_err *err) GTEE_MUST_USE;

/* Writes a bundle (malloc'ed *out) from its parts; the same limits. */
int gtee_bundle_write(const struct gtee_bundle *b, uint8_t **out, size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;

/* The nonce GPU `index` must have signed: the CVM evidence's report data bytes 32..63 (the
 * verifier's nonce), the same for every GPU (docs/evidence-nvidia.md, "The binding"). */
void gtee_bundle_gpu_nonce(const uint8_t report_data[GTEE_REPORT_DATA_LEN], unsigned index, uint8_t nonce[32]);

/* The hash of a bundle's GPU evidence, as a Work Proof's gpuEvidenceHash (docs/proofs.md):
 * keccak256 over each GPU report in the bundle's order, each after its length as 4 bytes
 * big-endian. All zero for evidence that is not a bundle or holds no GPU; GTEE_EFORMAT for
 * a malformed bundle. */
int gtee_bundle_gpu_hash(const uint8_t *evidence, size_t len, uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;

/* The evidence that decides which collateral a verifier picks (a TDX or an SGX one): a
 * well-formed bundle's CVM part, else the evidence itself. */
void gtee_bundle_cvm(const uint8_t *evidence, size_t len, const uint8_t **cvm, size_t *cvm_len);

/* Verifies a bundle at `at` (gtee_evidence_verify_bound and gtee_evidence_verify call it for
 * any evidence that starts with the magic, with a bundle's collateral directory's parts): the CVM evidence with cvm_col against expect (keys and nonce,
 * as gtee_evidence_verify_bound), each GPU report i with gpu_cols[i] over the nonce the CVM
 * evidence commits to, then the policy (its gpu.min_count GPUs must be bound). v holds the
 * CVM's claims, claims.gpus_bound, and every reason of every part ("GPU i:" in the message).
 * Returns 0 if accepted, GTEE_EPOLICY if rejected, GTEE_EFORMAT if the bundle or a part is
 * malformed. */
int gtee_bundle_verify(const uint8_t *bundle, size_t len, const struct gtee_collateral *cvm_col,
                       const struct gtee_collateral *const *gpu_cols, size_t n_cols, const struct gtee_anchors *anchors,
                       const struct gtee_policy *policy, const struct gtee_binding_expect *expect, int64_t at,
                       struct gtee_verdict *v, struct gtee_err *err) GTEE_MUST_USE;

#endif
