/* Internal: Intel DCAP quote layouts (SGX quote v3, TDX quote v4/v5) and the verification
 * steps that share them. Byte layouts: Intel "SGX ECDSA Quote Library API" appendix A (v3),
 * Intel "TDX DCAP Quoting Library API" appendix A (v4, v5). */
#ifndef GTEE_EVIDENCE_DCAP_H
#define GTEE_EVIDENCE_DCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "gtee/evidence.h"

#define DCAP_HEADER_LEN 48
#define DCAP_SGX_REPORT_LEN 384
#define DCAP_TD10_REPORT_LEN 584
#define DCAP_TD15_REPORT_LEN 648
#define DCAP_SIG_LEN 64
#define DCAP_ATT_KEY_LEN 64
#define DCAP_TEE_SGX 0x00000000u
#define DCAP_TEE_TDX 0x00000081u
#define DCAP_ATT_KEY_ECDSA_P256 2
#define DCAP_CERT_PCK_CHAIN 5       /* PEM PCK leaf || intermediate || root */
#define DCAP_CERT_QE_REPORT 6       /* QE report certification data (v4+) */
#define DCAP_BODY_SGX 1
#define DCAP_BODY_TD10 2
#define DCAP_BODY_TD15 3
#define DCAP_QE_VENDOR_INTEL "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07"

/* A region of the quote: where it is, for messages naming byte offsets. */
struct dcap_region {
    const uint8_t *p;
    size_t len;
    size_t off;
};

struct sgx_report {
    uint8_t cpu_svn[16];
    uint32_t miscselect;
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint8_t report_data[64];
};

struct td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16];  /* TD 1.5 only */
    uint8_t mrservicetd[48];   /* TD 1.5 only */
};

struct dcap_quote {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    enum gtee_tee_type tee;
    uint16_t body_type;             /* DCAP_BODY_* */

    struct dcap_region header;
    struct dcap_region body;        /* the report body (after the v5 descriptor) */
    struct dcap_region report_data; /* inside body */
    size_t signed_len;              /* header (+ descriptor) + body */
    struct dcap_region signature;   /* ECDSA over the signed bytes */
    struct dcap_region att_key;
    struct dcap_region qe_report;
    struct dcap_region qe_report_sig;
    struct dcap_region qe_auth;
    struct dcap_region cert_data;   /* the PCK chain PEM */
    uint16_t cert_type;

    struct sgx_report sgx;          /* tee == SGX */
    struct td_report td;            /* tee == TDX */
    struct sgx_report qe;           /* the QE's own report */
};

/* dcap_quote.c: parses the layout (no cryptography). GTEE_EFORMAT naming the offset. */
int dcap_quote_parse(const uint8_t *p, size_t len, struct dcap_quote *q, struct gtee_err *err) GTEE_MUST_USE;
/* Decodes a 384-byte SGX report body. */
void dcap_sgx_report_decode(const uint8_t *p, struct sgx_report *r);

