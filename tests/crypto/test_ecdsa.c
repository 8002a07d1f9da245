/* ECDSA P-256/SHA-256 and P-384/SHA-384: round trips, RFC 6979 known answers verified
 * with our verify, tampering rejected, off-curve keys refused. */
#include <pthread.h>

#include "hexvec.h"

/* RFC 6979 Appendix A.2.5 (P-256) and A.2.6 (P-384): private key x, public key
 * U = (Ux, Uy), and the deterministic signatures over "sample" and "test" with the
 * curve's paired hash (SHA-256 / SHA-384). */
struct rfc6979 {
    enum gtee_ec_curve curve;
    const char *x, *pub, *sample_sig, *test_sig;
};

static const struct rfc6979 a25 = {
    GTEE_EC_P256, "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    "04"
    "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
    "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
    "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"};

static const struct rfc6979 a26 = {
    GTEE_EC_P384,
    "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5",
    "04"
    "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a254515480bc13"
    "8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd2533264720",
    "94edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe46"
    "99ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8",
    "8203b63d3c853e8d77227fb377bcf7b7b772e97892a80f36ab775d509d7a5feb0542a7f0812998da8f1dd3ca3cf023db"
    "ddd0760448d42d8a43af45af836fce4de8be06b485e9b61b827c2f13173923e06a739f040649a667bf3b828246baa5a5"};

static void test_ecdsa_sizes(void **state)
{
    assert_int_equal(gtee_ec_priv_len(GTEE_EC_P256), GTEE_P256_PRIV_LEN);
    assert_int_equal(gtee_ec_pub_len(GTEE_EC_P256), GTEE_P256_PUB_LEN);
    assert_int_equal(gtee_ec_sig_len(GTEE_EC_P256), GTEE_P256_SIG_LEN);
    assert_int_equal(gtee_ec_priv_len(GTEE_EC_P384), GTEE_P384_PRIV_LEN);
    assert_int_equal(gtee_ec_pub_len(GTEE_EC_P384), GTEE_P384_PUB_LEN);
    assert_int_equal(gtee_ec_sig_len(GTEE_EC_P384), GTEE_P384_SIG_LEN);
    assert_int_equal(gtee_ec_sig_len((enum gtee_ec_curve)7), 0);
}

static void test_ecdsa_verifies_rfc6979_signatures(void **state)
{
    const struct rfc6979 *const vecs[] = {&a25, &a26};

    for (size_t i = 0; i < 2; i++) {
        uint8_t pub[97], sig[96];
        size_t sig_len = gtee_ec_sig_len(vecs[i]->curve);

        assert_int_equal(unhex(vecs[i]->pub, pub, sizeof(pub)), gtee_ec_pub_len(vecs[i]->curve));
        assert_int_equal(unhex(vecs[i]->sample_sig, sig, sizeof(sig)), sig_len);
        assert_int_equal(gtee_ecdsa_verify(vecs[i]->curve, pub, "sample", 6, sig), 0);
        assert_int_equal(gtee_ecdsa_verify(vecs[i]->curve, pub, "test", 4, sig), GTEE_EAUTH);
        assert_int_equal(unhex(vecs[i]->test_sig, sig, sizeof(sig)), sig_len);
        assert_int_equal(gtee_ecdsa_verify(vecs[i]->curve, pub, "test", 4, sig), 0);
        assert_int_equal(gtee_ecdsa_verify(vecs[i]->curve, pub, "sample", 6, sig), GTEE_EAUTH);
    }
}

/* verify_digest takes the hash itself: SHA-256("sample") from RFC 6979 A.2.5's h1 input,
 * computed here with our SHA-256 (checked against FIPS 180 in test_hash). */
