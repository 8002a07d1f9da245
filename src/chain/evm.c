/* The EVM client: EIP-1559 transactions (EIP-1559 "Specification", EIP-2718 type 2) signed
 * with the operator's key, sent over JSON-RPC and followed to their receipt within a bound;
 * calls; the revert reason of a refused transaction, found at the gas estimate before
 * anything is sent. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "chain/buf.h"
#include "chain/rlp.h"
#include "chain/rpc.h"
#include "gtee/crypto.h"
#include "gtee/evm.h"
#include "gtee/net.h"

struct gtee_evm {
    struct rpc rpc;
    uint8_t key[32];
    uint8_t addr[GTEE_EVM_ADDR_LEN];
    uint64_t chain_id;
    unsigned receipt_timeout_s;
};

int gtee_evm_open(const struct gtee_evm_options *o, const uint8_t key[32], struct gtee_evm **out,
                  struct gtee_err *err)
{
    struct gtee_evm *e = calloc(1, sizeof(*e));
    uint8_t pub[GTEE_SECP256K1_PUB_LEN];
    json_t *res = NULL;
    int rc;

    *out = NULL;
    ENSURE(e, err, GTEE_ENOMEM, "evm: out of memory");
    ENSURE(o->rpc_url, err, GTEE_EINVAL, "evm: no RPC URL");
    memcpy(e->key, key, 32);
    rc = gtee_secp256k1_public(e->key, pub);
    ENSURE(rc == 0, err, GTEE_EKEY, "evm: the operator key is not a valid secp256k1 private key");
    TRY(gtee_eth_address(pub, e->addr));
    TRY(rpc_open(&e->rpc, o->rpc_url, o->timeout_ms, o->retries, err));
    e->receipt_timeout_s = o->receipt_timeout_s ? o->receipt_timeout_s : 60;
    TRY(rpc_call(&e->rpc, "eth_chainId", NULL, &res, err));
    TRY(rpc_quantity(res, &e->chain_id, err));
    *out = e;
    e = NULL;
out:
    json_decref(res);
    gtee_evm_close(e);
    return rc;
}

void gtee_evm_close(struct gtee_evm *e)
{
    if (!e)
        return;
    rpc_close(&e->rpc);
    gtee_wipe(e->key, sizeof(e->key));
    free(e);
}

uint64_t gtee_evm_chain_id(const struct gtee_evm *e)
{
    return e->chain_id;
}

void gtee_evm_address(const struct gtee_evm *e, uint8_t addr[GTEE_EVM_ADDR_LEN])
{
    memcpy(addr, e->addr, GTEE_EVM_ADDR_LEN);
}

/* {from, to, value, data} as eth_call and eth_estimateGas take it */
static json_t *call_object(const struct gtee_evm *e, const uint8_t *to, const uint8_t *value, const uint8_t *data,
                           size_t len)
{
    json_t *o = json_object();
    uint8_t zero[32] = {0};
    size_t i = 0;

    if (!o)
        return NULL;
    json_object_set_new(o, "from", rpc_hex(e->addr, GTEE_EVM_ADDR_LEN));
    if (to)
        json_object_set_new(o, "to", rpc_hex(to, GTEE_EVM_ADDR_LEN));
    if (value && memcmp(value, zero, 32)) {
        char q[2 + 64 + 1] = "0x", *d;

        while (i < 31 && value[i] == 0)
            i++;
        gtee_hex_encode(value + i, 32 - i, q + 2);
        d = q + 2 + (q[2] == '0'); /* a quantity has no leading zero digit */
        d[-2] = '0';
        d[-1] = 'x';
        json_object_set_new(o, "value", json_string(d - 2));
    }
    json_object_set_new(o, "data", rpc_hex(data, len));
    return o;
}

int gtee_evm_call(struct gtee_evm *e, const uint8_t to[GTEE_EVM_ADDR_LEN], const uint8_t *data, size_t len,
                  uint8_t **out, size_t *out_len, struct gtee_err *err)
{
    json_t *res = NULL;
    int rc;

    TRY(rpc_call(&e->rpc, "eth_call", json_pack("[o, s]", call_object(e, to, NULL, data, len), "latest"), &res, err));
    TRY(rpc_data(res, RPC_RESPONSE_MAX, out, out_len, err));
out:
    json_decref(res);
    return rc;
}

static int query_u64(struct gtee_evm *e, const char *method, json_t *params, uint64_t *v, struct gtee_err *err)
{
    json_t *res = NULL;
    int rc;

    TRY(rpc_call(&e->rpc, method, params, &res, err));
    TRY(rpc_quantity(res, v, err));
out:
    json_decref(res);
    return rc;
}

/* The fields every EIP-1559 transaction signs, as RLP items (EIP-1559: chain_id, nonce,
 * max_priority_fee_per_gas, max_fee_per_gas, gas_limit, destination, amount, data,
 * access_list). */
struct tx {
    uint64_t nonce, tip, max_fee, gas;
    const uint8_t *to, *value, *data;
    size_t len;
};

