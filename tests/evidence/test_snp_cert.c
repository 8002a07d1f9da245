/* VCEK/VLEK certificate parser: the real Milan VCEK, then certificates made here with
 * chosen AMD extensions to drive every rejection of the extension decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "evidence/snp_test_util.h"
#include "gtee/snp.h"

#define OID_PRODUCT "1.3.6.1.4.1.3704.1.2"
#define OID_BL "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE "1.3.6.1.4.1.3704.1.3.8"
#define OID_HWID "1.3.6.1.4.1.3704.1.4"

struct ext {
    const char *oid;
    const uint8_t *val; /* the extnValue contents, as AMD's KDS encodes them */
    size_t len;
};

#define EXT(o, ...) { o, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }) }

static uint8_t hwid64[64];
static const uint8_t milan_b0[] = { 0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0' };

/* A certificate with subject/issuer CNs, a key of the given kind and these extensions,
 * self-signed with an unrelated key (the parser checks no signature). DER, malloc'd. */
static uint8_t *make_cert(const char *subject, const char *issuer, const char *key_kind,
                          const struct ext *exts, size_t n, size_t *len)
{
    EVP_PKEY *k = strcmp(key_kind, "rsa") == 0 ? EVP_RSA_gen(2048)
                                               : EVP_EC_gen(key_kind);
    X509 *x = X509_new();
    X509_NAME *sn = X509_NAME_new(), *in = X509_NAME_new();
    unsigned char *der = NULL;
    int dl;

    assert_non_null(k);
    X509_NAME_add_entry_by_txt(sn, "CN", MBSTRING_ASC, (const unsigned char *)subject, -1, -1, 0);
    X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_ASC, (const unsigned char *)issuer, -1, -1, 0);
    X509_set_version(x, 2);
    X509_set_subject_name(x, sn);
    X509_set_issuer_name(x, in);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    for (size_t i = 0; i < n; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(exts[i].oid, 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e;

        ASN1_OCTET_STRING_set(v, exts[i].val, (int)exts[i].len);
        e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
        assert_non_null(e);
        assert_int_equal(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(o);
    }
    assert_true(X509_sign(x, k, EVP_sha384()) > 0);
    dl = i2d_X509(x, &der);
    assert_true(dl > 0);
    *len = (size_t)dl;
    X509_NAME_free(sn);
    X509_NAME_free(in);
    X509_free(x);
    EVP_PKEY_free(k);
    {
        uint8_t *out = malloc(*len);

        memcpy(out, der, *len);
        OPENSSL_free(der);
        return out;
    }
}

/* Parses a made certificate; returns rc and the message. */
static int parse_made(const char *subject, const char *issuer, const char *key_kind,
                      const struct ext *exts, size_t n, struct gtee_snp_vcek *v, struct gtee_err *e)
{
    size_t len;
    uint8_t *der = make_cert(subject, issuer, key_kind, exts, n, &len);
    int rc;

    memset(e, 0, sizeof(*e));
    rc = gtee_snp_vcek_parse(der, len, v, e);
    free(der);
    return rc;
}

static void test_snp_vcek_parses_milan_sample(void **state)
{
    size_t vl, rl;
    uint8_t *vcek = snp_vec_read("snp/milan-1/vcek.der", &vl);
    uint8_t *rep = snp_vec_read("snp/milan-1/report.bin", &rl);
    json_t *exp = snp_vec_expected();
    struct gtee_snp_vcek v;
    struct gtee_snp_report r;
    struct gtee_err e = { 0 };
    const unsigned char *p = vcek;
    X509 *x = d2i_X509(NULL, &p, (long)vl);
    uint8_t enc[GTEE_SNP_VCEK_PUB_LEN];
    size_t el = 0;

    assert_int_equal(gtee_snp_vcek_parse(vcek, vl, &v, &e), 0);
    assert_int_equal(gtee_snp_report_parse(rep, rl, &r, NULL), 0);
    assert_false(v.is_vlek);
    assert_int_equal(v.product, GTEE_SNP_PRODUCT_MILAN);
    assert_string_equal(gtee_snp_product_name(v.product), snp_vec_str(exp, "product"));
    assert_string_equal(v.product_name, "Milan-B0");
    /* the chip and TCB the VCEK was issued for are the report's */
    assert_true(v.has_hwid);
    assert_memory_equal(v.hwid, r.chip_id, GTEE_SNP_CHIP_ID_LEN);
    assert_int_equal(v.tcb.raw, r.reported_tcb.raw);
    assert_int_equal(v.tcb.snp, r.reported_tcb.snp);
    assert_int_equal(v.tcb.microcode, r.reported_tcb.microcode);
    /* key: same point as OpenSSL's own encoding of the subject key */
    assert_int_equal(EVP_PKEY_get_octet_string_param(X509_get0_pubkey(x),
                                                     OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc,
                                                     sizeof(enc), &el), 1);
    assert_int_equal(el, sizeof(enc));
    assert_memory_equal(v.pub, enc, sizeof(enc));
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), v.not_before), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), v.not_after), 0);

    /* trailing bytes and truncation are rejected */
    {
        uint8_t *big = calloc(1, vl + 1);

        memcpy(big, vcek, vl);
        assert_int_equal(gtee_snp_vcek_parse(big, vl + 1, &v, &e), GTEE_EFORMAT);
        assert_int_equal(gtee_snp_vcek_parse(vcek, vl - 1, &v, &e), GTEE_EFORMAT);
        assert_int_equal(gtee_snp_vcek_parse(vcek, 0, &v, &e), GTEE_EFORMAT);
        free(big);
    }
    X509_free(x);
    json_decref(exp);
    free(vcek);
    free(rep);
}

