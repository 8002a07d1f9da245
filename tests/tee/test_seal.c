/* Sealed blobs through the SGX backend (fake Gramine key files): round trips, another
 * measurement cannot open MRENCLAVE-sealed data, the same signer can open MRSIGNER data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/tee.h"
#include "tee/fake_gramine.c"

static const uint8_t signer_key[16] = { 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
                                        0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60 };
static const char secret[] = "grant: model blob 7f3a, key 00112233445566778899aabbccddeeff";

struct pair {
    struct fake_gramine fa, fb;   /* enclave A and enclave B of one signer on one device */
    struct gtee_tee *a, *b;
};

static struct gtee_tee *open_at(struct fake_gramine *f, uint8_t enclave_byte)
{
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};
    char root[PATH_MAX], q[PATH_MAX];
    uint8_t kenc[16];

    memset(kenc, enclave_byte, sizeof(kenc));
    assert_int_equal(fake_tmpdir(root, sizeof(root), "seal"), 0);
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    assert_int_equal(fake_gramine_create(f, root, q, "dcap", kenc, signer_key), 0);
    opt.root = f->root;
    assert_int_equal(gtee_tee_open("sgx", &opt, &t, &err), 0);
    return t;
}

static int setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));

    p->a = open_at(&p->fa, 0x11);
    p->b = open_at(&p->fb, 0x22);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;

    gtee_tee_close(p->a);
    gtee_tee_close(p->b);
    fake_gramine_destroy(&p->fa);
    fake_gramine_destroy(&p->fb);
    free(p);
    return 0;
}

static void test_seal_round_trips_under_both_policies(void **state)
{
    struct pair *p = *state;
    static const enum gtee_seal_policy pol[] = { GTEE_SEAL_MRENCLAVE, GTEE_SEAL_MRSIGNER };
    struct gtee_err err = {0};

    for (size_t i = 0; i < 2; i++) {
        uint8_t *blob = NULL, *pt = NULL;
        size_t blob_len = 0, pt_len = 0;

        assert_int_equal(gtee_tee_seal(p->a, pol[i], secret, sizeof(secret), &blob, &blob_len, &err), 0);
        assert_int_equal(blob_len, sizeof(secret) + GTEE_SEAL_OVERHEAD);
        assert_null(memmem(blob, blob_len, "grant", 5)); /* no plaintext in the blob */
        assert_int_equal(blob[5], pol[i]);               /* the header names the policy */
        assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), 0);
        assert_int_equal(pt_len, sizeof(secret));
        assert_memory_equal(pt, secret, sizeof(secret));
        gtee_tee_free_secret(pt, pt_len);
        free(blob);
    }
}

static void test_seal_empty_plaintext_round_trips(void **state)
{
    struct pair *p = *state;
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 1;

    assert_int_equal(gtee_tee_seal(p->a, GTEE_SEAL_MRENCLAVE, NULL, 0, &blob, &blob_len, &err), 0);
    assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), 0);
    assert_int_equal(pt_len, 0);
    gtee_tee_free_secret(pt, pt_len);
    free(blob);
}

static void test_another_measurement_cannot_unseal_mrenclave_data(void **state)
{
    struct pair *p = *state;
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;

    assert_int_equal(gtee_tee_seal(p->a, GTEE_SEAL_MRENCLAVE, secret, sizeof(secret), &blob, &blob_len, &err), 0);
    assert_int_equal(gtee_tee_unseal(p->b, blob, blob_len, &pt, &pt_len, &err), GTEE_EKEY);
    assert_null(pt);
    assert_non_null(strstr(err.msg, "another enclave measurement"));
    free(blob);
}

static void test_the_same_signer_can_unseal_mrsigner_data(void **state)
{
    struct pair *p = *state;
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;

    assert_int_equal(gtee_tee_seal(p->a, GTEE_SEAL_MRSIGNER, secret, sizeof(secret), &blob, &blob_len, &err), 0);
    assert_int_equal(gtee_tee_unseal(p->b, blob, blob_len, &pt, &pt_len, &err), 0);
    assert_memory_equal(pt, secret, sizeof(secret));
    gtee_tee_free_secret(pt, pt_len);
    free(blob);
}

static void test_unseal_rejects_altered_blobs(void **state)
{
    struct pair *p = *state;
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *pt = NULL;
    size_t blob_len = 0, pt_len = 0;

    assert_int_equal(gtee_tee_seal(p->a, GTEE_SEAL_MRSIGNER, secret, sizeof(secret), &blob, &blob_len, &err), 0);
    /* each byte of ciphertext, tag, nonce and salt */
    for (size_t i = 16; i < blob_len; i++) {
        if (i >= 44 && i < 48)
            continue; /* length: covered below */
        blob[i] ^= 0x01;
        assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), GTEE_EAUTH);
        assert_null(pt);
        blob[i] ^= 0x01;
    }
    /* the policy byte is bound: switching it selects another key, which the key id catches */
    blob[5] = GTEE_SEAL_MRENCLAVE;
    assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), GTEE_EKEY);
    blob[5] = 9;
    assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), GTEE_EFORMAT);
    blob[5] = GTEE_SEAL_MRSIGNER;
    blob[47] ^= 1;
    assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), GTEE_EFORMAT);
    blob[47] ^= 1;
    blob[0] = 'X';
    assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), GTEE_EFORMAT);
    blob[0] = 'G';
    for (size_t n = 0; n < blob_len; n++)
        assert_int_not_equal(gtee_tee_unseal(p->a, blob, n, &pt, &pt_len, &err), 0);
    assert_int_equal(gtee_tee_unseal(p->a, blob, blob_len, &pt, &pt_len, &err), 0);
    gtee_tee_free_secret(pt, pt_len);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seal_round_trips_under_both_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_empty_plaintext_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_measurement_cannot_unseal_mrenclave_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_same_signer_can_unseal_mrsigner_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unseal_rejects_altered_blobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
