/* AMD SEV-SNP attestation reports: parsing (AMD SEV-SNP ABI specification, document 56860,
 * "ATTESTATION_REPORT Structure", report versions 2 and 3) and verification against the
 * VCEK/VLEK certificate, the AMD ASK and a pinned AMD ARK. See docs/evidence-snp.md. */
#ifndef GTEE_SNP_H
#define GTEE_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gtee/err.h"

/* ---- sizes and constants (document 56860, Table "ATTESTATION_REPORT Structure") ---- */
#define GTEE_SNP_REPORT_LEN 1184          /* 0x4A0 bytes, versions 2 and 3 */
#define GTEE_SNP_SIGNED_LEN 0x2A0         /* the signature covers bytes 0x000..0x29F */
#define GTEE_SNP_FAMILY_ID_LEN 16
#define GTEE_SNP_IMAGE_ID_LEN 16
#define GTEE_SNP_REPORT_DATA_LEN 64
#define GTEE_SNP_MEASUREMENT_LEN 48
#define GTEE_SNP_HOST_DATA_LEN 32
#define GTEE_SNP_KEY_DIGEST_LEN 48        /* ID_KEY_DIGEST, AUTHOR_KEY_DIGEST (SHA-384) */
#define GTEE_SNP_REPORT_ID_LEN 32
#define GTEE_SNP_CHIP_ID_LEN 64
#define GTEE_SNP_P384_COMPONENT_LEN 48    /* r and s of an ECDSA P-384 signature */
#define GTEE_SNP_SIG_ALGO_ECDSA_P384_SHA384 1
#define GTEE_SNP_VCEK_PUB_LEN 97          /* P-384 uncompressed SEC1 (GTEE_P384_PUB_LEN) */

/* SIGNING_KEY (bits 4:2 of the word at 0x48): which key signed the report. */
enum gtee_snp_signing_key {
    GTEE_SNP_KEY_VCEK = 0, /* versioned chip endorsement key (per chip and TCB) */
    GTEE_SNP_KEY_VLEK = 1, /* versioned loaded endorsement key (per cloud provider) */
    GTEE_SNP_KEY_NONE = 7, /* unsigned report */
};

/* The processor lines whose AMD root keys (ARKs) are pinned in the library. */
enum gtee_snp_product {
    GTEE_SNP_PRODUCT_UNKNOWN = 0,
    GTEE_SNP_PRODUCT_MILAN = 1, /* family 19h, models 00h-0Fh */
    GTEE_SNP_PRODUCT_GENOA = 2, /* family 19h, models 10h-1Fh and A0h-AFh */
};

/* TCB_VERSION (document 56860, "TCB_VERSION Structure", Milan and Genoa layout): one
 * security patch level (SPL) per firmware component. */
struct gtee_snp_tcb {
    uint64_t raw;        /* the little-endian 64-bit value as stored */
    uint8_t bootloader;  /* byte 0 */
    uint8_t tee;         /* byte 1 */
    uint8_t reserved[4]; /* bytes 2..5 */
    uint8_t snp;         /* byte 6 */
    uint8_t microcode;   /* byte 7 */
};

/* The guest policy (document 56860, "Guest Policy Structure"), decoded. */
struct gtee_snp_policy {
    uint8_t abi_minor;        /* bits 7:0: lowest firmware ABI minor the guest accepts */
    uint8_t abi_major;        /* bits 15:8 */
    bool smt_allowed;         /* bit 16 */
    bool reserved_one;        /* bit 17: the spec requires it set */
    bool migrate_ma_allowed;  /* bit 18: a migration agent may be associated */
    bool debug_allowed;       /* bit 19: the hypervisor may debug (read) the guest */
    bool single_socket;       /* bit 20 */
    bool cxl_allowed;         /* bit 21 */
    bool mem_aes_256_xts;     /* bit 22: AES-256-XTS memory encryption required */
    bool rapl_disabled;       /* bit 23 */
    bool ciphertext_hiding;   /* bit 24 */
    bool page_swap_disabled;  /* bit 25 */
};

