/* Ed25519 against RFC 8032 §7.1 (TEST 1, 2, 3 and TEST SHA(abc)); tampering rejected. */
#include "hexvec.h"

struct ed_vec {
    const char *name, *seed, *pub, *msg, *sig;
};

static const struct ed_vec vecs[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
     "d25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
     "4a7c15e9716ed28dc027beceea1ec40a"},
    /* the message is SHA-512("abc") (FIPS 180-2 C.1) */
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
     "454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e030"
     "3dca179c138ac17ad9bef1177331a704"},
};

static void test_ed25519_rfc8032_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        uint8_t seed[32], pub[32], msg[64], sig[64], want[64];
        size_t len;

        unhex(vecs[i].seed, seed, sizeof(seed));
        len = unhex(vecs[i].msg, msg, sizeof(msg));
        unhex(vecs[i].sig, want, sizeof(want));
        assert_int_equal(gtee_ed25519_public(seed, pub), 0);
        assert_hex_equal(pub, 32, vecs[i].pub);
        /* Ed25519 is deterministic (RFC 8032 §5.1.6): our signature is the RFC's */
        assert_int_equal(gtee_ed25519_sign(seed, msg, len, sig), 0);
        assert_memory_equal(sig, want, 64);
        assert_int_equal(gtee_ed25519_verify(pub, msg, len, sig), 0);
    }
}

/* Any flipped bit of the message, the R half, the S half or the public key fails. */
static void test_ed25519_rejects_tampering(void **state)
{
    uint8_t pub[32], msg[64], sig[64];
    size_t len;

    unhex(vecs[3].pub, pub, sizeof(pub));
    len = unhex(vecs[3].msg, msg, sizeof(msg));
    unhex(vecs[3].sig, sig, sizeof(sig));
    assert_int_equal(gtee_ed25519_verify(pub, msg, len, sig), 0);

    msg[10] ^= 0x04;
    assert_int_equal(gtee_ed25519_verify(pub, msg, len, sig), GTEE_EAUTH);
    msg[10] ^= 0x04;
    sig[5] ^= 0x01; /* R */
    assert_int_equal(gtee_ed25519_verify(pub, msg, len, sig), GTEE_EAUTH);
    sig[5] ^= 0x01;
    sig[40] ^= 0x01; /* S */
    assert_int_equal(gtee_ed25519_verify(pub, msg, len, sig), GTEE_EAUTH);
    sig[40] ^= 0x01;
    assert_int_equal(gtee_ed25519_verify(pub, msg, len - 1, sig), GTEE_EAUTH);
    pub[0] ^= 0x02;
    assert_int_not_equal(gtee_ed25519_verify(pub, msg, len, sig), 0);
}

/* S + L (the group order) is the same scalar mod L; RFC 8032 §5.1.7 step 1 requires
 * rejecting S >= L, which stops this malleability. */
static void test_ed25519_rejects_non_canonical_s(void **state)
{
    /* L = 2^252 + 27742317777372353535851937790883648493, little-endian */
    static const char l_le[] = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";
    uint8_t pub[32], msg[1] = {0x72}, sig[64], l[32];
    unsigned carry = 0;

    unhex(vecs[1].pub, pub, sizeof(pub));
    unhex(vecs[1].sig, sig, sizeof(sig));
    unhex(l_le, l, sizeof(l));
    for (int i = 0; i < 32; i++) {
        unsigned v = sig[32 + i] + l[i] + carry;

        sig[32 + i] = (uint8_t)v;
        carry = v >> 8;
    }
    assert_int_equal(carry, 0);
    assert_int_equal(gtee_ed25519_verify(pub, msg, 1, sig), GTEE_EAUTH);
}

static void test_ed25519_fresh_keypair_signs_and_verifies(void **state)
{
    uint8_t seed[32], pub[32], again[32], sig[64];
    static const char msg[] = "work proof";

    assert_int_equal(gtee_ed25519_keypair(seed, pub), 0);
    assert_int_equal(gtee_ed25519_public(seed, again), 0);
    assert_memory_equal(pub, again, 32);
    assert_int_equal(gtee_ed25519_sign(seed, msg, sizeof(msg) - 1, sig), 0);
    assert_int_equal(gtee_ed25519_verify(pub, msg, sizeof(msg) - 1, sig), 0);
    assert_int_equal(gtee_ed25519_verify(pub, msg, sizeof(msg) - 2, sig), GTEE_EAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032_vectors),
        cmocka_unit_test(test_ed25519_rejects_tampering),
        cmocka_unit_test(test_ed25519_rejects_non_canonical_s),
        cmocka_unit_test(test_ed25519_fresh_keypair_signs_and_verifies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
