/* The DCAP quote parser on the real SGX v3 and TDX v4 samples: fields at their offsets, a
 * version 5 layout built from the TDX sample, every truncation rejected, trailing bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/span.h"
#include "evidence/dcap.h"
#include "evidence/evidence_samples.h"
#include "gtee/crypto.h"

static uint8_t *load_quote(const char *rel, size_t *len)
{
    char dir[1024], path[1100];
    uint8_t *p;

    snprintf(path, sizeof(path), "%s/quote.bin", vector_path(dir, sizeof(dir), rel));
    p = read_all(path, len);
    assert_non_null(p);
    return p;
}

static void test_sgx_v3_sample_fields(void **state)
{
    size_t len;
    uint8_t *p = load_quote("sgx/sgx-1", &len);
    struct dcap_quote q;
    uint8_t mrenclave[32];

    (void)state;
    assert_int_equal(dcap_quote_parse(p, len, &q, NULL), 0);
    assert_int_equal(q.version, 3);
    assert_int_equal(q.tee, GTEE_TEE_SGX);
    assert_int_equal(q.att_key_type, 2);
    assert_int_equal(q.qe_svn, 10);
    assert_int_equal(q.pce_svn, 15);
    assert_memory_equal(q.qe_vendor_id, DCAP_QE_VENDOR_INTEL, 16);
    assert_int_equal(q.body.off, 48);
    assert_int_equal(q.body.len, 384);
    assert_int_equal(q.signed_len, 432);
    assert_int_equal(q.report_data.off, 48 + 320);
    assert_int_equal(q.signature.off, 436);
    assert_int_equal(q.att_key.off, 500);
    assert_int_equal(q.qe_report.off, 564);
    assert_int_equal(q.cert_type, 5);
    assert_int_equal(q.cert_data.off + q.cert_data.len, len);
    assert_int_equal(q.sgx.attributes[0], 0x05); /* INIT | MODE64BIT, not DEBUG */
    assert_int_equal(gtee_hex_decode("33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb", mrenclave,
                                     32), 0);
    assert_memory_equal(q.sgx.mrenclave, mrenclave, 32);
    assert_memory_equal(q.sgx.report_data, "Hello, world!", 14);
    assert_memory_equal(q.cert_data.p, "-----BEGIN CERTIFICATE-----", 27);
    free(p);
}

static void test_tdx_v4_sample_fields(void **state)
{
    size_t len;
    uint8_t *p = load_quote("tdx/tdx-1", &len);
    struct dcap_quote q;

    (void)state;
    assert_int_equal(dcap_quote_parse(p, len, &q, NULL), 0);
    assert_int_equal(q.version, 4);
    assert_int_equal(q.tee, GTEE_TEE_TDX);
    assert_int_equal(q.tee_type, 0x81);
    assert_int_equal(q.body.len, 584);
    assert_int_equal(q.signed_len, 632);
    assert_int_equal(q.report_data.off, 48 + 520);
    assert_int_equal(q.td.tee_tcb_svn[0], 6);
    assert_int_equal(q.td.tee_tcb_svn[1], 1);
    assert_int_equal(q.td.td_attributes[3], 0x10); /* SEPT_VE_DISABLE, not DEBUG */
    assert_int_equal(q.td.mrtd[0], 0x91);
    assert_int_equal(q.cert_type, 5);
    free(p);
}

