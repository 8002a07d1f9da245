/* Glacier TEE Node evidence verification and policy: Intel SGX DCAP quotes (v3), Intel TDX
 * quotes (v4, v5), simulated evidence in the same formats, and (through snp.h) AMD SEV-SNP
 * reports. One call verifies evidence against collateral and trust anchors at a given time,
 * then applies a policy, and fills a structured verdict: accepted or not, every reason, and
 * the verified claims. See docs/evidence.md and docs/policy.md. */
#ifndef GTEE_EVIDENCE_H
#define GTEE_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

enum gtee_tee_type {
    GTEE_TEE_UNKNOWN = 0,
    GTEE_TEE_SGX = 1,
    GTEE_TEE_TDX = 2,
    GTEE_TEE_SNP = 3,
    GTEE_TEE_GPU = 4, /* NVIDIA Confidential Computing GPU (nvidia.h, docs/evidence-nvidia.md) */
};
#define GTEE_TEE_TYPE_COUNT 5
const char *gtee_tee_type_name(enum gtee_tee_type t); /* "sgx", "tdx", "snp", "gpu", "unknown" */

/* Intel TCB statuses (TCB info v3 / QE identity v2), worst last as Intel's QVL orders them. */
enum gtee_tcb_status {
    GTEE_TCB_NONE = 0, /* not derived (SNP, or verification stopped early) */
    GTEE_TCB_UP_TO_DATE,
    GTEE_TCB_SW_HARDENING_NEEDED,
    GTEE_TCB_CONFIGURATION_NEEDED,
    GTEE_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    GTEE_TCB_OUT_OF_DATE,
    GTEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    GTEE_TCB_REVOKED,
};
#define GTEE_TCB_STATUS_COUNT 8
const char *gtee_tcb_status_name(enum gtee_tcb_status s); /* Intel's spelling, e.g. "UpToDate" */
/* Returns GTEE_TCB_NONE for an unknown name. */
enum gtee_tcb_status gtee_tcb_status_from_name(const char *name);

#define GTEE_MEASUREMENT_MAX_LEN 48 /* TDX MRTD/RTMR and SNP measurement: SHA-384 */
#define GTEE_SGX_MEASUREMENT_LEN 32 /* MRENCLAVE, MRSIGNER */
#define GTEE_REPORT_DATA_LEN 64
#define GTEE_HOST_DATA_LEN 32
#define GTEE_FMSPC_LEN 6
#define GTEE_ADVISORY_MAX 48
#define GTEE_ADVISORY_ID_MAX 24
#define GTEE_REASON_MAX 24
#define GTEE_REASON_CODE_MAX 48
#define GTEE_REASON_MSG_MAX 200
#define GTEE_RTMR_COUNT 4
#define GTEE_BOUND_PUB_LEN 65   /* the Enclave key and the channel key, uncompressed SEC1 */
#define GTEE_BOUND_ID_LEN 20    /* the Enclave ID: an Ethereum address */
#define GTEE_BOUND_NONCE_LEN 32 /* report_data[32..64): the verifier's nonce */

/* The CRLs of the collateral, as bits of gtee_claims.crls_applied. */
#define GTEE_CRL_PCK 0x1u     /* pck_crl.der: the PCK Platform/Processor CA's, covers PCK leaves */
#define GTEE_CRL_ROOT_CA 0x2u /* root_ca_crl.der: the root's, covers the CAs, TCB signing, root */
#define GTEE_CRL_SNP_ARK 0x4u /* ark_crl.der: AMD's ARK CRL (KDS /vcek/v1/<product>/crl), covers
                               * the ASK/ASVK (and the ARK); SEV-SNP */
/* "pck_crl.der" / "root_ca_crl.der" / "ark_crl.der" for one bit, NULL for anything else. */
const char *gtee_crl_name(unsigned bit);

/* What the evidence proves, once verified. Fields of other TEE types stay zero. */
struct gtee_claims {
    enum gtee_tee_type tee;
    bool simulated;       /* chained to a simulated root, never to a vendor's */
    bool debug;           /* SGX ATTRIBUTES.DEBUG, TDX TD_ATTRIBUTES.DEBUG, SNP policy DEBUG */
    uint16_t quote_version;
    uint8_t report_data[GTEE_REPORT_DATA_LEN];