static void test_snp_vcek_decodes_made_extensions(void **state)
{
    const struct ext exts[] = {
        { OID_PRODUCT, milan_b0, sizeof(milan_b0) },
        EXT(OID_BL, 0x02, 0x01, 0x03),
        EXT(OID_TEE, 0x02, 0x01, 0x01),
        EXT(OID_SNP, 0x02, 0x01, 0x17),
        EXT(OID_UCODE, 0x02, 0x02, 0x00, 0xD1), /* 209 needs a leading zero in DER */
        { OID_HWID, hwid64, sizeof(hwid64) },
    };
    struct gtee_snp_vcek v;
    struct gtee_err e;

    for (size_t i = 0; i < sizeof(hwid64); i++)
        hwid64[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(parse_made("SEV-VCEK", "SEV-Genoa", "P-384", exts, 6, &v, &e), 0);
    assert_int_equal(v.product, GTEE_SNP_PRODUCT_GENOA);
    assert_int_equal(v.tcb.bootloader, 3);
    assert_int_equal(v.tcb.tee, 1);
    assert_int_equal(v.tcb.snp, 0x17);
    assert_int_equal(v.tcb.microcode, 0xD1);
    assert_int_equal(v.tcb.raw, 0xD117000000000103ULL);
    assert_memory_equal(v.hwid, hwid64, sizeof(hwid64));

    /* a VLEK has no hwID; its issuer is SEV-VLEK-<product> */
    assert_int_equal(parse_made("SEV-VLEK", "SEV-VLEK-Milan", "P-384", exts, 5, &v, &e), 0);
    assert_true(v.is_vlek);
    assert_false(v.has_hwid);
    assert_int_equal(v.product, GTEE_SNP_PRODUCT_MILAN);
    /* an unknown issuer parses, with the product unknown (gtee_snp_verify rejects it) */
    assert_int_equal(parse_made("SEV-VCEK", "SEV-Turin", "P-384", exts, 6, &v, &e), 0);
    assert_int_equal(v.product, GTEE_SNP_PRODUCT_UNKNOWN);
}

struct bad_case {
    const char *what;
    struct ext replace; /* replaces the extension with the same OID, or is appended */
    bool append;
    const char *msg;
};

static void test_snp_vcek_rejects_bad_extensions(void **state)
{
    const struct bad_case cases[] = {
        { "SPL 256", EXT(OID_SNP, 0x02, 0x02, 0x01, 0x00), false, "snpSPL is outside 0..255" },
        { "SPL negative", EXT(OID_BL, 0x02, 0x01, 0xFF), false, "blSPL is outside 0..255" },
        { "SPL not an INTEGER", EXT(OID_TEE, 0x04, 0x01, 0x05), false, "teeSPL is not a DER INTEGER" },
        { "SPL trailing byte", EXT(OID_UCODE, 0x02, 0x01, 0x05, 0x00), false, "ucodeSPL is not a DER INTEGER" },
        { "SPL empty", EXT(OID_UCODE, 0x02, 0x00), false, "ucodeSPL" },
        { "duplicate SPL", EXT(OID_SNP, 0x02, 0x01, 0x05), true, "snpSPL (1.3.6.1.4.1.3704.1.3.3) appears twice" },
        { "hwID 63 bytes", { OID_HWID, hwid64, 63 }, false, "hwID is 63 bytes" },
        { "productName UTF8String", EXT(OID_PRODUCT, 0x0C, 0x02, 'M', 'i'), false, "productName is not a DER IA5String" },
        { "productName control byte", EXT(OID_PRODUCT, 0x16, 0x02, 'M', 0x01), false, "non-printable" },
        { "productName empty", EXT(OID_PRODUCT, 0x16, 0x00), false, "productName has length 0" },
    };
    struct ext base[] = {
        { OID_PRODUCT, milan_b0, sizeof(milan_b0) },
        EXT(OID_BL, 0x02, 0x01, 0x03),
        EXT(OID_TEE, 0x02, 0x01, 0x00),
        EXT(OID_SNP, 0x02, 0x01, 0x08),
        EXT(OID_UCODE, 0x02, 0x01, 0x73),
        { OID_HWID, hwid64, sizeof(hwid64) },
        { NULL, NULL, 0 },
    };
    struct gtee_snp_vcek v;
    struct gtee_err e;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ext exts[7];
        size_t n = 6;

        memcpy(exts, base, sizeof(exts));
        if (cases[i].append) {
            exts[n++] = cases[i].replace;
        } else {
            for (size_t k = 0; k < 6; k++)
                if (strcmp(exts[k].oid, cases[i].replace.oid) == 0)
                    exts[k] = cases[i].replace;
        }
        print_message("case %s\n", cases[i].what);
        assert_int_equal(parse_made("SEV-VCEK", "SEV-Milan", "P-384", exts, n, &v, &e), GTEE_EFORMAT);
        assert_non_null(strstr(e.msg, cases[i].msg));
        assert_int_equal(v.tcb.raw, 0); /* nothing half-parsed escapes */
    }

    /* each required SPL, and the VCEK's hwID, must be present */
    for (size_t drop = 1; drop < 6; drop++) {
        struct ext exts[6];
        size_t n = 0;

        for (size_t k = 0; k < 6; k++)
            if (k != drop)
                exts[n++] = base[k];
        assert_int_equal(parse_made("SEV-VCEK", "SEV-Milan", "P-384", exts, n, &v, &e), GTEE_EFORMAT);
        assert_non_null(strstr(e.msg, "is missing"));
    }
    /* the productName is optional */
    assert_int_equal(parse_made("SEV-VCEK", "SEV-Milan", "P-384", base + 1, 5, &v, &e), 0);
    assert_string_equal(v.product_name, "");

    /* the subject must be a VCEK or VLEK with a P-384 key */
    assert_int_equal(parse_made("SEV-ASK", "SEV-Milan", "P-384", base, 6, &v, &e), GTEE_EFORMAT);
    assert_non_null(strstr(e.msg, "subject CN"));
    assert_int_equal(parse_made("SEV-VCEK", "SEV-Milan", "P-256", base, 6, &v, &e), GTEE_EKEY);
    assert_non_null(strstr(e.msg, "not on P-384"));
    assert_int_equal(parse_made("SEV-VCEK", "SEV-Milan", "rsa", base, 6, &v, &e), GTEE_EKEY);
    assert_non_null(strstr(e.msg, "not an EC key"));
}

