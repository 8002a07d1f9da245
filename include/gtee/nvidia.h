/* NVIDIA Confidential Computing GPU evidence (Hopper): the SPDM 1.1 GET_MEASUREMENTS
 * request and MEASUREMENTS response a GPU signs, its opaque data, the reference integrity
 * manifests (RIMs) it is appraised against, and the strict verification of both.
 * See docs/evidence-nvidia.md. */
#ifndef GTEE_NVIDIA_H
#define GTEE_NVIDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_NV_NONCE_LEN 32     /* SPDM 1.1 GET_MEASUREMENTS Nonce */
#define GTEE_NV_DIGEST_LEN 48    /* SHA-384 measurement values and the FWID */
#define GTEE_NV_SIG_LEN 96       /* ECDSA P-384 r||s, 48 bytes each, big-endian */
#define GTEE_NV_REQUEST_LEN 37   /* DSP0274 1.1 GET_MEASUREMENTS with a nonce and slot */
#define GTEE_NV_BLOCK_MAX 255    /* NumberOfBlocks is one byte; Index 1..255 */
#define GTEE_NV_VBIOS_LEN 8
#define GTEE_NV_TEXT_MAX 64      /* the ASCII opaque fields we keep */
#define GTEE_NV_CODE_MAX 48      /* a reason code, as struct gtee_reason holds it */

/* Opaque data field types (NVIDIA's OPAQUE_FIELD_ID_*): the only ones accepted. */
enum gtee_nv_opaque_type {
    GTEE_NV_OP_CERT_ISSUER_NAME = 1,
    GTEE_NV_OP_CERT_AUTHORITY_KEY_ID = 2,
    GTEE_NV_OP_DRIVER_VERSION = 3,
    GTEE_NV_OP_GPU_INFO = 4,
    GTEE_NV_OP_SKU = 5,
    GTEE_NV_OP_VBIOS_VERSION = 6,
    GTEE_NV_OP_MANUFACTURER_ID = 7,
    GTEE_NV_OP_TAMPER_DETECTION = 8,
    GTEE_NV_OP_SMC = 9,
    GTEE_NV_OP_VPR = 10,
    GTEE_NV_OP_NVDEC0_STATUS = 11,
    GTEE_NV_OP_MSRSCNT = 12,
    GTEE_NV_OP_CPRINFO = 13,
    GTEE_NV_OP_BOARD_ID = 14,
    GTEE_NV_OP_CHIP_SKU = 15,
    GTEE_NV_OP_CHIP_SKU_MOD = 16,
    GTEE_NV_OP_PROJECT = 17,
    GTEE_NV_OP_PROJECT_SKU = 18,
    GTEE_NV_OP_PROJECT_SKU_MOD = 19,
    GTEE_NV_OP_FWID = 20,
    GTEE_NV_OP_PROTECTED_PCIE_STATUS = 21,
    GTEE_NV_OP_SWITCH_PDI = 22,
    GTEE_NV_OP_FLOORSWEPT_PORTS = 23,
    GTEE_NV_OP_POSITION_ID = 24,
    GTEE_NV_OP_LOCK_SWITCH_STATUS = 25,
    GTEE_NV_OP_GPU_LINK_CONN = 32,
    GTEE_NV_OP_SYS_ENABLE_STATUS = 33,
    GTEE_NV_OP_OPAQUE_DATA_VERSION = 34,
    GTEE_NV_OP_CHIP_INFO = 35,
    GTEE_NV_OP_FEATURE_FLAG = 36,
};

#define GTEE_NV_NVDEC0_ENABLED 0xAA
#define GTEE_NV_NVDEC0_DISABLED 0x55

/* The opaque data, parsed: every field that was present is marked in `seen`. */
struct gtee_nv_opaque {
    uint8_t seen[32];                     /* bit t set: type t was present (once) */
    char driver_version[GTEE_NV_TEXT_MAX];/* without its NUL */
    uint8_t vbios[GTEE_NV_VBIOS_LEN];
    char vbios_version[16];               /* b3.b2.b1.b0.b4, lower-case hex */
    char project[GTEE_NV_TEXT_MAX], project_sku[GTEE_NV_TEXT_MAX], chip_sku[GTEE_NV_TEXT_MAX];
    uint8_t nvdec0;
    uint8_t fwid[GTEE_NV_DIGEST_LEN];
    size_t fwid_off;                      /* absolute offset of the FWID value in the report */
    size_t n_msrscnt;
};

