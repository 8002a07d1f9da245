/* SHA-2, streaming SHA-256, HMAC-SHA256 and HKDF-SHA256 against their standards' vectors. */
#include "hexvec.h"

/* FIPS 180-2 Appendices B.1-B.3 (SHA-256), C (SHA-512), D (SHA-384) and the NIST CSRC
 * "Examples with intermediate values" for the 896-bit message: one-block, multi-block
 * and one-million-'a' messages. */
static const char msg_abc[] = "abc";
static const char msg_448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg_896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                              "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

struct sha_vec {
    const char *msg;
    size_t million_a; /* when set, the message is this many 'a' */
    const char *sha256, *sha384, *sha512;
};

static const struct sha_vec sha_vecs[] = {
    {msg_abc, 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
     "454d4423643ce80e2a9ac94fa54ca49f"},
    {msg_448, 0, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
     "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b",
     "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca0"
     "31ad85c7a71dd70354ec631238ca3445"},
    {msg_896, 0, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
     "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039",
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433a"
     "c7d329eeb6dd26545e96e55b874be909"},
    {NULL, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
     "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985",
     "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31b"
     "eb009c5c2c49aa2e4eadb217ad8cc09b"},
};

static const uint8_t *vec_msg(const struct sha_vec *v, uint8_t **owned, size_t *len)
{
    if (!v->million_a) {
        *owned = NULL;
        *len = strlen(v->msg);
        return (const uint8_t *)v->msg;
    }
    *owned = malloc(v->million_a);
    assert_non_null(*owned);
    memset(*owned, 'a', v->million_a);
    *len = v->million_a;
    return *owned;
}

static void test_sha2_matches_fips180_examples(void **state)
{
    for (size_t i = 0; i < sizeof(sha_vecs) / sizeof(sha_vecs[0]); i++) {
        uint8_t d256[GTEE_SHA256_LEN], d384[GTEE_SHA384_LEN], d512[GTEE_SHA512_LEN], *owned;
        size_t len;
        const uint8_t *m = vec_msg(&sha_vecs[i], &owned, &len);

        assert_int_equal(gtee_sha256(m, len, d256), 0);
        assert_int_equal(gtee_sha384(m, len, d384), 0);
        assert_int_equal(gtee_sha512(m, len, d512), 0);
        assert_hex_equal(d256, sizeof(d256), sha_vecs[i].sha256);
        assert_hex_equal(d384, sizeof(d384), sha_vecs[i].sha384);
        assert_hex_equal(d512, sizeof(d512), sha_vecs[i].sha512);
        free(owned);
    }
}

/* The streaming interface, fed in uneven pieces (1, 63, 64, 65 bytes ... crossing the
 * 64-byte block), gives the one-shot digest and the FIPS 180-2 value. */
