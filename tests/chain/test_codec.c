/* The EVM client's codecs: RLP against the Ethereum wiki's examples (Yellow Paper,
 * Appendix B), the canonical-only decoder refusing every non-canonical form, the ABI readers'
 * bounds and revert reasons, the JSON-RPC answer parser and quantities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/rlp.h"
#include "chain/rpc.h"
#include "gtee/crypto.h"

static void expect_hex(const struct chain_buf *b, const char *hex)
{
    char *got = malloc(2 * b->len + 1);

    assert_non_null(got);
    assert_false(b->oom);
    gtee_hex_encode(b->p, b->len, got);
    assert_string_equal(got, hex);
    free(got);
}

static void test_rlp_encodes_the_wiki_examples(void **state)
{
    struct chain_buf b = {0};
    size_t l0, l1, l2;
    const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

    (void)state;
    rlp_bytes(&b, (const uint8_t *)"dog", 3);
    expect_hex(&b, "83646f67");
    chain_buf_free(&b);
    l0 = b.len;
    rlp_bytes(&b, (const uint8_t *)"cat", 3);
    rlp_bytes(&b, (const uint8_t *)"dog", 3);
    rlp_list_close(&b, l0);
    expect_hex(&b, "c88363617483646f67");
    chain_buf_free(&b);
    rlp_bytes(&b, NULL, 0);
    rlp_list_close(&b, b.len);
    rlp_uint(&b, 0);
    rlp_uint(&b, 15);
    rlp_uint(&b, 1024);
    expect_hex(&b, "80c080" "0f" "820400");
    chain_buf_free(&b);
    /* the set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ] */
    l0 = b.len;
    rlp_list_close(&b, b.len);
    l1 = b.len;
    rlp_list_close(&b, b.len);
    rlp_list_close(&b, l1);
    l1 = b.len;
    rlp_list_close(&b, b.len);
    l2 = b.len;
    rlp_list_close(&b, b.len);
    rlp_list_close(&b, l2);
    rlp_list_close(&b, l1);
    rlp_list_close(&b, l0);
    expect_hex(&b, "c7c0c1c0c3c0c1c0");
    chain_buf_free(&b);
    rlp_bytes(&b, (const uint8_t *)lorem, strlen(lorem));
    assert_int_equal(b.len, 2 + 56);
    assert_int_equal(b.p[0], 0xb8);
    assert_int_equal(b.p[1], 0x38);
    chain_buf_free(&b);
}

static int decode_all(const char *hex)
{
    uint8_t buf[64];
    size_t n = strlen(hex) / 2;
    const uint8_t *cur = buf;
    struct rlp_item it;
    struct gtee_err err = {0};

    assert_int_equal(gtee_hex_decode(hex, buf, n), 0);
    while (cur < buf + n) {
        int rc = rlp_next(buf, &cur, buf + n, &it, &err);

        if (rc)
            return rc;
    }
    return 0;
}

static void test_rlp_decoder_takes_canonical_forms_only(void **state)
{
    (void)state;
    assert_int_equal(decode_all("83646f67"), 0);
    assert_int_equal(decode_all("c88363617483646f67"), 0);
    assert_int_equal(decode_all("8105"), GTEE_EFORMAT);   /* one byte below 0x80, wrapped */
    assert_int_equal(decode_all("b80564"), GTEE_EFORMAT); /* long form for 5 bytes */
    assert_int_equal(decode_all("b90038"), GTEE_EFORMAT); /* a length with a leading zero */
    assert_int_equal(decode_all("83646f"), GTEE_EFORMAT); /* truncated */
    assert_int_equal(decode_all("c883636174"), GTEE_EFORMAT);
    assert_int_equal(decode_all("bf"), GTEE_EFORMAT);     /* a length of length past the end */
}

