/* Internal interface between the SEV-SNP files: the failure-reason sink shared by the
 * report parser and the verifier, and the pinned roots. */
#ifndef GTEE_EVIDENCE_SNP_INTERNAL_H
#define GTEE_EVIDENCE_SNP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

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
 * failures in res. bundle_pem may be NULL (see gtee_snp_verify); crl_der (AMD's ARK CRL)
 * may be NULL (see gtee_snp_verify_crl): given, it is applied and res->crl_given set, and
 * res->revocation_checked when the chain verifies with it. */
int snp_chain_verify(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                     const uint8_t *crl_der, size_t crl_len, time_t at, struct gtee_snp_result *res);

/* The windows of a chain verified without a time (snp_prepared.c): a prepared VCEK chain
 * is used at a verification time only while every one is strictly open. */
#define SNP_PATH_MAX 4
struct snp_path {
    bool ok;
    int n;
    int64_t not_before[SNP_PATH_MAX], not_after[SNP_PATH_MAX];
    bool has_crl; /* verified with the ARK's CRL applied, whose window is then: */
    int64_t crl_this_update, crl_next_update;
};

/* snp_chain_verify without a time (every check but the certificates' and the CRL's
 * windows), recording the built path's windows in *path (path->ok false if they cannot be
 * recorded). */
int snp_chain_verify_untimed(X509 *leaf, enum gtee_snp_product p, bool vlek, const char *bundle_pem,
                             const uint8_t *crl_der, size_t crl_len, struct snp_path *path,
                             struct gtee_snp_result *res);

/* Prepared collateral's SEV-SNP part (snp_prepared.c; docs/evidence-snp.md, "Prepared
 * collateral"): the VCEK parsed and its chain to the pinned ARK verified without a time (with
 * the ARK's CRL applied, if any), for the exact VCEK, bundle and CRL bytes it was made from.
 * NULL from _new when anything fails. */
struct snp_prepared;
struct snp_prepared *snp_prepared_new(const uint8_t *vcek_der, size_t vcek_len, const char *bundle_pem,
                                      const uint8_t *crl_der, size_t crl_len);
void snp_prepared_free(struct snp_prepared *sp);
/* sp if it was made from exactly these bytes (bundle, CRL NULL: none), else NULL. */
const struct snp_prepared *snp_prepared_match(const struct snp_prepared *sp, const uint8_t *vcek_der,
                                              size_t vcek_len, const char *bundle_pem, const uint8_t *crl_der,
                                              size_t crl_len);
/* The prepared VCEK parse and chain windows; a use of the chain is counted (tests). */
void snp_prepared_vcek(const struct snp_prepared *sp, struct gtee_snp_vcek *out);
const struct snp_path *snp_prepared_path(const struct snp_prepared *sp);
void snp_prepared_hit(const struct snp_prepared *sp);
uint64_t snp_prepared_hits(const struct snp_prepared *sp);
/* gtee_snp_verify_crl, using sp (from snp_prepared_match on the same bytes, or NULL) for the
 * VCEK's parse and, while every window of its path (and of its CRL) is strictly open at
 * `at`, its chain. */
int snp_verify_prepared(const uint8_t *report, size_t len, const uint8_t *vcek_der, size_t vcek_len,
                        const char *ask_ark_pem, const uint8_t *crl_der, size_t crl_len, time_t at,
                        const struct snp_prepared *sp, struct gtee_snp_result *res, struct gtee_err *err);

#endif
