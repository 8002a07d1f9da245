/* AES-256-GCM and ChaCha20-Poly1305: the standards' vectors, every tampering rejected with
 * the output wiped, and in-place operation. */
#include "hexvec.h"

struct aead_vec {
    enum gtee_aead_alg alg;
    const char *key, *nonce, *aad, *pt, *ct, *tag;
};

/* McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised 2005, Appendix B,
 * test cases 13-16 (256-bit key, 96-bit IV). */
#define GCM_K15 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define GCM_P15 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
                "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_C15 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
                "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
static const struct aead_vec gcm13 = {
    GTEE_AEAD_AES_256_GCM, "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"};
static const struct aead_vec gcm14 = {
    GTEE_AEAD_AES_256_GCM, "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "00000000000000000000000000000000",
    "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"};
static const struct aead_vec gcm15 = {
    GTEE_AEAD_AES_256_GCM, GCM_K15, "cafebabefacedbaddecaf888", "", GCM_P15, GCM_C15,
    "b094dac5d93471bdec1a502270e3cc6c"};
/* test case 16: the first 60 bytes of case 15's plaintext, with AAD */
static const struct aead_vec gcm16 = {
    GTEE_AEAD_AES_256_GCM, GCM_K15, "cafebabefacedbaddecaf888",
    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    "76fc6ece0f4e1768cddf8853bb2d551b"};

/* RFC 8439 §2.8.2, the AEAD_CHACHA20_POLY1305 example ("sunscreen"). */
static const struct aead_vec chacha = {
    GTEE_AEAD_CHACHA20_POLY1305,
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
    /* "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the
     * future, sunscreen would be it." */
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
    "637265656e20776f756c642062652069742e",
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116",
    "1ae10b594f09e26a7e902ecbd0600691"};

static const struct aead_vec *const all_vecs[] = {&gcm13, &gcm14, &gcm15, &gcm16, &chacha};

struct decoded {
    uint8_t key[32], nonce[12], aad[64], pt[128], ct[128], tag[16];
    size_t aad_len, len;
};

static void decode(const struct aead_vec *v, struct decoded *d)
{
    assert_int_equal(unhex(v->key, d->key, sizeof(d->key)), 32);
    assert_int_equal(unhex(v->nonce, d->nonce, sizeof(d->nonce)), 12);
    d->aad_len = unhex(v->aad, d->aad, sizeof(d->aad));
    d->len = unhex(v->pt, d->pt, sizeof(d->pt));
    assert_int_equal(unhex(v->ct, d->ct, sizeof(d->ct)), d->len);
    assert_int_equal(unhex(v->tag, d->tag, sizeof(d->tag)), 16);
}

static void test_aead_seal_and_open_match_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(all_vecs) / sizeof(all_vecs[0]); i++) {
        struct decoded d;
        struct gtee_aead *ctx = NULL;
        uint8_t out[128], tag[16];

        decode(all_vecs[i], &d);
        assert_int_equal(gtee_aead_new(&ctx, all_vecs[i]->alg, d.key, NULL), 0);
        assert_int_equal(gtee_aead_seal(ctx, d.nonce, d.aad, d.aad_len, d.pt, d.len, out, tag, NULL), 0);
        assert_memory_equal(out, d.ct, d.len);
        assert_memory_equal(tag, d.tag, 16);
        memset(out, 0x55, sizeof(out));
        assert_int_equal(gtee_aead_open(ctx, d.nonce, d.aad, d.aad_len, d.ct, d.len, d.tag, out, NULL), 0);
        assert_memory_equal(out, d.pt, d.len);
        gtee_aead_free(ctx);
    }
}

/* Flip one bit of the tag, the ciphertext, the AAD or the nonce: open must fail with
 * GTEE_EAUTH and leave no plaintext behind; the context stays usable afterwards. */
