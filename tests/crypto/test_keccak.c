/* Ethereum Keccak-256: known answers, the rate boundary, and the difference from FIPS 202
 * SHA3-256; the same sponge with SHA-3 padding is checked against FIPS 202 and OpenSSL. */
#include <openssl/evp.h>

#include "crypto/keccak.h"
#include "hexvec.h"

static void test_keccak256_of_empty_and_abc(void **state)
{
    uint8_t d[GTEE_KECCAK256_LEN];

    /* Keccak team's KAT (ShortMsgKAT_256, Len = 0), as used throughout Ethereum:
     * keccak256("") is the Yellow Paper's empty-code hash. */
    gtee_keccak256("", 0, d);
    assert_hex_equal(d, sizeof(d), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    gtee_keccak256(NULL, 0, d);
    assert_hex_equal(d, sizeof(d), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    gtee_keccak256("abc", 3, d);
    assert_hex_equal(d, sizeof(d), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

/* EIP-155 "Example": the signing data of the chain-id-1 transaction hashes to the
 * signing hash printed in the EIP. */
static void test_keccak256_of_eip155_signing_data(void **state)
{
    uint8_t msg[64], d[GTEE_KECCAK256_LEN];
    size_t n = unhex("ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7"
                     "64000080018080", msg, sizeof(msg));

    gtee_keccak256(msg, n, d);
    assert_hex_equal(d, sizeof(d), "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
}

/* 200 bytes of 0xA3 (the 1600-bit message of the NIST SHA-3 examples) spans two 136-byte
 * blocks. The Keccak-256 value is the widely published one for this message, confirmed
 * with js-sha3; 135, 136 and 137 bytes cover padding in one byte, in a block of its own,
 * and just past a block (also confirmed with js-sha3). */
static void test_keccak256_across_the_rate(void **state)
{
    static const struct {
        size_t len;
        const char *hex;
    } vecs[] = {
        {200, "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a"},
        {135, "3d28d08c3dacab77392064a939f3e7f8d03f2e02e2c664ac08a05f63ac652626"},
        {136, "b82d89d96e5575d11a9e1f4cabb2a45e60899e69a19a724cd796bdcf13511018"},
        {137, "ec8008a74e50bc7d6b22c3ad85402bf10e6d4449f3c8618e36c461b8a44eeafb"},
    };
    uint8_t msg[200], d[GTEE_KECCAK256_LEN];

    memset(msg, 0xa3, sizeof(msg));
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        gtee_keccak256(msg, vecs[i].len, d);
        assert_hex_equal(d, sizeof(d), vecs[i].hex);
    }
}

static void openssl_sha3_256(const uint8_t *msg, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA3-256", NULL);

    assert_non_null(md);
    assert_int_equal(EVP_Digest(msg, len, out, &n, md, NULL), 1);
    assert_int_equal(n, 32);
    EVP_MD_free(md);
}

/* Ethereum's Keccak-256 is not SHA3-256: same permutation, different padding byte. */
static void test_keccak256_differs_from_sha3_256(void **state)
{
    uint8_t k[32], s[32];

    gtee_keccak256("abc", 3, k);
    openssl_sha3_256((const uint8_t *)"abc", 3, s);
    /* FIPS 202 example SHA3-256("abc") */
    assert_hex_equal(s, sizeof(s), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
    assert_memory_not_equal(k, s, sizeof(k));
    gtee_keccak256("", 0, k);
    openssl_sha3_256((const uint8_t *)"", 0, s);
    assert_memory_not_equal(k, s, sizeof(k));
}

/* Our permutation with the FIPS 202 padding (0x06) is SHA3-256: it gives the FIPS 202
 * example for 1600 bits of 0xA3 and matches OpenSSL's SHA3-256 for every length from 0
 * to 300 bytes, so every padding position in one and two blocks is covered. */
static void test_sponge_with_sha3_padding_matches_fips202(void **state)
{
    uint8_t msg[300], ours[32], ref[32];

    memset(msg, 0xa3, 200);
    gtee_keccak_sponge(136, 0x06, msg, 200, ours, 32);
    assert_hex_equal(ours, sizeof(ours), "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    for (size_t len = 0; len <= sizeof(msg); len++) {
        gtee_keccak_sponge(136, 0x06, msg, len, ours, 32);
        openssl_sha3_256(msg, len, ref);
        assert_memory_equal(ours, ref, 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak256_of_empty_and_abc),
        cmocka_unit_test(test_keccak256_of_eip155_signing_data),
        cmocka_unit_test(test_keccak256_across_the_rate),
        cmocka_unit_test(test_keccak256_differs_from_sha3_256),
        cmocka_unit_test(test_sponge_with_sha3_padding_matches_fips202),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
