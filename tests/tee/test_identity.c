/* Enclave identity over the SGX backend (fake Gramine key files): stable across restarts,
 * different for another measurement and for another device; report data layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/tee.h"
#include "tee/fake_gramine.c"

struct id {
    uint8_t priv[32], pub[65], addr[20];
};

/* Opens the backend over fresh key files, derives, closes: one enclave "start". */
static void start(const uint8_t kenc[16], const uint8_t ksig[16], struct id *out)
{
    struct fake_gramine f;
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX], q[PATH_MAX];
    uint8_t check[65];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "id"), 0);
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    assert_int_equal(fake_gramine_create(&f, root, q, "dcap", kenc, ksig), 0);
    opt.root = f.root;
    assert_int_equal(gtee_tee_open("sgx", &opt, &t, &err), 0);
    assert_int_equal(gtee_tee_enclave_key(t, out->priv, out->pub, out->addr, &err), 0);
    /* the pair is a real secp256k1 key pair and the ID is its address */
    assert_int_equal(gtee_secp256k1_public(out->priv, check), 0);
    assert_memory_equal(check, out->pub, 65);
    {
        uint8_t h[32];

        gtee_keccak256(out->pub + 1, 64, h);
        assert_memory_equal(out->addr, h + 12, 20);
    }
    gtee_tee_close(t);
    fake_gramine_destroy(&f);
}

static const uint8_t dev1_enc_a[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
static const uint8_t dev1_enc_b[16] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
static const uint8_t dev2_enc_a[16] = { 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
static const uint8_t sig1[16] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };

static void test_same_enclave_same_device_same_id_across_restarts(void **state)
{
    struct id a, b;

    start(dev1_enc_a, sig1, &a);
    start(dev1_enc_a, sig1, &b);
    assert_memory_equal(a.addr, b.addr, 20);
    assert_memory_equal(a.priv, b.priv, 32);
}

static void test_other_measurement_other_id(void **state)
{
    struct id a, b;

    /* On SGX the MRENCLAVE key file is what EGETKEY gives another MRENCLAVE. */
    start(dev1_enc_a, sig1, &a);
    start(dev1_enc_b, sig1, &b);
    assert_memory_not_equal(a.addr, b.addr, 20);
}

static void test_other_device_other_id(void **state)
{
    struct id a, b;

    /* Another CPU gives the same MRENCLAVE another key. */
    start(dev1_enc_a, sig1, &a);
    start(dev2_enc_a, sig1, &b);
    assert_memory_not_equal(a.addr, b.addr, 20);
}

static void test_the_enclave_key_is_not_the_sealing_key(void **state)
{
    struct id a;
    uint8_t padded[32] = {0};

    start(dev1_enc_a, sig1, &a);
    memcpy(padded, dev1_enc_a, 16);
    assert_memory_not_equal(a.priv, padded, 32);
}

static void test_report_data_commits_to_both_keys_and_the_nonce(void **state)
{
    uint8_t ek[65], ck[65], nonce[32], rd[64], rd2[64], want[32];
    uint8_t buf[20 + 65 + 65];

    for (int i = 0; i < 65; i++) {
        ek[i] = (uint8_t)i;
        ck[i] = (uint8_t)(200 - i);
    }
    memset(nonce, 0x5a, sizeof(nonce));
    assert_int_equal(gtee_tee_report_data(ek, ck, nonce, rd), 0);
    /* the layout written in docs/tee.md */
    memcpy(buf, "gtee report data v1", 20); /* 19 characters and the NUL */
    memcpy(buf + 20, ek, 65);
    memcpy(buf + 85, ck, 65);
    assert_int_equal(gtee_sha256(buf, sizeof(buf), want), 0);
    assert_memory_equal(rd, want, 32);
    assert_memory_equal(rd + 32, nonce, 32);
    assert_int_equal(gtee_tee_report_data(ek, ck, NULL, rd2), 0);
    assert_memory_equal(rd2, want, 32);
    memset(nonce, 0, sizeof(nonce));
    assert_memory_equal(rd2 + 32, nonce, 32);
    ck[64] ^= 1;
    assert_int_equal(gtee_tee_report_data(ek, ck, NULL, rd2), 0);
    assert_memory_not_equal(rd2, rd, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_enclave_same_device_same_id_across_restarts),
        cmocka_unit_test(test_other_measurement_other_id),
        cmocka_unit_test(test_other_device_other_id),
        cmocka_unit_test(test_the_enclave_key_is_not_the_sealing_key),
        cmocka_unit_test(test_report_data_commits_to_both_keys_and_the_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
