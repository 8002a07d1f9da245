/* NVIDIA GPU evidence: the h100-1 sample parsed field by field, accepted with its production
 * RIMs, rejected with the test RIMs for exactly the reasons the sample's record names, OCSP
 * freshness, a wrong nonce, and byte flips in each region of the report and the chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/nv_test_util.h"

#define T_PROD "2025-10-24T12:00:00Z" /* inside the production RIM chains and their OCSP window */
#define T_TODAY "2026-12-06T00:00:00Z" /* after the test RIMs' L3 expired (2026-11-11) */

static struct gtee_nv_result *verify_at(const uint8_t *rep, size_t len, const uint8_t *nonce, int production,
                                        int ocsp, const char *when, int *rc)
{
    struct gtee_nv_collateral c;
    struct gtee_nv_result *res = calloc(1, sizeof(*res));

    nv_col(&c, production, ocsp);
    *rc = gtee_nv_verify(rep, len, nonce, &c, nv_time(when), res, NULL);
    gtee_nv_collateral_free(&c);
    return res;
}

static void test_parse_sample(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);
    struct gtee_nv_report *r = calloc(1, sizeof(*r));

    assert_int_equal(len, 4117);
    assert_true(gtee_nv_report_detect(rep, len));
    assert_int_equal(gtee_nv_report_parse(rep, len, r, NULL), 0);
    assert_memory_equal(r->nonce, nv_sample_nonce, 32);
    assert_int_equal(r->n_blocks, 64);
    assert_int_equal(r->record_len, 3520);
    assert_int_equal(r->opaque_off, 3599);
    assert_int_equal(r->opaque_len, 422);
    assert_int_equal(r->signed_len, 4021);
    assert_string_equal(r->opaque.driver_version, "550.90.07");
    assert_string_equal(r->opaque.vbios_version, "96.00.9f.00.01");
    assert_string_equal(r->opaque.project, "1010");
    assert_string_equal(r->opaque.project_sku, "0200");
    assert_string_equal(r->opaque.chip_sku, "882");
    assert_int_equal(r->opaque.nvdec0, 0x55);
    assert_int_equal(r->opaque.n_msrscnt, 64);
    assert_int_equal(r->opaque.fwid_off, 3968);
    assert_int_equal(r->opaque.fwid[0], 0xf5);
    free(r);
    free(rep);
}

static void test_production_rims_accepted(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);
    int rc;
    struct gtee_nv_result *res = verify_at(rep, len, nv_sample_nonce, 1, 0, T_PROD, &rc);

    for (size_t i = 0; i < res->n_reasons; i++)
        print_message("reason %s: %s\n", res->reasons[i].code, res->reasons[i].msg);
    assert_int_equal(rc, 0);
    assert_true(res->verified);
    assert_true(res->nonce_ok && res->chain_ok && res->fwid_ok && res->signature_ok);
    assert_int_equal(res->n_golden, 33);
    assert_int_equal(res->n_compared, 32); /* index 35 skipped: NVDEC0 disabled */
    assert_int_equal(res->n_matched, 32);
    assert_int_equal(res->revocation, GTEE_NV_REVOCATION_NOT_CHECKED);
    free(res);
    /* At today's date both RIM signing leaves have expired. */
    res = verify_at(rep, len, nv_sample_nonce, 1, 0, T_TODAY, &rc);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_true(nv_has(res, "gpu.rim.driver.chain.expired", NULL));
    assert_true(nv_has(res, "gpu.rim.vbios.chain.expired", NULL));
    free(res);
    free(rep);
}