static void test_tdx_v5_layout_with_body_descriptor_parses(void **state)
{
    size_t len;
    uint8_t *p = load_quote("tdx/tdx-1", &len);
    uint8_t *v5 = malloc(len + 6);
    struct dcap_quote q4, q5;
    struct gtee_err err;

    (void)state;
    assert_int_equal(dcap_quote_parse(p, len, &q4, NULL), 0);
    /* TDX quote v5 (A.3.3): header, then type u16 = 2 (TD 1.0), size u32 = 584, then body. */
    memcpy(v5, p, 48);
    v5[0] = 5;
    put_u16le(v5 + 48, 2);
    put_u32le(v5 + 50, 584);
    memcpy(v5 + 54, p + 48, len - 48);
    assert_int_equal(dcap_quote_parse(v5, len + 6, &q5, &err), 0);
    assert_int_equal(q5.version, 5);
    assert_int_equal(q5.body_type, DCAP_BODY_TD10);
    assert_int_equal(q5.signed_len, 638);
    assert_memory_equal(q5.td.mrtd, q4.td.mrtd, 48);
    assert_int_equal(q5.cert_data.len, q4.cert_data.len);
    /* a size that disagrees with the type is malformed */
    put_u32le(v5 + 50, 648);
    assert_int_equal(dcap_quote_parse(v5, len + 6, &q5, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "body size"));
    free(v5);
    free(p);
}

static void test_every_truncation_is_rejected(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *p = load_quote(k ? "tdx/tdx-1" : "sgx/sgx-1", &len);
        struct dcap_quote q;
        struct dcap_quote full;

        assert_int_equal(dcap_quote_parse(p, len, &full, NULL), 0);
        /* the TDX sample ends in zero padding; cutting into it still parses */
        size_t end = full.cert_data.off + full.cert_data.len;
        for (size_t n = 0; n < end; n++) {
            uint8_t *copy = malloc(n ? n : 1);

            memcpy(copy, p, n);
            assert_int_not_equal(dcap_quote_parse(copy, n, &q, NULL), 0);
            free(copy);
        }
        free(p);
    }
}

static void test_nonzero_trailing_byte_and_bad_header_are_rejected(void **state)
{
    size_t len;
    uint8_t *p = load_quote("sgx/sgx-1", &len);
    uint8_t *big = calloc(1, len + 4);
    struct dcap_quote q;
    struct gtee_err err;

    (void)state;
    memcpy(big, p, len);
    assert_int_equal(dcap_quote_parse(big, len + 4, &q, &err), 0);
    big[len + 2] = 1;
    assert_int_equal(dcap_quote_parse(big, len + 4, &q, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "after the signature data"));
    p[2] = 3; /* attestation key type: ECDSA P-384, unsupported */
    assert_int_equal(dcap_quote_parse(p, len, &q, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "offset 2"));
    p[2] = 2;
    p[4] = 0x81; /* v3 quotes have reserved zero bytes where v4 has the TEE type */
    assert_int_equal(dcap_quote_parse(p, len, &q, &err), GTEE_EFORMAT);
    free(big);
    free(p);
}

static void test_pinned_intel_root_has_the_published_fingerprint(void **state)
{
    uint8_t fp[32], want[32];
    char dir[1024], path[1100];
    size_t len;
    uint8_t *der;

    (void)state;
    assert_int_equal(gtee_hex_decode("44A0196B2B99F889B8E149E95B807A350E7424964399E885A7CBB8CCFAB674D3", want, 32), 0);
    assert_int_equal(gtee_sha256(gtee_intel_sgx_root_ca_der, gtee_intel_sgx_root_ca_der_len, fp), 0);
    assert_memory_equal(fp, want, 32);
    snprintf(path, sizeof(path), "%s", vector_path(dir, sizeof(dir), "intel/sgx_root_ca.der"));
    der = read_all(path, &len);
    assert_non_null(der);
    assert_int_equal(len, gtee_intel_sgx_root_ca_der_len);
    assert_memory_equal(der, gtee_intel_sgx_root_ca_der, len);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_v3_sample_fields),
        cmocka_unit_test(test_tdx_v4_sample_fields),
        cmocka_unit_test(test_tdx_v5_layout_with_body_descriptor_parses),
        cmocka_unit_test(test_every_truncation_is_rejected),
        cmocka_unit_test(test_nonzero_trailing_byte_and_bad_header_are_rejected),
        cmocka_unit_test(test_pinned_intel_root_has_the_published_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
