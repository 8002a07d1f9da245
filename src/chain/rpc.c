/* Ethereum JSON-RPC 2.0 over HTTP through libcurl: bounded attempts (connect and total
 * timeouts, a response size cap), retries with exponential backoff on transport failures
 * and on HTTP 429 and 5xx only (a JSON-RPC error is the chain's answer, never retried), and a
 * strict response parser that reports the chain's refusal with its revert reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/rpc.h"
#include "gtee/crypto.h"
#include "gtee/evm.h"

struct body {
    char *p;
    size_t len;
    int too_big;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t add = size * n;
    char *p;

    if (add > RPC_RESPONSE_MAX - b->len) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    p = realloc(b->p, b->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, ptr, add);
    b->p = p;
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

int rpc_open(struct rpc *r, const char *url, unsigned timeout_ms, unsigned retries, struct gtee_err *err)
{
    static int global_done;

    memset(r, 0, sizeof(*r));
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "rpc: '%.200s' is not an http:// or https:// URL", url);
    if (strlen(url) >= sizeof(r->url))
        return GTEE_FAIL(err, GTEE_EINVAL, "rpc: URL longer than %zu bytes", sizeof(r->url) - 1);
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return GTEE_FAIL(err, GTEE_EIO, "rpc: libcurl failed to initialize");
        global_done = 1;
    }
    r->curl = curl_easy_init();
    if (!r->curl)
        return GTEE_FAIL(err, GTEE_ENOMEM, "rpc: libcurl failed to make a handle");
    strcpy(r->url, url);
    r->timeout_ms = timeout_ms ? timeout_ms : 10000;
    r->retries = retries;
    r->backoff_ms = 200;
    r->next_id = 1;
    return 0;
}

void rpc_close(struct rpc *r)
{
    if (r->curl)
        curl_easy_cleanup(r->curl);
    r->curl = NULL;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One POST; 0 with the body, or a transport failure (retryable: *retry set). */
static int post(struct rpc *r, const char *req, struct body *b, int *retry, struct gtee_err *err)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *c = r->curl;
    long status = 0;
    CURLcode cc;
    int rc = 0;

    *retry = 0;
    ENSURE(h, err, GTEE_ENOMEM, "rpc: out of memory");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cc = curl_easy_perform(c);
    ENSURE(!b->too_big, err, GTEE_EFORMAT, "rpc: %s answered more than %u bytes", r->url, RPC_RESPONSE_MAX);
    if (cc != CURLE_OK) {
        *retry = 1;
        rc = GTEE_FAIL(err, GTEE_EIO, "rpc: %s: %s", r->url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 429 || status >= 500) {
        *retry = 1;
        rc = GTEE_FAIL(err, GTEE_EIO, "rpc: %s answered HTTP %ld", r->url, status);
        goto out;
    }
    ENSURE(status == 200, err, GTEE_EIO, "rpc: %s answered HTTP %ld", r->url, status);
out:
    curl_slist_free_all(h);
    return rc;
}

int rpc_call(struct rpc *r, const char *method, json_t *params, json_t **result, struct gtee_err *err)
{
    uint64_t id = r->next_id++;
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method,
                            "params", params ? params : json_array());
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    unsigned wait = r->backoff_ms;
    int rc = 0, retry = 0;

    *result = NULL;
    json_decref(req);
    ENSURE(text, err, GTEE_ENOMEM, "rpc: out of memory for %s", method);
    for (unsigned attempt = 0;; attempt++) {
        struct body b = {0};

        rc = post(r, text, &b, &retry, err);
        if (rc == 0)
            rc = rpc_parse_response(b.p ? b.p : "", b.len, id, method, result, err);
        free(b.p);
        if (rc == 0 || !retry || attempt >= r->retries)
            break;
        sleep_ms(wait);
        wait *= 2;
    }
    if (rc < 0 && retry)
        gtee_err_wrap(err, "%s, after %u attempts: ", method, r->retries + 1);
out:
    free(text);
    return rc;
}

/* The chain's own words (message and revert reason) are escaped: they come from a peer. */
static int chain_error(json_t *e, const char *method, struct gtee_err *err)
{
    const char *m = json_string_value(json_object_get(e, "message"));
    json_t *data = json_object_get(e, "data");
    char msg[200], reason[200] = "";
    uint8_t *d = NULL;
    size_t n = 0;

    gtee_err_escape(m ? m : "(no message)", m ? strlen(m) : 12, msg, sizeof(msg));
    if (json_is_string(data) && rpc_data(data, 4096, &d, &n, NULL) == 0) {
        char r[180];

        abi_revert_reason(d, n, r, sizeof(r));
        snprintf(reason, sizeof(reason), " (revert reason: %s)", r);
        free(d);
    }
    return GTEE_FAIL(err, GTEE_EPOLICY, "%s: the chain refused: %s%s", method, msg, reason);
}

