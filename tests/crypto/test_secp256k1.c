/* secp256k1 and Ethereum identities: addresses, EIP-55, recoverable signatures, and the
 * EIP-155 example signature reproduced bit for bit. */
#include <pthread.h>

#include "hexvec.h"

static void addr_hex_of_priv(const char *priv_hex, char out[GTEE_ETH_ADDR_HEX_LEN + 1])
{
    uint8_t priv[32], pub[65], addr[20];

    unhex(priv_hex, priv, sizeof(priv));
    assert_int_equal(gtee_secp256k1_public(priv, pub), 0);
    assert_int_equal(gtee_eth_address(pub, addr), 0);
    gtee_eth_address_hex(addr, out);
}

/* Private key 1: the public key is the generator G (SEC 2 §2.4.1), and its address is
 * the well-known 0x7E5F...5Bdf. */
static void test_private_key_one_gives_generator_and_known_address(void **state)
{
    uint8_t priv[32] = {0}, pub[65];
    char hex[GTEE_ETH_ADDR_HEX_LEN + 1];

    priv[31] = 1;
    assert_int_equal(gtee_secp256k1_public(priv, pub), 0);
    assert_hex_equal(pub, 65, "04"
                              "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                              "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
    addr_hex_of_priv("0000000000000000000000000000000000000000000000000000000000000001", hex);
    assert_string_equal(hex, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
}

/* EIP-55 "Test Cases": each lowercase address re-encodes to the EIP's mixed-case form. */
static void test_eip55_checksums_match_the_eip(void **state)
{
    static const char *const vecs[] = {
        /* all caps */
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        /* all lower */
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
        /* normal */
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };

    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        uint8_t addr[20];
        char out[GTEE_ETH_ADDR_HEX_LEN + 1];

        assert_int_equal(gtee_hex_decode(vecs[i], addr, sizeof(addr)), 0);
        gtee_eth_address_hex(addr, out);
        assert_string_equal(out, vecs[i]);
    }
}

/* EIP-155 "Example": key 0x4646...46, signing hash daf5a7...8e53. libsecp256k1's RFC 6979
 * signature is the EIP's (v = 37 = 35 + 2*1 + recid, so recid 0), and recovery gives the
 * sender 0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F. */
static void test_eip155_example_signature_and_sender(void **state)
{
    uint8_t priv[32], digest[32], sig[65], pub[65], rec[65], addr[20];
    char hex[GTEE_ETH_ADDR_HEX_LEN + 1];

    memset(priv, 0x46, sizeof(priv));
    unhex("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53", digest, 32);
    assert_int_equal(gtee_secp256k1_sign(priv, digest, sig), 0);
    /* r = 18515461264373351373200002665853028612451056578545711640558177340181847433846,
     * s = 46948507304638947509940763649030358759909902576025900602547168820602576006531 */
    assert_hex_equal(sig, 65, "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276"
                              "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
                              "00");
    assert_int_equal(gtee_secp256k1_public(priv, pub), 0);
    assert_int_equal(gtee_secp256k1_recover(digest, sig, rec), 0);
    assert_memory_equal(pub, rec, 65);
    assert_int_equal(gtee_eth_address(rec, addr), 0);
    gtee_eth_address_hex(addr, hex);
    assert_string_equal(hex, "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
}

static void test_sign_then_recover_gives_the_signer(void **state)
{
    uint8_t priv[32], pub[65], digest[32], sig[65], rec[65], again[65];

    for (int i = 0; i < 8; i++) {
        assert_int_equal(gtee_secp256k1_keypair(priv, pub), 0);
        assert_int_equal(gtee_secp256k1_public(priv, again), 0);
        assert_memory_equal(pub, again, 65);
        assert_int_equal(gtee_random(digest, sizeof(digest)), 0);
        assert_int_equal(gtee_secp256k1_sign(priv, digest, sig), 0);
        assert_true(sig[64] <= 1);
        /* low-s: s <= n/2, whose top byte is at most 0x7f (EIP-2) */
        assert_true(sig[32] <= 0x7f);
        assert_int_equal(gtee_secp256k1_recover(digest, sig, rec), 0);
        assert_memory_equal(pub, rec, 65);
        /* RFC 6979: the same key and digest give the same signature */
        assert_int_equal(gtee_secp256k1_sign(priv, digest, again), 0);
        assert_memory_equal(sig, again, 65);
    }
}

/* A changed byte anywhere in r, s or v (or in the digest) either fails or yields a
 * different key, never the signer's. */
static void test_tampered_signature_never_recovers_the_signer(void **state)
{
    uint8_t priv[32], pub[65], digest[32], sig[65], rec[65];
    static const int positions[] = {0, 17, 31, 32, 50, 63, 64};

    assert_int_equal(gtee_secp256k1_keypair(priv, pub), 0);
    assert_int_equal(gtee_sha256("transfer", 8, digest), 0);
    assert_int_equal(gtee_secp256k1_sign(priv, digest, sig), 0);
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        int p = positions[i], rc;

        sig[p] ^= 0x01;
        rc = gtee_secp256k1_recover(digest, sig, rec);
        assert_true(rc == GTEE_EAUTH || (rc == 0 && memcmp(rec, pub, 65) != 0));
        sig[p] ^= 0x01;
    }
    digest[3] ^= 0x80;
    assert_int_equal(gtee_secp256k1_recover(digest, sig, rec), 0);
    assert_memory_not_equal(rec, pub, 65);
}

/* Refused: v outside {0,1}; r or s zero; r at or above n; the high-s twin (EIP-2). */
static void test_recover_rejects_malformed_signatures(void **state)
{
    /* n, the group order (SEC 2 §2.4.1) */
    static const char n_hex[] = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    uint8_t priv[32], pub[65], digest[32], sig[65], bad[65], rec[65], n[32];
    unsigned borrow = 0;

    unhex(n_hex, n, sizeof(n));
    assert_int_equal(gtee_secp256k1_keypair(priv, pub), 0);
    assert_int_equal(gtee_sha256("x", 1, digest), 0);
    assert_int_equal(gtee_secp256k1_sign(priv, digest, sig), 0);

    memcpy(bad, sig, 65);
    bad[64] = 27; /* the caller must map Ethereum's 27/28 to 0/1 */
    assert_int_equal(gtee_secp256k1_recover(digest, bad, rec), GTEE_EAUTH);
    bad[64] = 2;
    assert_int_equal(gtee_secp256k1_recover(digest, bad, rec), GTEE_EAUTH);
    memcpy(bad, sig, 65);
    memset(bad, 0, 32);
    assert_int_equal(gtee_secp256k1_recover(digest, bad, rec), GTEE_EAUTH);
    memcpy(bad, sig, 65);
    memset(bad + 32, 0, 32);
    assert_int_equal(gtee_secp256k1_recover(digest, bad, rec), GTEE_EAUTH);
    memcpy(bad, sig, 65);
    memcpy(bad, n, 32);
    assert_int_equal(gtee_secp256k1_recover(digest, bad, rec), GTEE_EAUTH);

    /* s' = n - s with the other recovery id is a valid signature by the same key, but
     * only the low-s form is accepted */
    memcpy(bad, sig, 65);
    for (int i = 31; i >= 0; i--) {
        int v = n[i] - sig[32 + i] - (int)borrow;

        borrow = v < 0;
        bad[32 + i] = (uint8_t)(v + (borrow ? 256 : 0));
    }
    bad[64] ^= 1;
    assert_int_equal(gtee_secp256k1_recover(digest, bad, rec), GTEE_EAUTH);
}

static void test_invalid_private_keys_are_key_errors(void **state)
{
    uint8_t priv[32], pub[65], digest[32] = {1}, sig[65];

    memset(priv, 0, sizeof(priv));
    assert_int_equal(gtee_secp256k1_public(priv, pub), GTEE_EKEY);
    assert_int_equal(gtee_secp256k1_sign(priv, digest, sig), GTEE_EKEY);
    /* n itself is out of range */
    unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", priv, sizeof(priv));
    assert_int_equal(gtee_secp256k1_public(priv, pub), GTEE_EKEY);
    assert_int_equal(gtee_secp256k1_sign(priv, digest, sig), GTEE_EKEY);
    /* n - 1 is the largest valid key */
    priv[31] = 0x40;
    assert_int_equal(gtee_secp256k1_public(priv, pub), 0);
}

static void test_eth_address_rejects_points_off_the_curve(void **state)
{
    uint8_t priv[32], pub[65], addr[20];

    assert_int_equal(gtee_secp256k1_keypair(priv, pub), 0);
    pub[64] ^= 0x01;
    assert_int_equal(gtee_eth_address(pub, addr), GTEE_EKEY);
    pub[64] ^= 0x01;
    pub[0] = 0x02;
    assert_int_equal(gtee_eth_address(pub, addr), GTEE_EKEY);
}

/* Threads racing to create the shared randomized context all get a working one. */
static void *sign_recover_worker(void *arg)
{
    uint8_t priv[32], pub[65], digest[32], sig[65], rec[65];
    intptr_t bad = 0;

    for (int i = 0; i < 50; i++) {
        if (gtee_secp256k1_keypair(priv, pub) || gtee_random(digest, 32) ||
            gtee_secp256k1_sign(priv, digest, sig) || gtee_secp256k1_recover(digest, sig, rec) ||
            memcmp(pub, rec, 65) != 0)
            bad++;
    }
    return (void *)bad;
}

static void test_secp256k1_is_safe_across_threads(void **state)
{
    pthread_t t[6];

    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sign_recover_worker, NULL), 0);
    for (int i = 0; i < 6; i++) {
        void *bad = NULL;

        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secp256k1_is_safe_across_threads), /* first: the cold start */
        cmocka_unit_test(test_private_key_one_gives_generator_and_known_address),
        cmocka_unit_test(test_eip55_checksums_match_the_eip),
        cmocka_unit_test(test_eip155_example_signature_and_sender),
        cmocka_unit_test(test_sign_then_recover_gives_the_signer),
        cmocka_unit_test(test_tampered_signature_never_recovers_the_signer),
        cmocka_unit_test(test_recover_rejects_malformed_signatures),
        cmocka_unit_test(test_invalid_private_keys_are_key_errors),
        cmocka_unit_test(test_eth_address_rejects_points_off_the_curve),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
