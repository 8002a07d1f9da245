/* The node's parsers: node.conf, the operator key file, and the request parsers (Range,
 * Upload-Offset, ids, the upload body). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/config.h"
#include "node/node.h"
#include "node/reqparse.h"

static int conf(const char *text, struct gtee_node_config *c, struct gtee_err *err)
{
    memset(err, 0, sizeof(*err));
    return gtee_node_config_parse("node.conf", text, strlen(text), c, err);
}

static void test_config_defaults_and_values(void **state)
{
    struct gtee_node_config c;
    struct gtee_err err;
    char *text = NULL;

    assert_int_equal(conf("# nothing\n\n", &c, &err), 0);
    assert_string_equal(c.tee, "auto");
    assert_string_equal(c.listen, "127.0.0.1:8470");
    assert_int_equal(c.threads, 4);
    assert_int_equal(conf("tee = sim\nsim_dir = sim\nlisten = 127.0.0.1:0\nmax_blob_bytes = 1024\n"
                          "threads=2\r\n  drain_timeout_s = 0  \n",
                          &c, &err),
                     0);
    assert_string_equal(c.tee, "sim");
    assert_string_equal(c.listen, "127.0.0.1:0");
    assert_int_equal(c.max_blob_bytes, 1024);
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.drain_timeout_s, 0);
    /* What init writes reads back the same. */
    assert_int_equal(gtee_node_config_render(&c, &text, &err), 0);
    {
        struct gtee_node_config d;

        assert_int_equal(conf(text, &d, &err), 0);
        assert_memory_equal(&c, &d, sizeof(c));
    }
    free(text);
}

/* The stake a registration sends (node.conf's stake): decimal wei up to 2^256 - 1, to the
 * 256-bit big-endian number the ledger takes; it renders and reads back the same. */
static void test_config_stake(void **state)
{
    static const uint8_t one_eth[32] = { [24] = 0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00 };
    struct gtee_node_config c, d;
    struct gtee_err err;
    uint8_t wei[32], max[32];
    char *text = NULL;

    (void)state;
    assert_int_equal(conf("", &c, &err), 0);
    assert_int_equal(gtee_node_config_stake(&c, wei, &err), 0);
    assert_memory_equal(wei, (uint8_t[32]){ 0 }, 32);
    assert_int_equal(conf("stake = 1000000000000000000\n", &c, &err), 0);
    assert_int_equal(gtee_node_config_stake(&c, wei, &err), 0);
    assert_memory_equal(wei, one_eth, 32);
    assert_int_equal(gtee_node_config_render(&c, &text, &err), 0);
    assert_int_equal(conf(text, &d, &err), 0);
    assert_memory_equal(&c, &d, sizeof(c));
    free(text);
    /* 2^256 - 1 is the largest */
    assert_int_equal(
        conf("stake = 115792089237316195423570985008687907853269984665640564039457584007913129639935\n", &c, &err), 0);
    assert_int_equal(gtee_node_config_stake(&c, wei, &err), 0);
    memset(max, 0xff, 32);
    assert_memory_equal(wei, max, 32);
    assert_int_equal(
        conf("stake = 115792089237316195423570985008687907853269984665640564039457584007913129639936\n", &c, &err),
        GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "line 1: stake"));
    assert_int_equal(conf("\nstake = 1e18\n", &c, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "line 2: stake"));
    assert_int_equal(conf("stake = -1\n", &c, &err), GTEE_EFORMAT);
    assert_int_equal(conf("stake =\n", &c, &err), GTEE_EFORMAT);
}

