/* Message framing and relay boxes: header checks, whole-message socket I/O, and relay
 * boxes that only the channel key's holder opens and that reject any change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtee/crypto.h"
#include "gtee/msg.h"

static void test_header_round_trips_and_rejects_bad_fields(void **state)
{
    uint8_t h[GTEE_MSG_HEADER_LEN];
    struct gtee_msg_header mh;
    struct gtee_err err = {0};

    gtee_msg_header_write(h, GTEE_MSG_SEAL, 0x0102030405060708ull, 77);
    /* the layout of docs/tee.md §2 */
    assert_memory_equal(h, "GTEM\x00\x01\x00\x03\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x4d", 20);
    assert_int_equal(gtee_msg_header_parse(h, sizeof(h), &mh, &err), 0);
    assert_int_equal(mh.type, GTEE_MSG_SEAL);
    assert_true(mh.request_id == 0x0102030405060708ull);
    assert_int_equal(mh.length, 77);
    assert_int_equal(gtee_msg_header_parse(h, sizeof(h) - 1, &mh, &err), GTEE_EFORMAT);
    h[0] = 'X';
    assert_int_equal(gtee_msg_header_parse(h, sizeof(h), &mh, &err), GTEE_EFORMAT);
    h[0] = 'G';
    h[5] = 2;
    assert_int_equal(gtee_msg_header_parse(h, sizeof(h), &mh, &err), GTEE_EUNSUPPORTED);
    h[5] = 1;
    gtee_msg_header_write(h, GTEE_MSG_SEAL, 1, GTEE_MSG_MAX_PAYLOAD);
    assert_int_equal(gtee_msg_header_parse(h, sizeof(h), &mh, &err), 0);
    gtee_msg_header_write(h, GTEE_MSG_SEAL, 1, GTEE_MSG_MAX_PAYLOAD + 1);
    assert_int_equal(gtee_msg_header_parse(h, sizeof(h), &mh, &err), GTEE_EFORMAT);
}

static void test_messages_cross_a_socket_whole(void **state)
{
    int sv[2];
    uint8_t *m = NULL, *in = NULL, *big = malloc(300000);
    size_t m_len = 0, in_len = 0;
    struct gtee_err err = {0};

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (size_t i = 0; i < 300000; i++)
        big[i] = (uint8_t)(i * 7);
    /* bigger than the socket buffer: the reader and writer must loop */
    if (fork() == 0) {
        close(sv[0]);
        if (gtee_msg_encode(GTEE_MSG_RELAY, 9, big, 300000, &m, &m_len, NULL) != 0 ||
            gtee_msg_send(sv[1], m, m_len, NULL) != 0)
            _exit(1);
        _exit(0);
    }
    close(sv[1]);
    assert_int_equal(gtee_msg_recv(sv[0], &in, &in_len, &err), 0);
    assert_int_equal(in_len, GTEE_MSG_HEADER_LEN + 300000);
    assert_memory_equal(in + GTEE_MSG_HEADER_LEN, big, 300000);
    free(in);
    /* end of stream before a header */
    assert_int_equal(gtee_msg_recv(sv[0], &in, &in_len, &err), GTEE_ENOTFOUND);
    wait(NULL);
    close(sv[0]);
    free(big);

    /* end of stream inside a payload */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    {
        uint8_t h[GTEE_MSG_HEADER_LEN + 3];

        gtee_msg_header_write(h, GTEE_MSG_INFO, 1, 10);
        assert_int_equal(gtee_msg_send(sv[1], h, sizeof(h), &err), 0);
        close(sv[1]);
        assert_int_equal(gtee_msg_recv(sv[0], &in, &in_len, &err), GTEE_EFORMAT);
        assert_null(in);
    }
    close(sv[0]);
}

static void test_error_message_carries_code_and_text(void **state)
{
    uint8_t *m = NULL;
    size_t n = 0;
    struct gtee_msg_header h;

    assert_int_equal(gtee_msg_encode_error(5, GTEE_EAUTH, "unseal: tag", &m, &n, NULL), 0);
    assert_int_equal(gtee_msg_header_parse(m, n, &h, NULL), 0);
    assert_int_equal(h.type, GTEE_MSG_ERROR | GTEE_MSG_REPLY);
    assert_int_equal(h.length, 4 + 11);
    assert_memory_equal(m + 20, "\xff\xff\xff\xfb" "unseal: tag", 15);
    free(m);
}

static void test_relay_box_opens_only_with_the_channel_key_and_untouched(void **state)
{
    uint8_t priv[32], pub[65], priv2[32], pub2[65], rk[32], rk2[32], *box = NULL, *pt = NULL, *resp = NULL;
    size_t box_len = 0, pt_len = 0, resp_len = 0;
    static const char msg[] = "for the enclave only";
    struct gtee_err err = {0};

    assert_int_equal(gtee_relay_keypair(priv, pub, &err), 0);
    assert_int_equal(gtee_relay_keypair(priv2, pub2, &err), 0);
    assert_int_equal(gtee_relay_seal_request(pub, msg, sizeof(msg), rk, &box, &box_len, &err), 0);
    assert_int_equal(box_len, sizeof(msg) + GTEE_RELAY_REQ_OVERHEAD);
    assert_null(memmem(box, box_len, "enclave", 7));
    assert_int_equal(gtee_relay_open_request(priv, pub, box, box_len, rk2, &pt, &pt_len, &err), 0);
    assert_memory_equal(pt, msg, sizeof(msg));
    assert_memory_equal(rk, rk2, 32); /* both sides hold the same response key */
    free(pt);
    /* another channel key */
    assert_int_equal(gtee_relay_open_request(priv2, pub2, box, box_len, rk2, &pt, &pt_len, &err), GTEE_EAUTH);
    /* any changed byte: the client key (another point or not a point) or the ciphertext */
    for (size_t i = 0; i < box_len; i += 7) {
        int rc;

        box[i] ^= 0x01;
        rc = gtee_relay_open_request(priv, pub, box, box_len, rk2, &pt, &pt_len, &err);
        assert_true(rc == GTEE_EAUTH || rc == GTEE_EKEY);
        assert_null(pt);
        box[i] ^= 0x01;
    }
    assert_int_equal(gtee_relay_open_request(priv, pub, box, GTEE_RELAY_REQ_OVERHEAD - 1, rk2, &pt, &pt_len, &err),
                     GTEE_EFORMAT);
    /* the response direction */
    assert_int_equal(gtee_relay_seal_response(rk, "result", 6, &resp, &resp_len, &err), 0);
    assert_int_equal(gtee_relay_open_response(rk, resp, resp_len, &pt, &pt_len, &err), 0);
    assert_memory_equal(pt, "result", 6);
    free(pt);
    resp[resp_len - 1] ^= 1;
    assert_int_equal(gtee_relay_open_response(rk, resp, resp_len, &pt, &pt_len, &err), GTEE_EAUTH);
    free(resp);
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trips_and_rejects_bad_fields),
        cmocka_unit_test(test_messages_cross_a_socket_whole),
        cmocka_unit_test(test_error_message_carries_code_and_text),
        cmocka_unit_test(test_relay_box_opens_only_with_the_channel_key_and_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
