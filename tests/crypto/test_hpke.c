/* HPKE (RFC 9180), base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256. Each step on the RFC's
 * own test vector (Appendix A.1.1: its Encap, shared secret, key and base nonce, in its
 * AES-128-GCM suite); the whole exchange in our suite (AES-256-GCM) on the same keys against
 * tests/crypto/hpke_ref.py, an independent Python implementation that reproduces A.1.1 byte
 * for byte; then round trips, a wrong key, another info, a flipped byte, replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hpke_int.h"
#include "gtee/crypto.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    assert_int_equal(strlen(h), 2 * n);
}

static const char INFO[] = "4f6465206f6e2061204772656369616e2055726e";  /* "Ode on a Grecian Urn" */
/* RFC 9180 A.1.1 */
static const char SK_EM[] = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
static const char SK_RM[] = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
static const char PK_RM[] = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
static const char ENC[] = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
static const char SHARED[] = "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc";
static const char KEY_A11[] = "4531685d41d65f03dc48f6b8302c05b0";
static const char NONCE_A11[] = "56d890e5accaaf011cff4b7d";
static const char PT[] = "4265617574792069732074727574682c20747275746820626561757479";
/* the same exchange in our suite (aead 2), from tests/crypto/hpke_ref.py */
static const char KEY_2[] = "a2863277956ec56c4f9f16b43665870daa2403d0d22baceff6551c4ff35b8528";
static const char NONCE_2[] = "94fc3a5af015ec686da39ff8";
static const char CT0[] = "090b7dc225419f7da9e8b460becfbb96a26c7964d79b8010d397fa838530a32a397b14f5776db19ff5e57734e0";
static const char CT1[] = "05cbb27ea0f48fa8768a10c9f2f1438233f63104bf68d51abf26f0aae2c62a449d5cf7e8b73791a4e55d79b650";

static void test_rfc9180_a11_steps(void **state)
{
    uint8_t info[20], sk_e[32], pk_r[32], enc[32], enc_want[32], shared[32], shared_want[32], key[32], want[32],
        nonce[12], nonce_want[12];

    (void)state;
    unhex(INFO, info, sizeof(info));
    unhex(SK_EM, sk_e, 32);
    unhex(PK_RM, pk_r, 32);
    unhex(ENC, enc_want, 32);
    unhex(SHARED, shared_want, 32);
    assert_int_equal(hpke_encap_with(sk_e, pk_r, enc, shared), 0);
    assert_memory_equal(enc, enc_want, 32);
    assert_memory_equal(shared, shared_want, 32);
    assert_int_equal(hpke_schedule(0x0001, 16, shared, info, sizeof(info), key, nonce), 0);
    unhex(KEY_A11, want, 16);
    unhex(NONCE_A11, nonce_want, 12);
    assert_memory_equal(key, want, 16);
    assert_memory_equal(nonce, nonce_want, 12);
    assert_int_equal(hpke_schedule(0x0002, 32, shared, info, sizeof(info), key, nonce), 0);
    unhex(KEY_2, want, 32);
    unhex(NONCE_2, nonce_want, 12);
    assert_memory_equal(key, want, 32);
    assert_memory_equal(nonce, nonce_want, 12);
}