static void test_config_rejects(void **state)
{
    struct gtee_node_config c;
    struct gtee_err err;

    assert_int_equal(conf("tea = sim\n", &c, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "line 1: unknown key 'tea'"));
    assert_int_equal(conf("threads = 2\nthreads = 3\n", &c, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "line 2: key 'threads' given twice"));
    assert_int_equal(conf("threads = 0\n", &c, &err), GTEE_EFORMAT);
    assert_int_equal(conf("threads = -1\n", &c, &err), GTEE_EFORMAT);
    assert_int_equal(conf("threads = 1x\n", &c, &err), GTEE_EFORMAT);
    assert_int_equal(conf("max_blob_bytes = 99999999999999999999999\n", &c, &err), GTEE_EFORMAT);
    assert_int_equal(conf("tee = simulated\n", &c, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "not one of auto, sim"));
    assert_int_equal(conf("tee = sim\n", &c, &err), GTEE_EFORMAT); /* sim needs its device */
    assert_int_equal(conf("listen\n", &c, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_config_parse("node.conf", "tee = a\0b\n", 10, &c, &err), GTEE_EFORMAT);
    assert_int_equal(conf("enclave = a\tb\n", &c, &err), GTEE_EFORMAT);
}

static void test_opkey(void **state)
{
    static const char good[] = "gtee-operator-key-v1:"
                               "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318\n";
    uint8_t priv[32];
    struct gtee_err err = { 0 };
    char bad[sizeof(good)];

    assert_int_equal(gtee_node_opkey_parse("k", (const uint8_t *)good, strlen(good), priv, &err), 0);
    assert_int_equal(priv[0], 0x4c);
    assert_int_equal(gtee_node_opkey_parse("k", (const uint8_t *)good, strlen(good) - 1, priv, &err), 0);
    memcpy(bad, good, sizeof(good));
    bad[30] = 'g';
    assert_int_equal(gtee_node_opkey_parse("k", (const uint8_t *)bad, strlen(bad), priv, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "column 31"));
    assert_int_equal(gtee_node_opkey_parse("k", (const uint8_t *)good, 40, priv, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_opkey_parse("k", (const uint8_t *)"gtee-box-key-v1:00", 18, priv, &err), GTEE_EFORMAT);
    /* Zero is no secp256k1 key. */
    assert_int_equal(gtee_node_opkey_parse("k",
                                           (const uint8_t *)"gtee-operator-key-v1:"
                                                            "0000000000000000000000000000000000000000000000000000000000000000",
                                           85, priv, &err),
                     GTEE_EFORMAT);
}

static void test_range(void **state)
{
    struct gtee_err err = { 0 };
    uint64_t first = 0, len = 0;

    assert_int_equal(gtee_node_parse_range("bytes=0-9", 100, &first, &len, &err), 0);
    assert_true(first == 0 && len == 10);
    assert_int_equal(gtee_node_parse_range("bytes=90-", 100, &first, &len, &err), 0);
    assert_true(first == 90 && len == 10);
    assert_int_equal(gtee_node_parse_range("bytes=90-500", 100, &first, &len, &err), 0);
    assert_true(first == 90 && len == 10);
    assert_int_equal(gtee_node_parse_range("bytes=-30", 100, &first, &len, &err), 0);
    assert_true(first == 70 && len == 30);
    assert_int_equal(gtee_node_parse_range("bytes=-300", 100, &first, &len, &err), 0);
    assert_true(first == 0 && len == 100);
    assert_int_equal(gtee_node_parse_range("bytes=99-99", 100, &first, &len, &err), 0);
    assert_true(first == 99 && len == 1);
    assert_int_equal(gtee_node_parse_range("bytes=100-", 100, &first, &len, &err), GTEE_ENOTFOUND);
    assert_int_equal(gtee_node_parse_range("bytes=-0", 100, &first, &len, &err), GTEE_ENOTFOUND);
    assert_int_equal(gtee_node_parse_range("bytes=0-", 0, &first, &len, &err), GTEE_ENOTFOUND);
    assert_int_equal(gtee_node_parse_range("bytes=5-4", 100, &first, &len, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_range("bytes=0-1,5-6", 100, &first, &len, &err), GTEE_EUNSUPPORTED);
    assert_int_equal(gtee_node_parse_range("items=0-1", 100, &first, &len, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_range("bytes= 0-1", 100, &first, &len, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_range("bytes=-", 100, &first, &len, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_range("bytes=9999999999999999999-", 100, &first, &len, &err), GTEE_ENOTFOUND);
    assert_int_equal(gtee_node_parse_range("bytes=99999999999999999999-", 100, &first, &len, &err), GTEE_EFORMAT);
}

static void test_ids_offsets_upload(void **state)
{
    static const char cid[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    struct gtee_err err = { 0 };
    uint64_t v = 0, size = 0;
    char out[65], body[200];

    assert_int_equal(gtee_node_parse_offset("0", &v, &err), 0);
    assert_int_equal(gtee_node_parse_offset("1234", &v, &err), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(gtee_node_parse_offset(NULL, &v, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_offset("", &v, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_offset("-1", &v, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_offset("1 ", &v, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_hexid(cid, 64, "id", &err), 0);
    assert_int_equal(gtee_node_parse_hexid("00AA", 4, "id", &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_hexid("00aa0", 4, "id", &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_hexid("00a", 4, "id", &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_hexid("../x", 4, "id", &err), GTEE_EFORMAT);
    snprintf(body, sizeof(body), "{\"size\":10,\"content_id\":\"%s\"}", cid);
    assert_int_equal(gtee_node_parse_upload_req(body, strlen(body), 100, &size, out, &err), 0);
    assert_int_equal(size, 10);
    assert_string_equal(out, cid);
    assert_int_equal(gtee_node_parse_upload_req(body, strlen(body), 9, &size, out, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "max_blob_bytes"));
    snprintf(body, sizeof(body), "{\"size\":0,\"content_id\":\"%s\"}", cid);
    assert_int_equal(gtee_node_parse_upload_req(body, strlen(body), 100, &size, out, &err), GTEE_EFORMAT);
    snprintf(body, sizeof(body), "{\"size\":1,\"content_id\":\"%s\",\"x\":1}", cid);
    assert_int_equal(gtee_node_parse_upload_req(body, strlen(body), 100, &size, out, &err), GTEE_EFORMAT);
    snprintf(body, sizeof(body), "{\"size\":1,\"size\":2,\"content_id\":\"%s\"}", cid);
    assert_int_equal(gtee_node_parse_upload_req(body, strlen(body), 100, &size, out, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_upload_req("[1]", 3, 100, &size, out, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_upload_req("{\"size\":1,\"content_id\":\"ab\"}", 28, 100, &size, out, &err),
                     GTEE_EFORMAT);
    assert_int_equal(gtee_node_parse_upload_req("{", 1, 100, &size, out, &err), GTEE_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_values),
        cmocka_unit_test(test_config_rejects),
        cmocka_unit_test(test_config_stake),
        cmocka_unit_test(test_opkey),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_ids_offsets_upload),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
