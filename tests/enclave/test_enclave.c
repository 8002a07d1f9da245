/* The enclave process over its one socket: INFO, EVIDENCE, SEAL/UNSEAL, malformed input,
 * and the measurement of exactly the executed file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "enclave/harness.c"
#include "gtee/crypto.h"
#include "gtee/tee.h"

static int setup(void **state)
{
    struct harness *h = calloc(1, sizeof(*h));

    if (!h || harness_start(h, NULL, "test") != 0)
        return -1;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    struct harness *h = *state;
    int st = harness_stop(h);

    free(h);
    /* the enclave ends cleanly when the host closes the socket */
    return (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -1;
}

static void test_info_names_backend_measurement_and_keys(void **state)
{
    struct harness *h = *state;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    uint8_t kh[32];

    assert_int_equal(gtee_enclave_info(&h->p, &info, &err), 0);
    assert_int_equal(info.kind, GTEE_TEE_KIND_SGX);
    assert_false(info.simulated);
    assert_int_equal(info.measurement_len, 32);
    assert_memory_equal(info.measurement, h->f.quote + 112, 32); /* MRENCLAVE of the quote */
    /* the file the host hashed is the file the enclave runs */
    assert_memory_equal(info.exe_sha256, h->p.binary_sha256, 32);
    gtee_keccak256(info.enclave_pub + 1, 64, kh);
    assert_memory_equal(info.enclave_addr, kh + 12, 20);
    assert_int_equal(info.enclave_pub[0], 0x04);
    assert_int_equal(info.channel_pub[0], 0x04);
}

static void test_channel_key_is_fresh_each_start_and_enclave_id_is_not(void **state)
{
    struct harness *h = *state, h2;
    struct gtee_enclave_info a, b;
    struct gtee_err err = {0};

    assert_int_equal(gtee_enclave_info(&h->p, &a, &err), 0);
    assert_int_equal(harness_start(&h2, NULL, "test"), 0);
    assert_int_equal(gtee_enclave_info(&h2.p, &b, &err), 0);
    assert_memory_equal(a.enclave_addr, b.enclave_addr, 20);
    assert_memory_not_equal(a.channel_pub, b.channel_pub, 65);
    assert_int_equal(harness_stop(&h2), 0);
}

static void test_evidence_report_data_commits_to_both_keys_and_the_nonce(void **state)
{
    struct harness *h = *state;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    uint8_t nonce[32], rd[64], *r = NULL;
    size_t n = 0;

    assert_int_equal(gtee_enclave_info(&h->p, &info, &err), 0);
    assert_int_equal(gtee_random(nonce, sizeof(nonce)), 0);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_EVIDENCE, nonce, sizeof(nonce), &r, &n, &err), 0);
    assert_int_equal(gtee_tee_report_data(info.enclave_pub, info.channel_pub, nonce, rd), 0);
    assert_int_equal(n, 64 + h->f.quote_len);
    assert_memory_equal(r, rd, 64);
    assert_memory_equal(r + 64, h->f.quote, h->f.quote_len);
    assert_memory_equal(h->f.srv.seen, rd, 64); /* what reached user_report_data */
    free(r);
}

static void test_unseal_keeps_the_plaintext_inside(void **state)
{
    struct harness *h = *state;
    static const uint8_t data[] = "\x01host-known data";
    struct gtee_err err = {0};
    uint8_t *blob = NULL, *r = NULL;
    size_t blob_len = 0, n = 0;

    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_SEAL, data, sizeof(data) - 1, &blob, &blob_len, &err), 0);
    assert_int_equal(blob_len, sizeof(data) - 2 + GTEE_SEAL_OVERHEAD);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_UNSEAL, blob, blob_len, &r, &n, &err), 0);
    assert_int_equal(n, 4); /* only the length comes back */
    assert_int_equal(r[3], sizeof(data) - 2);
    free(r);
    blob[blob_len - 1] ^= 1;
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_UNSEAL, blob, blob_len, &r, &n, &err), GTEE_EAUTH);
    free(blob);
}