static void test_aead_rejects_every_tampering_and_wipes_output(void **state)
{
    static const struct aead_vec *const vecs[] = {&gcm16, &chacha};

    for (size_t i = 0; i < 2; i++) {
        struct decoded d;
        struct gtee_aead *ctx = NULL;
        struct gtee_err err = {0};
        uint8_t out[128];

        decode(vecs[i], &d);
        assert_int_equal(gtee_aead_new(&ctx, vecs[i]->alg, d.key, NULL), 0);
        for (int what = 0; what < 4; what++) {
            uint8_t *field = what == 0 ? d.tag : what == 1 ? d.ct + d.len - 1 : what == 2 ? d.aad + 3 : d.nonce + 11;
            static const uint8_t zero[128];

            *field ^= 0x01;
            memset(out, 0x55, sizeof(out));
            assert_int_equal(gtee_aead_open(ctx, d.nonce, d.aad, d.aad_len, d.ct, d.len, d.tag, out, &err),
                             GTEE_EAUTH);
            assert_int_equal(err.code, GTEE_EAUTH);
            assert_memory_equal(out, zero, d.len);
            *field ^= 0x01;
        }
        /* the untampered message still opens with the same context */
        assert_int_equal(gtee_aead_open(ctx, d.nonce, d.aad, d.aad_len, d.ct, d.len, d.tag, out, NULL), 0);
        assert_memory_equal(out, d.pt, d.len);
        gtee_aead_free(ctx);
    }
}

/* ct == pt: seal and open in place give the vectors' bytes. */
static void test_aead_works_in_place(void **state)
{
    static const struct aead_vec *const vecs[] = {&gcm15, &chacha};

    for (size_t i = 0; i < 2; i++) {
        struct decoded d;
        struct gtee_aead *ctx = NULL;
        uint8_t buf[128], tag[16];

        decode(vecs[i], &d);
        assert_int_equal(gtee_aead_new(&ctx, vecs[i]->alg, d.key, NULL), 0);
        memcpy(buf, d.pt, d.len);
        assert_int_equal(gtee_aead_seal(ctx, d.nonce, d.aad, d.aad_len, buf, d.len, buf, tag, NULL), 0);
        assert_memory_equal(buf, d.ct, d.len);
        assert_memory_equal(tag, d.tag, 16);
        assert_int_equal(gtee_aead_open(ctx, d.nonce, d.aad, d.aad_len, buf, d.len, tag, buf, NULL), 0);
        assert_memory_equal(buf, d.pt, d.len);
        gtee_aead_free(ctx);
    }
}

/* An empty message with no buffers at all still carries a tag (GCM test case 13). */
static void test_aead_empty_message_without_buffers(void **state)
{
    struct decoded d;
    struct gtee_aead *ctx = NULL;
    uint8_t tag[16];

    decode(&gcm13, &d);
    assert_int_equal(gtee_aead_new(&ctx, GTEE_AEAD_AES_256_GCM, d.key, NULL), 0);
    assert_int_equal(gtee_aead_seal(ctx, d.nonce, NULL, 0, NULL, 0, NULL, tag, NULL), 0);
    assert_memory_equal(tag, d.tag, 16);
    assert_int_equal(gtee_aead_open(ctx, d.nonce, NULL, 0, NULL, 0, tag, NULL, NULL), 0);
    tag[0] ^= 0x80;
    assert_int_equal(gtee_aead_open(ctx, d.nonce, NULL, 0, NULL, 0, tag, NULL, NULL), GTEE_EAUTH);
    gtee_aead_free(ctx);
}

static void test_aead_rejects_unknown_algorithm(void **state)
{
    static const uint8_t key[32];
    struct gtee_aead *ctx = (struct gtee_aead *)&ctx;

    assert_int_equal(gtee_aead_new(&ctx, (enum gtee_aead_alg)99, key, NULL), GTEE_EUNSUPPORTED);
    assert_null(ctx);
    assert_null(gtee_aead_name((enum gtee_aead_alg)99));
    assert_string_equal(gtee_aead_name(GTEE_AEAD_CHACHA20_POLY1305), "ChaCha20-Poly1305");
    gtee_aead_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aead_seal_and_open_match_vectors),
        cmocka_unit_test(test_aead_rejects_every_tampering_and_wipes_output),
        cmocka_unit_test(test_aead_works_in_place),
        cmocka_unit_test(test_aead_empty_message_without_buffers),
        cmocka_unit_test(test_aead_rejects_unknown_algorithm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
