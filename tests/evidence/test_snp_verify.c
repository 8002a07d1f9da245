/* SEV-SNP verification end to end on the real Milan sample: it verifies at the time its
 * expected.json names; a flipped byte in each region, a wrong or unpinned ARK, a broken
 * VCEK and times outside the VCEK's validity are each rejected with the right reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "evidence/snp_test_util.h"
#include "gtee/crypto.h"
#include "gtee/snp.h"

struct fixture {
    uint8_t *report, *vcek;
    size_t report_len, vcek_len;
    char *milan_pem, *genoa_pem;
    json_t *expected;
    time_t at;
    struct gtee_snp_result res;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    size_t n;

    f->report = snp_vec_read("snp/milan-1/report.bin", &f->report_len);
    f->vcek = snp_vec_read("snp/milan-1/vcek.der", &f->vcek_len);
    f->milan_pem = (char *)snp_vec_read("amd/ask_ark_milan.pem", &n);
    f->genoa_pem = (char *)snp_vec_read("amd/ask_ark_genoa.pem", &n);
    f->expected = snp_vec_expected();
    f->at = snp_vec_time(snp_vec_str(f->expected, "verify_at"));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    free(f->report);
    free(f->vcek);
    free(f->milan_pem);
    free(f->genoa_pem);
    json_decref(f->expected);
    free(f);
    return 0;
}

/* Every reason in res has one of the codes in want (NULL-terminated) and each code in
 * want occurs: the verifier says exactly what is wrong, no more, no less. */
static void assert_reasons(const struct gtee_snp_result *res, const char *const *want)
{
    for (size_t i = 0; i < res->n_reasons; i++) {
        bool listed = false;

        for (size_t k = 0; want[k]; k++)
            listed |= strcmp(res->reasons[i].code, want[k]) == 0;
        if (!listed)
            fail_msg("unexpected reason %s: %s", res->reasons[i].code, res->reasons[i].msg);
    }
    for (size_t k = 0; want[k]; k++)
        if (!gtee_snp_result_find(res, want[k]))
            fail_msg("missing reason %s", want[k]);
}

static void test_snp_verify_accepts_milan_sample(void **state)
{
    struct fixture *f = *state;
    struct gtee_snp_result *res = &f->res;
    struct gtee_err e = { 0 };
    char hex[2 * GTEE_SNP_MEASUREMENT_LEN + 1];

    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL, f->at,
                                     res, &e), 0);
    assert_true(res->verified);
    assert_int_equal(res->n_reasons, 0);
    assert_true(res->chain_ok && res->signature_ok && res->tcb_ok);
    assert_string_equal(gtee_snp_product_name(res->product), snp_vec_str(f->expected, "product"));
    assert_int_equal(res->policy.debug_allowed,
                     json_is_true(json_object_get(f->expected, "debug_allowed_by_policy")));
    assert_true(res->policy.debug_allowed);
    gtee_hex_encode(res->report.measurement, GTEE_SNP_MEASUREMENT_LEN, hex);
    assert_string_equal(hex, snp_vec_str(f->expected, "measurement"));
    assert_false(res->vcek.is_vlek);
    assert_memory_equal(res->vcek.hwid, res->report.chip_id, GTEE_SNP_CHIP_ID_LEN);
    assert_int_equal(res->vcek.tcb.raw, res->report.reported_tcb.raw);

    /* the same with AMD's published ASK/ARK bundle for Milan passed explicitly */
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, f->milan_pem,
                                     f->at, res, &e), 0);
    assert_true(res->verified);
    /* and at the edges of 2025 */
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     snp_utc(2025, 1, 1), res, &e), 0);
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     snp_utc(2025, 12, 31), res, &e), 0);
}

struct flip {
    size_t off;
    uint8_t mask;
    const char *region;
    const char *codes[4];
};

/* One byte changed in each region of the report; the reasons expected for each. The
 * signature covers 0x000..0x29F, so a change there that no other check sees is named by
 * "snp.signature", whose message names the signed range. */