/* A parsed report. Byte arrays hold the report's bytes as they are; integers are
 * converted from little-endian. */
struct gtee_snp_report {
    uint32_t version;              /* 0x000: 2 or 3 */
    uint32_t guest_svn;            /* 0x004 */
    uint64_t policy;               /* 0x008 */
    uint8_t family_id[GTEE_SNP_FAMILY_ID_LEN]; /* 0x010 */
    uint8_t image_id[GTEE_SNP_IMAGE_ID_LEN];   /* 0x020 */
    uint32_t vmpl;                 /* 0x030: 0..3 */
    uint32_t signature_algo;       /* 0x034: 1 = ECDSA P-384 with SHA-384 */
    struct gtee_snp_tcb current_tcb; /* 0x038 */
    uint64_t platform_info;        /* 0x040 */
    bool author_key_en;            /* 0x048 bit 0 */
    bool mask_chip_key;            /* 0x048 bit 1 */
    uint8_t signing_key;           /* 0x048 bits 4:2, enum gtee_snp_signing_key */
    uint8_t report_data[GTEE_SNP_REPORT_DATA_LEN];   /* 0x050 */
    uint8_t measurement[GTEE_SNP_MEASUREMENT_LEN];   /* 0x090 */
    uint8_t host_data[GTEE_SNP_HOST_DATA_LEN];       /* 0x0C0 */
    uint8_t id_key_digest[GTEE_SNP_KEY_DIGEST_LEN];  /* 0x0E0 */
    uint8_t author_key_digest[GTEE_SNP_KEY_DIGEST_LEN]; /* 0x110 */
    uint8_t report_id[GTEE_SNP_REPORT_ID_LEN];       /* 0x140 */
    uint8_t report_id_ma[GTEE_SNP_REPORT_ID_LEN];    /* 0x160 */
    struct gtee_snp_tcb reported_tcb;                /* 0x180 */
    bool has_cpuid;                /* version >= 3: the three CPUID bytes below are set */
    uint8_t cpuid_fam_id;          /* 0x188 (v3): extended family + base family */
    uint8_t cpuid_mod_id;          /* 0x189 (v3): extended model << 4 | base model */
    uint8_t cpuid_step;            /* 0x18A (v3) */
    uint8_t chip_id[GTEE_SNP_CHIP_ID_LEN];           /* 0x1A0 */
    struct gtee_snp_tcb committed_tcb;               /* 0x1E0 */
    uint8_t current_build, current_minor, current_major;       /* 0x1E8..0x1EA */
    uint8_t committed_build, committed_minor, committed_major; /* 0x1EC..0x1EE */
    struct gtee_snp_tcb launch_tcb;                  /* 0x1F0 */
    /* 0x2A0: SIGNATURE. r and s converted from the report's 72-byte little-endian fields
     * to 48-byte big-endian integers (their upper 24 bytes must be zero). */
    uint8_t sig_r[GTEE_SNP_P384_COMPONENT_LEN];
    uint8_t sig_s[GTEE_SNP_P384_COMPONENT_LEN];
};

/* Parses a report: exactly GTEE_SNP_REPORT_LEN bytes, version 2 or 3, signature
 * algorithm 1, every must-be-zero field zero, policy bit 17 set, VMPL 0..3. Reads only
 * through the bounded reader. GTEE_EFORMAT (length, reserved field: the message names
 * the field and offset) or GTEE_EUNSUPPORTED (version, algorithm). Does not verify
 * anything: see gtee_snp_verify. */
int gtee_snp_report_parse(const uint8_t *buf, size_t len, struct gtee_snp_report *r,
                          struct gtee_err *err) GTEE_MUST_USE;