static void test_sha256_streaming_equals_one_shot(void **state)
{
    static const size_t pieces[] = {1, 63, 64, 65, 7, 1000, 4096};
    uint8_t *msg = malloc(1000000), one[GTEE_SHA256_LEN], streamed[GTEE_SHA256_LEN];
    struct gtee_sha256_ctx *ctx = NULL;
    size_t off = 0, k = 0;

    assert_non_null(msg);
    memset(msg, 'a', 1000000);
    assert_int_equal(gtee_sha256_new(&ctx), 0);
    while (off < 1000000) {
        size_t n = pieces[k++ % (sizeof(pieces) / sizeof(pieces[0]))];

        if (n > 1000000 - off)
            n = 1000000 - off;
        assert_int_equal(gtee_sha256_update(ctx, msg + off, n), 0);
        off += n;
    }
    assert_int_equal(gtee_sha256_final(ctx, streamed), 0);
    gtee_sha256_free(ctx);
    assert_int_equal(gtee_sha256(msg, 1000000, one), 0);
    assert_memory_equal(one, streamed, sizeof(one));
    assert_hex_equal(streamed, sizeof(streamed), sha_vecs[3].sha256);

    /* an empty stream is SHA-256("") (FIPS 180-4 examples) */
    assert_int_equal(gtee_sha256_new(&ctx), 0);
    assert_int_equal(gtee_sha256_final(ctx, streamed), 0);
    gtee_sha256_free(ctx);
    assert_hex_equal(streamed, sizeof(streamed),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(msg);
}

/* RFC 4231 §4.2-4.8, HMAC-SHA-256 results (test case 5's output is truncated to 128 bits). */
struct hmac_vec {
    const char *key_hex;
    const char *data_hex; /* NULL: use data_str */
    const char *data_str;
    const char *mac_hex;
};

static void test_hmac_sha256_rfc4231(void **state)
{
    char aa131[2 * 131 + 1], dd50[2 * 50 + 1], cd50[2 * 50 + 1];

    memset(aa131, 'a', 2 * 131);
    aa131[2 * 131] = '\0';
    memset(dd50, 'd', 2 * 50);
    dd50[2 * 50] = '\0';
    for (int i = 0; i < 50; i++)
        memcpy(cd50 + 2 * i, "cd", 2);
    cd50[2 * 50] = '\0';

    const struct hmac_vec vecs[] = {
        /* 4.2 test case 1 */
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", NULL, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        /* 4.3 test case 2: a key shorter than the output */
        {"4a656665", NULL, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        /* 4.4 test case 3 */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", dd50, NULL,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        /* 4.5 test case 4 */
        {"0102030405060708090a0b0c0d0e0f10111213141516171819", cd50, NULL,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        /* 4.6 test case 5, compared on its first 128 bits */
        {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", NULL, "Test With Truncation",
         "a3b6167473100ee06e0c796c2955552b"},
        /* 4.7 test case 6: a key longer than the block is hashed first */
        {aa131, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        /* 4.8 test case 7 */
        {aa131, NULL,
         "This is a test using a larger than block-size key and a larger than block-size data. "
         "The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };

    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        uint8_t key[131], data[160], mac[GTEE_SHA256_LEN];
        size_t key_len = unhex(vecs[i].key_hex, key, sizeof(key)), data_len;
        const uint8_t *d = data;

        if (vecs[i].data_hex) {
            data_len = unhex(vecs[i].data_hex, data, sizeof(data));
        } else {
            d = (const uint8_t *)vecs[i].data_str;
            data_len = strlen(vecs[i].data_str);
        }
        assert_int_equal(gtee_hmac_sha256(key, key_len, d, data_len, mac), 0);
        assert_hex_equal(mac, strlen(vecs[i].mac_hex) / 2, vecs[i].mac_hex);
    }
}

/* RFC 5869 Appendix A.1-A.3 (HKDF with SHA-256). */
static void test_hkdf_sha256_rfc5869(void **state)
{
    uint8_t ikm[80], salt[80], info[80], okm[82];
    size_t ikm_len, salt_len, info_len;

    /* A.1 test case 1: basic */
    ikm_len = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm, sizeof(ikm));
    salt_len = unhex("000102030405060708090a0b0c", salt, sizeof(salt));
    info_len = unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof(info));
    assert_int_equal(gtee_hkdf_sha256(okm, 42, ikm, ikm_len, salt, salt_len, info, info_len), 0);
    assert_hex_equal(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                              "34007208d5b887185865");

    /* A.2 test case 2: 80-byte inputs, 82-byte output (three expand blocks) */
    for (int i = 0; i < 80; i++) {
        ikm[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x60 + i);
        info[i] = (uint8_t)(0xb0 + i);
    }
    assert_int_equal(gtee_hkdf_sha256(okm, 82, ikm, 80, salt, 80, info, 80), 0);
    assert_hex_equal(okm, 82, "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                              "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                              "cc30c58179ec3e87c14c01d5c1f3434f1d87");

    /* A.3 test case 3: no salt (HashLen zero bytes, RFC 5869 §2.2) and no info */
    ikm_len = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm, sizeof(ikm));
    assert_int_equal(gtee_hkdf_sha256(okm, 42, ikm, ikm_len, NULL, 0, NULL, 0), 0);
    assert_hex_equal(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                              "9d201395faa4b61a96c8");
}

/* RFC 5869 §2.3: L <= 255 * HashLen; longer or empty requests are caller errors. */
static void test_hkdf_sha256_output_length_bounds(void **state)
{
    static uint8_t big[255 * 32 + 1];
    uint8_t first[32];

    assert_int_equal(gtee_hkdf_sha256(big, sizeof(big), (const uint8_t *)"k", 1, NULL, 0, NULL, 0),
                     GTEE_EINVAL);
    assert_int_equal(gtee_hkdf_sha256(big, 0, (const uint8_t *)"k", 1, NULL, 0, NULL, 0), GTEE_EINVAL);
    assert_int_equal(gtee_hkdf_sha256(big, 255 * 32, (const uint8_t *)"k", 1, NULL, 0, NULL, 0), 0);
    /* the expand output is a stream: a shorter request is its prefix (RFC 5869 §2.3 T(1)) */
    assert_int_equal(gtee_hkdf_sha256(first, 32, (const uint8_t *)"k", 1, NULL, 0, NULL, 0), 0);
    assert_memory_equal(first, big, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha2_matches_fips180_examples),
        cmocka_unit_test(test_sha256_streaming_equals_one_shot),
        cmocka_unit_test(test_hmac_sha256_rfc4231),
        cmocka_unit_test(test_hkdf_sha256_rfc5869),
        cmocka_unit_test(test_hkdf_sha256_output_length_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
