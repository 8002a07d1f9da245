/* X25519 against RFC 7748: the §5.2 function vectors, the iterated vector, the §6.1
 * Diffie-Hellman example, and rejection of small-order peer points. */
#include "hexvec.h"

static void test_x25519_rfc7748_section_5_2_vectors(void **state)
{
    static const struct {
        const char *scalar, *u, *out;
    } vecs[] = {
        {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        /* the u-coordinate's top bit is set: implementations must mask it (§5) */
        {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
    };

    for (size_t i = 0; i < 2; i++) {
        uint8_t k[32], u[32], out[32];

        unhex(vecs[i].scalar, k, sizeof(k));
        unhex(vecs[i].u, u, sizeof(u));
        assert_int_equal(gtee_x25519(out, k, u), 0);
        assert_hex_equal(out, sizeof(out), vecs[i].out);
    }
}

/* §5.2 iterated test: k = u = 9; repeat k, u = X25519(k, u), k. Results after 1 and 1000
 * iterations (the 1,000,000 one is left out for time). */
static void test_x25519_rfc7748_iterated(void **state)
{
    uint8_t k[32] = {9}, u[32] = {9}, r[32];

    for (int i = 1; i <= 1000; i++) {
        assert_int_equal(gtee_x25519(r, k, u), 0);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
        if (i == 1)
            assert_hex_equal(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
    assert_hex_equal(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/* §6.1: Alice's and Bob's public keys from their private keys, and the shared secret
 * each computes. */
static void test_x25519_rfc7748_alice_and_bob(void **state)
{
    uint8_t a[32], b[32], pa[32], pb[32], ka[32], kb[32];

    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    assert_int_equal(gtee_x25519_public(a, pa), 0);
    assert_int_equal(gtee_x25519_public(b, pb), 0);
    assert_hex_equal(pa, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    assert_hex_equal(pb, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    assert_int_equal(gtee_x25519(ka, a, pb), 0);
    assert_int_equal(gtee_x25519(kb, b, pa), 0);
    assert_hex_equal(ka, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_memory_equal(ka, kb, 32);
}

/* Points of small order give the all-zero shared secret (RFC 7748 §6.1 "check"): u = 0,
 * u = 1, and a point of order 8 (u = 0xe0eb7a7c...); each is GTEE_EKEY and the output is
 * left zeroed. */
static void test_x25519_rejects_low_order_points(void **state)
{
    static const char *const low[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    };
    uint8_t priv[32], pub[32], u[32], out[32];

    assert_int_equal(gtee_x25519_keypair(priv, pub), 0);
    for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
        static const uint8_t zero[32];

        unhex(low[i], u, sizeof(u));
        memset(out, 0xee, sizeof(out));
        assert_int_equal(gtee_x25519(out, priv, u), GTEE_EKEY);
        assert_memory_equal(out, zero, sizeof(out));
    }
}

static void test_x25519_fresh_keypairs_agree(void **state)
{
    uint8_t a[32], pa[32], b[32], pb[32], ka[32], kb[32], again[32];

    assert_int_equal(gtee_x25519_keypair(a, pa), 0);
    assert_int_equal(gtee_x25519_keypair(b, pb), 0);
    assert_memory_not_equal(a, b, 32);
    assert_int_equal(gtee_x25519_public(a, again), 0);
    assert_memory_equal(pa, again, 32);
    assert_int_equal(gtee_x25519(ka, a, pb), 0);
    assert_int_equal(gtee_x25519(kb, b, pa), 0);
    assert_memory_equal(ka, kb, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_rfc7748_section_5_2_vectors),
        cmocka_unit_test(test_x25519_rfc7748_iterated),
        cmocka_unit_test(test_x25519_rfc7748_alice_and_bob),
        cmocka_unit_test(test_x25519_rejects_low_order_points),
        cmocka_unit_test(test_x25519_fresh_keypairs_agree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
