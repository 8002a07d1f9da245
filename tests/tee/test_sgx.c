/* SGX under Gramine against a fake /dev/attestation that hands back the real sgx-1 quote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/tee.h"
#include "tee/fake_gramine.c"

static const uint8_t key_enc[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t key_sig[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                     0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

static void make_fake(struct fake_gramine *f, const char *att_type)
{
    char root[PATH_MAX], q[PATH_MAX];

    assert_int_equal(fake_tmpdir(root, sizeof(root), "gramine"), 0);
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    assert_int_equal(fake_gramine_create(f, root, q, att_type, key_enc, key_sig), 0);
}

static struct gtee_tee *open_sgx(const char *root)
{
    struct gtee_tee_options opt = { .root = root };
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};

    assert_int_equal(gtee_tee_open("sgx", &opt, &t, &err), 0);
    return t;
}

static void test_sgx_evidence_is_the_gramine_quote_over_our_report_data(void **state)
{
    struct fake_gramine f;
    struct gtee_err err = {0};
    uint8_t rd[GTEE_REPORT_DATA_LEN], *ev = NULL;
    size_t ev_len = 0;
    struct gtee_tee *t;

    make_fake(&f, "dcap");
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = (uint8_t)(0x40 + i);
    t = open_sgx(f.root);
    assert_string_equal(gtee_tee_name(t), "sgx");
    assert_false(gtee_tee_is_simulated(t));
    assert_int_equal(gtee_tee_evidence(t, rd, &ev, &ev_len, &err), 0);
    assert_int_equal(ev_len, f.quote_len);
    assert_memory_equal(ev, f.quote, f.quote_len);
    assert_int_equal(f.srv.requests, 1);
    assert_int_equal(f.srv.seen_len, GTEE_REPORT_DATA_LEN);
    assert_memory_equal(f.srv.seen, rd, GTEE_REPORT_DATA_LEN);
    free(ev);
    gtee_tee_close(t);
    fake_gramine_destroy(&f);
}

static void test_sgx_measurement_is_mrenclave_of_the_quote(void **state)
{
    struct fake_gramine f;
    struct gtee_err err = {0};
    uint8_t m[GTEE_MEASUREMENT_MAX];
    size_t m_len = 0;
    struct gtee_tee *t;

    make_fake(&f, "dcap");
    t = open_sgx(f.root);
    assert_int_equal(gtee_tee_measurement(t, m, &m_len, &err), 0);
    assert_int_equal(m_len, 32);
    /* Intel DCAP quote v3: 48-byte header, report body; MRENCLAVE at body offset 64. */
    assert_memory_equal(m, f.quote + 112, 32);
    gtee_tee_close(t);
    fake_gramine_destroy(&f);
}

static void test_sgx_refuses_attestation_type_other_than_dcap(void **state)
{
    struct fake_gramine f;
    struct gtee_tee_options opt = {0};
    struct gtee_tee *t = NULL;
    struct gtee_err err = {0};

    make_fake(&f, "epid\n");
    opt.root = f.root;
    assert_int_equal(gtee_tee_open("sgx", &opt, &t, &err), GTEE_EUNSUPPORTED);
    assert_null(t);
    assert_non_null(strstr(err.msg, "'epid'"));
    assert_non_null(strstr(err.msg, "dcap"));
    fake_gramine_destroy(&f);

    make_fake(&f, NULL);
    opt.root = f.root;
    assert_int_equal(gtee_tee_open("sgx", &opt, &t, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Gramine"));
    fake_gramine_destroy(&f);
}

static void test_sgx_sealing_keys_are_256_bit_and_bound_to_policy(void **state)
{
    struct fake_gramine f, g;
    struct gtee_err err = {0};
    uint8_t k1[32], k2[32], k3[32], k4[32], padded[32] = {0};
    struct gtee_tee *t, *u;
    char root[PATH_MAX], q[PATH_MAX];
    uint8_t other[16];

    make_fake(&f, "dcap");
    t = open_sgx(f.root);
    assert_int_equal(gtee_tee_sealing_key(t, GTEE_SEAL_MRENCLAVE, k1, &err), 0);
    assert_int_equal(gtee_tee_sealing_key(t, GTEE_SEAL_MRSIGNER, k2, &err), 0);
    assert_int_equal(gtee_tee_sealing_key(t, GTEE_SEAL_MRENCLAVE, k3, &err), 0);
    assert_memory_equal(k1, k3, 32);          /* stable */
    assert_memory_not_equal(k1, k2, 32);      /* policies separate */
    memcpy(padded, key_enc, 16);
    assert_memory_not_equal(k1, padded, 32);  /* never the raw key */
    assert_int_equal(gtee_tee_sealing_key(t, (enum gtee_seal_policy)7, k3, &err), GTEE_EINVAL);

    /* Another enclave on the same signer: other MRENCLAVE key, same MRSIGNER key. */
    memcpy(other, key_enc, 16);
    other[0] ^= 0xff;
    assert_int_equal(fake_tmpdir(root, sizeof(root), "gramine"), 0);
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    assert_int_equal(fake_gramine_create(&g, root, q, "dcap", other, key_sig), 0);
    u = open_sgx(g.root);
    assert_int_equal(gtee_tee_sealing_key(u, GTEE_SEAL_MRENCLAVE, k3, &err), 0);
    assert_int_equal(gtee_tee_sealing_key(u, GTEE_SEAL_MRSIGNER, k4, &err), 0);
    assert_memory_not_equal(k1, k3, 32);
    assert_memory_equal(k2, k4, 32);
    gtee_tee_close(u);
    fake_gramine_destroy(&g);
    gtee_tee_close(t);
    fake_gramine_destroy(&f);
}

static void test_sgx_rejects_a_key_file_of_the_wrong_size(void **state)
{
    struct fake_gramine f;
    struct gtee_err err = {0};
    uint8_t k[32];
    char p[PATH_MAX + 64];
    struct gtee_tee *t;

    make_fake(&f, "dcap");
    snprintf(p, sizeof(p), "%s/dev/attestation/keys/_sgx_mrsigner", f.root);
    assert_int_equal(fake_write(p, key_sig, 15), 0);
    t = open_sgx(f.root);
    assert_int_equal(gtee_tee_sealing_key(t, GTEE_SEAL_MRSIGNER, k, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "15 bytes"));
    gtee_tee_close(t);
    fake_gramine_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_evidence_is_the_gramine_quote_over_our_report_data),
        cmocka_unit_test(test_sgx_measurement_is_mrenclave_of_the_quote),
        cmocka_unit_test(test_sgx_refuses_attestation_type_other_than_dcap),
        cmocka_unit_test(test_sgx_sealing_keys_are_256_bit_and_bound_to_policy),
        cmocka_unit_test(test_sgx_rejects_a_key_file_of_the_wrong_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