static void test_ecdsa_verify_digest_matches_verify(void **state)
{
    uint8_t pub[97], sig[96], h256[32], h384[48];

    unhex(a25.pub, pub, sizeof(pub));
    unhex(a25.sample_sig, sig, sizeof(sig));
    assert_int_equal(gtee_sha256("sample", 6, h256), 0);
    assert_int_equal(gtee_ecdsa_verify_digest(GTEE_EC_P256, pub, h256, 32, sig), 0);
    /* a digest of the wrong length is a caller error, not a bad signature */
    assert_int_equal(gtee_ecdsa_verify_digest(GTEE_EC_P256, pub, h256, 31, sig), GTEE_EINVAL);
    h256[0] ^= 1;
    assert_int_equal(gtee_ecdsa_verify_digest(GTEE_EC_P256, pub, h256, 32, sig), GTEE_EAUTH);

    unhex(a26.pub, pub, sizeof(pub));
    unhex(a26.sample_sig, sig, sizeof(sig));
    assert_int_equal(gtee_sha384("sample", 6, h384), 0);
    assert_int_equal(gtee_ecdsa_verify_digest(GTEE_EC_P384, pub, h384, 48, sig), 0);
}

/* Our own key from the RFC's x gives the RFC's public key through a sign/verify pair. */
static void test_ecdsa_signs_with_rfc6979_private_keys(void **state)
{
    const struct rfc6979 *const vecs[] = {&a25, &a26};

    for (size_t i = 0; i < 2; i++) {
        uint8_t priv[48], pub[97], sig[96];

        unhex(vecs[i]->x, priv, sizeof(priv));
        unhex(vecs[i]->pub, pub, sizeof(pub));
        assert_int_equal(gtee_ecdsa_sign(vecs[i]->curve, priv, "sample", 6, sig), 0);
        assert_int_equal(gtee_ecdsa_verify(vecs[i]->curve, pub, "sample", 6, sig), 0);
    }
}

static void test_ecdsa_round_trip_and_tampering(void **state)
{
    const enum gtee_ec_curve curves[] = {GTEE_EC_P256, GTEE_EC_P384};
    static const char msg[] = "TDX quote body";

    for (size_t i = 0; i < 2; i++) {
        enum gtee_ec_curve c = curves[i];
        size_t sl = gtee_ec_sig_len(c), pl = gtee_ec_pub_len(c);
        uint8_t priv[48], pub[97], pub2[97], priv2[48], sig[96];

        assert_int_equal(gtee_ecdsa_keypair(c, priv, pub), 0);
        assert_int_equal(pub[0], 0x04);
        assert_int_equal(gtee_ecdsa_sign(c, priv, msg, sizeof(msg) - 1, sig), 0);
        assert_int_equal(gtee_ecdsa_verify(c, pub, msg, sizeof(msg) - 1, sig), 0);

        /* message changed */
        assert_int_equal(gtee_ecdsa_verify(c, pub, msg, sizeof(msg) - 2, sig), GTEE_EAUTH);
        /* each half of the signature changed */
        sig[0] ^= 0x01;
        assert_int_equal(gtee_ecdsa_verify(c, pub, msg, sizeof(msg) - 1, sig), GTEE_EAUTH);
        sig[0] ^= 0x01;
        sig[sl - 1] ^= 0x01;
        assert_int_equal(gtee_ecdsa_verify(c, pub, msg, sizeof(msg) - 1, sig), GTEE_EAUTH);
        sig[sl - 1] ^= 0x01;
        /* r = 0 or s = 0 are out of range (FIPS 186-4 §6.4.2 step 1) */
        memset(sig, 0, sl / 2);
        assert_int_equal(gtee_ecdsa_verify(c, pub, msg, sizeof(msg) - 1, sig), GTEE_EAUTH);
        /* r, s = all ones, above the group order */
        memset(sig, 0xff, sl);
        assert_int_equal(gtee_ecdsa_verify(c, pub, msg, sizeof(msg) - 1, sig), GTEE_EAUTH);

        /* a different, valid key */
        assert_int_equal(gtee_ecdsa_keypair(c, priv2, pub2), 0);
        assert_int_equal(gtee_ecdsa_sign(c, priv, msg, sizeof(msg) - 1, sig), 0);
        assert_int_equal(gtee_ecdsa_verify(c, pub2, msg, sizeof(msg) - 1, sig), GTEE_EAUTH);
        assert_memory_not_equal(pub, pub2, pl);
    }
}

/* A point whose y does not satisfy the curve equation, a compressed or infinity prefix,
 * and a zero or out-of-range private key are key errors, not signature failures. */