int rpc_parse_response(const char *body, size_t len, uint64_t id, const char *method, json_t **result,
                       struct gtee_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je), *e, *res;
    int rc = 0;

    *result = NULL;
    ENSURE(root && json_is_object(root), err, GTEE_EFORMAT, "%s: the answer is not a JSON object", method);
    ENSURE(json_is_integer(json_object_get(root, "id")) && json_integer_value(json_object_get(root, "id")) == (json_int_t)id,
           err, GTEE_EFORMAT, "%s: the answer is for another request id", method);
    e = json_object_get(root, "error");
    res = json_object_get(root, "result");
    if (e) {
        ENSURE(json_is_object(e), err, GTEE_EFORMAT, "%s: the answer's error is not an object", method);
        rc = chain_error(e, method, err);
        goto out;
    }
    ENSURE(res, err, GTEE_EFORMAT, "%s: the answer has neither result nor error", method);
    *result = json_incref(res);
out:
    json_decref(root);
    return rc;
}

int rpc_quantity(json_t *v, uint64_t *out, struct gtee_err *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    uint64_t x = 0;

    if (!s || n < 3 || n > 18 || s[0] != '0' || s[1] != 'x' || (s[2] == '0' && n > 3))
        return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: '%.40s' is not a hex quantity of at most 64 bits", s ? s : "(not a string)");
    for (size_t i = 2; i < n; i++) {
        int d = gtee_hex_digit(s[i]);

        if (d < 0)
            return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: '%.40s' is not a hex quantity", s);
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return 0;
}

int rpc_quantity256(json_t *v, uint8_t out[32], struct gtee_err *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    char padded[65];

    if (!s || n < 3 || n > 66 || s[0] != '0' || s[1] != 'x' || (s[2] == '0' && n > 3))
        return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: '%.70s' is not a hex quantity of at most 256 bits", s ? s : "(not a string)");
    memset(padded, '0', 64);
    memcpy(padded + 64 - (n - 2), s + 2, n - 2);
    padded[64] = '\0';
    if (gtee_hex_decode(padded, out, 32) != 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: '%.70s' is not a hex quantity", s);
    return 0;
}

int rpc_data(json_t *v, size_t max, uint8_t **out, size_t *len, struct gtee_err *err)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;

    *out = NULL;
    *len = 0;
    if (!s || n < 2 || s[0] != '0' || s[1] != 'x' || n % 2 || (n - 2) / 2 > max)
        return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: data is not 0x and an even number of hex digits (at most %zu bytes)", max);
    *out = malloc((n - 2) / 2 + 1);
    if (!*out)
        return GTEE_FAIL(err, GTEE_ENOMEM, "rpc: out of memory for %zu bytes of data", (n - 2) / 2);
    if ((n > 2 && gtee_hex_decode(s, *out, (n - 2) / 2) != 0)) {
        free(*out);
        *out = NULL;
        return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: data holds a character that is not hex");
    }
    *len = (n - 2) / 2;
    return 0;
}

json_t *rpc_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    json_t *j;

    if (!s)
        return NULL;
    s[0] = '0';
    s[1] = 'x';
    gtee_hex_encode(p, n, s + 2);
    j = json_string(s);
    free(s);
    return j;
}

json_t *rpc_hex_quantity(uint64_t v)
{
    char s[20];

    snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
    return json_string(s);
}

/* A fixed-size hex field ("0x" and 2n digits) of a log object. */
static int fixed_hex(json_t *v, uint8_t *out, size_t n, const char *what, struct gtee_err *err)
{
    const char *s = json_string_value(v);

    if (!s || strlen(s) != 2 + 2 * n || s[0] != '0' || s[1] != 'x' || gtee_hex_decode(s + 2, out, n) != 0)
        return GTEE_FAIL(err, GTEE_EFORMAT, "rpc: a log's %s is not %zu bytes of 0x-hex", what, n);
    return 0;
}

int rpc_log_parse(json_t *o, struct gtee_evm_log *l, struct gtee_err *err)
{
    json_t *topics = json_object_get(o, "topics");
    int rc;

    memset(l, 0, sizeof(*l));
    ENSURE(json_is_object(o), err, GTEE_EFORMAT, "rpc: a log is not a JSON object");
    ENSURE(!json_is_true(json_object_get(o, "removed")), err, GTEE_EFORMAT, "rpc: a log removed by a reorganisation");
    TRY(rpc_quantity(json_object_get(o, "blockNumber"), &l->block, err));
    TRY(rpc_quantity(json_object_get(o, "logIndex"), &l->log_index, err));
    TRY(fixed_hex(json_object_get(o, "transactionHash"), l->tx_hash, 32, "transactionHash", err));
    TRY(fixed_hex(json_object_get(o, "address"), l->address, GTEE_EVM_ADDR_LEN, "address", err));
    ENSURE(json_is_array(topics) && json_array_size(topics) >= 1 && json_array_size(topics) <= 4, err, GTEE_EFORMAT,
           "rpc: a log's topics are not an array of 1 to 4");
    l->n_topics = json_array_size(topics);
    for (size_t i = 0; i < l->n_topics; i++)
        TRY(fixed_hex(json_array_get(topics, i), l->topics[i], 32, "topic", err));
    TRY(rpc_data(json_object_get(o, "data"), RPC_RESPONSE_MAX, &l->data, &l->len, err));
out:
    if (rc < 0) {
        free(l->data);
        l->data = NULL;
        l->len = 0;
    }
    return rc;
}
