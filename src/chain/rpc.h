/* Internal: Ethereum JSON-RPC 2.0 over HTTP(S) through libcurl: one request at a time,
 * every wait bounded, transport failures retried with exponential backoff, and the
 * response parser (fuzz/fuzz_jsonrpc.c) that turns a JSON-RPC error into a clear message
 * with the revert reason. */
#ifndef GTEE_CHAIN_RPC_H
#define GTEE_CHAIN_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gtee/err.h"

#define RPC_RESPONSE_MAX (8u << 20)

struct rpc {
    void *curl;            /* CURL * */
    char url[1024];
    unsigned timeout_ms;   /* per attempt, connect included */
    unsigned retries;      /* attempts after the first, on transport failures and HTTP 429/5xx */
    unsigned backoff_ms;   /* first wait; doubles each retry */
    uint64_t next_id;
};

int rpc_open(struct rpc *r, const char *url, unsigned timeout_ms, unsigned retries, struct gtee_err *err) GTEE_MUST_USE;
void rpc_close(struct rpc *r);

/* Calls method with params (a JSON array; the reference is stolen). *result is the
 * response's "result" (new reference). A JSON-RPC error is GTEE_EPOLICY ("the chain
 * refused"), with its message and, when the error carries revert data, the decoded reason;
 * a transport failure after the retries GTEE_EIO; a malformed response GTEE_EFORMAT. */
int rpc_call(struct rpc *r, const char *method, json_t *params, json_t **result, struct gtee_err *err) GTEE_MUST_USE;

/* The parser behind rpc_call, on a response body already received. */
int rpc_parse_response(const char *body, size_t len, uint64_t id, const char *method, json_t **result,
                       struct gtee_err *err) GTEE_MUST_USE;

/* One log object of eth_getLogs into l (its data malloc'ed): the fields the evm client
 * reads, each checked (fuzz/fuzz_jsonrpc.c). */
struct gtee_evm_log;
int rpc_log_parse(json_t *o, struct gtee_evm_log *l, struct gtee_err *err) GTEE_MUST_USE;

/* Hex quantities and data of JSON-RPC ("0x1a", "0x" + bytes). */
int rpc_quantity(json_t *v, uint64_t *out, struct gtee_err *err) GTEE_MUST_USE;
int rpc_quantity256(json_t *v, uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;
/* Decodes "0x..." data into a malloc'ed buffer (at most max bytes). */
int rpc_data(json_t *v, size_t max, uint8_t **out, size_t *len, struct gtee_err *err) GTEE_MUST_USE;
/* "0x" + hex of p, a new JSON string; and a quantity without leading zeros. */
json_t *rpc_hex(const uint8_t *p, size_t n);
json_t *rpc_hex_quantity(uint64_t v);

#endif
