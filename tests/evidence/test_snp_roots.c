/* The pinned AMD roots: their SHA-256 fingerprints, equality with AMD's published
 * ASK/ARK bundles in the vectors, and the signatures that link them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "evidence/snp_test_util.h"
#include "gtee/crypto.h"
#include "gtee/snp.h"

struct pin {
    enum gtee_snp_product product;
    const char *bundle;   /* vectors file: ASK first, then ARK */
    const char *ark_sha256, *ask_sha256;
    const char *ark_cn;
};

static const struct pin pins[] = {
    { GTEE_SNP_PRODUCT_MILAN, "amd/ask_ark_milan.pem",
      "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
      "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b", "ARK-Milan" },
    { GTEE_SNP_PRODUCT_GENOA, "amd/ask_ark_genoa.pem",
      "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
      "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521", "ARK-Genoa" },
};

static void assert_fingerprint(const uint8_t *der, size_t len, const char *want)
{
    uint8_t h[GTEE_SHA256_LEN];
    char hex[2 * GTEE_SHA256_LEN + 1];

    assert_non_null(der);
    assert_int_equal(gtee_sha256(der, len, h), 0);
    gtee_hex_encode(h, sizeof(h), hex);
    assert_string_equal(hex, want);
}

static X509 *der_to_x509(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);

    assert_non_null(x);
    assert_ptr_equal(p, der + len);
    return x;
}

static void assert_same_der(X509 *x, const uint8_t *der, size_t len)
{
    unsigned char *enc = NULL;
    int n = i2d_X509(x, &enc);

    assert_int_equal(n, (int)len);
    assert_memory_equal(enc, der, len);
    OPENSSL_free(enc);
}

static void test_snp_pinned_roots_match_fingerprints(void **state)
{
    for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        size_t len;
        const uint8_t *der;

        der = gtee_snp_ark_der(pins[i].product, &len);
        assert_fingerprint(der, len, pins[i].ark_sha256);
        der = gtee_snp_ask_der(pins[i].product, &len);
        assert_fingerprint(der, len, pins[i].ask_sha256);
    }
    {
        size_t len = 99;

        assert_null(gtee_snp_ark_der(GTEE_SNP_PRODUCT_UNKNOWN, &len));
        assert_int_equal(len, 0);
        assert_null(gtee_snp_ask_der(GTEE_SNP_PRODUCT_UNKNOWN, &len));
    }
}

static void test_snp_pinned_roots_equal_amd_bundles(void **state)
{
    for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        size_t pem_len, ark_len, ask_len;
        uint8_t *pem = snp_vec_read(pins[i].bundle, &pem_len);
        BIO *b = BIO_new_mem_buf(pem, (int)pem_len);
        X509 *ask_pem = PEM_read_bio_X509(b, NULL, NULL, NULL);
        X509 *ark_pem = PEM_read_bio_X509(b, NULL, NULL, NULL);
        const uint8_t *ark_der = gtee_snp_ark_der(pins[i].product, &ark_len);
        const uint8_t *ask_der = gtee_snp_ask_der(pins[i].product, &ask_len);
        X509 *ark = der_to_x509(ark_der, ark_len), *ask = der_to_x509(ask_der, ask_len);

        assert_non_null(ask_pem);
        assert_non_null(ark_pem);
        assert_same_der(ark_pem, ark_der, ark_len);
        assert_same_der(ask_pem, ask_der, ask_len);
        /* the ARK is self-signed, the ASK is signed by it (RSA-PSS SHA-384) */
        assert_int_equal(X509_verify(ark, X509_get0_pubkey(ark)), 1);
        assert_int_equal(X509_verify(ask, X509_get0_pubkey(ark)), 1);
        assert_int_equal(X509_check_issued(ark, ask), X509_V_OK);
        {
            char cn[64];

            X509_NAME_get_text_by_NID(X509_get_subject_name(ark), NID_commonName, cn, sizeof(cn));
            assert_string_equal(cn, pins[i].ark_cn);
            assert_string_equal(cn + 4, gtee_snp_product_name(pins[i].product));
        }
        X509_free(ark);
        X509_free(ask);
        X509_free(ark_pem);
        X509_free(ask_pem);
        BIO_free(b);
        free(pem);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp_pinned_roots_match_fingerprints),
        cmocka_unit_test(test_snp_pinned_roots_equal_amd_bundles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
