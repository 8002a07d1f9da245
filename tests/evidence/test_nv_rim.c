/* NVIDIA RIMs: every malformed RIM of tests/vectors/nvidia/rim-malformed/ is refused naming
 * its defect (alone and inside a verification); a changed golden value, a changed SignedInfo,
 * another canonicalization algorithm and a DTD are refused; the four real RIMs read with their
 * signatures valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "evidence/nv_test_util.h"

static const struct {
    const char *file, *says;
} malformed[] = {
    { "failure_duplicate_index.xml", "repeats index 0" },
    { "failure_empty_payload.xml", "has no measurements" },
    { "failure_hash_empty_namespace.xml", "lacks Hash0 in the SHA-384 namespace" },
    { "failure_invalid_alternatives.xml", "alternatives \"xyz\"" },
    { "failure_invalid_base64_cert.xml", "X509Certificate 0 (line 6) is not base64" },
    { "failure_invalid_cert_bytes.xml", "is not one DER certificate" },
    { "failure_invalid_index.xml", "index \"abc\"" },
    { "failure_invalid_pem_data.xml", "is not base64" },
    { "failure_invalid_size.xml", "size \"abc\"" },
    { "failure_missing_alternatives.xml", "has no alternatives" },
    { "failure_missing_colloquial_version.xml", "has no colloquialVersion" },
    { "failure_missing_hash.xml", "lacks Hash0" },
    { "failure_missing_index.xml", "has no index" },
    { "failure_missing_meta.xml", "0 Meta elements" },
    { "failure_missing_size.xml", "has no size" },
    { "failure_missing_x509_certificate.xml", "X509Data has 0 certificates" },
    { "failure_missing_x509_data.xml", "0 X509Data elements" },
    { "failure_no_payload.xml", "0 Payload elements" },
};

static void test_malformed(void **state)
{
    struct gtee_nv_rim *rim = calloc(1, sizeof(*rim));
    struct gtee_nv_result *res = calloc(1, sizeof(*res));
    size_t rep_len;
    uint8_t *rep = nv_vec("nvidia/h100-1/report.bin", &rep_len);

    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        char rel[128];
        size_t len;
        uint8_t *xml;
        struct gtee_err e = {0};
        struct gtee_nv_collateral c;

        snprintf(rel, sizeof(rel), "nvidia/rim-malformed/%s", malformed[i].file);
        xml = nv_vec(rel, &len);
        assert_int_equal(gtee_nv_rim_read(xml, len, rim, &e), GTEE_EFORMAT);
        if (!strstr(e.msg, malformed[i].says))
            print_message("%s: %s\n", malformed[i].file, e.msg);
        assert_non_null(strstr(e.msg, malformed[i].says));
        /* The same file as the driver RIM of a verification: rejected for it. */
        nv_col(&c, 1, 0);
        free(c.driver_rim);
        c.driver_rim = xml;
        c.driver_rim_len = len;
        assert_int_equal(gtee_nv_verify(rep, rep_len, nv_sample_nonce, &c, nv_time("2025-10-24T12:00:00Z"), res, NULL),
                         GTEE_EPOLICY);
        assert_true(nv_has(res, "gpu.rim.driver.malformed", malformed[i].says));
        assert_false(res->verified);
        gtee_nv_collateral_free(&c);
    }
    free(rep);
    free(res);
    free(rim);
}

/* The production driver RIM with `from` replaced by `to` (first occurrence); rejected. */
static struct gtee_err changed(const char *from, const char *to, int *read_rc, int *sig_rc)
{
    size_t len;
    uint8_t *xml = nv_vec("nvidia/h100-1/production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml", &len);
    size_t nf = strlen(from), nt = strlen(to);
    char *at = strstr((char *)xml, from), *m;
    struct gtee_nv_rim *rim = calloc(1, sizeof(*rim));
    struct gtee_err e = {0};

    assert_non_null(at);
    m = malloc(len - nf + nt + 1);
    memcpy(m, xml, (size_t)(at - (char *)xml));
    memcpy(m + (at - (char *)xml), to, nt);
    memcpy(m + (at - (char *)xml) + nt, at + nf, len - (size_t)(at - (char *)xml) - nf + 1);
    len = len - nf + nt;
    *read_rc = gtee_nv_rim_read((uint8_t *)m, len, rim, &e);
    *sig_rc = *read_rc == 0 ? gtee_nv_rim_verify_signature((uint8_t *)m, len, rim->cert[0], rim->cert_len[0], &e) : 0;
    gtee_nv_rim_free(rim);
    free(rim);
    free(m);
    free(xml);
    return e;
}

static void test_tampered(void **state)
{
    int r, s;
    struct gtee_err e;

    /* One golden value's nibble: the reference digest no longer matches. */
    e = changed("ns2:Hash0=\"8", "ns2:Hash0=\"9", &r, &s);
    assert_int_equal(r, 0);
    assert_int_equal(s, GTEE_EAUTH);
    /* SignedInfo's digest value changed: the signature no longer matches. */
    e = changed("<ds:DigestValue>", "<ds:DigestValue>A", &r, &s);
    assert_int_equal(r, 0);
    assert_true(s < 0);
    /* Exclusive instead of C14N 1.1 for SignedInfo: refused as an algorithm. */
    e = changed("<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"",
                "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"", &r, &s);
    assert_int_equal(r, 0);
    assert_int_equal(s, GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "C14N 1.1"));
    /* A DTD (where entities come from) is refused before parsing. */
    e = changed("<SoftwareIdentity", "<!DOCTYPE x [<!ENTITY a \"b\">]><SoftwareIdentity", &r, &s);
    assert_int_equal(r, GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "document type declaration"));
}

static void test_real_rims_verify(void **state)
{
    static const char *const rims[] = {
        "nvidia/h100-1/production_rims/NV_GPU_DRIVER_GH100_550.90.07.xml",
        "nvidia/h100-1/production_rims/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml",
        "nvidia/h100-1/driver_rim_test.swidtag",
        "nvidia/h100-1/vbios_rim_test.swidtag",
    };
    static const size_t active[] = { 21, 12, 21, 12 };
    struct gtee_nv_rim *rim = calloc(1, sizeof(*rim));

    for (size_t i = 0; i < 4; i++) {
        size_t len;
        uint8_t *xml = nv_vec(rims[i], &len);

        assert_int_equal(gtee_nv_rim_read(xml, len, rim, NULL), 0);
        assert_int_equal(rim->n_entries, 64);
        assert_int_equal(rim->n_active, active[i]);
        assert_int_equal(rim->n_certs, 4);
        assert_int_equal(gtee_nv_rim_verify_signature(xml, len, rim->cert[0], rim->cert_len[0], NULL), 0);
        /* Under another certificate's key (the next in the chain), it does not verify. */
        assert_int_equal(gtee_nv_rim_verify_signature(xml, len, rim->cert[1], rim->cert_len[1], NULL), GTEE_EAUTH);
        gtee_nv_rim_free(rim);
        free(xml);
    }
    free(rim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_real_rims_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
