/* Internal interfaces of the NVIDIA GPU verifier (nv_*.c): reasons, certificate chains,
 * signatures, RIM appraisal and OCSP. Not installed. */
#ifndef GTEE_EVIDENCE_NV_INTERNAL_H
#define GTEE_EVIDENCE_NV_INTERNAL_H

#include <openssl/x509.h>

#include "gtee/nvidia.h"

#define NV_GPU_CHAIN_LEN 5 /* leaf (FMC), BROM, Provisioner ICA, GH100 Identity, Device Identity CA */

/* Adds a reason to res (it never overflows: the last slot says more were dropped). */
void nv_reason(struct gtee_nv_result *res, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads every certificate of a PEM text, in order; NULL (and a reason) if none or any is bad. */
STACK_OF(X509) *nv_pem_chain(const uint8_t *pem, size_t len);
/* The pinned root from PEM text (one certificate), or NULL. */
X509 *nv_pinned(const char *pem);

/* Verifies chain (leaf first, its last certificate the root as the device or RIM sent it) to
 * the pinned root at time `at`: the last certificate must be byte-identical to the pinned
 * one; each signature, name chaining, CA and key usage, validity at `at`, no unknown
 * critical extension, P-384 keys. Every problem becomes a reason under code_prefix
 * (".expired", ".root", ".signature", ...) naming the certificate; true if none. */
bool nv_chain_verify(STACK_OF(X509) *chain, X509 *root, int64_t at, const char *what, const char *code_prefix,
                     struct gtee_nv_result *res);

/* at < 0: every check of nv_chain_verify except the validity windows, which
 * nv_chain_windows then checks at a given time with the same reasons (a prepared chain). */
bool nv_chain_windows(STACK_OF(X509) *chain, int64_t at, const char *what, const char *code_prefix,
                      struct gtee_nv_result *res);

/* The FWID of the leaf's TCG extension 2.23.133.5.4.1, DER-parsed:
 * SEQUENCE { INTEGER, SubjectPublicKeyInfo, SEQUENCE { OID sha384, OCTET STRING (48) } }.
 * 0, or GTEE_EFORMAT / GTEE_ENOTFOUND with err naming what is wrong. */
int nv_leaf_fwid(X509 *leaf, uint8_t fwid[GTEE_NV_DIGEST_LEN], struct gtee_err *err);

/* ECDSA P-384/SHA-384 over msg with a raw r||s signature; r, s in 1..n-1. 0 or GTEE_EAUTH /
 * GTEE_EKEY. */
int nv_p384_verify(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t sig[GTEE_NV_SIG_LEN]);

/* Golden-value comparison (nv_compare.c), filling the counters and mismatches of res. */
void nv_compare(const struct gtee_nv_rim *rims[2], const struct gtee_nv_report *r, struct gtee_nv_result *res);

/* OCSP (nv_ocsp.c): checks every response against the certificates it may cover (the GPU
 * chain's [1..3], each RIM chain's [0..2]) at `at`; sets res->revocation. */
void nv_ocsp_check(const struct gtee_nv_collateral *col, STACK_OF(X509) *chains[3], X509 *roots[3], int64_t at,
                   struct gtee_nv_result *res);

#endif