static void tx_fields(struct chain_buf *b, uint64_t chain_id, const struct tx *t)
{
    uint8_t zero[32] = {0};
    size_t list;

    rlp_uint(b, chain_id);
    rlp_uint(b, t->nonce);
    rlp_uint(b, t->tip);
    rlp_uint(b, t->max_fee);
    rlp_uint(b, t->gas);
    rlp_bytes(b, t->to, t->to ? GTEE_EVM_ADDR_LEN : 0);
    rlp_u256(b, t->value ? t->value : zero);
    rlp_bytes(b, t->data, t->len);
    list = b->len;
    rlp_list_close(b, list); /* an empty access list */
}

/* 0x02 || rlp([fields..., y_parity, r, s]) and its hash. */
static int sign_tx(const struct gtee_evm *e, const struct tx *t, struct chain_buf *raw, uint8_t hash[32],
                   struct gtee_err *err)
{
    struct chain_buf b = {0};
    uint8_t digest[32], sig[GTEE_SECP256K1_RSIG_LEN];
    size_t list;
    int rc = 0;

    chain_buf_put(&b, "\x02", 1);
    list = b.len;
    tx_fields(&b, e->chain_id, t);
    rlp_list_close(&b, list);
    ENSURE(!b.oom, err, GTEE_ENOMEM, "evm: out of memory encoding a transaction");
    gtee_keccak256(b.p, b.len, digest);
    rc = gtee_secp256k1_sign(e->key, digest, sig);
    ENSURE(rc == 0, err, GTEE_ECRYPTO, "evm: signing the transaction failed");
    chain_buf_put(raw, "\x02", 1);
    list = raw->len;
    tx_fields(raw, e->chain_id, t);
    rlp_uint(raw, sig[64]);
    rlp_u256(raw, sig);
    rlp_u256(raw, sig + 32);
    rlp_list_close(raw, list);
    ENSURE(!raw->oom, err, GTEE_ENOMEM, "evm: out of memory encoding a transaction");
    gtee_keccak256(raw->p, raw->len, hash);
out:
    chain_buf_free(&b);
    return rc;
}

static int wait_receipt(struct gtee_evm *e, const uint8_t hash[32], struct gtee_evm_receipt *r, struct gtee_err *err)
{
    int64_t deadline = gtee_net_clock_ms() + 1000 * (int64_t)e->receipt_timeout_s;
    uint64_t status = 0;
    char hex[67] = "0x";
    json_t *res = NULL, *ca;
    int rc = 0;

    gtee_hex_encode(hash, 32, hex + 2);
    for (;;) {
        TRY(rpc_call(&e->rpc, "eth_getTransactionReceipt", json_pack("[s]", hex), &res, err));
        if (!json_is_null(res))
            break;
        json_decref(res);
        res = NULL;
        ENSURE(gtee_net_clock_ms() < deadline, err, GTEE_EIO, "evm: no receipt for transaction %s after %u s", hex,
               e->receipt_timeout_s);
        nanosleep(&(struct timespec){ .tv_nsec = 100000000L }, NULL);
    }
    memcpy(r->tx_hash, hash, 32);
    TRY(rpc_quantity(json_object_get(res, "status"), &status, err));
    TRY(rpc_quantity(json_object_get(res, "gasUsed"), &r->gas_used, err));
    TRY(rpc_quantity(json_object_get(res, "blockNumber"), &r->block, err));
    ca = json_object_get(res, "contractAddress");
    r->has_contract = json_is_string(ca);
    if (r->has_contract) {
        const char *s = json_string_value(ca);

        ENSURE(strlen(s) == 42 && gtee_hex_decode(s, r->contract, GTEE_EVM_ADDR_LEN) == 0, err, GTEE_EFORMAT,
               "evm: the receipt's contractAddress is malformed");
    }
    ENSURE(status == 1, err, GTEE_EPOLICY, "evm: transaction %s reverted on chain in block %llu", hex,
           (unsigned long long)r->block);
out:
    json_decref(res);
    return rc;
}

int gtee_evm_send(struct gtee_evm *e, const uint8_t *to, const uint8_t *value, const uint8_t *data, size_t len,
                  struct gtee_evm_receipt *r, struct gtee_err *err)
{
    struct tx t = { .to = to, .value = value, .data = data, .len = len };
    struct chain_buf raw = {0};
    uint8_t hash[32];
    uint64_t base = 0;
    json_t *res = NULL, *block = NULL;
    int rc;