static void test_abi_readers_and_revert_reasons(void **state)
{
    struct chain_buf b = {0};
    struct gtee_err err = {0};
    char reason[128], *s = NULL;
    uint64_t v;
    uint8_t w[32];

    (void)state;
    /* Error("rewards: nothing to claim") as a contract returns it */
    abi_selector(&b, "Error(string)");
    abi_u64(&b, 32);
    abi_tail(&b, "rewards: nothing to claim", 25);
    assert_int_equal(b.len, 4 + 32 + 32 + 32);
    assert_memory_equal(b.p, "\x08\xc3\x79\xa0", 4);
    abi_revert_reason(b.p, b.len, reason, sizeof(reason));
    assert_string_equal(reason, "rewards: nothing to claim");
    assert_int_equal(abi_string(b.p + 4, b.len - 4, 0, 0, &s, &err), 0);
    assert_string_equal(s, "rewards: nothing to claim");
    free(s);
    /* a length running past the data, an offset out of bounds */
    b.p[4 + 32 + 31] = 200;
    assert_int_equal(abi_string(b.p + 4, b.len - 4, 0, 0, &s, &err), GTEE_EFORMAT);
    abi_revert_reason(b.p, b.len, reason, sizeof(reason));
    assert_non_null(strstr(reason, "undecoded"));
    b.p[4 + 31] = 0xff;
    assert_int_equal(abi_string(b.p + 4, b.len - 4, 0, 0, &s, &err), GTEE_EFORMAT);
    chain_buf_free(&b);
    abi_selector(&b, "Panic(uint256)");
    abi_u64(&b, 0x11);
    abi_revert_reason(b.p, b.len, reason, sizeof(reason));
    assert_string_equal(reason, "panic 0x11");
    abi_revert_reason(NULL, 0, reason, sizeof(reason));
    assert_string_equal(reason, "no reason given");
    chain_buf_free(&b);
    memset(w, 0, 32);
    w[23] = 1; /* 2^64 */
    assert_int_equal(abi_word_u64(w, 32, 0, &v, &err), GTEE_EFORMAT);
    assert_int_equal(abi_word_u64(w, 32, 1, &v, &err), GTEE_EFORMAT);
    w[0] = 1; /* not an address: a high byte set */
    assert_int_equal(abi_word_address(w, 32, 0, w, &err), GTEE_EFORMAT);
}

static void test_jsonrpc_answers(void **state)
{
    static const char revert[] =
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":3,\"message\":\"execution reverted\",\"data\":"
        "\"0x08c379a00000000000000000000000000000000000000000000000000000000000000020"
        "0000000000000000000000000000000000000000000000000000000000000004"
        "6e6f706500000000000000000000000000000000000000000000000000000000\"}}";
    struct gtee_err err = {0};
    json_t *res = NULL;
    uint64_t v;
    uint8_t w[32];
    const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"0x7a69\"}";

    (void)state;
    assert_int_equal(rpc_parse_response(ok, strlen(ok), 7, "eth_chainId", &res, &err), 0);
    assert_int_equal(rpc_quantity(res, &v, &err), 0);
    assert_int_equal(v, 31337);
    json_decref(res);
    assert_int_equal(rpc_parse_response(ok, strlen(ok), 8, "eth_chainId", &res, &err), GTEE_EFORMAT);
    assert_int_equal(rpc_parse_response(revert, strlen(revert), 7, "eth_estimateGas", &res, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "revert reason: nope"));
    assert_int_equal(rpc_parse_response("[]", 2, 7, "x", &res, &err), GTEE_EFORMAT);
    assert_int_equal(rpc_parse_response("{\"id\":7}", 8, 7, "x", &res, &err), GTEE_EFORMAT);
    res = json_string("0x01"); /* a quantity has no leading zero */
    assert_int_equal(rpc_quantity(res, &v, &err), GTEE_EFORMAT);
    json_decref(res);
    res = json_string("0x10000000000000000"); /* 2^64 */
    assert_int_equal(rpc_quantity(res, &v, &err), GTEE_EFORMAT);
    assert_int_equal(rpc_quantity256(res, w, &err), 0);
    assert_int_equal(w[23], 1);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlp_encodes_the_wiki_examples),
        cmocka_unit_test(test_rlp_decoder_takes_canonical_forms_only),
        cmocka_unit_test(test_abi_readers_and_revert_reasons),
        cmocka_unit_test(test_jsonrpc_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