void gtee_snp_policy_decode(uint64_t policy, struct gtee_snp_policy *out);
/* Decodes a TCB_VERSION value (Milan/Genoa layout). */
void gtee_snp_tcb_decode(uint64_t raw, struct gtee_snp_tcb *out);
/* "Milan", "Genoa" or "unknown". */
const char *gtee_snp_product_name(enum gtee_snp_product p);

/* ---- the VCEK / VLEK certificate's AMD extensions (AMD "Versioned Chip Endorsement Key
 * (VCEK) Certificate and KDS Interface Specification", document 57230) ---- */
#define GTEE_SNP_PRODUCT_NAME_MAX 32

struct gtee_snp_vcek {
    bool is_vlek;                  /* subject CN "SEV-VLEK" (else "SEV-VCEK") */
    enum gtee_snp_product product; /* from the issuer CN: "SEV-Milan", "SEV-VLEK-Genoa", ... */
    char product_name[GTEE_SNP_PRODUCT_NAME_MAX]; /* 1.3.6.1.4.1.3704.1.2, e.g. "Milan-B0" */
    struct gtee_snp_tcb tcb;       /* 1.3.6.1.4.1.3704.1.3.{1,2,4..7,3,8} */
    bool has_hwid;                 /* 1.3.6.1.4.1.3704.1.4 (VCEK only) */
    uint8_t hwid[GTEE_SNP_CHIP_ID_LEN];
    uint8_t pub[GTEE_SNP_VCEK_PUB_LEN]; /* ECDSA P-384 key, uncompressed SEC1 0x04 || x || y */
    time_t not_before, not_after;
};

/* Parses a DER VCEK/VLEK certificate (exact length) and its AMD extensions with
 * OpenSSL's ASN.1 decoders: SPLs are INTEGERs 0..255, productName an IA5String, hwID
 * 64 raw bytes; the key must be EC P-384. Verifies no signature: gtee_snp_verify does. */
int gtee_snp_vcek_parse(const uint8_t *der, size_t len, struct gtee_snp_vcek *out,
                        struct gtee_err *err) GTEE_MUST_USE;

/* ---- pinned AMD roots ---- */
/* The DER of the pinned ARK (self-signed, RSA-PSS SHA-384) and ASK of a product; NULL
 * for an unknown product. Pointers into static storage. */
const uint8_t *gtee_snp_ark_der(enum gtee_snp_product p, size_t *len);
const uint8_t *gtee_snp_ask_der(enum gtee_snp_product p, size_t *len);

/* ---- verification ---- */
#define GTEE_SNP_MAX_REASONS 16
#define GTEE_SNP_REASON_MSG_MAX 200

/* One failure. `code` is a stable dotted name (static string) that callers and policies
 * may match on; docs/evidence-snp.md lists them all:
 *   snp.report.length snp.report.version snp.report.sigalgo snp.report.reserved
 *   snp.report.policy snp.report.vmpl snp.report.signing_key
 *   snp.vcek.format snp.vcek.kind snp.vcek.chain snp.vcek.expired snp.vcek.not_yet_valid
 *   snp.ask.expired snp.ask.not_yet_valid snp.ark.expired snp.ark.not_yet_valid
 *   snp.ark.untrusted snp.bundle.format snp.product.unknown snp.product.mismatch
 *   snp.signature snp.vcek.hwid snp.tcb.mismatch.bootloader snp.tcb.mismatch.tee
 *   snp.tcb.mismatch.snp snp.tcb.mismatch.microcode snp.tcb.mismatch.reserved
 *   snp.crl.format snp.crl.issuer snp.crl.signature snp.crl.expired snp.crl.not_yet_valid
 *   snp.crl.invalid snp.ask.revoked snp.ark.revoked
 *   snp.internal
 * `msg` names the region, field and offset (never key material). */
struct gtee_snp_reason {
    int rc;           /* the GTEE_E* code this failure maps to */
    const char *code;
    char msg[GTEE_SNP_REASON_MSG_MAX];
};

/* Everything gtee_snp_verify learned. The claims (report, policy, vcek, product) are
 * authenticated only when `verified` is true; otherwise they are for diagnostics. */