    memset(r, 0, sizeof(*r));
    /* the estimate runs the transaction first: a revert stops here with its reason */
    TRY(query_u64(e, "eth_estimateGas", json_pack("[o]", call_object(e, to, value, data, len)), &t.gas, err));
    t.gas += t.gas / 4; /* headroom: state may move between the estimate and the block */
    TRY(query_u64(e, "eth_getTransactionCount", json_pack("[o, s]", rpc_hex(e->addr, GTEE_EVM_ADDR_LEN), "pending"),
                  &t.nonce, err));
    TRY(query_u64(e, "eth_maxPriorityFeePerGas", NULL, &t.tip, err));
    TRY(rpc_call(&e->rpc, "eth_getBlockByNumber", json_pack("[s, b]", "latest", 0), &block, err));
    TRY(rpc_quantity(json_object_get(block, "baseFeePerGas"), &base, err));
    ENSURE(base <= UINT64_MAX / 4 && t.tip <= UINT64_MAX / 4, err, GTEE_EFORMAT, "evm: the chain's fees are out of range");
    t.max_fee = 2 * base + t.tip; /* room for the base fee to double before inclusion */
    TRY(sign_tx(e, &t, &raw, hash, err));
    rc = rpc_call(&e->rpc, "eth_sendRawTransaction", json_pack("[o]", rpc_hex(raw.p, raw.len)), &res, err);
    /* a retried send the node already holds is the same transaction: follow it */
    if (rc == GTEE_EPOLICY && err && strstr(err->msg, "already known"))
        rc = 0;
    TRY(rc);
    TRY(wait_receipt(e, hash, r, err));
out:
    json_decref(res);
    json_decref(block);
    chain_buf_free(&raw);
    return rc;
}

int gtee_evm_block_number(struct gtee_evm *e, uint64_t *block, struct gtee_err *err)
{
    return query_u64(e, "eth_blockNumber", NULL, block, err);
}

int gtee_evm_block_time(struct gtee_evm *e, uint64_t *t, struct gtee_err *err)
{
    json_t *block = NULL;
    int rc;

    TRY(rpc_call(&e->rpc, "eth_getBlockByNumber", json_pack("[s, b]", "latest", 0), &block, err));
    TRY(rpc_quantity(json_object_get(block, "timestamp"), t, err));
out:
    json_decref(block);
    return rc;
}

void gtee_evm_logs_free(struct gtee_evm_log *logs, size_t n)
{
    for (size_t i = 0; logs && i < n; i++)
        free(logs[i].data);
    free(logs);
}

int gtee_evm_logs(struct gtee_evm *e, const uint8_t addr[GTEE_EVM_ADDR_LEN], const uint8_t (*topics)[32],
                  size_t n_topics, uint64_t from, uint64_t to, size_t max, struct gtee_evm_log **logs, size_t *n,
                  struct gtee_err *err)
{
    json_t *res = NULL, *filter, *tl = json_array();
    size_t count, i = 0;
    int rc = 0;

    *logs = NULL;
    *n = 0;
    ENSURE(n_topics >= 1 && n_topics <= 4, err, GTEE_EINVAL, "evm: a log filter takes 1 to 4 topics");
    for (size_t t = 0; tl && t < n_topics; t++)
        json_array_append_new(tl, rpc_hex(topics[t], 32));
    filter = json_pack("{s:o, s:o, s:o, s:o}", "address", rpc_hex(addr, GTEE_EVM_ADDR_LEN), "fromBlock",
                       rpc_hex_quantity(from), "toBlock", rpc_hex_quantity(to), "topics", tl);
    tl = NULL;
    ENSURE(filter, err, GTEE_ENOMEM, "evm: out of memory for a log filter");
    TRY(rpc_call(&e->rpc, "eth_getLogs", json_pack("[o]", filter), &res, err));
    ENSURE(json_is_array(res), err, GTEE_EFORMAT, "eth_getLogs: the answer is not an array");
    count = json_array_size(res);
    ENSURE(count <= max, err, GTEE_EFORMAT, "eth_getLogs: %zu logs in blocks %llu to %llu, over the %zu asked for",
           count, (unsigned long long)from, (unsigned long long)to, max);
    if (count) {
        *logs = calloc(count, sizeof(**logs));
        ENSURE(*logs, err, GTEE_ENOMEM, "evm: out of memory for %zu logs", count);
    }
    for (i = 0; i < count; i++) {
        TRY(rpc_log_parse(json_array_get(res, i), &(*logs)[i], err));
        ENSURE(!memcmp((*logs)[i].address, addr, GTEE_EVM_ADDR_LEN) && (*logs)[i].n_topics >= n_topics &&
                   !memcmp((*logs)[i].topics, topics, 32 * n_topics),
               err, GTEE_EFORMAT, "eth_getLogs: a log of another contract, event or topic than asked for");
    }
    *n = count;
out:
    if (rc < 0) {
        gtee_evm_logs_free(*logs, i);
        *logs = NULL;
    }
    json_decref(res);
    json_decref(tl);
    return rc;
}

int gtee_evm_tx_input(struct gtee_evm *e, const uint8_t hash[32], uint8_t **data, size_t *len, struct gtee_err *err)
{
    json_t *res = NULL;
    int rc;

    TRY(rpc_call(&e->rpc, "eth_getTransactionByHash", json_pack("[o]", rpc_hex(hash, 32)), &res, err));
    ENSURE(json_is_object(res), err, GTEE_ENOTFOUND, "eth_getTransactionByHash: the chain does not know the transaction");
    TRY(rpc_data(json_object_get(res, "input"), RPC_RESPONSE_MAX, data, len, err));
out:
    json_decref(res);
    return rc;
}
