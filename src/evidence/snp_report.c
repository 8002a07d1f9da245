/* SEV-SNP attestation report parser: AMD SEV-SNP ABI specification (document 56860),
 * "ATTESTATION_REPORT Structure", versions 2 and 3 (1184 bytes). Reads only through the
 * bounded reader and records every malformed field with its offset. */
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "evidence/snp_internal.h"

/* Guest policy (document 56860, "Guest Policy Structure"). */
#define POLICY_RESERVED_ONE (1ULL << 17)
#define POLICY_KNOWN_BITS ((1ULL << 26) - 1) /* bits 63:26 are reserved, must be zero */

/* The word at 0x048: AUTHOR_KEY_EN (bit 0), MASK_CHIP_KEY (bit 1), SIGNING_KEY (4:2). */
#define KEYFLAGS_RESERVED_MASK 0xFFFFFFE0u

void gtee_snp_tcb_decode(uint64_t raw, struct gtee_snp_tcb *out)
{
    out->raw = raw;
    out->bootloader = (uint8_t)raw;
    out->tee = (uint8_t)(raw >> 8);
    for (int i = 0; i < 4; i++)
        out->reserved[i] = (uint8_t)(raw >> (8 * (i + 2)));
    out->snp = (uint8_t)(raw >> 48);
    out->microcode = (uint8_t)(raw >> 56);
}

void gtee_snp_policy_decode(uint64_t policy, struct gtee_snp_policy *out)
{
    out->abi_minor = (uint8_t)policy;
    out->abi_major = (uint8_t)(policy >> 8);
    out->smt_allowed = (policy >> 16) & 1;
    out->reserved_one = (policy >> 17) & 1;
    out->migrate_ma_allowed = (policy >> 18) & 1;
    out->debug_allowed = (policy >> 19) & 1;
    out->single_socket = (policy >> 20) & 1;
    out->cxl_allowed = (policy >> 21) & 1;
    out->mem_aes_256_xts = (policy >> 22) & 1;
    out->rapl_disabled = (policy >> 23) & 1;
    out->ciphertext_hiding = (policy >> 24) & 1;
    out->page_swap_disabled = (policy >> 25) & 1;
}

const char *gtee_snp_product_name(enum gtee_snp_product p)
{
    switch (p) {
    case GTEE_SNP_PRODUCT_MILAN: return "Milan";
    case GTEE_SNP_PRODUCT_GENOA: return "Genoa";
    case GTEE_SNP_PRODUCT_UNKNOWN: break;
    }
    return "unknown";
}

/* Consumes n must-be-zero bytes; records the first nonzero one. */
static void take_zero(struct span *s, size_t n, const char *field, struct gtee_snp_result *res)
{
    size_t off = s->off;
    const uint8_t *p = span_take(s, n);

    for (size_t i = 0; p && i < n; i++) {
        if (p[i] != 0) {
            snp_reason_add(res, GTEE_EFORMAT, "snp.report.reserved",
                           "reserved field %s (offset 0x%03zX, %zu bytes) must be zero; "
                           "byte at offset 0x%03zX is not", field, off, n, off + i);
            return;
        }
    }
}

static void take_tcb(struct span *s, struct gtee_snp_tcb *t)
{
    gtee_snp_tcb_decode(span_u64le(s), t);
}

/* A 72-byte little-endian signature component (document 56860, "ECDSA Signature"
 * format): the P-384 value is the low 48 bytes; converted to big-endian. */
static void take_sig_component(struct span *s, uint8_t be[GTEE_SNP_P384_COMPONENT_LEN],
                               const char *field, struct gtee_snp_result *res)
{
    const uint8_t *le = span_take(s, GTEE_SNP_P384_COMPONENT_LEN);

    for (size_t i = 0; le && i < GTEE_SNP_P384_COMPONENT_LEN; i++)
        be[i] = le[GTEE_SNP_P384_COMPONENT_LEN - 1 - i];
    take_zero(s, 72 - GTEE_SNP_P384_COMPONENT_LEN, field, res);
}