static void test_test_rims_rejected(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);
    int rc;
    struct gtee_nv_result *res = verify_at(rep, len, nv_sample_nonce, 0, 0, T_TODAY, &rc);
    static const uint16_t want[20] = { 1, 2, 3, 7, 9, 11, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40 };
    size_t expired = 0;

    for (size_t i = 0; i < res->n_reasons; i++)
        print_message("reason %s: %s\n", res->reasons[i].code, res->reasons[i].msg);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_false(res->verified);
    /* The report itself is sound. */
    assert_true(res->nonce_ok && res->chain_ok && res->fwid_ok && res->signature_ok);
    assert_true(nv_has(res, "gpu.rim.driver.version", "545.00"));
    assert_true(nv_has(res, "gpu.rim.vbios.version", "96.00.5E.00.01"));
    assert_int_equal(res->n_golden, 33);
    assert_int_equal(res->n_compared, 32);
    assert_int_equal(res->n_matched, 12);
    assert_int_equal(res->n_mismatch, 20);
    for (size_t i = 0; i < 20; i++) {
        bool found = false;
        for (size_t k = 0; k < res->n_mismatch; k++)
            found |= res->mismatch[k].index == want[i];
        assert_true(found);
    }
    assert_true(nv_has(res, "gpu.measurement.vbios", "indices 1, 2, 3, 9, 11"));
    assert_true(nv_has(res, "gpu.measurement.driver",
                       "indices 7, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40"));
    /* Both L4 signers and the shared L3 have expired: each named, in each chain. */
    for (size_t i = 0; i < res->n_reasons; i++)
        expired += strstr(res->reasons[i].code, ".chain.expired") != NULL;
    assert_int_equal(expired, 4);
    assert_true(nv_has(res, "gpu.rim.driver.chain.expired", "GH100 001"));
    free(res);
    free(rep);
}

static void test_ocsp_freshness(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);
    int rc;
    struct gtee_nv_result *res = verify_at(rep, len, nv_sample_nonce, 1, 1, T_PROD, &rc);

    for (size_t i = 0; i < res->n_reasons; i++)
        print_message("reason %s: %s\n", res->reasons[i].code, res->reasons[i].msg);
    /* The RIM responses are fresh and good; the GPU chain's are a day old by then. */
    assert_int_equal(res->n_ocsp_good, 4);
    assert_true(nv_has(res, "gpu.ocsp.stale", "gpu_certificate_l2.der"));
    assert_true(nv_has(res, "gpu.ocsp.stale", "gpu_certificate_l3.der"));
    assert_true(nv_has(res, "gpu.ocsp.stale", "gpu_certificate_l4.der"));
    assert_int_equal(res->n_reasons, 3);
    assert_int_equal(res->revocation, GTEE_NV_REVOCATION_FAILED);
    assert_int_equal(rc, GTEE_EPOLICY);
    free(res);
    /* Inside the GPU responses' window the RIM responses are not yet valid. */
    res = verify_at(rep, len, nv_sample_nonce, 1, 1, "2025-08-21T12:00:00Z", &rc);
    assert_int_equal(res->n_ocsp_good, 3);
    assert_true(nv_has(res, "gpu.ocsp.stale", "gpu_driver_rim_l4.der"));
    assert_true(nv_has(res, "gpu.ocsp.stale", "gpu_vbios_l4.der"));
    assert_false(nv_has(res, "gpu.ocsp.stale", "gpu_certificate_l2.der"));
    free(res);
    /* A response whose signature is changed: refused as not signed by an authorised responder. */
    {
        struct gtee_nv_collateral c;

        res = calloc(1, sizeof(*res));
        nv_col(&c, 1, 1);
        assert_string_equal(c.ocsp_name[5], "gpu_rim_l2.der");
        c.ocsp[5][c.ocsp_len[5] - 1] ^= 1;
        assert_int_equal(gtee_nv_verify(rep, len, nv_sample_nonce, &c, nv_time(T_PROD), res, NULL), GTEE_EPOLICY);
        assert_true(nv_has(res, "gpu.ocsp.signature", "gpu_rim_l2.der"));
        gtee_nv_collateral_free(&c);
        free(res);
    }
    free(rep);
}