struct gtee_snp_result {
    bool verified;                 /* true only when every check passed (reasons empty) */
    bool report_parsed;            /* `report` and `policy` are valid */
    struct gtee_snp_report report;
    struct gtee_snp_policy policy;
    bool vcek_parsed;              /* `vcek` is valid */
    struct gtee_snp_vcek vcek;
    enum gtee_snp_product product; /* product line picked from the certificate issuer; its
                                      pinned ARK anchored the chain when chain_ok */
    bool chain_ok;                 /* VCEK -> ASK -> pinned ARK verified at `at` */
    bool signature_ok;             /* the report signature verified under the VCEK key */
    bool tcb_ok;                   /* reported TCB and chip ID equal the certificate's */
    bool crl_given;                /* the caller passed AMD's ARK CRL */
    bool revocation_checked;       /* chain_ok with that CRL applied: signed by the pinned ARK,
                                      current at `at`, listing no certificate of the path */
    size_t n_reasons;
    bool reasons_truncated;        /* more than GTEE_SNP_MAX_REASONS failures */
    struct gtee_snp_reason reasons[GTEE_SNP_MAX_REASONS];
};

/* Verifies a report completely:
 *   1. parses it (gtee_snp_report_parse rules; structural failures stop here);
 *   2. parses the VCEK/VLEK certificate (DER) and picks the product line from its issuer,
 *      cross-checked with the report's CPUID bytes (v3) and the productName extension;
 *   3. verifies VCEK -> ASK -> ARK at time `at` with X509_STORE, where the ARK must be
 *      the pinned one of that product. `ask_ark_pem` may be NULL (the pinned ASK and ARK
 *      are used) or a PEM bundle: any self-signed certificate in it must equal the
 *      pinned ARK; the others are offered as intermediates (e.g. an ASVK for a VLEK);
 *   4. checks the certificate's TCB SPLs and hwID against REPORTED_TCB and CHIP_ID;
 *   5. verifies the report's ECDSA P-384 signature over bytes 0x000..0x29F.
 * res is zeroed first and always filled as far as the checks got. Every failure found is recorded in res->reasons (the checks after a failed step still
 * run where they can, so a caller sees all of them). Returns 0 only if res->verified;
 * otherwise the GTEE_E* code of the first reason, with err set to its message.
 * Policy (debug allowed, measurements, SVNs) is the caller's: see res->policy. */
int gtee_snp_verify(const uint8_t *report, size_t len, const uint8_t *vcek_der, size_t vcek_len,
                    const char *ask_ark_pem, time_t at, struct gtee_snp_result *res,
                    struct gtee_err *err) GTEE_MUST_USE;

/* gtee_snp_verify with AMD's ARK CRL as well (DER, as AMD's KDS serves it at
 * /vcek/v1/<product>/crl; crl_der NULL: none, as gtee_snp_verify). The CRL must be issued
 * and signed (RSA-PSS, SHA-384) by the pinned ARK of the report's product line, and current
 * at `at` (thisUpdate <= at <= nextUpdate); it is applied to every certificate of the path
 * that the ARK issued (the ASK or ASVK, and the ARK itself), so a listed ASK rejects the
 * chain (snp.ask.revoked). The VCEK is issued by the ASK, which publishes no CRL: AMD
 * supersedes VCEKs by TCB version instead. res->revocation_checked is set when the chain
 * verified with the CRL applied; any CRL problem is a reason (snp.crl.*). */
int gtee_snp_verify_crl(const uint8_t *report, size_t len, const uint8_t *vcek_der, size_t vcek_len,
                        const char *ask_ark_pem, const uint8_t *crl_der, size_t crl_len, time_t at,
                        struct gtee_snp_result *res, struct gtee_err *err) GTEE_MUST_USE;

/* The first reason with this code, or NULL. */
const struct gtee_snp_reason *gtee_snp_result_find(const struct gtee_snp_result *res,
                                                   const char *code);

#endif