/* A parsed report: request || response, little-endian fields converted. */
struct gtee_nv_report {
    uint8_t nonce[GTEE_NV_NONCE_LEN];        /* the requester's (verifier's) nonce, offset 4 */
    uint8_t responder_nonce[GTEE_NV_NONCE_LEN];
    size_t n_blocks;                         /* measurement blocks, Index 1..n_blocks */
    uint8_t value[GTEE_NV_BLOCK_MAX][GTEE_NV_DIGEST_LEN]; /* value[Index-1] */
    size_t record_len, opaque_off, opaque_len;
    struct gtee_nv_opaque opaque;
    size_t signed_len;                       /* bytes [0, signed_len) are signed */
    uint8_t sig[GTEE_NV_SIG_LEN];
    char bad_code[GTEE_NV_CODE_MAX];         /* on a parse failure: the stable reason code */
};

static inline bool gtee_nv_opaque_has(const struct gtee_nv_opaque *o, unsigned type)
{
    return type < 256 && (o->seen[type / 8] >> (type % 8)) & 1;
}

/* Recognises the kind from the bytes: SPDM 1.1 GET_MEASUREMENTS at 0 and MEASUREMENTS at 37. */
bool gtee_nv_report_detect(const uint8_t *buf, size_t len);

/* Parses a report exactly (DSP0274 1.1, "GET_MEASUREMENTS request and MEASUREMENTS
 * response"): request 11 E0 with the signature bit, all measurements and slot 0;
 * response 11 60; blocks of the DMTF form with 48-byte digests, Index 1..N in order; the
 * opaque data (gtee_nv_opaque_parse); the 96-byte signature ending the bytes. GTEE_EFORMAT
 * with the offset and field named in err and r->bad_code; verifies nothing. */
int gtee_nv_report_parse(const uint8_t *buf, size_t len, struct gtee_nv_report *r,
                         struct gtee_err *err) GTEE_MUST_USE;

/* Parses opaque data: [type u16][size u16][value] until exactly len bytes are used. Unknown
 * and repeated types, wrong fixed sizes and malformed text are refused. base is the
 * absolute offset of buf in the report, for messages. code (GTEE_NV_CODE_MAX, may be NULL)
 * gets the reason code on failure. */
int gtee_nv_opaque_parse(const uint8_t *buf, size_t len, size_t base, struct gtee_nv_opaque *o,
                         char *code, struct gtee_err *err) GTEE_MUST_USE;

/* ---- reference integrity manifests ---- */
#define GTEE_NV_RIM_INDEX_MAX 256
#define GTEE_NV_RIM_ALT_MAX 16
#define GTEE_NV_RIM_CERT_MAX 8

struct gtee_nv_rim_entry {
    bool present, active;
    uint8_t n_alt;
    uint8_t alt[GTEE_NV_RIM_ALT_MAX][GTEE_NV_DIGEST_LEN];
};

/* A RIM as read (gtee_nv_rim_read): structure only; its signature is checked by the verifier. */
struct gtee_nv_rim {
    char version[GTEE_NV_TEXT_MAX]; /* Meta@colloquialVersion */
    size_t n_entries, n_active;
    struct gtee_nv_rim_entry entry[GTEE_NV_RIM_INDEX_MAX];
    size_t n_certs;                 /* KeyInfo X509Certificate, leaf first */
    uint8_t *cert[GTEE_NV_RIM_CERT_MAX];
    size_t cert_len[GTEE_NV_RIM_CERT_MAX];
};

/* Reads a RIM: a strict XML parse (no DTD, no entities, no network), one SoftwareIdentity
 * root in the ISO 19770-2 namespace, Meta@colloquialVersion, every Payload Resource
 * (index unique, active True/False, alternatives 1.., Hash0.. in the SHA-384 namespace of
 * 96 hex digits, size 48) and the certificates of the signature's KeyInfo. GTEE_EFORMAT
 * naming the element and line. Free with gtee_nv_rim_free. */
int gtee_nv_rim_read(const uint8_t *xml, size_t len, struct gtee_nv_rim *rim, struct gtee_err *err) GTEE_MUST_USE;
void gtee_nv_rim_free(struct gtee_nv_rim *rim);

/* Verifies a RIM's enveloped signature with libxmlsec1 under the key of its first
 * certificate, allowing exactly C14N 1.1, SHA-384 and ECDSA-SHA384 and one Reference URI=""
 * with the enveloped-signature and C14N 1.1 transforms. GTEE_EAUTH if it does not verify. */
int gtee_nv_rim_verify_signature(const uint8_t *xml, size_t len, const uint8_t *cert_der, size_t cert_len,
                                 struct gtee_err *err) GTEE_MUST_USE;

/* ---- verification ---- */
enum gtee_nv_revocation {
    GTEE_NV_REVOCATION_NOT_CHECKED = 0, /* no OCSP responses: never reported as good */
    GTEE_NV_REVOCATION_GOOD = 1,        /* every certificate covered by a good, fresh response */
    GTEE_NV_REVOCATION_FAILED = 2,      /* a response was bad, stale, or said not good */
};
const char *gtee_nv_revocation_name(enum gtee_nv_revocation r); /* "not-checked", "good", "failed" */

