/* SEV-SNP report verification: parse, pick the product line, verify the certificate
 * chain, the report signature (AMD document 56860, "Attestation Report" signature over
 * bytes 0x000..0x29F) and the certificate's TCB and chip ID against the report. Every
 * failure becomes a reason with a stable code (docs/evidence-snp.md). */
#include <string.h>

#include <openssl/err.h>

#include "base/guard.h"
#include "evidence/dcap_check.h"
#include "evidence/snp_internal.h"
#include "gtee/crypto.h"

/* CPUID family/model (report v3, offset 0x188) to product line (AMD family 19h). */
static enum gtee_snp_product product_of_cpuid(uint8_t fam, uint8_t mod)
{
    if (fam != 0x19)
        return GTEE_SNP_PRODUCT_UNKNOWN;
    if (mod <= 0x0F)
        return GTEE_SNP_PRODUCT_MILAN;
    if (mod <= 0x1F || (mod >= 0xA0 && mod <= 0xAF))
        return GTEE_SNP_PRODUCT_GENOA;
    return GTEE_SNP_PRODUCT_UNKNOWN;
}

/* The product line comes from the certificate's issuer; the productName extension and
 * (v3) the report's CPUID bytes must agree with it. */
static void pick_product(struct gtee_snp_result *res)
{
    const struct gtee_snp_report *r = &res->report;
    enum gtee_snp_product p = res->vcek.product;
    const char *name = gtee_snp_product_name(p);
    size_t nl = strlen(name);

    if (p == GTEE_SNP_PRODUCT_UNKNOWN) {
        snp_reason_add(res, GTEE_EUNSUPPORTED, "snp.product.unknown",
                       "the certificate's issuer CN names no known product line "
                       "(SEV-Milan, SEV-Genoa, SEV-VLEK-Milan, SEV-VLEK-Genoa)");
        return;
    }
    res->product = p;
    if (res->vcek.product_name[0] &&
        (strncmp(res->vcek.product_name, name, nl) != 0 ||
         (res->vcek.product_name[nl] != '\0' && res->vcek.product_name[nl] != '-')))
        snp_reason_add(res, GTEE_EAUTH, "snp.product.mismatch",
                       "the certificate's productName extension (1.3.6.1.4.1.3704.1.2) is \"%s\", "
                       "its issuer is SEV-%s", res->vcek.product_name, name);
    if (r->has_cpuid && product_of_cpuid(r->cpuid_fam_id, r->cpuid_mod_id) != p)
        snp_reason_add(res, GTEE_EAUTH, "snp.product.mismatch",
                       "report CPUID_FAM_ID %02xh / CPUID_MOD_ID %02xh (offset 0x188) is not a "
                       "%s processor", r->cpuid_fam_id, r->cpuid_mod_id, name);
}

/* [ABI] "Attestation": ECDSA P-384 with SHA-384 over bytes 0x000..0x29F, r || s
 * big-endian as the parser left them, with the certificate's key. */
static void verify_signature(const uint8_t *report, struct gtee_snp_result *res)
{
    uint8_t sig[GTEE_P384_SIG_LEN];
    int rc;

    memcpy(sig, res->report.sig_r, GTEE_SNP_P384_COMPONENT_LEN);
    memcpy(sig + GTEE_SNP_P384_COMPONENT_LEN, res->report.sig_s, GTEE_SNP_P384_COMPONENT_LEN);
    rc = gtee_ecdsa_verify(GTEE_EC_P384, res->vcek.pub, report, GTEE_SNP_SIGNED_LEN, sig);
    if (rc == 0)
        snp_check_pass(&res->signature_ok, SNP_CHECK_SIGNATURE);
    else if (rc == GTEE_EAUTH)
        snp_reason_add(res, GTEE_EAUTH, "snp.signature",
                       "SIGNATURE (offset 0x2A0) does not verify under the %s key over the "
                       "signed body, offsets 0x000..0x29F", res->vcek.is_vlek ? "VLEK" : "VCEK");
    else
        snp_reason_add(res, rc, "snp.internal", "ECDSA P-384 verification failed to run (%s)",
                       gtee_strerror(rc));
}