static const struct flip flips[] = {
    { 0x000, 0xFF, "VERSION", { "snp.report.version" } },
    { 0x004, 0x01, "GUEST_SVN", { "snp.signature" } },
    { 0x008, 0x01, "POLICY (ABI minor)", { "snp.signature" } },
    { 0x00A, 0x08, "POLICY (debug bit 19)", { "snp.signature" } },
    { 0x00A, 0x02, "POLICY (reserved-one bit 17)", { "snp.report.policy", "snp.signature" } },
    { 0x010, 0x01, "FAMILY_ID", { "snp.signature" } },
    { 0x020, 0x01, "IMAGE_ID", { "snp.signature" } },
    { 0x030, 0x01, "VMPL", { "snp.signature" } },
    { 0x030, 0x04, "VMPL (out of range)", { "snp.report.vmpl", "snp.signature" } },
    { 0x034, 0x02, "SIGNATURE_ALGO", { "snp.report.sigalgo" } },
    { 0x038, 0x01, "CURRENT_TCB", { "snp.signature" } },
    { 0x040, 0x01, "PLATFORM_INFO", { "snp.signature" } },
    { 0x048, 0x04, "SIGNING_KEY (VLEK)", { "snp.vcek.kind", "snp.signature" } },
    { 0x048, 0x1C, "SIGNING_KEY (none)", { "snp.report.signing_key" } },
    { 0x04C, 0x01, "reserved 0x04C", { "snp.report.reserved", "snp.signature" } },
    { 0x050, 0x01, "REPORT_DATA first", { "snp.signature" } },
    { 0x08F, 0x80, "REPORT_DATA last", { "snp.signature" } },
    { 0x090, 0x01, "MEASUREMENT first", { "snp.signature" } },
    { 0x0BF, 0x80, "MEASUREMENT last", { "snp.signature" } },
    { 0x0C0, 0x01, "HOST_DATA first", { "snp.signature" } },
    { 0x0DF, 0x80, "HOST_DATA last", { "snp.signature" } },
    { 0x0E0, 0x01, "ID_KEY_DIGEST", { "snp.signature" } },
    { 0x110, 0x01, "AUTHOR_KEY_DIGEST", { "snp.signature" } },
    { 0x140, 0x01, "REPORT_ID", { "snp.signature" } },
    { 0x160, 0x01, "REPORT_ID_MA", { "snp.signature" } },
    { 0x180, 0x01, "REPORTED_TCB boot loader", { "snp.tcb.mismatch.bootloader", "snp.signature" } },
    { 0x181, 0x01, "REPORTED_TCB TEE", { "snp.tcb.mismatch.tee", "snp.signature" } },
    { 0x183, 0x01, "REPORTED_TCB reserved", { "snp.tcb.mismatch.reserved", "snp.signature" } },
    { 0x186, 0x01, "REPORTED_TCB SNP", { "snp.tcb.mismatch.snp", "snp.signature" } },
    { 0x187, 0x01, "REPORTED_TCB microcode", { "snp.tcb.mismatch.microcode", "snp.signature" } },
    { 0x188, 0x01, "reserved 0x188 (v2)", { "snp.report.reserved", "snp.signature" } },
    { 0x1A0, 0x01, "CHIP_ID first", { "snp.vcek.hwid", "snp.signature" } },
    { 0x1DF, 0x80, "CHIP_ID last", { "snp.vcek.hwid", "snp.signature" } },
    { 0x1E0, 0x01, "COMMITTED_TCB", { "snp.signature" } },
    { 0x1E8, 0x01, "CURRENT_BUILD", { "snp.signature" } },
    { 0x1EB, 0x01, "reserved 0x1EB", { "snp.report.reserved", "snp.signature" } },
    { 0x1EC, 0x01, "COMMITTED_BUILD", { "snp.signature" } },
    { 0x1F0, 0x01, "LAUNCH_TCB", { "snp.signature" } },
    { 0x29F, 0x01, "reserved 0x1F8 (last signed byte)", { "snp.report.reserved", "snp.signature" } },
    { 0x2A0, 0x01, "SIGNATURE.R", { "snp.signature" } },
    { 0x2CF, 0x01, "SIGNATURE.R top byte", { "snp.signature" } },
    { 0x2E8, 0x01, "SIGNATURE.S", { "snp.signature" } },
    { 0x317, 0x01, "SIGNATURE.S top byte", { "snp.signature" } },
    { 0x2D0, 0x01, "SIGNATURE.R padding", { "snp.report.reserved" } },
    { 0x330, 0x01, "SIGNATURE reserved tail", { "snp.report.reserved" } },
    { 0x49F, 0x01, "last byte", { "snp.report.reserved" } },
};