static void test_ecdsa_rejects_off_curve_and_bad_keys(void **state)
{
    uint8_t pub[97], sig[96], priv[48];

    unhex(a25.pub, pub, sizeof(pub));
    unhex(a25.sample_sig, sig, sizeof(sig));
    pub[64] ^= 0x01; /* y + 1: off the curve */
    assert_int_equal(gtee_ecdsa_verify(GTEE_EC_P256, pub, "sample", 6, sig), GTEE_EKEY);
    pub[64] ^= 0x01;
    pub[0] = 0x02;
    assert_int_equal(gtee_ecdsa_verify(GTEE_EC_P256, pub, "sample", 6, sig), GTEE_EKEY);
    memset(pub, 0, 65);
    assert_int_equal(gtee_ecdsa_verify(GTEE_EC_P256, pub, "sample", 6, sig), GTEE_EKEY);
    pub[0] = 0x04; /* (0, 0) is not on P-256 */
    assert_int_equal(gtee_ecdsa_verify(GTEE_EC_P256, pub, "sample", 6, sig), GTEE_EKEY);

    unhex(a26.pub, pub, sizeof(pub));
    unhex(a26.sample_sig, sig, sizeof(sig));
    pub[96] ^= 0x01;
    assert_int_equal(gtee_ecdsa_verify(GTEE_EC_P384, pub, "sample", 6, sig), GTEE_EKEY);
    /* the P-256 key read as a P-384 one has the wrong coordinates entirely */
    unhex(a25.pub, pub, sizeof(pub));
    memset(pub + 65, 0x11, 32);
    assert_int_equal(gtee_ecdsa_verify(GTEE_EC_P384, pub, "sample", 6, sig), GTEE_EKEY);

    memset(priv, 0, sizeof(priv));
    assert_int_equal(gtee_ecdsa_sign(GTEE_EC_P256, priv, "m", 1, sig), GTEE_EKEY);
    memset(priv, 0xff, sizeof(priv)); /* above the group order */
    assert_int_equal(gtee_ecdsa_sign(GTEE_EC_P256, priv, "m", 1, sig), GTEE_EKEY);
    assert_int_equal(gtee_ecdsa_sign(GTEE_EC_P384, priv, "m", 1, sig), GTEE_EKEY);
    assert_int_equal(gtee_ecdsa_keypair((enum gtee_ec_curve)0, priv, pub), GTEE_EUNSUPPORTED);
}

/* Several threads at once, from a cold start, share the lazily fetched digests and key
 * templates: every signature still verifies and every tampered one still fails. */
static void *sign_verify_worker(void *arg)
{
    enum gtee_ec_curve c = (enum gtee_ec_curve)(uintptr_t)arg;
    uint8_t priv[48], pub[97], sig[96];
    intptr_t bad = 0;

    for (int i = 0; i < 20; i++) {
        if (gtee_ecdsa_keypair(c, priv, pub) || gtee_ecdsa_sign(c, priv, &i, sizeof(i), sig) ||
            gtee_ecdsa_verify(c, pub, &i, sizeof(i), sig) != 0)
            bad++;
        sig[3] ^= 0x10;
        if (gtee_ecdsa_verify(c, pub, &i, sizeof(i), sig) != GTEE_EAUTH)
            bad++;
    }
    return (void *)bad;
}

static void test_ecdsa_is_safe_across_threads(void **state)
{
    pthread_t t[6];

    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sign_verify_worker,
                                        (void *)(uintptr_t)(i % 2 ? GTEE_EC_P256 : GTEE_EC_P384)), 0);
    for (int i = 0; i < 6; i++) {
        void *bad = NULL;

        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecdsa_is_safe_across_threads), /* first: exercises the cold start */
        cmocka_unit_test(test_ecdsa_sizes),
        cmocka_unit_test(test_ecdsa_verifies_rfc6979_signatures),
        cmocka_unit_test(test_ecdsa_verify_digest_matches_verify),
        cmocka_unit_test(test_ecdsa_signs_with_rfc6979_private_keys),
        cmocka_unit_test(test_ecdsa_round_trip_and_tampering),
        cmocka_unit_test(test_ecdsa_rejects_off_curve_and_bad_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