/* The VCEK is derived for one TCB (document 57230): each SPL of REPORTED_TCB (offset
 * 0x180) must equal the certificate's, and CHIP_ID (0x1A0) its hwID. */
static void check_tcb(struct gtee_snp_result *res)
{
    static const struct {
        const char *code, *field, *ext;
        int byte;
    } comps[] = {
        { "snp.tcb.mismatch.bootloader", "BOOT_LOADER", "blSPL", 0 },
        { "snp.tcb.mismatch.tee", "TEE", "teeSPL", 1 },
        { "snp.tcb.mismatch.reserved", "reserved byte 2", "spl_4", 2 },
        { "snp.tcb.mismatch.reserved", "reserved byte 3", "spl_5", 3 },
        { "snp.tcb.mismatch.reserved", "reserved byte 4", "spl_6", 4 },
        { "snp.tcb.mismatch.reserved", "reserved byte 5", "spl_7", 5 },
        { "snp.tcb.mismatch.snp", "SNP", "snpSPL", 6 },
        { "snp.tcb.mismatch.microcode", "MICROCODE", "ucodeSPL", 7 },
    };
    uint64_t rep = res->report.reported_tcb.raw, cert = res->vcek.tcb.raw;
    size_t before = res->n_reasons;

    for (size_t i = 0; i < GTEE_ARRAY_LEN(comps); i++) {
        unsigned rb = (unsigned)(rep >> (8 * comps[i].byte)) & 0xFF;
        unsigned cb = (unsigned)(cert >> (8 * comps[i].byte)) & 0xFF;

        if (rb != cb)
            snp_reason_add(res, GTEE_EAUTH, comps[i].code,
                           "REPORTED_TCB.%s (offset 0x%03X) is %u, the certificate's %s is %u",
                           comps[i].field, 0x180 + comps[i].byte, rb, comps[i].ext, cb);
    }
    if (!res->vcek.is_vlek && memcmp(res->vcek.hwid, res->report.chip_id, GTEE_SNP_CHIP_ID_LEN)) {
        static const uint8_t zero[GTEE_SNP_CHIP_ID_LEN];

        snp_reason_add(res, GTEE_EAUTH, "snp.vcek.hwid",
                       "CHIP_ID (offset 0x1A0) differs from the VCEK's hwID extension "
                       "(1.3.6.1.4.1.3704.1.4)%s",
                       memcmp(res->report.chip_id, zero, sizeof(zero)) ? "" : "; CHIP_ID is masked");
    }
    if (res->n_reasons == before)
        snp_check_pass(&res->tcb_ok, SNP_CHECK_TCB);
}

/* A report with SIGNING_KEY 7 or MASK_CHIP_KEY set carries no signature to verify. */
static bool check_signed(struct gtee_snp_result *res)
{
    const struct gtee_snp_report *r = &res->report;

    if (r->signing_key == GTEE_SNP_KEY_NONE || r->mask_chip_key) {
        snp_reason_add(res, GTEE_EAUTH, "snp.report.signing_key",
                       "the report is unsigned (offset 0x048: SIGNING_KEY %u, MASK_CHIP_KEY %d)",
                       r->signing_key, r->mask_chip_key);
        return false;
    }
    return true;
}

/* The report names the key that signed it; the certificate must be that kind. */
static void check_key_kind(struct gtee_snp_result *res)
{
    const struct gtee_snp_report *r = &res->report;

    if ((r->signing_key == GTEE_SNP_KEY_VLEK) != res->vcek.is_vlek)
        snp_reason_add(res, GTEE_EAUTH, "snp.vcek.kind",
                       "the report is signed by a %s (offset 0x048 SIGNING_KEY) but the "
                       "certificate is a %s", r->signing_key == GTEE_SNP_KEY_VLEK ? "VLEK" : "VCEK",
                       res->vcek.is_vlek ? "VLEK" : "VCEK");
}

/* Every certificate of the prepared path, and its CRL, strictly inside its window at `at`
 * (a boundary second is left to the full path, which decides as OpenSSL does). */