static void test_malformed_messages_get_error_replies_and_the_enclave_lives_on(void **state)
{
    struct harness *h = *state;
    static const uint8_t bad_policy[] = { 9, 'x' };
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    uint8_t junk[100], *r = NULL;
    size_t n = 0;

    memset(junk, 0xee, sizeof(junk));
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_EVIDENCE, junk, 31, &r, &n, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "EVIDENCE payload is 31 bytes"));
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_INFO, junk, 1, &r, &n, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_SEAL, bad_policy, sizeof(bad_policy), &r, &n, &err),
                     GTEE_EFORMAT);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_SEAL, NULL, 0, &r, &n, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_UNSEAL, junk, sizeof(junk), &r, &n, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_RELAY, junk, sizeof(junk), &r, &n, &err), GTEE_EKEY);
    assert_int_equal(gtee_enclave_call(&h->p, GTEE_MSG_RELAY, junk, 10, &r, &n, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_enclave_call(&h->p, 0x42, NULL, 0, &r, &n, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "unknown type 0x0042"));
    assert_null(r);
    assert_int_equal(gtee_enclave_info(&h->p, &info, &err), 0);
}

static void test_a_bad_header_gets_an_error_then_the_stream_ends(void **state)
{
    struct harness *h = *state;
    uint8_t hdr[GTEE_MSG_HEADER_LEN], *in = NULL;
    struct gtee_msg_header mh;
    struct gtee_err err = {0};
    size_t n = 0;

    gtee_msg_header_write(hdr, GTEE_MSG_INFO, 7, GTEE_MSG_MAX_PAYLOAD + 1); /* over the limit */
    assert_int_equal(gtee_msg_send(h->p.fd, hdr, sizeof(hdr), &err), 0);
    assert_int_equal(gtee_msg_recv(h->p.fd, &in, &n, &err), 0);
    assert_int_equal(gtee_msg_header_parse(in, n, &mh, &err), 0);
    assert_int_equal(mh.type, GTEE_MSG_ERROR | GTEE_MSG_REPLY);
    free(in);
    assert_int_equal(gtee_msg_recv(h->p.fd, &in, &n, &err), GTEE_ENOTFOUND);
    /* the enclave exits with a failure status: teardown would see it, so reap here */
    {
        int st = 0;

        assert_int_equal(gtee_enclave_stop(&h->p, &st), 0);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 1);
    }
    fake_gramine_destroy(&h->f);
    free(h);
}

static void test_another_binary_has_another_measurement_and_id(void **state)
{
    struct harness *h = *state, h2;
    struct gtee_enclave_info a, b;
    struct gtee_err err = {0};
    char copy[PATH_MAX + 32];
    size_t len;
    uint8_t *bin = fake_load(harness_binary(), &len);

    /* A different file: the same program with one byte appended (an ELF still runs). */
    assert_non_null(bin);
    snprintf(copy, sizeof(copy), "%s/gtee-enclave-copy", h->f.root);
    assert_int_equal(fake_write(copy, bin, len), 0);
    {
        FILE *f = fopen(copy, "ab");

        assert_non_null(f);
        fputc(0x5a, f);
        fclose(f);
    }
    assert_int_equal(chmod(copy, 0700), 0);
    free(bin);
    assert_int_equal(gtee_enclave_info(&h->p, &a, &err), 0);
    assert_int_equal(harness_start(&h2, copy, "test"), 0);
    assert_int_equal(gtee_enclave_info(&h2.p, &b, &err), 0);
    assert_memory_not_equal(a.exe_sha256, b.exe_sha256, 32);
    assert_memory_equal(b.exe_sha256, h2.p.binary_sha256, 32);
    unlink(copy);
    assert_int_equal(harness_stop(&h2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_info_names_backend_measurement_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_key_is_fresh_each_start_and_enclave_id_is_not, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_report_data_commits_to_both_keys_and_the_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unseal_keeps_the_plaintext_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_messages_get_error_replies_and_the_enclave_lives_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_bad_header_gets_an_error_then_the_stream_ends, setup, NULL),
        cmocka_unit_test_setup_teardown(test_another_binary_has_another_measurement_and_id, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
