/* SEV-SNP report parser: the real Milan sample, lengths, versions, algorithms, every
 * must-be-zero field, header checks and the version 3 layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/snp_test_util.h"
#include "gtee/crypto.h"
#include "gtee/snp.h"

struct fixture {
    uint8_t *buf;
    size_t len;
    json_t *expected;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->buf = snp_vec_read("snp/milan-1/report.bin", &f->len);
    f->expected = snp_vec_expected();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    free(f->buf);
    json_decref(f->expected);
    free(f);
    return 0;
}

static void hex_le64(uint64_t v, char out[17])
{
    uint8_t b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    gtee_hex_encode(b, 8, out);
}

/* Parses buf with one byte changed and returns the error (and rc). */
static int parse_mutated(const struct fixture *f, size_t off, uint8_t xor_mask, struct gtee_err *e)
{
    uint8_t copy[GTEE_SNP_REPORT_LEN];
    struct gtee_snp_report r;

    memcpy(copy, f->buf, sizeof(copy));
    copy[off] ^= xor_mask;
    memset(e, 0, sizeof(*e));
    return gtee_snp_report_parse(copy, sizeof(copy), &r, e);
}

static void test_snp_report_parses_milan_sample_fields(void **state)
{
    struct fixture *f = *state;
    struct gtee_snp_report r;
    struct gtee_err e = { 0 };
    char hex[2 * GTEE_SNP_MEASUREMENT_LEN + 1], tcb[17];
    unsigned long long policy;

    assert_int_equal(f->len, GTEE_SNP_REPORT_LEN);
    assert_int_equal(gtee_snp_report_parse(f->buf, f->len, &r, &e), 0);
    assert_int_equal(r.version, 2);
    assert_false(r.has_cpuid);
    assert_int_equal(r.signature_algo, GTEE_SNP_SIG_ALGO_ECDSA_P384_SHA384);
    assert_int_equal(r.signing_key, GTEE_SNP_KEY_VCEK);

    gtee_hex_encode(r.measurement, sizeof(r.measurement), hex);
    assert_string_equal(hex, snp_vec_str(f->expected, "measurement"));

    const char *prefix = snp_vec_str(f->expected, "report_data_prefix");
    gtee_hex_encode(r.report_data, strlen(prefix) / 2, hex);
    assert_string_equal(hex, prefix);

    assert_int_equal(sscanf(snp_vec_str(f->expected, "policy"), "%llx", &policy), 1);
    assert_int_equal(r.policy, policy);

    hex_le64(r.reported_tcb.raw, tcb);
    assert_string_equal(tcb, snp_vec_str(f->expected, "reported_tcb"));
    /* TCB_VERSION bytes: 0 boot loader, 1 TEE, 6 SNP, 7 microcode */
    assert_int_equal(r.reported_tcb.bootloader, f->buf[0x180]);
    assert_int_equal(r.reported_tcb.tee, f->buf[0x181]);
    assert_int_equal(r.reported_tcb.snp, f->buf[0x186]);
    assert_int_equal(r.reported_tcb.microcode, f->buf[0x187]);
    assert_memory_equal(r.chip_id, f->buf + 0x1A0, GTEE_SNP_CHIP_ID_LEN);
    assert_int_equal(r.current_major, f->buf[0x1EA]);
    assert_int_equal(r.committed_build, f->buf[0x1EC]);
    /* r and s are stored little-endian: the big-endian copy is reversed */
    assert_int_equal(r.sig_r[0], f->buf[0x2A0 + 47]);
    assert_int_equal(r.sig_r[47], f->buf[0x2A0]);
    assert_int_equal(r.sig_s[0], f->buf[0x2E8 + 47]);
}

static void test_snp_policy_decode_reports_debug_and_smt(void **state)
{
    struct fixture *f = *state;
    struct gtee_snp_report r;
    struct gtee_snp_policy p;

    assert_int_equal(gtee_snp_report_parse(f->buf, f->len, &r, NULL), 0);
    gtee_snp_policy_decode(r.policy, &p);
    assert_int_equal(p.debug_allowed,
                     json_is_true(json_object_get(f->expected, "debug_allowed_by_policy")));
    assert_true(p.smt_allowed);
    assert_true(p.reserved_one);
    assert_false(p.migrate_ma_allowed);
    assert_false(p.single_socket);

    gtee_snp_policy_decode(0x1ULL << 18 | 0x0302, &p);
    assert_true(p.migrate_ma_allowed);
    assert_false(p.debug_allowed);
    assert_int_equal(p.abi_major, 3);
    assert_int_equal(p.abi_minor, 2);
}

static void test_snp_report_rejects_truncated_and_extended(void **state)
{
    struct fixture *f = *state;
    uint8_t big[GTEE_SNP_REPORT_LEN + 1];
    struct gtee_snp_report r;
    struct gtee_err e = { 0 };

    assert_int_equal(gtee_snp_report_parse(f->buf, f->len - 1, &r, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "snp.report.length"));
    assert_non_null(strstr(e.msg, "truncated: 1183 bytes"));

    assert_int_equal(gtee_snp_report_parse(f->buf, 3, &r, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "truncated: 3 bytes"));
    assert_int_equal(gtee_snp_report_parse(NULL, 0, &r, &e), GTEE_EFORMAT);

    memcpy(big, f->buf, f->len);
    big[f->len] = 0;
    assert_int_equal(gtee_snp_report_parse(big, sizeof(big), &r, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "1 trailing bytes"));
}