/* verdict.c: reason bookkeeping. */
void verdict_reset(struct gtee_verdict *v);
void verdict_add(struct gtee_verdict *v, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void verdict_add_advisory(struct gtee_verdict *v, const char *id);

/* ecdsa.c: ECDSA P-256/SHA-256 over msg with a raw r||s signature. */
int dcap_ecdsa_verify_pkey(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t sig[64]);
int dcap_ecdsa_verify_raw(const uint8_t pub_xy[64], const uint8_t *msg, size_t len, const uint8_t sig[64]);
/* The P-256 public key x||y as an EVP_PKEY (NULL if it is not a point of the curve). */
EVP_PKEY *dcap_ecdsa_pkey_raw(const uint8_t pub_xy[64]);

/* pck_ext.c: the SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1). */
struct pck_ext {
    uint8_t ppid[16];
    uint8_t cpu_svn[16];
    uint8_t comp_svn[16];
    uint16_t pce_svn;
    uint8_t pce_id[2];
    uint8_t fmspc[6];
};
int dcap_pck_ext_parse(X509 *pck, struct pck_ext *ext, struct gtee_err *err) GTEE_MUST_USE;

/* x509chain.c: trust store over the anchors and CRLs, and chain checks. */
struct dcap_fast;
struct dcap_trust {
    X509_STORE *store;
    X509 *intel_root;
    X509 *sim_root;
    int64_t at;
    X509_CRL *pck_crl, *root_crl; /* in the store (a reference held here too); NULL: absent */
    int64_t crl_next_update; /* earliest nextUpdate of the CRLs, 0 if none */
    bool untimed;            /* preparation: every check except the validity windows */
    const struct dcap_fast *fast; /* store borrowed from prepared collateral (not freed) */
};
int dcap_trust_init(struct dcap_trust *t, const struct gtee_anchors *a, const struct gtee_collateral *col,
                    int64_t at, struct gtee_verdict *v, struct gtee_err *err) GTEE_MUST_USE;
void dcap_trust_free(struct dcap_trust *t);
/* prepared.c: parsed objects of gtee_collateral_prepare, only while their bytes are
 * unchanged; each returns a new reference (NULL: parse afresh). */
STACK_OF(X509) *dcap_prepared_chain(const struct gtee_collateral *col, const struct gtee_blob *b);
X509_CRL *dcap_prepared_crl(const struct gtee_collateral *col, const struct gtee_blob *b);
X509 *dcap_prepared_anchor(const struct gtee_collateral *col, const uint8_t *der, size_t len);
/* Any certificate parsed at preparation (collateral chains, the PCK CRL issuer chain, the
 * anchors) whose DER bytes are exactly der. */
X509 *dcap_prepared_cert(const struct gtee_collateral *col, const uint8_t *der, size_t len);
void dcap_prepared_free(struct gtee_collateral_prepared *pr);
/* Reads a PEM chain (leaf first). Returns the stack or NULL, adding "<what>.malformed". */
STACK_OF(X509) *dcap_pem_chain(const struct gtee_collateral *col, const uint8_t *pem, size_t len,
                               const char *what, const char *const *names, struct gtee_verdict *v);

/* prepared_fast.c: results of the time-independent checks, computed once by
 * gtee_collateral_prepare(_pck) for the exact bytes they came from (docs/evidence.md,
 * "Prepared collateral"). A path is a chain that passed X509_verify_cert with
 * X509_V_FLAG_NO_CHECK_TIME (signatures, issuers, constraints, CRL signatures and
 * revocation); the validity windows of its certificates and of the CRLs are what each
 * verification still checks. */
#define DCAP_PATH_MAX 10
struct dcap_path {
    bool ok;
    bool simulated;
    bool rev_full;   /* every certificate of the built chain was checked against its issuer's CRL */
    unsigned crls;   /* GTEE_CRL_* that covered a certificate of the built chain */
    int n;
    int64_t not_before[DCAP_PATH_MAX], not_after[DCAP_PATH_MAX];
};
/* Prepared verification of the PEM chain; *path filled (ok false on any failure). */
void dcap_chain_verify_untimed(struct dcap_trust *t, STACK_OF(X509) *chain, struct dcap_path *path);
/* dcap_chain_verify at t's time that also records, on success, the built path's windows in
 * *path (path->ok false if they cannot be recorded: the verdict is not affected). */
bool dcap_chain_verify_path(struct dcap_trust *t, STACK_OF(X509) *chain, const char *what,
                            const char *const *names, bool *simulated, struct gtee_verdict *v,
                            struct dcap_path *path);
/* The prepared results, if col was prepared with these exact anchors and CRL bytes. */
const struct dcap_fast *dcap_fast_match(const struct gtee_collateral *col, const struct gtee_anchors *a);
/* Borrows the prepared trust store (same anchors, same CRLs) for a verification at `at`. */
void dcap_fast_trust(const struct dcap_fast *f, int64_t at, struct dcap_trust *t);
/* Every certificate of path and every CRL strictly inside its window at `at`. */
bool dcap_fast_window_ok(const struct dcap_fast *f, const struct dcap_path *path, int64_t at);
/* dcap_fast_window_ok, and every anchor strictly inside its window at `at`: then OpenSSL's
 * time-steered choices (the CRL of an issuer, an issuer among candidates) made at `at` are the
 * ones it makes without a time, so a chain verified at `at` may enter the PCK chain cache. */
bool dcap_fast_fill_ok(const struct dcap_fast *f, const struct dcap_path *path, int64_t at);
/* A signed collateral document verified at preparation (chain path and the signature over its
 * value), if doc and chain are byte for byte the prepared ones; NULL otherwise. */
const struct dcap_path *dcap_fast_doc(const struct dcap_fast *f, bool tcb_info, const struct gtee_blob *doc,
                                      const struct gtee_blob *chain, size_t *off, size_t *len);
struct dcap_fast *dcap_fast_prepare(const struct gtee_collateral *col, const struct gtee_anchors *a);
/* Verifies (every check but the windows) the PCK chain pem and, if it passes, puts it into the
 * PCK chain cache with the decoded attestation key. */
int dcap_fast_prepare_pck(struct dcap_fast *f, const uint8_t *pem, size_t len, const uint8_t att_key[64]);
/* The PCK chain cache of the prepared results (shared by every verification that matches
 * them: it is thread-safe). */
struct dcap_pck_cache *dcap_fast_pck_cache(const struct dcap_fast *f);
void dcap_fast_free(struct dcap_fast *f);
const struct dcap_fast *dcap_prepared_fast(const struct gtee_collateral *col);
/* The prepared SEV-SNP part (snp_internal.h), and the collateral's ASK/ARK bundle as the
 * NUL-terminated text the SEV-SNP verifier reads (NULL: none, or not NUL-terminated). */
struct snp_prepared;
const struct snp_prepared *dcap_prepared_snp(const struct gtee_collateral *col);
/* The prepared GPU chains and RIMs of col, if prepared from exactly its current bytes. */
struct gtee_nv_prepared;
const struct gtee_nv_prepared *dcap_prepared_gpu(const struct gtee_collateral *col);
const char *dcap_snp_bundle(const struct gtee_collateral *col);

/* pck_cache.c: the bounded, thread-safe cache of verified PCK chains (docs/evidence.md,
 * "PCK chain cache"), keyed by SHA-256 of the certification data's exact bytes, which are
 * also kept and compared on every hit. An entry holds what the full path's time-independent
 * checks established for those bytes against the prepared trust store: the chain, its
 * recorded windows (checked by every verification at its own time), the SGX extensions, and
 * the last attestation key decoded with that chain. */
#define DCAP_PCK_CACHE_MAX 64
struct dcap_pck_cache;
struct dcap_pck_hit {
    STACK_OF(X509) *chain; /* a new reference: the caller frees it */
    struct dcap_path path;
    struct pck_ext ext;
    EVP_PKEY *att;         /* new reference if the attestation key is the one kept, else NULL */
};
struct dcap_pck_cache *dcap_pck_cache_new(void);
void dcap_pck_cache_free(struct dcap_pck_cache *c);
void dcap_pck_cache_clear(struct dcap_pck_cache *c);
int dcap_pck_key(const uint8_t *pem, size_t len, uint8_t key[32]) GTEE_MUST_USE;
bool dcap_pck_cache_get(struct dcap_pck_cache *c, const uint8_t key[32], const uint8_t *pem, size_t len,
                        const uint8_t att_xy[DCAP_ATT_KEY_LEN], struct dcap_pck_hit *hit);
/* Keeps a chain that passed (path->ok), with its own references; an entry for the same bytes
 * stays as it is (only its attestation key is updated). att may be NULL. */
void dcap_pck_cache_put(struct dcap_pck_cache *c, const uint8_t key[32], const uint8_t *pem, size_t len,
                        STACK_OF(X509) *chain, const struct dcap_path *path, const struct pck_ext *ext,
                        const uint8_t att_xy[DCAP_ATT_KEY_LEN], EVP_PKEY *att);
/* Replaces the attestation key kept with the entry for these bytes, if there is one. */
void dcap_pck_cache_put_att(struct dcap_pck_cache *c, const uint8_t key[32], const uint8_t *pem, size_t len,
                            const uint8_t att_xy[DCAP_ATT_KEY_LEN], EVP_PKEY *att);
void dcap_pck_cache_stats(struct dcap_pck_cache *c, struct gtee_pck_cache_stats *st);

/* tcb_info.c (parsers) and collateral.c (signed-JSON splitter): Intel TCB info v3 and QE
 * identity v2. */
#define TCB_LEVEL_MAX 64
struct tcb_level {
    uint8_t sgx_svn[16];
    uint8_t tdx_svn[16];
    bool has_tdx;
    uint16_t pce_svn;
    uint16_t isv_svn;              /* QE identity / TDX module levels */
    enum gtee_tcb_status status;
    size_t n_adv;
    char adv[GTEE_ADVISORY_MAX][GTEE_ADVISORY_ID_MAX];
};
struct tdx_module_id {
    char id[16];
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    struct tcb_level levels[8];
};
struct tcb_info {
    bool tdx;
    int version;
    uint32_t eval_number;          /* tcbEvaluationDataNumber */
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    size_t n_levels;
    struct tcb_level levels[TCB_LEVEL_MAX];
    bool has_module;
    uint8_t module_mrsigner[48];
    uint8_t module_attributes[8];
    uint8_t module_attributes_mask[8];
    size_t n_modules;
    struct tdx_module_id modules[8];
};
struct qe_identity {
    bool td_qe;
    int version;
    uint32_t eval_number;          /* tcbEvaluationDataNumber */
    int64_t issue_date, next_update;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isv_prod_id;
    size_t n_levels;
    struct tcb_level levels[TCB_LEVEL_MAX];
};
/* Locates the value of top-level key `key` and the hex "signature" in a signed collateral
 * document: exact byte ranges, for signature checking over the bytes as they appear. */
int dcap_signed_json_split(const uint8_t *doc, size_t len, const char *key, size_t *val_off, size_t *val_len,
                           uint8_t sig[64], struct gtee_err *err) GTEE_MUST_USE;
int dcap_tcb_info_parse(const uint8_t *json, size_t len, struct tcb_info *ti, struct gtee_err *err) GTEE_MUST_USE;
int dcap_qe_identity_parse(const uint8_t *json, size_t len, struct qe_identity *qi, struct gtee_err *err) GTEE_MUST_USE;
/* "2025-06-19T10:56:11Z" -> unix seconds. */
int dcap_time_parse(const char *s, int64_t *out);
/* A certificate's validity window in unix seconds (evtime.c, for the SGX, TDX and SEV-SNP
 * chains alike); false when a time does not convert. */
bool dcap_cert_window(const X509 *x, int64_t *not_before, int64_t *not_after);

/* prepared.c: the parse of a signed document's value, if these exact bytes were prepared
 * (owned by the prepared collateral; NULL otherwise). */
const struct tcb_info *dcap_prepared_tcb_info(const struct gtee_collateral *col, const uint8_t *val, size_t len);
const struct qe_identity *dcap_prepared_qe_identity(const struct gtee_collateral *col, const uint8_t *val,
                                                    size_t len);

/* verdict.c: Intel's status convergence. */
enum gtee_tcb_status tcb_status_merge(enum gtee_tcb_status a, enum gtee_tcb_status b);

/* dcap_verify.c: every step, adding a reason for each failure; returns the checks that
 * recorded a pass (bits 1u << enum dcap_check, dcap_check.h), for the gate of evidence.c. */
unsigned dcap_verify(const uint8_t *quote, size_t len, const struct dcap_quote *q,
                     const struct gtee_collateral *col, const struct gtee_anchors *anchors, int64_t at,
                     struct gtee_verdict *v);

#endif