static void test_our_suite_against_the_reference(void **state)
{
    uint8_t info[20], sk_e[32], sk_r[32], pk_r[32], enc[32], pt[29], ct0[45], ct1[45], ct[45], back[29];
    struct gtee_hpke *s = NULL, *r = NULL;
    struct gtee_err err = {0};

    (void)state;
    unhex(INFO, info, sizeof(info));
    unhex(SK_EM, sk_e, 32);
    unhex(SK_RM, sk_r, 32);
    unhex(PK_RM, pk_r, 32);
    unhex(PT, pt, sizeof(pt));
    unhex(CT0, ct0, sizeof(ct0));
    unhex(CT1, ct1, sizeof(ct1));
    assert_int_equal(gtee_hpke_sender_with(sk_e, pk_r, info, sizeof(info), enc, &s, &err), 0);
    assert_int_equal(gtee_hpke_seal(s, "Count-0", 7, pt, sizeof(pt), ct, &err), 0);
    assert_memory_equal(ct, ct0, sizeof(ct0));
    assert_int_equal(gtee_hpke_seal(s, "Count-1", 7, pt, sizeof(pt), ct, &err), 0);
    assert_memory_equal(ct, ct1, sizeof(ct1));
    assert_int_equal(gtee_hpke_receiver(sk_r, enc, info, sizeof(info), &r, &err), 0);
    assert_int_equal(gtee_hpke_open(r, "Count-0", 7, ct0, sizeof(ct0), back, &err), 0);
    assert_memory_equal(back, pt, sizeof(pt));
    assert_int_equal(gtee_hpke_open(r, "Count-1", 7, ct1, sizeof(ct1), back, &err), 0);
    assert_memory_equal(back, pt, sizeof(pt));
    gtee_hpke_free(s);
    gtee_hpke_free(r);
}

static void test_round_trip_and_refusals(void **state)
{
    uint8_t sk_r[32], pk_r[32], sk_x[32], pk_x[32], enc[32], ct[64 + 16], pt[64], msg[64];
    struct gtee_hpke *s = NULL, *r = NULL;
    struct gtee_err err = {0};

    (void)state;
    memset(msg, 0x5a, sizeof(msg));
    assert_int_equal(gtee_x25519_keypair(sk_r, pk_r), 0);
    assert_int_equal(gtee_x25519_keypair(sk_x, pk_x), 0);
    assert_int_equal(gtee_hpke_sender(pk_r, (const uint8_t *)"job 7", 5, enc, &s, &err), 0);
    assert_int_equal(gtee_hpke_seal(s, NULL, 0, msg, sizeof(msg), ct, &err), 0);

    assert_int_equal(gtee_hpke_receiver(sk_r, enc, (const uint8_t *)"job 7", 5, &r, &err), 0);
    assert_int_equal(gtee_hpke_open(r, NULL, 0, ct, sizeof(ct), pt, &err), 0);
    assert_memory_equal(pt, msg, sizeof(msg));
    /* the same ciphertext again is message 1 to the receiver: refused */
    assert_int_equal(gtee_hpke_open(r, NULL, 0, ct, sizeof(ct), pt, &err), GTEE_EAUTH);
    gtee_hpke_free(r);
    /* another recipient, another info, a flipped byte, a short ciphertext */
    assert_int_equal(gtee_hpke_receiver(sk_x, enc, (const uint8_t *)"job 7", 5, &r, &err), 0);
    assert_int_equal(gtee_hpke_open(r, NULL, 0, ct, sizeof(ct), pt, &err), GTEE_EAUTH);
    gtee_hpke_free(r);
    assert_int_equal(gtee_hpke_receiver(sk_r, enc, (const uint8_t *)"job 8", 5, &r, &err), 0);
    assert_int_equal(gtee_hpke_open(r, NULL, 0, ct, sizeof(ct), pt, &err), GTEE_EAUTH);
    gtee_hpke_free(r);
    ct[3] ^= 1;
    assert_int_equal(gtee_hpke_receiver(sk_r, enc, (const uint8_t *)"job 7", 5, &r, &err), 0);
    assert_int_equal(gtee_hpke_open(r, NULL, 0, ct, sizeof(ct), pt, &err), GTEE_EAUTH);
    assert_int_equal(gtee_hpke_open(r, NULL, 0, ct, 15, pt, &err), GTEE_EFORMAT);
    gtee_hpke_free(r);
    gtee_hpke_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9180_a11_steps),
        cmocka_unit_test(test_our_suite_against_the_reference),
        cmocka_unit_test(test_round_trip_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