static void test_snp_verify_rejects_byte_flip_in_each_region(void **state)
{
    struct fixture *f = *state;
    uint8_t copy[GTEE_SNP_REPORT_LEN];

    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        const struct flip *fl = &flips[i];
        struct gtee_snp_result *res = &f->res;
        struct gtee_err e = { 0 };
        const struct gtee_snp_reason *sig;
        char off[32];

        memcpy(copy, f->report, sizeof(copy));
        copy[fl->off] ^= fl->mask;
        print_message("flip %s at 0x%03zX\n", fl->region, fl->off);
        assert_true(gtee_snp_verify(copy, sizeof(copy), f->vcek, f->vcek_len, NULL, f->at, res,
                                    &e) < 0);
        assert_false(res->verified);
        assert_reasons(res, fl->codes);
        /* the first reason is reported through err */
        assert_non_null(strstr(e.msg, res->reasons[0].code));
        sig = gtee_snp_result_find(res, "snp.signature");
        if (sig) {
            assert_false(res->signature_ok);
            assert_non_null(strstr(sig->msg, "SIGNATURE (offset 0x2A0)"));
            if (fl->off < GTEE_SNP_SIGNED_LEN)
                assert_non_null(strstr(sig->msg, "offsets 0x000..0x29F"));
        }
        /* a region-specific reason names its offset */
        for (size_t k = 0; k < res->n_reasons; k++) {
            const char *code = res->reasons[k].code;

            if (strncmp(code, "snp.tcb.", 8) == 0 || strcmp(code, "snp.report.vmpl") == 0) {
                snprintf(off, sizeof(off), "0x%03zX", fl->off & ~(size_t)3);
                if (strncmp(code, "snp.tcb.", 8) == 0)
                    snprintf(off, sizeof(off), "0x%03zX", fl->off);
                assert_non_null(strstr(res->reasons[k].msg, off));
            }
            if (strcmp(code, "snp.vcek.hwid") == 0)
                assert_non_null(strstr(res->reasons[k].msg, "CHIP_ID (offset 0x1A0)"));
            if (strcmp(code, "snp.report.reserved") == 0) {
                snprintf(off, sizeof(off), "0x%03zX is", fl->off);
                assert_non_null(strstr(res->reasons[k].msg, off));
            }
        }
    }
}

static void test_snp_verify_rejects_genoa_ark_for_milan_vcek(void **state)
{
    struct fixture *f = *state;
    struct gtee_snp_result *res = &f->res;
    struct gtee_err e = { 0 };
    static const char *const want[] = { "snp.ark.untrusted", NULL };

    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, f->genoa_pem,
                                     f->at, res, &e), GTEE_EAUTH);
    assert_reasons(res, want);
    assert_false(res->chain_ok);
    assert_non_null(strstr(res->reasons[0].msg, "ARK-Genoa"));
    assert_int_equal(ERR_peek_error(), 0);
    /* the signature itself is still reported as sound: reasons are independent */
    assert_true(res->signature_ok);
}

/* Only the Genoa ASK (not self-signed) offered: the pinned Milan ASK still completes the
 * chain, the wrong intermediate is ignored. */