static void test_snp_report_rejects_unknown_version(void **state)
{
    struct fixture *f = *state;
    static const uint8_t versions[] = { 0, 1, 4, 5, 0xFF };
    uint8_t copy[GTEE_SNP_REPORT_LEN];
    struct gtee_snp_report r;
    struct gtee_err e = { 0 };

    for (size_t i = 0; i < sizeof(versions); i++) {
        memcpy(copy, f->buf, sizeof(copy));
        copy[0] = versions[i];
        assert_int_equal(gtee_snp_report_parse(copy, sizeof(copy), &r, &e), GTEE_EUNSUPPORTED);
        assert_non_null(strstr(e.msg, "snp.report.version"));
        assert_non_null(strstr(e.msg, "offset 0x000"));
    }
}

static void test_snp_report_rejects_unknown_signature_algorithm(void **state)
{
    struct fixture *f = *state;
    struct gtee_err e = { 0 };

    assert_int_equal(parse_mutated(f, 0x34, 0x03, &e), GTEE_EUNSUPPORTED); /* algo 2 */
    assert_non_null(strstr(e.msg, "snp.report.sigalgo"));
    assert_non_null(strstr(e.msg, "offset 0x034"));
    assert_int_equal(parse_mutated(f, 0x37, 0x80, &e), GTEE_EUNSUPPORTED);
}

/* Every byte of every must-be-zero region is rejected, naming the region's offset. */
static void test_snp_report_rejects_each_nonzero_reserved_field(void **state)
{
    struct fixture *f = *state;
    static const struct { size_t off, len; } regions[] = {
        { 0x04C, 4 },   { 0x188, 24 }, { 0x1EB, 1 },  { 0x1EF, 1 },
        { 0x1F8, 168 }, { 0x2D0, 24 }, { 0x318, 24 }, { 0x330, 368 },
    };
    struct gtee_err e;
    char want[32];

    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        for (size_t k = 0; k < regions[i].len; k++) {
            size_t off = regions[i].off + k;

            assert_int_equal(parse_mutated(f, off, 0x01, &e), GTEE_EFORMAT);
            assert_non_null(strstr(e.msg, "snp.report.reserved"));
            snprintf(want, sizeof(want), "(offset 0x%03zX,", regions[i].off);
            assert_non_null(strstr(e.msg, want));
            snprintf(want, sizeof(want), "byte at offset 0x%03zX", off);
            assert_non_null(strstr(e.msg, want));
        }
    }
}

static void test_snp_report_rejects_bad_header_fields(void **state)
{
    struct fixture *f = *state;
    struct gtee_err e;

    assert_int_equal(parse_mutated(f, 0x0A, 0x02, &e), GTEE_EFORMAT); /* policy bit 17 clear */
    assert_non_null(strstr(e.msg, "snp.report.policy"));
    assert_int_equal(parse_mutated(f, 0x0F, 0x10, &e), GTEE_EFORMAT); /* policy bit 60 */
    assert_non_null(strstr(e.msg, "POLICY bits 63:26"));
    assert_int_equal(parse_mutated(f, 0x30, 0x04, &e), GTEE_EFORMAT); /* VMPL 4 */
    assert_non_null(strstr(e.msg, "snp.report.vmpl"));
    assert_int_equal(parse_mutated(f, 0x48, 0x20, &e), GTEE_EFORMAT); /* key flags bit 5 */
    assert_non_null(strstr(e.msg, "bits 31:5 (offset 0x048)"));
    assert_int_equal(parse_mutated(f, 0x48, 0x0C, &e), GTEE_EFORMAT); /* SIGNING_KEY 3 */
    assert_non_null(strstr(e.msg, "snp.report.signing_key"));
}

/* Version 3 (spec revision 1.55+) adds CPUID_FAM_ID/MOD_ID/STEP at 0x188; the rest of
 * 0x18B..0x19F stays reserved. Synthesized from the sample (signature not valid). */
static void test_snp_report_parses_version3_cpuid_fields(void **state)
{
    struct fixture *f = *state;
    uint8_t v3[GTEE_SNP_REPORT_LEN];
    struct gtee_snp_report r;
    struct gtee_err e = { 0 };

    memcpy(v3, f->buf, sizeof(v3));
    v3[0x000] = 3;
    v3[0x188] = 0x19; /* family 19h */
    v3[0x189] = 0x11; /* model 11h: Genoa */
    v3[0x18A] = 0x01;
    assert_int_equal(gtee_snp_report_parse(v3, sizeof(v3), &r, &e), 0);
    assert_int_equal(r.version, 3);
    assert_true(r.has_cpuid);
    assert_int_equal(r.cpuid_fam_id, 0x19);
    assert_int_equal(r.cpuid_mod_id, 0x11);
    assert_int_equal(r.cpuid_step, 0x01);
    assert_memory_equal(r.chip_id, v3 + 0x1A0, GTEE_SNP_CHIP_ID_LEN);
    assert_memory_equal(r.measurement, v3 + 0x090, GTEE_SNP_MEASUREMENT_LEN);

    v3[0x18B] = 1; /* reserved in v3 */
    assert_int_equal(gtee_snp_report_parse(v3, sizeof(v3), &r, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "(offset 0x18B,"));
    /* and the parse failure leaves nothing behind */
    assert_int_equal(r.version, 0);

    /* the same CPUID bytes in a version 2 report are reserved */
    memcpy(v3, f->buf, sizeof(v3));
    v3[0x188] = 0x19;
    assert_int_equal(gtee_snp_report_parse(v3, sizeof(v3), &r, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "(offset 0x188,"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snp_report_parses_milan_sample_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_policy_decode_reports_debug_and_smt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_report_rejects_truncated_and_extended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_report_rejects_unknown_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_report_rejects_unknown_signature_algorithm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_report_rejects_each_nonzero_reserved_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_report_rejects_bad_header_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_report_parses_version3_cpuid_fields, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