static void check_header(const struct gtee_snp_report *r, uint32_t keyflags,
                         struct gtee_snp_result *res)
{
    if (!(r->policy & POLICY_RESERVED_ONE))
        snp_reason_add(res, GTEE_EFORMAT, "snp.report.policy",
                       "POLICY (offset 0x008) bit 17 is reserved and must be one");
    if (r->policy & ~POLICY_KNOWN_BITS)
        snp_reason_add(res, GTEE_EFORMAT, "snp.report.reserved",
                       "reserved field POLICY bits 63:26 (offset 0x008) must be zero");
    if (r->vmpl > 3)
        snp_reason_add(res, GTEE_EFORMAT, "snp.report.vmpl",
                       "VMPL (offset 0x030) is %u; a guest report has VMPL 0..3", r->vmpl);
    if (keyflags & KEYFLAGS_RESERVED_MASK)
        snp_reason_add(res, GTEE_EFORMAT, "snp.report.reserved",
                       "reserved field key flags bits 31:5 (offset 0x048) must be zero");
    if (r->signing_key != GTEE_SNP_KEY_VCEK && r->signing_key != GTEE_SNP_KEY_VLEK &&
        r->signing_key != GTEE_SNP_KEY_NONE)
        snp_reason_add(res, GTEE_EFORMAT, "snp.report.signing_key",
                       "SIGNING_KEY (offset 0x048 bits 4:2) is %u, reserved", r->signing_key);
}

int snp_report_decode(const uint8_t *buf, size_t len, struct gtee_snp_report *r,
                      struct gtee_snp_result *res)
{
    struct span s = span_init(buf, buf ? len : 0);
    uint32_t keyflags;

    memset(r, 0, sizeof(*r));
    if (!buf || len < 4)
        return snp_reason_add(res, GTEE_EFORMAT, "snp.report.length",
                              "report truncated: %zu bytes, a report is %d (0x%x) bytes",
                              buf ? len : 0, GTEE_SNP_REPORT_LEN, GTEE_SNP_REPORT_LEN);
    r->version = span_u32le(&s);
    if (r->version != 2 && r->version != 3)
        return snp_reason_add(res, GTEE_EUNSUPPORTED, "snp.report.version",
                              "VERSION (offset 0x000) is %u; versions 2 and 3 are supported",
                              r->version);
    if (len < GTEE_SNP_REPORT_LEN)
        return snp_reason_add(res, GTEE_EFORMAT, "snp.report.length",
                              "report truncated: %zu bytes, a version %u report is %d (0x%x) bytes",
                              len, r->version, GTEE_SNP_REPORT_LEN, GTEE_SNP_REPORT_LEN);
    if (len > GTEE_SNP_REPORT_LEN)
        return snp_reason_add(res, GTEE_EFORMAT, "snp.report.length",
                              "report has %zu trailing bytes after the %d-byte version %u report",
                              len - GTEE_SNP_REPORT_LEN, GTEE_SNP_REPORT_LEN, r->version);