    struct {
        uint8_t mrenclave[GTEE_SGX_MEASUREMENT_LEN];
        uint8_t mrsigner[GTEE_SGX_MEASUREMENT_LEN];
        uint16_t isv_prod_id;
        uint16_t isv_svn;
        uint8_t attributes[16];
        uint32_t miscselect;
        uint8_t cpu_svn[16];
    } sgx;
    struct {
        uint8_t mrtd[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t rtmr[GTEE_RTMR_COUNT][GTEE_MEASUREMENT_MAX_LEN];
        uint8_t td_attributes[8];
        uint8_t xfam[8];
        uint8_t tee_tcb_svn[16];
        uint8_t mrseam[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t mrconfigid[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t mrowner[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t mrownerconfig[GTEE_MEASUREMENT_MAX_LEN];
    } tdx;
    struct {
        uint8_t measurement[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t host_data[GTEE_HOST_DATA_LEN];
        uint64_t guest_policy;
        uint64_t reported_tcb; /* REPORTED_TCB (offset 0x180), raw TCB_VERSION */
    } snp;
    struct {
        char driver_version[64];     /* opaque DRIVER_VERSION, e.g. "550.90.07" */
        char vbios_version[16];      /* opaque VBIOS_VERSION as NVIDIA prints it, "96.00.9f.00.01" */
        uint8_t nonce[32];           /* the requester nonce the report is signed over */
        uint8_t nvdec0;              /* 0x55 disabled (golden index 35 not compared), 0xAA enabled */
        uint32_t golden, compared, matched; /* golden values of both RIMs; compared; matching */
        int revocation;              /* enum gtee_nv_revocation (nvidia.h): 0 not checked, 1 good, 2 failed */
    } gpu;
    /* Composite evidence (bundle.h): the GPUs verified and bound to this CVM evidence. Set only
     * by gtee_bundle_verify, and only when every GPU part verified. */
    uint32_t gpus_bound;

    /* Intel TCB evaluation (SGX/TDX). */
    enum gtee_tcb_status tcb_status;
    size_t n_advisories;
    char advisory_ids[GTEE_ADVISORY_MAX][GTEE_ADVISORY_ID_MAX];
    uint8_t fmspc[GTEE_FMSPC_LEN];
    int64_t collateral_issued;      /* oldest issue date among the collateral (unix s), 0 if none */
    int64_t collateral_next_update; /* earliest nextUpdate among the collateral (unix s), 0 if none */

    /* The TCB figure a ledger registers and compares with its minimum (docs/chain.md, "The
     * TCB rule"); 0 where none was derived. SGX/TDX: the tcbEvaluationDataNumber of the TCB
     * info and QE identity that judged the quote, the lower of the two. SEV-SNP:
     * REPORTED_TCB packed as bootloader << 24 | tee << 16 | snp << 8 | microcode, which
     * orders only component by component (gtee_ledger_tcb_meets, ledger.h). */
    uint32_t tcb_number;

    /* Revocation (docs/evidence.md, "Revocation"). SGX/TDX: true only if every certificate of
     * every chain (PCK chain, TCB info and QE identity issuer chains) was checked against a
     * CRL of its issuer; crls_applied names the CRLs that covered at least one of them.
     * SEV-SNP: true only if the chain verified with the collateral's ark_crl.der applied
     * (signed by the pinned ARK, current at the verification time, listing no certificate of
     * the chain); docs/evidence-snp.md, "Revocation". */
    bool revocation_checked;
    unsigned crls_applied; /* GTEE_CRL_* bits */

    /* The Enclave identity the report data commits to (docs/tee.md, "Report data"): filled
     * only by gtee_evidence_verify_bound, when the caller gave the keys, the evidence
     * verified and report_data[0..32) is SHA-256 over the tag and exactly these keys. */
    struct {
        bool bound;
        uint8_t enclave_pub[GTEE_BOUND_PUB_LEN]; /* secp256k1, uncompressed */
        uint8_t channel_pub[GTEE_BOUND_PUB_LEN]; /* P-256, uncompressed */
        uint8_t enclave_id[GTEE_BOUND_ID_LEN];   /* Ethereum address of enclave_pub */
        bool nonce_checked;                      /* report_data[32..64) equals the caller's nonce */
    } binding;
};

/* One reason for rejection: a stable code ("quote.signature") and a message naming the
 * region, offset or certificate. */
struct gtee_reason {
    char code[GTEE_REASON_CODE_MAX];
    char msg[GTEE_REASON_MSG_MAX];
};

struct gtee_verdict {
    bool accepted;  /* true only if every verification step ran and passed, and the policy holds */
    bool verified;  /* the evidence and its collateral verified (policy aside) */
    size_t n_reasons;
    bool reasons_truncated;
    struct gtee_reason reasons[GTEE_REASON_MAX];
    struct gtee_claims claims;
};

/* True if the verdict carries a reason whose code starts with prefix. */
bool gtee_verdict_has(const struct gtee_verdict *v, const char *code_prefix);

/* ---- collateral: a directory per quote (docs/evidence.md, "Collateral files") ---- */
struct gtee_blob {
    uint8_t *p;
    size_t len;
};

struct gtee_nv_collateral;
struct gtee_collateral_prepared; /* parsed certificates and CRLs; see gtee_collateral_prepare */
struct gtee_anchors;

struct gtee_collateral {
    struct gtee_blob tcb_info;            /* tcb_info.json */
    struct gtee_blob tcb_info_chain;      /* tcb_info_issuer_chain.pem */
    struct gtee_blob qe_identity;         /* qe_identity.json */
    struct gtee_blob qe_identity_chain;   /* qe_identity_issuer_chain.pem */
    struct gtee_blob pck_crl;             /* pck_crl.der (optional) */
    struct gtee_blob root_ca_crl;         /* root_ca_crl.der (optional) */
    struct gtee_blob pck_crl_chain;       /* pck_crl_issuer_chain.pem (optional) */
    struct gtee_blob snp_vcek;            /* vcek.der: SEV-SNP VCEK/VLEK certificate (SNP only) */
    struct gtee_blob snp_ask_ark;         /* ask_ark.pem (optional): ASK/ARK bundle, else pinned */
    struct gtee_blob snp_ark_crl;         /* ark_crl.der (optional): AMD's ARK CRL (SNP only) */
    struct gtee_nv_collateral *gpu;       /* a GPU directory (cert_chain.pem, RIMs, ocsp/), nvidia.h */
    /* A composite bundle's directory (docs/evidence-nvidia.md, "Composite evidence"): cvm/ for
     * the CVM evidence, gpu0/, gpu1/, ... for each GPU's report; the files above stay empty. */
    struct gtee_collateral *cvm;          /* DIR/cvm; NULL: not a bundle's directory */
    size_t n_gpus;                        /* DIR/gpu0 .. DIR/gpu<n_gpus-1>, consecutive */
    struct gtee_collateral *gpus;
    struct gtee_collateral_prepared *prepared; /* NULL until gtee_collateral_prepare */
};

/* Reads the collateral files of dir: Intel's (TCB info, QE identity and their chains
 * required, CRLs optional) or, where dir has vcek.der, SEV-SNP's (Intel files then
 * optional), or a GPU's (where dir has cert_chain.pem), or where dir has a cvm/ folder a
 * composite bundle's: cvm/ and each of gpu0/, gpu1/, ... (up to 8, consecutive) read as one
 * of the kinds above. Missing required files: GTEE_ENOTFOUND. Free with
 * gtee_collateral_free. */
int gtee_collateral_load(const char *dir, struct gtee_collateral *col, struct gtee_err *err) GTEE_MUST_USE;
void gtee_collateral_free(struct gtee_collateral *col); /* NULL ok; leaves it zeroed */

/* For many verifications with the same collateral and anchors: parses the collateral's
 * certificate chains and CRLs and the anchors once, and runs once every check that does not
 * depend on the verification time (chains with CRLs to the anchors, CRL signatures,
 * revocation, the TCB info and QE identity signatures), keeping a copy of the exact bytes
 * each result came from. A verification uses a result only while all those bytes (anchors
 * included) are identical, and still checks at its own time every validity window
 * (certificates, CRLs, documents); anything else takes the full path. The results belong to
 * col (no global state) and are only read by verifications. docs/evidence.md, "Prepared
 * collateral". */
int gtee_collateral_prepare(struct gtee_collateral *col, const struct gtee_anchors *anchors,
                            struct gtee_err *err) GTEE_MUST_USE;
/* An optimisation hint: puts the PCK chain of one Intel quote's certification data (verified
 * as above, its SGX extensions parsed) and its decoded attestation key into the PCK chain
 * cache ahead of time, as the first verification of a quote of that platform would. A chain
 * that fails a check is not kept. Quotes whose chain differs in any byte are looked up on
 * their own; every quote's QE report signature, attestation key binding and quote signature
 * are always checked. After gtee_collateral_prepare; GTEE_ESTATE before it, GTEE_EFORMAT if
 * the quote or its PEM chain does not decode. */
int gtee_collateral_prepare_pck(struct gtee_collateral *col, const uint8_t *evidence, size_t len,
                                struct gtee_err *err) GTEE_MUST_USE;

/* Prepared collateral keeps a bounded cache (GTEE_PCK_CACHE_MAX chains, CLOCK replacement) of
 * the PCK chains that verified against it, keyed by SHA-256 of the quote's exact
 * certification-data bytes: gtee_evidence_verify fills it on a chain's first successful full
 * verification and reuses the parse, path building, signatures and revocation results for
 * identical bytes; validity windows, TCB and policy are still evaluated on every call.
 * gtee_collateral_prepare_pck only fills it ahead of time. Verifications of one prepared
 * collateral may run in several threads at once (the cache is locked); preparing or freeing
 * it may not overlap them. docs/evidence.md, "PCK chain cache". */
#define GTEE_PCK_CACHE_MAX 64
struct gtee_pck_cache_stats {
    uint64_t hits;      /* lookups that found the chain's bytes (its windows then checked) */
    uint64_t misses;    /* lookups that did not */
    uint64_t inserts;   /* chains kept */
    uint64_t evictions; /* chains dropped to make room */
    size_t entries;     /* chains kept now */
    size_t capacity;
};
/* Zeroes *st if col is not prepared. */
void gtee_collateral_pck_stats(const struct gtee_collateral *col, struct gtee_pck_cache_stats *st);
/* Forgets every cached PCK chain (the counters stay). Safe while verifications run: each
 * holds its own references to what it uses. */
void gtee_collateral_pck_clear(struct gtee_collateral *col);

/* ---- trust anchors ---- */
/* The pinned Intel SGX Root CA (DER) and its SHA-256 fingerprint. */
extern const uint8_t gtee_intel_sgx_root_ca_der[];
extern const size_t gtee_intel_sgx_root_ca_der_len;

struct gtee_anchors {
    const uint8_t *intel_root_der; /* NULL: the pinned Intel SGX Root CA */
    size_t intel_root_len;
    const uint8_t *sim_root_der;   /* NULL: no simulated root; evidence under it is simulated */
    size_t sim_root_len;
};

/* ---- policy (docs/policy.md) ---- */
#define GTEE_POLICY_LIST_MAX 16

struct gtee_measurement_list {
    size_t n;
    uint8_t v[GTEE_POLICY_LIST_MAX][GTEE_MEASUREMENT_MAX_LEN];
};

struct gtee_policy {
    unsigned tee_types;          /* bit (1u << enum gtee_tee_type) */
    bool allow_simulation;
    bool allow_debug;
    unsigned accepted_tcb;       /* bit (1u << enum gtee_tcb_status) */
    uint32_t max_collateral_age_days; /* 0: no limit beyond the collateral's own nextUpdate */
    unsigned require_revocation; /* bit (1u << enum gtee_tee_type): verified evidence of these
                                  * types must have claims.revocation_checked */
    struct {
        struct gtee_measurement_list mrenclave, mrsigner; /* 32 bytes used; empty: any */
        bool has_isv_prod_id;
        uint16_t isv_prod_id;
        uint16_t min_isv_svn;
    } sgx;
    struct {
        struct gtee_measurement_list mrtd;
        struct gtee_measurement_list rtmr[GTEE_RTMR_COUNT];
        /* Exact values when has_*: MROWNER, MRCONFIGID (48 bytes), TDATTRIBUTES, XFAM (8). */
        bool has_mrowner, has_mrconfigid, has_td_attributes, has_xfam;
        uint8_t mrowner[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t mrconfigid[GTEE_MEASUREMENT_MAX_LEN];
        uint8_t td_attributes[8];
        uint8_t xfam[8];
    } tdx;
    struct {
        struct gtee_measurement_list measurement;
        bool has_host_data;
        uint8_t host_data[GTEE_HOST_DATA_LEN];
        bool allow_smt;              /* default true: guest policy bit 16 (docs/policy.md) */
        bool allow_migration_agent;  /* default false: guest policy bit 18 */
        uint8_t min_abi_major, min_abi_minor; /* guest policy bits 15:8, 7:0 must be at least */
        bool has_min_tcb;            /* REPORTED_TCB components must each be at least these */
        struct {
            uint8_t bootloader, tee, snp, microcode;
        } min_tcb;
    } snp;
    struct {
        /* Allowed versions as the report states them (driver "550.90.07"; VBIOS compared
         * case-insensitively, "96.00.9f.00.01"); empty: any whose RIMs verify. */
        size_t n_driver, n_vbios;
        char driver[GTEE_POLICY_LIST_MAX][64];
        char vbios[GTEE_POLICY_LIST_MAX][16];
        bool allow_unchecked_revocation; /* default false: OCSP responses must cover the chains */
        uint32_t min_count; /* default 0: composite evidence must bind at least this many GPUs */
    } gpu;
    bool has_report_data;
    uint8_t report_data[GTEE_REPORT_DATA_LEN];
};

/* The strict default: hardware TEE types, no simulation, no debug, TCB status UpToDate only,
 * revocation checked for SGX, TDX and SEV-SNP, any measurement. */
void gtee_policy_default(struct gtee_policy *p);
/* Parses policy JSON over the defaults; unknown keys and bad values fail with GTEE_EFORMAT
 * naming the key. */
int gtee_policy_parse(const char *json, size_t len, struct gtee_policy *p, struct gtee_err *err) GTEE_MUST_USE;
int gtee_policy_load(const char *path, struct gtee_policy *p, struct gtee_err *err) GTEE_MUST_USE;

/* ---- verification ---- */
/* Verifies evidence (an SGX/TDX quote, an SNP report, an NVIDIA GPU report, or a composite
 * bundle of them, bundle.h) at unix time `at`, against col (may be NULL for kinds that need
 * none; a bundle takes a bundle's collateral, cvm/ and gpuN/, where a plain evidence takes
 * its cvm/ part), anchors (NULL: the pinned Intel root only) and policy (NULL: the default
 * policy). A policy with gpu.min_count refuses anything but a bundle binding that many GPUs
 * ("policy.gpu.required"). Fills v completely.
 * Returns 0 if accepted; GTEE_EPOLICY if rejected (v names every reason); GTEE_EFORMAT if the
 * evidence bytes are malformed (v names where); other negative codes for internal failures. */
int gtee_evidence_verify(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                         const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                         int64_t at, struct gtee_verdict *v, struct gtee_err *err) GTEE_MUST_USE;

/* What the caller knows of the report data's binding (docs/evidence.md, "Report data
 * binding"): the enclave's two public keys (as `gtee enclave info --json` or
 * `gtee evidence get --json` print them) and/or the nonce it chose. */
struct gtee_binding_expect {
    bool has_keys;
    uint8_t enclave_pub[GTEE_BOUND_PUB_LEN];
    uint8_t channel_pub[GTEE_BOUND_PUB_LEN];
    bool has_enclave_id; /* also check that the given Enclave ID is enclave_pub's address */
    uint8_t enclave_id[GTEE_BOUND_ID_LEN];
    bool has_nonce;
    uint8_t nonce[GTEE_BOUND_NONCE_LEN];
};

/* gtee_evidence_verify, then (expect non-NULL) checks the report data against expect (of a
 * bundle: its CVM evidence's, gtee_bundle_verify):
 * bytes 0..31 against SHA-256("gtee report data v1" 0x00 || enclave_pub || channel_pub),
 * compared in constant time (reason "report_data.binding"), bytes 32..63 against the nonce
 * ("report_data.nonce"). On a match of a verified evidence the claims carry the keys and
 * the Enclave ID. Same return values as gtee_evidence_verify. */
int gtee_evidence_verify_bound(const uint8_t *evidence, size_t len, const struct gtee_collateral *col,
                               const struct gtee_anchors *anchors, const struct gtee_policy *policy,
                               const struct gtee_binding_expect *expect, int64_t at, struct gtee_verdict *v,
                               struct gtee_err *err) GTEE_MUST_USE;

/* Applies policy at time `at` to the claims in v, adding "policy.*" reasons and settling
 * v->accepted (true only if v->verified and no reason was given). Exposed so that the SNP
 * verifier and the attested channel share one policy engine. */
void gtee_policy_apply(const struct gtee_policy *p, int64_t at, struct gtee_verdict *v);

/* ---- output ---- */
/* The verdict as one JSON object (malloc'd, NUL-terminated); free with free(). */
int gtee_verdict_to_json(const struct gtee_verdict *v, char **out, struct gtee_err *err) GTEE_MUST_USE;

/* The latest time gtee_time_parse accepts: 9999-12-31T23:59:59Z, the last an X.509 time or
 * RFC 3339 can write. */
#define GTEE_TIME_MAX 253402300799LL
/* Parses "2025-07-19T10:01:17Z" (RFC 3339, UTC or numeric offset, optional fraction) or a
 * decimal unix time into unix seconds, 0..GTEE_TIME_MAX; outside that range (or overflowing)
 * GTEE_EFORMAT naming the range. */
int gtee_time_parse(const char *s, int64_t *out, struct gtee_err *err) GTEE_MUST_USE;

#endif