static void test_snp_verify_ignores_foreign_intermediate(void **state)
{
    struct fixture *f = *state;
    char *end = strstr(f->genoa_pem, "-----END CERTIFICATE-----");
    char *ask_only;
    size_t n;

    assert_non_null(end);
    n = (size_t)(end - f->genoa_pem) + strlen("-----END CERTIFICATE-----\n");
    ask_only = strndup(f->genoa_pem, n);
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, ask_only,
                                     f->at, &f->res, NULL), 0);
    free(ask_only);
}

/* A self-signed RSA certificate named like AMD's ARK, made here: not the pinned one. */
static char *make_fake_ark_pem(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out;
    long len;

    assert_non_null(k);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"ARK-Milan", -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400L * 365 * 10);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365 * 10);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha384()) > 0);
    PEM_write_bio_X509(b, x);
    len = BIO_get_mem_data(b, &data);
    out = strndup(data, (size_t)len);
    BIO_free(b);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
    return out;
}

static void test_snp_verify_rejects_unpinned_ark(void **state)
{
    struct fixture *f = *state;
    static const char *const want[] = { "snp.ark.untrusted", NULL };
    char *fake = make_fake_ark_pem();

    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, fake, f->at,
                                     &f->res, NULL), GTEE_EAUTH);
    assert_reasons(&f->res, want);
    assert_non_null(strstr(f->res.reasons[0].msg, "not the pinned ARK-Milan"));
    free(fake);
}

static void test_snp_verify_rejects_malformed_bundle(void **state)
{
    struct fixture *f = *state;
    static const char *const want[] = { "snp.bundle.format", NULL };

    assert_true(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, "not pem", f->at,
                                &f->res, NULL) < 0);
    assert_reasons(&f->res, want);
    assert_true(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len,
                                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                f->at, &f->res, NULL) < 0);
    assert_reasons(&f->res, want);
}

static void test_snp_verify_rejects_vcek_with_flipped_signature(void **state)
{
    struct fixture *f = *state;
    static const char *const want[] = { "snp.vcek.chain", NULL };
    uint8_t *bad = malloc(f->vcek_len);

    memcpy(bad, f->vcek, f->vcek_len);
    bad[f->vcek_len - 10] ^= 0x01; /* inside the RSA-PSS signature value */
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, bad, f->vcek_len, NULL, f->at,
                                     &f->res, NULL), GTEE_EAUTH);
    assert_reasons(&f->res, want);
    assert_non_null(strstr(f->res.reasons[0].msg, "depth 0 (VCEK)"));
    assert_false(f->res.chain_ok);
    free(bad);
}

static void test_snp_verify_rejects_times_outside_vcek_validity(void **state)
{
    struct fixture *f = *state;
    static const char *const late[] = { "snp.vcek.expired", NULL };
    static const char *const early[] = { "snp.vcek.not_yet_valid", NULL };
    static const char *const ark_early[] = { "snp.ark.not_yet_valid", NULL };
    struct gtee_snp_vcek v;

    assert_int_equal(gtee_snp_vcek_parse(f->vcek, f->vcek_len, &v, NULL), 0);
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     v.not_after + 1, &f->res, NULL), GTEE_EAUTH);
    assert_reasons(&f->res, late);
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     v.not_before - 1, &f->res, NULL), GTEE_EAUTH);
    assert_reasons(&f->res, early);
    /* the first second and the second before notAfter are good (OpenSSL's X509_cmp_time
     * treats the notAfter second itself as past) */
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     v.not_before, &f->res, NULL), 0);
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     v.not_after - 1, &f->res, NULL), 0);
    /* before AMD made the Milan ARK (2020-10-22) the root itself is not yet valid */
    assert_int_equal(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len, NULL,
                                     snp_utc(2019, 1, 1), &f->res, NULL), GTEE_EAUTH);
    assert_reasons(&f->res, ark_early);
}