static bool path_open(const struct snp_path *path, time_t at)
{
    if (!path->ok)
        return false;
    if (path->has_crl && !(path->crl_this_update < (int64_t)at && (int64_t)at < path->crl_next_update))
        return false;
    for (int i = 0; i < path->n; i++)
        if (!(path->not_before[i] < (int64_t)at && (int64_t)at < path->not_after[i]))
            return false;
    return true;
}

int snp_verify_prepared(const uint8_t *report, size_t len, const uint8_t *vcek_der, size_t vcek_len,
                        const char *ask_ark_pem, const uint8_t *crl_der, size_t crl_len, time_t at,
                        const struct snp_prepared *sp, struct gtee_snp_result *res, struct gtee_err *err)
{
    struct gtee_err e = { 0 };
    X509 *leaf = NULL;

    if (!res)
        return GTEE_FAIL(err, GTEE_EINVAL, "snp: no result");
    memset(res, 0, sizeof(*res));
    if (snp_report_decode(report, len, &res->report, res) < 0)
        goto done; /* no layout: nothing more can be checked */
    res->report_parsed = true;
    gtee_snp_policy_decode(res->report.policy, &res->policy);
    if (!check_signed(res))
        goto done;
    /* The prepared parse of these exact VCEK bytes, else parsed now. */
    if (sp) {
        snp_prepared_vcek(sp, &res->vcek);
    } else if (snp_x509_from_der(vcek_der, vcek_len, &leaf, &e) < 0 ||
               snp_vcek_from_x509(leaf, &res->vcek, &e) < 0) {
        snp_reason_add(res, e.code, "snp.vcek.format", "%s", e.msg);
        goto done;
    }
    snp_check_pass(&res->vcek_parsed, SNP_CHECK_VCEK);
    check_key_kind(res);
    pick_product(res);
    if (res->product != GTEE_SNP_PRODUCT_UNKNOWN) {
        /* The prepared chain (same VCEK, bundle and CRL bytes, so the same product and kind)
         * passed every check but the windows, which are checked now; else the full path. */
        if (sp && path_open(snp_prepared_path(sp), at)) {
            snp_check_pass(&res->chain_ok, SNP_CHECK_CHAIN);
            res->crl_given = snp_prepared_path(sp)->has_crl;
            if (res->crl_given)
                snp_check_pass(&res->revocation_checked, SNP_CHECK_REVOCATION);
            snp_prepared_hit(sp);
        } else if ((leaf || snp_x509_from_der(vcek_der, vcek_len, &leaf, &e) == 0) &&
                   snp_chain_verify(leaf, res->product, res->vcek.is_vlek, ask_ark_pem, crl_der, crl_len, at,
                                    res) == 0) {
            snp_check_pass(&res->chain_ok, SNP_CHECK_CHAIN);
        } else if (!leaf) {
            snp_reason_add(res, e.code, "snp.vcek.format", "%s", e.msg);
        }
    }
    check_tcb(res); /* first: its reasons are more specific than a failed signature */
    verify_signature(report, res);
done:
    X509_free(leaf);
    ERR_clear_error(); /* failures are reported as reasons, not OpenSSL's queue */
    if (res->n_reasons == 0 && res->report_parsed && res->vcek_parsed && res->chain_ok &&
        res->signature_ok && res->tcb_ok && res->revocation_checked == (crl_der != NULL)) {
        res->verified = true;
        return 0;
    }
    return snp_reason_to_err(res, err);
}

int gtee_snp_verify(const uint8_t *report, size_t len, const uint8_t *vcek_der, size_t vcek_len,
                    const char *ask_ark_pem, time_t at, struct gtee_snp_result *res,
                    struct gtee_err *err)
{
    return snp_verify_prepared(report, len, vcek_der, vcek_len, ask_ark_pem, NULL, 0, at, NULL, res, err);
}

int gtee_snp_verify_crl(const uint8_t *report, size_t len, const uint8_t *vcek_der, size_t vcek_len,
                        const char *ask_ark_pem, const uint8_t *crl_der, size_t crl_len, time_t at,
                        struct gtee_snp_result *res, struct gtee_err *err)
{
    return snp_verify_prepared(report, len, vcek_der, vcek_len, ask_ark_pem, crl_der, crl_len, at, NULL, res,
                               err);
}