#define GTEE_NV_OCSP_MAX 16

/* What a GPU report is verified against: the files of a collateral directory. */
struct gtee_nv_collateral {
    uint8_t *chain_pem;  /* cert_chain.pem: the GPU chain, leaf first (5 certificates) */
    size_t chain_len;
    uint8_t *driver_rim; /* the driver RIM (file name containing "driver") */
    size_t driver_rim_len;
    uint8_t *vbios_rim;  /* the VBIOS RIM (file name containing "vbios") */
    size_t vbios_rim_len;
    size_t n_ocsp;       /* ocsp/NAME.der */
    uint8_t *ocsp[GTEE_NV_OCSP_MAX];
    size_t ocsp_len[GTEE_NV_OCSP_MAX];
    char ocsp_name[GTEE_NV_OCSP_MAX][64];
};

/* Reads a collateral directory: cert_chain.pem, exactly one driver and one VBIOS RIM
 * (*.xml or *.swidtag, told apart by "driver"/"vbios" in the name, any case), and ocsp/NAME.der
 * if present. GTEE_ENOTFOUND naming what is missing. */
int gtee_nv_collateral_load(const char *dir, struct gtee_nv_collateral *col, struct gtee_err *err) GTEE_MUST_USE;
void gtee_nv_collateral_free(struct gtee_nv_collateral *col);

enum gtee_nv_rim_kind { GTEE_NV_RIM_DRIVER = 0, GTEE_NV_RIM_VBIOS = 1 };
const char *gtee_nv_rim_kind_name(enum gtee_nv_rim_kind k); /* "driver", "vbios" */

#define GTEE_NV_REASON_MAX 32
#define GTEE_NV_REASON_MSG_MAX 240

/* The outcome of gtee_nv_verify, with every reason (each with a stable code). */
struct gtee_nv_result {
    struct gtee_nv_report report;
    bool parsed, nonce_ok, signature_ok, chain_ok, fwid_ok;
    bool rim_ok[2];          /* signature, chain at the time, structure */
    bool version_ok[2];
    bool measurements_ok;    /* every compared golden value matched */
    bool verified;           /* all of the above */
    size_t n_golden, n_compared, n_matched;
    size_t n_mismatch;
    struct { uint16_t index; uint8_t rim; } mismatch[GTEE_NV_RIM_INDEX_MAX];
    enum gtee_nv_revocation revocation;
    size_t n_ocsp_good;
    size_t n_reasons;
    bool reasons_truncated;
    struct { char code[GTEE_NV_CODE_MAX]; char msg[GTEE_NV_REASON_MSG_MAX]; } reasons[GTEE_NV_REASON_MAX];
};

/* Verifies a GPU report against the expected nonce and the collateral at unix time `at`:
 * parse, nonce (constant time), the GPU chain to the pinned Device Identity root, the FWID
 * binding, the report signature, both RIMs (signature, chain to the pinned RIM root at `at`,
 * version) and the golden values; OCSP when responses are given. Fills res completely.
 * Returns 0 if verified, GTEE_EPOLICY if not (res names every reason), GTEE_EFORMAT if
 * the report is malformed, other negative codes on internal failures. */
int gtee_nv_verify(const uint8_t *report, size_t len, const uint8_t nonce[GTEE_NV_NONCE_LEN],
                   const struct gtee_nv_collateral *col, int64_t at, struct gtee_nv_result *res,
                   struct gtee_err *err) GTEE_MUST_USE;

/* For many reports against one collateral (a node's GPUs, a benchmark): reads the chains and
 * RIMs and runs once every check that depends on neither the report nor the time (chain
 * and RIM signatures, the RIM structure, the leaf's FWID), keeping its reasons. col must
 * outlive the result. Verifications with it may run in several threads; each checks the
 * certificates' validity at its own time and says exactly what gtee_nv_verify says (which
 * is prepare, verify, free). */
struct gtee_nv_prepared;
int gtee_nv_prepare(const struct gtee_nv_collateral *col, struct gtee_nv_prepared **out,
                    struct gtee_err *err) GTEE_MUST_USE;
void gtee_nv_prepared_free(struct gtee_nv_prepared *p);
int gtee_nv_verify_prepared(const struct gtee_nv_prepared *p, const uint8_t *report, size_t len,
                            const uint8_t nonce[GTEE_NV_NONCE_LEN], int64_t at, struct gtee_nv_result *res,
                            struct gtee_err *err) GTEE_MUST_USE;

/* The pinned roots (PEM): NVIDIA Device Identity CA and the RIM signing root. */
extern const char gtee_nv_device_root_pem[];
extern const char gtee_nv_rim_root_pem[];

#endif