    r->guest_svn = span_u32le(&s);                        /* 0x004 */
    r->policy = span_u64le(&s);                           /* 0x008 */
    span_copy(&s, r->family_id, sizeof(r->family_id));    /* 0x010 */
    span_copy(&s, r->image_id, sizeof(r->image_id));      /* 0x020 */
    r->vmpl = span_u32le(&s);                             /* 0x030 */
    r->signature_algo = span_u32le(&s);                   /* 0x034 */
    if (r->signature_algo != GTEE_SNP_SIG_ALGO_ECDSA_P384_SHA384)
        return snp_reason_add(res, GTEE_EUNSUPPORTED, "snp.report.sigalgo",
                              "SIGNATURE_ALGO (offset 0x034) is %u; only 1 (ECDSA P-384 with "
                              "SHA-384) is supported", r->signature_algo);
    take_tcb(&s, &r->current_tcb);                        /* 0x038 */
    r->platform_info = span_u64le(&s);                    /* 0x040 */
    keyflags = span_u32le(&s);                            /* 0x048 */
    r->author_key_en = keyflags & 1;
    r->mask_chip_key = (keyflags >> 1) & 1;
    r->signing_key = (uint8_t)((keyflags >> 2) & 7);
    take_zero(&s, 4, "after the key flags", res);                    /* 0x04C */
    span_copy(&s, r->report_data, sizeof(r->report_data));             /* 0x050 */
    span_copy(&s, r->measurement, sizeof(r->measurement));             /* 0x090 */
    span_copy(&s, r->host_data, sizeof(r->host_data));                 /* 0x0C0 */
    span_copy(&s, r->id_key_digest, sizeof(r->id_key_digest));         /* 0x0E0 */
    span_copy(&s, r->author_key_digest, sizeof(r->author_key_digest)); /* 0x110 */
    span_copy(&s, r->report_id, sizeof(r->report_id));                 /* 0x140 */
    span_copy(&s, r->report_id_ma, sizeof(r->report_id_ma));           /* 0x160 */
    take_tcb(&s, &r->reported_tcb);                       /* 0x180 */
    if (r->version >= 3) {                                /* 0x188: CPUID_FAM/MOD/STEP */
        r->has_cpuid = true;
        r->cpuid_fam_id = span_u8(&s);
        r->cpuid_mod_id = span_u8(&s);
        r->cpuid_step = span_u8(&s);
        take_zero(&s, 21, "after CPUID_STEP (v3)", res);  /* 0x18B..0x19F */
    } else {
        take_zero(&s, 24, "after REPORTED_TCB (v2)", res); /* 0x188..0x19F */
    }
    span_copy(&s, r->chip_id, sizeof(r->chip_id));        /* 0x1A0 */
    take_tcb(&s, &r->committed_tcb);                      /* 0x1E0 */
    r->current_build = span_u8(&s);                       /* 0x1E8 */
    r->current_minor = span_u8(&s);
    r->current_major = span_u8(&s);
    take_zero(&s, 1, "after CURRENT_MAJOR", res);         /* 0x1EB */
    r->committed_build = span_u8(&s);                     /* 0x1EC */
    r->committed_minor = span_u8(&s);
    r->committed_major = span_u8(&s);
    take_zero(&s, 1, "after COMMITTED_MAJOR", res);       /* 0x1EF */
    take_tcb(&s, &r->launch_tcb);                         /* 0x1F0 */
    take_zero(&s, 0x2A0 - 0x1F8, "after LAUNCH_TCB", res); /* 0x1F8..0x29F */
    take_sig_component(&s, r->sig_r, "SIGNATURE.R upper 24 bytes", res); /* 0x2A0 */
    take_sig_component(&s, r->sig_s, "SIGNATURE.S upper 24 bytes", res); /* 0x2E8 */
    take_zero(&s, 0x4A0 - 0x330, "SIGNATURE reserved tail", res);        /* 0x330..0x49F */

    if (s.bad || s.len != 0) /* the layout above must consume exactly 0x4A0 bytes */
        return snp_reason_add(res, GTEE_EFORMAT, "snp.report.length",
                              "report layout ended at offset 0x%zx", s.off);
    check_header(r, keyflags, res);
    return 0;
}

int gtee_snp_report_parse(const uint8_t *buf, size_t len, struct gtee_snp_report *r,
                          struct gtee_err *err)
{
    struct gtee_snp_result res;
    int rc = GTEE_EINVAL;

    if (!r)
        return GTEE_FAIL(err, GTEE_EINVAL, "snp report: no output");
    memset(&res, 0, sizeof(res));
    rc = snp_report_decode(buf, len, r, &res);
    if (rc == 0 && res.n_reasons == 0)
        return 0;
    rc = snp_reason_to_err(&res, err);
    memset(r, 0, sizeof(*r)); /* fail closed: no half-parsed report escapes */
    return rc;
}