static void test_snp_verify_rejects_bad_lengths_and_certificates(void **state)
{
    struct fixture *f = *state;
    static const char *const len_codes[] = { "snp.report.length", NULL };
    static const char *const vcek_codes[] = { "snp.vcek.format", NULL };
    uint8_t *big = calloc(1, f->report_len + 16);
    struct gtee_err e = { 0 };

    assert_int_equal(gtee_snp_verify(f->report, f->report_len - 1, f->vcek, f->vcek_len, NULL,
                                     f->at, &f->res, &e), GTEE_EFORMAT);
    assert_reasons(&f->res, len_codes);
    assert_non_null(strstr(e.msg, "truncated"));
    memcpy(big, f->report, f->report_len);
    assert_int_equal(gtee_snp_verify(big, f->report_len + 16, f->vcek, f->vcek_len, NULL, f->at,
                                     &f->res, &e), GTEE_EFORMAT);
    assert_reasons(&f->res, len_codes);
    assert_non_null(strstr(e.msg, "16 trailing bytes"));

    assert_true(gtee_snp_verify(f->report, f->report_len, f->vcek, f->vcek_len - 1, NULL, f->at,
                                &f->res, NULL) < 0);
    assert_reasons(&f->res, vcek_codes);
    assert_true(gtee_snp_verify(f->report, f->report_len, NULL, 0, NULL, f->at, &f->res, NULL) < 0);
    assert_reasons(&f->res, vcek_codes);
    assert_int_equal(ERR_peek_error(), 0); /* nothing left in OpenSSL's queue */
    /* an ARK is no VCEK */
    {
        size_t len;
        const uint8_t *ark = gtee_snp_ark_der(GTEE_SNP_PRODUCT_MILAN, &len);

        assert_true(gtee_snp_verify(f->report, f->report_len, ark, len, NULL, f->at, &f->res,
                                    NULL) < 0);
        assert_reasons(&f->res, vcek_codes);
    }
    free(big);
}

/* Many faults at once: every one is listed up to GTEE_SNP_MAX_REASONS, then truncation is
 * flagged; the first reason is the one in err. */
static void test_snp_verify_lists_all_faults_and_flags_truncation(void **state)
{
    struct fixture *f = *state;
    static const size_t offs[] = { 0x04C, 0x188, 0x1EB, 0x1EF, 0x1F8, 0x2D0, 0x318, 0x330,
                                   0x180, 0x181, 0x182, 0x183, 0x184, 0x185, 0x186, 0x187, 0x1A0 };
    uint8_t copy[GTEE_SNP_REPORT_LEN];
    struct gtee_err e = { 0 };

    memcpy(copy, f->report, sizeof(copy));
    for (size_t i = 0; i < 8; i++) {
        copy[offs[i]] ^= 0x01;
        assert_true(gtee_snp_verify(copy, sizeof(copy), f->vcek, f->vcek_len, NULL, f->at, &f->res,
                                    &e) < 0);
        assert_int_equal(f->res.n_reasons, i + 2); /* i + 1 reserved fields and the signature */
        assert_false(f->res.reasons_truncated);
    }
    for (size_t i = 8; i < sizeof(offs) / sizeof(offs[0]); i++)
        copy[offs[i]] ^= 0x01;
    assert_true(gtee_snp_verify(copy, sizeof(copy), f->vcek, f->vcek_len, NULL, f->at, &f->res,
                                &e) < 0);
    assert_int_equal(f->res.n_reasons, GTEE_SNP_MAX_REASONS);
    assert_true(f->res.reasons_truncated);
    assert_string_equal(f->res.reasons[0].code, "snp.report.reserved");
    assert_non_null(strstr(e.msg, "offset 0x04C"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snp_verify_accepts_milan_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_byte_flip_in_each_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_genoa_ark_for_milan_vcek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_ignores_foreign_intermediate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_unpinned_ark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_malformed_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_vcek_with_flipped_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_times_outside_vcek_validity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_rejects_bad_lengths_and_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_verify_lists_all_faults_and_flags_truncation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
