/* Internal interface between the SEV-SNP files: the failure-reason sink shared by the
 * report parser and the verifier, and the pinned roots. */
#ifndef GTEE_EVIDENCE_SNP_INTERNAL_H
#define GTEE_EVIDENCE_SNP_INTERNAL_H

#include <openssl/x509.h>

#include "gtee/snp.h"

/* Appends a reason to res (keeps the first GTEE_SNP_MAX_REASONS, then sets
 * reasons_truncated). `code` must be a static string. Returns rc. */
int snp_reason_add(struct gtee_snp_result *res, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Decodes a report into r, recording every problem in res. Returns a negative code when
 * the layout itself is unusable (length, version, algorithm): r is then incomplete.
 * Returns 0 when r is fully decoded, even if reserved-field problems were recorded. */
int snp_report_decode(const uint8_t *buf, size_t len, struct gtee_snp_report *r,
                      struct gtee_snp_result *res);

/* Copies the first reason of res into err (if any) and returns its rc. */
int snp_reason_to_err(const struct gtee_snp_result *res, struct gtee_err *err);

/* One DER certificate filling exactly len bytes (bounded size). */
int snp_x509_from_der(const uint8_t *der, size_t len, X509 **out, struct gtee_err *err);

/* The AMD extensions, subject key and validity of a parsed VCEK/VLEK certificate. */
int snp_vcek_from_x509(const X509 *x, struct gtee_snp_vcek *out, struct gtee_err *err);

/* Verifies leaf -> intermediate -> pinned ARK of product p at time `at`, recording
 * failures in res. bundle_pem may be NULL (see gtee_snp_verify). */
int snp_chain_verify(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                     time_t at, struct gtee_snp_result *res);

#endif