static void test_wrong_nonce(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len), nonce[32];
    int rc;
    struct gtee_nv_result *res;

    memcpy(nonce, nv_sample_nonce, 32);
    nonce[31] ^= 1;
    res = verify_at(rep, len, nonce, 1, 0, T_PROD, &rc);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_true(nv_has(res, "gpu.nonce", NULL));
    assert_int_equal(res->n_reasons, 1);
    free(res);
    res = verify_at(rep, len, NULL, 1, 0, T_PROD, &rc);
    assert_int_equal(rc, GTEE_EPOLICY);
    assert_true(nv_has(res, "gpu.nonce", "no expected nonce"));
    free(res);
    free(rep);
}

/* One flipped bit at off: rejected, with code among the reasons. */
static void flip(const uint8_t *rep, size_t len, size_t off, int want_rc, const char *code)
{
    uint8_t *m = malloc(len);
    int rc;
    struct gtee_nv_result *res;

    memcpy(m, rep, len);
    m[off] ^= 0x01;
    res = verify_at(m, len, nv_sample_nonce, 1, 0, T_PROD, &rc);
    if (!nv_has(res, code, NULL) || rc != want_rc) {
        print_message("offset %zu: rc %d, expected %s\n", off, rc, code);
        for (size_t i = 0; i < res->n_reasons; i++)
            print_message("  %s: %s\n", res->reasons[i].code, res->reasons[i].msg);
    }
    assert_int_equal(rc, want_rc);
    assert_true(nv_has(res, code, NULL));
    free(res);
    free(m);
}

static void test_byte_flips(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);

    flip(rep, len, 0, GTEE_EFORMAT, "gpu.request.version");
    flip(rep, len, 2, GTEE_EFORMAT, "gpu.request.param1");
    flip(rep, len, 3, GTEE_EFORMAT, "gpu.request.param2");
    flip(rep, len, 36, GTEE_EFORMAT, "gpu.request.slot");
    flip(rep, len, 4, GTEE_EPOLICY, "gpu.signature");       /* requester nonce */
    flip(rep, len, 4, GTEE_EPOLICY, "gpu.nonce");
    flip(rep, len, 41, GTEE_EFORMAT, "gpu.block.length"); /* NumberOfBlocks 64 -> 65 */
    flip(rep, len, 42, GTEE_EFORMAT, "gpu.response.record_length");
    flip(rep, len, 45, GTEE_EFORMAT, "gpu.block.index");
    flip(rep, len, 46, GTEE_EFORMAT, "gpu.block.spec");
    flip(rep, len, 47, GTEE_EFORMAT, "gpu.block.size");
    flip(rep, len, 49, GTEE_EFORMAT, "gpu.block.type");
    flip(rep, len, 107, GTEE_EPOLICY, "gpu.signature");     /* block 2's value */
    flip(rep, len, 107, GTEE_EPOLICY, "gpu.measurement.vbios"); /* golden index 1 */
    flip(rep, len, 3570, GTEE_EPOLICY, "gpu.signature");    /* responder nonce */
    flip(rep, len, 3597, GTEE_EFORMAT, "gpu.opaque.length"); /* OpaqueLength */
    flip(rep, len, 3599, GTEE_EPOLICY, "gpu.signature");     /* VBIOS_VERSION -> MANUFACTURER_ID */
    flip(rep, len, 3599, GTEE_EPOLICY, "gpu.rim.vbios.version");
    flip(rep, len, 3964, GTEE_EFORMAT, "gpu.opaque.size");   /* FWID type 20 -> 21: size 48, not 1 */
    flip(rep, len, 3600, GTEE_EFORMAT, "gpu.opaque.unknown");
    flip(rep, len, 3632, GTEE_EFORMAT, "gpu.opaque.duplicate"); /* CHIP_SKU_MOD 16 -> PROJECT 17, twice */
    flip(rep, len, 3678, GTEE_EFORMAT, "gpu.opaque.text");   /* DRIVER_VERSION without its NUL */
    flip(rep, len, 3963, GTEE_EFORMAT, "gpu.opaque.nvdec0");
    flip(rep, len, 3968, GTEE_EPOLICY, "gpu.fwid.mismatch");
    flip(rep, len, 3968, GTEE_EPOLICY, "gpu.signature");
    flip(rep, len, 4021, GTEE_EPOLICY, "gpu.signature");    /* r */
    flip(rep, len, 4116, GTEE_EPOLICY, "gpu.signature");    /* s */
    free(rep);
}