/* A made VCEK claims Milan by its issuer but Genoa by productName; a v3 report claims
 * Genoa by CPUID while the real VCEK is Milan. Both are named product mismatches. */
static void test_snp_verify_rejects_product_mismatch(void **state)
{
    size_t rl, vl, ml;
    uint8_t *rep = snp_vec_read("snp/milan-1/report.bin", &rl);
    uint8_t *vcek = snp_vec_read("snp/milan-1/vcek.der", &vl);
    json_t *exp = snp_vec_expected();
    time_t at = snp_vec_time(snp_vec_str(exp, "verify_at"));
    static struct gtee_snp_result res;
    const struct ext exts[] = {
        EXT(OID_PRODUCT, 0x16, 0x08, 'G', 'e', 'n', 'o', 'a', '-', 'B', '1'),
        EXT(OID_BL, 0x02, 0x01, 0x02),
        EXT(OID_TEE, 0x02, 0x01, 0x00),
        EXT(OID_SNP, 0x02, 0x01, 0x05),
        EXT(OID_UCODE, 0x02, 0x01, 0x44),
        { OID_HWID, rep + 0x1A0, 64 },
    };
    uint8_t *made = make_cert("SEV-VCEK", "SEV-Milan", "P-384", exts, 6, &ml);

    assert_true(gtee_snp_verify(rep, rl, made, ml, NULL, at, &res, NULL) < 0);
    assert_non_null(gtee_snp_result_find(&res, "snp.product.mismatch"));
    assert_non_null(strstr(gtee_snp_result_find(&res, "snp.product.mismatch")->msg, "Genoa-B1"));
    assert_non_null(gtee_snp_result_find(&res, "snp.vcek.chain"));   /* not signed by the ASK */
    assert_non_null(gtee_snp_result_find(&res, "snp.signature"));    /* not the chip's key */
    assert_null(gtee_snp_result_find(&res, "snp.vcek.hwid"));        /* same chip ID and TCB */
    assert_true(res.tcb_ok);
    free(made);

    /* an issuer naming no known product stops before the chain */
    made = make_cert("SEV-VCEK", "SEV-Turin", "P-384", exts + 1, 5, &ml);
    assert_true(gtee_snp_verify(rep, rl, made, ml, NULL, at, &res, NULL) < 0);
    assert_non_null(gtee_snp_result_find(&res, "snp.product.unknown"));
    assert_null(gtee_snp_result_find(&res, "snp.vcek.chain"));
    assert_false(res.chain_ok);
    free(made);

    rep[0x000] = 3;
    rep[0x188] = 0x19;
    rep[0x189] = 0x11; /* Genoa */
    assert_true(gtee_snp_verify(rep, rl, vcek, vl, NULL, at, &res, NULL) < 0);
    assert_non_null(strstr(gtee_snp_result_find(&res, "snp.product.mismatch")->msg, "offset 0x188"));
    assert_true(res.chain_ok); /* the chain itself is sound */
    rep[0x189] = 0x01; /* Milan: only the signature (over the changed bytes) fails */
    assert_true(gtee_snp_verify(rep, rl, vcek, vl, NULL, at, &res, NULL) < 0);
    assert_null(gtee_snp_result_find(&res, "snp.product.mismatch"));
    assert_int_equal(res.n_reasons, 1);
    assert_string_equal(res.reasons[0].code, "snp.signature");

    json_decref(exp);
    free(rep);
    free(vcek);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp_vcek_parses_milan_sample),
        cmocka_unit_test(test_snp_vcek_decodes_made_extensions),
        cmocka_unit_test(test_snp_vcek_rejects_bad_extensions),
        cmocka_unit_test(test_snp_verify_rejects_product_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
