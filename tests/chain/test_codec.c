/* The EVM client's codecs: RLP against the Ethereum wiki's examples (Yellow Paper,
 * Appendix B), the canonical-only decoder refusing every non-canonical form, the ABI readers'
 * bounds and revert reasons, the JSON-RPC answer parser and quantities; what a verifier reads
 * back from the chain: log objects, and proof submissions decoded from a transaction's input
 * (every proof field round-trips; a truncated input, a wide field, an offset or a count out of
 * bounds are refused). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/glacier.h"
#include "chain/rlp.h"
#include "chain/rpc.h"
#include "gtee/crypto.h"
#include "gtee/evm.h"

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

static void fill_proof(struct gtee_proof *p, uint64_t seq)
{
    memset(p, 0, sizeof(*p));
    p->domain.chain_id = 31337;
    memset(p->domain.contract, 0xcc, 20);
    for (int i = 0; i < 20; i++)
        p->enclave_id[i] = (uint8_t)(i + 1);
    memset(p->job_id, 0x11, 32);
    p->job_kind = 2;
    memset(p->model_cid, 0x22, 32);
    memset(p->input_cid, 0x33, 32);
    memset(p->output_cid, 0x44, 32);
    p->units = 123456789;
    memset(p->receipt_hash, 0x55, 32);
    p->start_time = 1780000000;
    p->end_time = 1780000010;
    p->seq = seq;
    memset(p->prev_hash, 0x66, 32);
    memset(p->evidence_hash, 0x77, 32);
    memset(p->gpu_evidence_hash, 0x88, 32);
    memset(p->sig, 0x99, 64);
    p->sig[64] = 28;
}

static void test_submissions_decode(void **state)
{
    struct gtee_proof in[3], *out = NULL;
    struct gtee_err err = {0};
    struct chain_buf b = {0};
    size_t n = 0;

    (void)state;
    for (int i = 0; i < 3; i++)
        fill_proof(&in[i], (uint64_t)i + 1);
    /* submitProof and submitProofs: every field back, the domain the reader's */
    for (size_t k = 1; k <= 3; k += 2) {
        glacier_submit_call(&b, in, k);
        assert_false(b.oom);
        assert_int_equal(glacier_submit_decode(b.p, b.len, &in[0].domain, 64, &out, &n, &err), 0);
        assert_int_equal(n, k);
        assert_memory_equal(out, in, k * sizeof(*out));
        free(out);
        /* one byte short: refused, nothing returned */
        assert_int_equal(glacier_submit_decode(b.p, b.len - 1, &in[0].domain, 64, &out, &n, &err), GTEE_EFORMAT);
        assert_null(out);
        assert_int_equal(n, 0);
        if (k == 3) {
            /* more proofs than asked for; a count past the input; an offset past it */
            assert_int_equal(glacier_submit_decode(b.p, b.len, &in[0].domain, 2, &out, &n, &err), GTEE_EFORMAT);
            b.p[4 + 32 + 31] = 4;
            assert_int_equal(glacier_submit_decode(b.p, b.len, &in[0].domain, 64, &out, &n, &err), GTEE_EFORMAT);
            b.p[4 + 32 + 31] = 3;
            b.p[4 + 30] = 0x40;
            assert_int_equal(glacier_submit_decode(b.p, b.len, &in[0].domain, 64, &out, &n, &err), GTEE_EFORMAT);
            b.p[4 + 30] = 0;
        } else {
            /* a jobKind wider than uint8 */
            b.p[4 + 2 * 32 + 30] = 1;
            assert_int_equal(glacier_submit_decode(b.p, b.len, &in[0].domain, 64, &out, &n, &err), GTEE_EFORMAT);
            assert_non_null(strstr(err.msg, "uint8"));
        }
        chain_buf_free(&b);
    }
    /* another function's input */
    assert_int_equal(glacier_submit_decode((const uint8_t *)"\x12\x34\x56\x78", 4, &in[0].domain, 64, &out, &n, &err),
                     GTEE_EFORMAT);
}

static void test_log_objects(void **state)
{
    static const char good[] =
        "{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"topics\":[\"0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0"
        "f7b2291e5b200ac8c7c3b925\",\"0x0000000000000000000000009965507d1a55bcc2695c58ba16fb37d819b0a4dc\"],\"data\":\"0x"
        "00000000000000000000000000000000000000000000000000000000000000aa\",\"blockNumber\":\"0x1b\",\"transactionHash\":"
        "\"0x1111111111111111111111111111111111111111111111111111111111111111\",\"logIndex\":\"0x2\",\"removed\":false}";
    struct gtee_evm_log l;
    struct gtee_err err = {0};
    json_t *o = json_loads(good, 0, NULL);

    (void)state;
    assert_non_null(o);
    assert_int_equal(rpc_log_parse(o, &l, &err), 0);
    assert_int_equal(l.block, 27);
    assert_int_equal(l.log_index, 2);
    assert_int_equal(l.n_topics, 2);
    assert_int_equal(l.topics[1][31], 0xdc);
    assert_int_equal(l.len, 32);
    assert_int_equal(l.data[31], 0xaa);
    free(l.data);
    /* a removed log; a short topic; five topics; no transaction hash */
    json_object_set_new(o, "removed", json_true());
    assert_int_equal(rpc_log_parse(o, &l, &err), GTEE_EFORMAT);
    json_object_set_new(o, "removed", json_false());
    json_array_append_new(json_object_get(o, "topics"), json_string("0x12"));
    assert_int_equal(rpc_log_parse(o, &l, &err), GTEE_EFORMAT);
    json_array_remove(json_object_get(o, "topics"), 2);
    for (int i = 0; i < 3; i++)
        json_array_append(json_object_get(o, "topics"), json_array_get(json_object_get(o, "topics"), 0));
    assert_int_equal(rpc_log_parse(o, &l, &err), GTEE_EFORMAT);
    for (int i = 0; i < 3; i++)
        json_array_remove(json_object_get(o, "topics"), 2);
    assert_int_equal(rpc_log_parse(o, &l, &err), 0);
    free(l.data);
    json_object_del(o, "transactionHash");
    assert_int_equal(rpc_log_parse(o, &l, &err), GTEE_EFORMAT);
    assert_null(l.data);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlp_encodes_the_wiki_examples),
        cmocka_unit_test(test_rlp_decoder_takes_canonical_forms_only),
        cmocka_unit_test(test_abi_readers_and_revert_reasons),
        cmocka_unit_test(test_jsonrpc_answers),
        cmocka_unit_test(test_submissions_decode),
        cmocka_unit_test(test_log_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