static void test_lengths(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len), *m = malloc(len + 1);
    struct gtee_nv_report *r = calloc(1, sizeof(*r));
    struct gtee_err e = {0};

    memcpy(m, rep, len);
    m[len] = 0;
    assert_int_equal(gtee_nv_report_parse(m, len + 1, r, &e), GTEE_EFORMAT);
    assert_string_equal(r->bad_code, "gpu.report.trailing");
    for (size_t n = 0; n < len; n++)
        assert_int_equal(gtee_nv_report_parse(m, n, r, NULL), GTEE_EFORMAT);
    free(r);
    free(m);
    free(rep);
}

static void test_certificate_flip(void **state)
{
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);
    struct gtee_nv_collateral c;
    struct gtee_nv_result *res = calloc(1, sizeof(*res));
    char *second;

    nv_col(&c, 1, 0);
    /* A base64 digit near the end of the second certificate: its signature. */
    second = strstr(strstr((char *)c.chain_pem, "END CERTIFICATE") + 1, "END CERTIFICATE");
    second[-12] = second[-12] == 'A' ? 'B' : 'A';
    assert_int_equal(gtee_nv_verify(rep, len, nv_sample_nonce, &c, nv_time(T_PROD), res, NULL), GTEE_EPOLICY);
    assert_true(nv_has(res, "gpu.chain.signature", NULL) || nv_has(res, "gpu.chain.malformed", NULL));
    gtee_nv_collateral_free(&c);
    free(res);
    free(rep);
}

/* A prepared collateral verifies many reports, each at its own time, saying exactly what a
 * full verification says. */
static void test_prepared_same_verdict(void **state)
{
    static const char *const times[] = { T_PROD, T_TODAY, "2024-01-01T00:00:00Z" };
    size_t len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &len);
    struct gtee_nv_result *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

    for (int production = 0; production < 2; production++) {
        struct gtee_nv_collateral c;
        struct gtee_nv_prepared *p = NULL;

        nv_col(&c, production, 1);
        assert_int_equal(gtee_nv_prepare(&c, &p, NULL), 0);
        for (size_t t = 0; t < 3; t++) {
            for (int flip = 0; flip < 2; flip++) {
                int ra, rb;

                rep[107] ^= (uint8_t)flip;
                ra = gtee_nv_verify(rep, len, nv_sample_nonce, &c, nv_time(times[t]), a, NULL);
                rb = gtee_nv_verify_prepared(p, rep, len, nv_sample_nonce, nv_time(times[t]), b, NULL);
                rep[107] ^= (uint8_t)flip;
                assert_int_equal(ra, rb);
                assert_int_equal(a->verified, b->verified);
                assert_int_equal(a->n_matched, b->n_matched);
                assert_int_equal(a->revocation, b->revocation);
                assert_int_equal(a->n_reasons, b->n_reasons);
                for (size_t i = 0; i < a->n_reasons; i++) {
                    assert_string_equal(a->reasons[i].code, b->reasons[i].code);
                    assert_string_equal(a->reasons[i].msg, b->reasons[i].msg);
                }
            }
        }
        gtee_nv_prepared_free(p);
        gtee_nv_collateral_free(&c);
    }
    free(a);
    free(b);
    free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sample),      cmocka_unit_test(test_production_rims_accepted),
        cmocka_unit_test(test_test_rims_rejected), cmocka_unit_test(test_ocsp_freshness),
        cmocka_unit_test(test_wrong_nonce),       cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_lengths),           cmocka_unit_test(test_certificate_flip),
        cmocka_unit_test(test_prepared_same_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
