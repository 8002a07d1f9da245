/* The node's HTTP API on libmicrohttpd: a pool of polling threads (never a thread per
 * client), connection limits in all and per address, an idle timeout, and bounded request
 * bodies, so one slow or silent client never holds up the others. Every bad request gets a
 * 4xx with {"error":{"code":...,"message":...}}. Routes: docs/node-api.md. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/jobs.h"
#include "gtee/msg.h"
#include "node/api.h"
#include "node/ledger.h"
#include "node/reqparse.h"
#include "node/results.h"
#include "node/watch.h"

#define JSON_BODY_MAX (16u << 10)
/* Requests waiting for the enclave at once (each on its own thread, its connection suspended,
 * so no HTTP worker waits); beyond, 503 busy. */
#define ENCLAVE_PENDING_MAX 32
#define RELAY_BODY_MAX GTEE_MSG_MAX_PAYLOAD

enum route {
    R_NONE, R_PAGE, R_HEALTH, R_METRICS, R_STATUS, R_EVIDENCE, R_PROOFS, R_RELAY, R_JOBS, R_JOB, R_JOB_NEW, R_JOB_RECORD,
    R_BLOBS, R_BLOB, R_UPLOAD_NEW, R_UPLOAD_GET, R_UPLOAD_PUT,
};

/* One request's state, from its first call to its completion. */
struct req {
    enum route route;
    const char *id;          /* the id in the path (points into the url) */
    const char *allow;       /* the methods the path takes (405's Allow header) */
    uint8_t *body;           /* buffered body (JSON, relay box) */
    size_t len, max;
    int status;              /* a failure found while the body streamed in (0: none) */
    char code[24];
    char msg[GTEE_ERR_MSG_MAX];
    struct gtee_node_upload_put put;
    int put_open;
    int counted;
    /* A request for the enclave runs on a thread of its own while its connection is
     * suspended: phase 1 while it runs, 2 once resp holds the answer. */
    int phase;
    int waited;              /* a long poll on a job: suspended once (watch.c) */
    uint8_t nonce[GTEE_MSG_NONCE_LEN];
    struct MHD_Connection *conn;
    struct gtee_node_api *api;
    struct MHD_Response *resp;
    unsigned resp_status;
};

/* Set on an enclave request's thread: responses are kept for the connection's resumption
 * instead of being queued (libmicrohttpd queues from its own threads only). */
static __thread struct req *capture;

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static enum MHD_Result queue(struct gtee_node_api *a, struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *r)
{
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (capture) {
        capture->resp = r;
        capture->resp_status = status;
        ret = MHD_YES;
    } else {
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
    }
    if (status < 300)
        a->m.responses_2xx++;
    else if (status < 500)
        a->m.responses_4xx++;
    else
        a->m.responses_5xx++;
    return ret;
}

static enum MHD_Result send_text(struct gtee_node_api *a, struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);

    if (r)
        MHD_add_response_header(r, "Content-Type", type);
    return queue(a, c, status, r);
}

/* Steals o; one extra header when hdr is set. */
static enum MHD_Result send_json_hdr(struct gtee_node_api *a, struct MHD_Connection *c, unsigned status, json_t *o,
                                     const char *hdr, const char *value)
{
    static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    struct MHD_Response *r;

    json_decref(o);
    if (!s)
        return send_text(a, c, 500, "application/json", oom, sizeof(oom) - 1);
    r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (hdr)
        MHD_add_response_header(r, hdr, value);
    return queue(a, c, status, r);
}

static enum MHD_Result send_json(struct gtee_node_api *a, struct MHD_Connection *c, unsigned status, json_t *o)
{
    return send_json_hdr(a, c, status, o, NULL, NULL);
}

static enum MHD_Result send_error(struct gtee_node_api *a, struct MHD_Connection *c, unsigned status,
                                  const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum MHD_Result send_error(struct gtee_node_api *a, struct MHD_Connection *c, unsigned status,
                                  const char *code, const char *fmt, ...)
{
    char msg[GTEE_ERR_MSG_MAX + 64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return send_json(a, c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* The HTTP status and error code for a GTEE_E* failure. */
static unsigned http_status(int rc, const char **code)
{
    switch (rc) {
    case GTEE_EFORMAT: *code = "malformed"; return 400;
    case GTEE_EINVAL: *code = "bad_request"; return 400;
    case GTEE_ENOTFOUND: *code = "not_found"; return 404;
    case GTEE_ESTATE: *code = "conflict"; return 409;
    case GTEE_EPOLICY: *code = "too_large"; return 413;
    case GTEE_EAUTH: *code = "content_id_mismatch"; return 422;
    case GTEE_EUNSUPPORTED: *code = "unsupported"; return 400;
    case GTEE_EEXIST: *code = "exists"; return 409;
    default: *code = "internal"; return 500;
    }
}

static enum MHD_Result send_err(struct gtee_node_api *a, struct MHD_Connection *c, int rc, const struct gtee_err *err)
{
    const char *code;
    unsigned status = http_status(rc, &code);

    return send_error(a, c, status, code, "%s", err->msg[0] ? err->msg : gtee_strerror(rc));
}

/* ---- routing ---- */

/* path is prefix + one segment: that segment (NULL otherwise). */
static const char *segment(const char *url, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(url, prefix, n) || !url[n] || strchr(url + n, '/'))
        return NULL;
    return url + n;
}

static enum route route_of(const char *url, const char *method, const char **id, const char **allow)
{
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    const char *s;

    *id = NULL;
    *allow = "GET, HEAD";
#define ONLY_GET(r) return get ? (r) : R_NONE
    if (!strcmp(url, "/"))
        ONLY_GET(R_PAGE);
    if (!strcmp(url, "/healthz"))
        ONLY_GET(R_HEALTH);
    if (!strcmp(url, "/metrics"))
        ONLY_GET(R_METRICS);
    if (!strcmp(url, "/api/v1/status"))
        ONLY_GET(R_STATUS);
    if (!strcmp(url, "/api/v1/evidence"))
        ONLY_GET(R_EVIDENCE);
    if (!strcmp(url, "/api/v1/proofs"))
        ONLY_GET(R_PROOFS);
    if (!strcmp(url, "/api/v1/jobs")) {
        *allow = "GET, HEAD, POST";
        return get ? R_JOBS : !strcmp(method, "POST") ? R_JOB_NEW : R_NONE;
    }
    if (!strncmp(url, "/api/v1/jobs/", 13) && strlen(url) == 13 + 64 + 7 && !strcmp(url + 13 + 64, "/record") &&
        !memchr(url + 13, '/', 64)) {
        *id = url + 13;
        ONLY_GET(R_JOB_RECORD);
    }
    if ((s = segment(url, "/api/v1/jobs/"))) {
        *id = s;
        ONLY_GET(R_JOB);
    }
    if (!strcmp(url, "/api/v1/blobs"))
        ONLY_GET(R_BLOBS);
    if ((s = segment(url, "/api/v1/blobs/"))) {
        *id = s;
        ONLY_GET(R_BLOB);
    }
    if (!strcmp(url, "/api/v1/relay")) {
        *allow = "POST";
        return !strcmp(method, "POST") ? R_RELAY : R_NONE;
    }
    if (!strcmp(url, "/api/v1/uploads")) {
        *allow = "POST";
        return !strcmp(method, "POST") ? R_UPLOAD_NEW : R_NONE;
    }
    if ((s = segment(url, "/api/v1/uploads/"))) {
        *id = s;
        *allow = "GET, HEAD, PUT";
        return get ? R_UPLOAD_GET : !strcmp(method, "PUT") ? R_UPLOAD_PUT : R_NONE;
    }
#undef ONLY_GET
    *allow = NULL;
    return R_NONE;
}

/* ---- handlers ---- */

static json_t *status_json(struct gtee_node_api *a)
{
    json_t *node = json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I}", "version", GTEE_VERSION_STRING, "url", a->url,
                             "operator", a->operator_addr, "tee", a->config->tee, "simulated",
                             a->enclave->simulated, "started", (json_int_t)a->started_at, "max_blob_bytes",
                             (json_int_t)a->config->max_blob_bytes);
    long long counts[4];

    if (node && a->enclave->simulated)
        json_object_set_new(node, "warning", json_string("SIMULATED TEE: not secure"));
    (void)gtee_node_store_job_counts(a->store, counts);
    return json_pack("{s:o,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:o,s:o}", "node", node, "enclave",
                     gtee_node_enclave_status(a->enclave), "evidence", gtee_node_enclave_verdict(a->enclave), "jobs",
                     gtee_node_store_jobs(a->store, 50), "job_counts", "queued", (json_int_t)counts[0], "running",
                     (json_int_t)counts[1], "done", (json_int_t)counts[2], "failed", (json_int_t)counts[3], "errors",
                     gtee_node_store_events(a->store, 10, "error"), "ledger",
                     a->ledger ? gtee_node_ledger_status(a->ledger) : json_null());
}

/* GET /api/v1/proofs: the node's Work Proofs in seq order, each in the proof file format
 * (docs/proofs.md), with whether the ledger holds it. Public: a proof holds no secret. */
static enum MHD_Result h_proofs(struct gtee_node_api *a, struct MHD_Connection *c)
{
    struct gtee_node_proof_rec *r = NULL;
    struct gtee_err err = { 0 };
    json_t *arr = json_array();
    size_t n = 0;
    int rc = gtee_node_store_proofs(a->store, 0, GTEE_PROOF_MAX_PROOFS, &r, &n, &err);

    if (rc < 0 || !arr) {
        json_decref(arr);
        return rc < 0 ? send_err(a, c, rc, &err) : send_error(a, c, 500, "internal", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_loadb(r[i].record, r[i].record_len, 0, NULL);

        if (p)
            json_array_append_new(arr, json_pack("{s:o,s:I,s:b}", "proof", p, "seq", (json_int_t)r[i].seq,
                                                 "submitted", r[i].submitted));
    }
    gtee_node_proof_recs_free(r, n);
    return send_json(a, c, 200, json_pack("{s:o}", "proofs", arr));
}

static enum MHD_Result h_metrics(struct gtee_node_api *a, struct MHD_Connection *c)
{
    json_t *st = gtee_node_enclave_status(a->enclave);
    long long counts[4];
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    enum MHD_Result ret;
    int up = st && !strcmp(json_string_value(json_object_get(st, "state")), "running");
    int restarts = st ? (int)json_integer_value(json_object_get(st, "restarts")) : 0;

    json_decref(st);
    if (!f)
        return send_error(a, c, 500, "internal", "out of memory");
    (void)gtee_node_store_job_counts(a->store, counts);
#define METRIC(name, type, help, fmt, ...) \
    fprintf(f, "# HELP " name " " help "\n# TYPE " name " " type "\n" name fmt "\n", __VA_ARGS__)
    METRIC("gtee_node_up", "gauge", "The node daemon is running.", " %d", 1);
    METRIC("gtee_node_simulated", "gauge", "1 if the TEE is the simulation (not secure).", " %d",
           a->enclave->simulated);
    METRIC("gtee_node_enclave_up", "gauge", "The enclave is running.", " %d", up);
    METRIC("gtee_node_enclave_restarts_total", "counter", "Enclave restarts after it ended.", " %d", restarts);
    METRIC("gtee_node_http_requests_total", "counter", "HTTP requests received.", " %llu", a->m.requests + 0ull);
    fprintf(f, "# HELP gtee_node_http_responses_total HTTP responses by status class.\n"
               "# TYPE gtee_node_http_responses_total counter\n"
               "gtee_node_http_responses_total{class=\"2xx\"} %llu\n"
               "gtee_node_http_responses_total{class=\"4xx\"} %llu\n"
               "gtee_node_http_responses_total{class=\"5xx\"} %llu\n",
            a->m.responses_2xx + 0ull, a->m.responses_4xx + 0ull, a->m.responses_5xx + 0ull);
    METRIC("gtee_node_upload_bytes_total", "counter", "Blob bytes received by uploads.", " %llu",
           a->m.upload_bytes + 0ull);
    METRIC("gtee_node_blobs_stored_total", "counter", "Uploads completed into the blob store.", " %llu",
           a->m.blobs_stored + 0ull);
    {
        uint64_t held = 0;

        if (gtee_node_store_bytes_held(a->store, &held, NULL) == 0)
            METRIC("gtee_node_blob_store_bytes", "gauge", "Bytes of stored blobs and of uploads in progress.",
                   " %llu", (unsigned long long)held);
        METRIC("gtee_node_blob_store_max_bytes", "gauge", "The blob store's quota (0: none).", " %llu",
               (unsigned long long)a->blobs->quota);
    }
    METRIC("gtee_node_uploads_failed_total", "counter", "Uploads whose bytes did not match their content id.",
           " %llu", a->m.uploads_failed + 0ull);
    if (a->ledger) {
        json_t *lj = gtee_node_ledger_status(a->ledger), *pj = json_object_get(lj, "proofs"),
               *ej = json_object_get(lj, "enclave");

        METRIC("gtee_node_ledger_enclave_active", "gauge", "1 if the ledger counts the enclave active (it may earn).",
               " %d", json_is_true(json_object_get(ej, "active")));
        METRIC("gtee_node_ledger_last_seq", "gauge", "The enclave's last Work Proof the ledger accepted.", " %lld",
               (long long)json_integer_value(json_object_get(ej, "last_seq")));
        METRIC("gtee_node_proofs_pending", "gauge", "Work Proofs kept and not yet held by the ledger.", " %lld",
               (long long)json_integer_value(json_object_get(pj, "pending")));
        METRIC("gtee_node_proofs_submitted_total", "counter", "Work Proofs the ledger holds.", " %lld",
               (long long)json_integer_value(json_object_get(pj, "submitted")));
        METRIC("gtee_node_proofs_refused_total", "counter", "Jobs whose Work Proof the enclave refused to sign.",
               " %lld", (long long)json_integer_value(json_object_get(pj, "refused")));
        METRIC("gtee_node_proofs_signing", "gauge", "1 if the enclave signs Work Proofs (its counter passed).", " %d",
               json_is_true(json_object_get(pj, "signing")));
        json_decref(lj);
    }
    METRIC("gtee_node_relay_requests_total", "counter", "Relay boxes carried to the enclave.", " %llu",
           a->m.relay_requests + 0ull);
    METRIC("gtee_node_evidence_requests_total", "counter", "Evidence requests answered.", " %llu",
           a->m.evidence_requests + 0ull);
    fprintf(f, "# HELP gtee_node_jobs Jobs by state.\n# TYPE gtee_node_jobs gauge\n"
               "gtee_node_jobs{state=\"queued\"} %lld\ngtee_node_jobs{state=\"running\"} %lld\n"
               "gtee_node_jobs{state=\"done\"} %lld\ngtee_node_jobs{state=\"failed\"} %lld\n",
            counts[0], counts[1], counts[2], counts[3]);
    METRIC("gtee_node_jobs_run_total", "counter", "Job boxes the queue relayed to the enclave to run.", " %llu",
           atomic_load(&a->jobs->runs) + 0ull);
#undef METRIC
    fclose(f);
    ret = send_text(a, c, 200, "text/plain; version=0.0.4; charset=utf-8", buf ? buf : "", buf ? size : 0);
    free(buf);
    return ret;
}

static enum MHD_Result h_evidence(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q);
static enum MHD_Result h_relay(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q);

/* A job's version: the first 8 bytes of the SHA-256 of its JSON (keys sorted), in hex. Any
 * change a client can see changes it; a long poll waits while it is the one given. */
static void job_version(const json_t *j, char out[17])
{
    char *dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t h[32] = { 0 };

    /* A failed hash leaves h zero: a version that matches nothing a client saw, so the
     * request is answered at once. */
    if (dump && gtee_sha256(dump, strlen(dump), h) != 0)
        memset(h, 0, sizeof(h));
    free(dump);
    gtee_hex_encode(h, 8, out);
}

/* GET /api/v1/jobs/{id}[?wait_ms=N&version=V]: the job; with wait_ms, once it is not at
 * version V any more, or after N ms (docs/node-api.md, "Following a job"). The request
 * waits suspended (watch.c): it holds no HTTP worker. */
static enum MHD_Result h_job(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    struct gtee_err err = { 0 };
    const char *ws, *seen, *state;
    char ver[17], *end = NULL;
    long wait = 0;
    json_t *j;

    if (gtee_node_parse_hexid(q->id, 64, "job id", &err) < 0)
        return send_err(a, c, GTEE_EFORMAT, &err);
    ws = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait_ms");
    seen = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "version");
    if (ws) {
        errno = 0;
        wait = strtol(ws, &end, 10);
        if (!*ws || *end || errno || wait < 0 || wait > GTEE_NODE_WATCH_MAX_MS)
            return send_error(a, c, 400, "malformed", "query parameter wait_ms: expected milliseconds from 0 to %d",
                              GTEE_NODE_WATCH_MAX_MS);
        if (!seen)
            return send_error(a, c, 400, "malformed",
                              "query parameter wait_ms needs version (the job's version you last saw)");
    }
    j = gtee_node_store_job(a->store, q->id);
    if (!j)
        return send_error(a, c, 404, "not_found", "job %s: not on this node", q->id);
    job_version(j, ver);
    state = json_string_value(json_object_get(j, "state"));
    /* An ended job changes no more: it is answered at once, as is a second call (resumed). */
    if (!q->waited && wait > 0 && !strcmp(seen, ver) && state && strcmp(state, "done") && strcmp(state, "failed")) {
        q->waited = 1;
        if (gtee_node_watch_add(a->watch, c, q->id, (int)wait) == 0) {
            json_decref(j);
            return MHD_YES;
        }
    }
    json_object_set_new(j, "version", json_string(ver));
    return send_json(a, c, 200, json_pack("{s:o}", "job", j));
}

static void *enclave_worker(void *arg)
{
    struct req *q = arg;
    struct gtee_node_api *a = q->api;

    capture = q;
    if (q->route == R_EVIDENCE)
        (void)h_evidence(a, q->conn, q);
    else
        (void)h_relay(a, q->conn, q);
    capture = NULL;
    q->phase = 2;
    atomic_fetch_sub(&a->enclave_users, 1);
    MHD_resume_connection(q->conn);
    return NULL;
}

/* A request for the enclave: checked here, then run on a thread of its own with the
 * connection suspended, so that an enclave slow to answer (up to enclave_timeout_s) holds
 * no HTTP worker and no other client waits on it. */
static enum MHD_Result enclave_request(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    pthread_attr_t attr;
    pthread_t t;
    enum MHD_Result ret;
    int ok;

    if (q->phase == 2) {
        struct MHD_Response *r = q->resp;

        q->resp = NULL;
        if (!r)
            return MHD_NO;
        ret = MHD_queue_response(c, q->resp_status, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (q->route == R_EVIDENCE) {
        const char *hex = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "nonce");

        if (gtee_node_parse_hexid(hex, 2 * GTEE_MSG_NONCE_LEN, "nonce", NULL) < 0 ||
            gtee_hex_decode(hex, q->nonce, sizeof(q->nonce)) != 0)
            return send_error(a, c, 400, "malformed",
                              "query parameter nonce: expected 64 lowercase hex digits (32 bytes of your choosing)");
    } else if (q->len < GTEE_RELAY_REQ_OVERHEAD) {
        return send_error(a, c, 400, "malformed", "relay: a request box is at least %d bytes; got %zu",
                          GTEE_RELAY_REQ_OVERHEAD, q->len);
    }
    if (atomic_fetch_add(&a->enclave_users, 1) >= ENCLAVE_PENDING_MAX) {
        atomic_fetch_sub(&a->enclave_users, 1);
        return send_error(a, c, 503, "busy", "%d requests already wait for the enclave; retry shortly",
                          ENCLAVE_PENDING_MAX);
    }
    q->phase = 1;
    q->conn = c;
    q->api = a;
    MHD_suspend_connection(c);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ok = pthread_create(&t, &attr, enclave_worker, q) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) {
        MHD_resume_connection(c);
        q->phase = 0;
        atomic_fetch_sub(&a->enclave_users, 1);
        return send_error(a, c, 503, "busy", "no thread for the enclave request; retry shortly");
    }
    return MHD_YES;
}

static enum MHD_Result h_evidence(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    uint8_t *r = NULL;
    struct gtee_enclave_info info;
    struct gtee_err err = { 0 };
    size_t n = 0;
    char *hex = NULL, addr[GTEE_ETH_ADDR_HEX_LEN + 1], meas[2 * GTEE_MEASUREMENT_MAX + 1];
    char epub[2 * GTEE_ENCLAVE_PUB_LEN + 1], cpub[2 * GTEE_CHANNEL_PUB_LEN + 1], rd[129];
    enum MHD_Result ret;
    json_t *o;
    int rc;

    rc = gtee_node_enclave_call(a->enclave, GTEE_MSG_EVIDENCE, q->nonce, sizeof(q->nonce), &r, &n, &info, &err);
    if (rc == GTEE_ESTATE)
        return send_error(a, c, 503, "enclave_unavailable", "%s", err.msg);
    if (rc < 0)
        return send_error(a, c, 502, "enclave_error", "%s", err.msg);
    if (n < 64) {
        free(r);
        return send_error(a, c, 502, "enclave_error", "the enclave's EVIDENCE answer is %zu bytes, too short", n);
    }
    hex = malloc(2 * (n - 64) + 1);
    if (!hex) {
        free(r);
        return send_error(a, c, 500, "internal", "out of memory");
    }
    gtee_hex_encode(r + 64, n - 64, hex);
    gtee_hex_encode(r, 64, rd);
    gtee_eth_address_hex(info.enclave_addr, addr);
    gtee_hex_encode(info.measurement, info.measurement_len, meas);
    gtee_hex_encode(info.enclave_pub, sizeof(info.enclave_pub), epub);
    gtee_hex_encode(info.channel_pub, sizeof(info.channel_pub), cpub);
    o = json_pack("{s:s,s:b,s:s,s:s,s:s,s:s,s:s,s:s}", "tee", gtee_tee_kind_name(info.kind), "simulated",
                  info.simulated, "measurement", meas, "enclave_id", addr, "enclave_public_key", epub,
                  "channel_public_key", cpub, "report_data", rd, "evidence", hex);
    if (o && info.simulated)
        json_object_set_new(o, "warning", json_string("SIMULATED TEE evidence: it chains to a simulated root and "
                                                      "proves nothing"));
    free(hex);
    free(r);
    a->m.evidence_requests++;
    ret = send_json(a, c, 200, o);
    return ret;
}

/* RELAY's answer: host_len u32 · host part · response box (docs/tee.md, "Message
 * protocol"). The host part (a sealed blob for the host to keep) goes to the state store,
 * a result notice has its result read into the blob store; the client gets the response
 * box. */
static enum MHD_Result h_relay(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    struct gtee_err err = { 0 };
    uint8_t *r = NULL;
    size_t n = 0;
    uint32_t host_len;
    unsigned start_no;
    char result[65];
    enum MHD_Result ret;
    struct MHD_Response *resp;
    int rc;

    start_no = gtee_node_enclave_start_no(a->enclave, NULL);
    rc = gtee_node_enclave_call(a->enclave, GTEE_MSG_RELAY, q->body, q->len, &r, &n, NULL, &err);
    if (rc == GTEE_ESTATE)
        return send_error(a, c, 503, "enclave_unavailable", "%s", err.msg);
    /* GTEE_EIO: the enclave did not answer (it ended, or timed out); any other failure is
     * its ERROR answer refusing the box (it did not open, a bad operation): the client's. */
    if (rc == GTEE_EIO)
        return send_error(a, c, 502, "enclave_error", "%s", err.msg);
    if (rc < 0)
        return send_error(a, c, 400, "rejected", "%s", err.msg);
    host_len = n >= 4 ? (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3] : 0;
    if (n < 4 || host_len > n - 4) {
        free(r);
        return send_error(a, c, 502, "enclave_error", "relay: the enclave's answer is malformed");
    }
    /* a job's result (an ML_JOB relayed here rather than queued) comes out in pieces */
    if (host_len && gtee_result_notice_is(r + 4, host_len))
        rc = gtee_node_result_take(a->enclave, start_no, a->blobs, r + 4, host_len, result, &err);
    else if (host_len)
        rc = gtee_node_keep_host_part(a->blobs, r + 4, host_len, NULL, &err);
    if (rc < 0) {
        free(r);
        return send_error(a, c, rc == GTEE_EIO || rc == GTEE_ESTATE ? 502 : 500,
                          rc == GTEE_EIO || rc == GTEE_ESTATE ? "enclave_error" : "internal", "%s", err.msg);
    }
    resp = MHD_create_response_from_buffer(n - 4 - host_len, r + 4 + host_len, MHD_RESPMEM_MUST_COPY);
    free(r);
    if (resp)
        MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    a->m.relay_requests++;
    ret = queue(a, c, 200, resp);
    return ret;
}

/* POST /api/v1/jobs: checks the body and that the node holds the blobs it names, queues
 * the job under the SHA-256 of its box (the same box again is the same job: it never runs
 * twice) and answers at once; the queue runs it (jobs.c). */
static enum MHD_Result h_job_new(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    struct gtee_node_job_req jr;
    struct gtee_node_job_io io;
    struct gtee_err err = { 0 };
    const char *names[3] = { "model", NULL, "labels" };
    const char *ids[3];
    uint8_t h[32], chan[GTEE_CHANNEL_PUB_LEN];
    uint64_t size = 0;
    json_t *j;
    int rc;

    if ((rc = gtee_node_parse_job_req((const char *)q->body, q->len, &jr, &err)) < 0)
        return send_err(a, c, rc, &err);
    names[1] = !strcmp(jr.kind, "train") ? "features" : "input";
    ids[0] = jr.model;
    ids[1] = jr.input;
    ids[2] = jr.labels;
    for (int i = 0; i < 3; i++) {
        if (!ids[i][0])
            continue;
        if ((rc = gtee_node_store_blob_get(a->store, ids[i], &size, &err)) != 1) {
            free(jr.box);
            if (rc < 0)
                return send_err(a, c, rc, &err);
            return send_error(a, c, 404, "not_found", "job request: the %s blob %s is not on this node (upload it first)",
                              names[i], ids[i]);
        }
    }
    memset(&io, 0, sizeof(io));
    /* The box is sealed to the channel key of the enclave running now (the one the requester
     * attested): recorded, so that a restart in between fails the job plainly. */
    if (!gtee_node_enclave_start_no(a->enclave, chan)) {
        free(jr.box);
        return send_error(a, c, 503, "enclave_unavailable",
                          "the enclave is (re)starting: attest it again once it runs, and submit the job then");
    }
    gtee_hex_encode(chan, sizeof(chan), io.channel);
    if (gtee_sha256(jr.box, jr.box_len, h) != 0) {
        free(jr.box);
        return send_error(a, c, 500, "internal", "cannot hash the job's box");
    }
    gtee_hex_encode(h, sizeof(h), io.id);
    snprintf(io.kind, sizeof(io.kind), "%s", jr.kind);
    memcpy(io.model, jr.model, sizeof(io.model));
    memcpy(io.input, jr.input, sizeof(io.input));
    memcpy(io.labels, jr.labels, sizeof(io.labels));
    io.request = jr.box;
    io.request_len = jr.box_len;
    rc = gtee_node_store_job_submit(a->store, &io, &err);
    free(jr.box);
    if (rc < 0 && rc != GTEE_EEXIST)
        return send_err(a, c, rc, &err);
    j = gtee_node_store_job(a->store, io.id);
    if (!j)
        return send_error(a, c, 500, "internal", "job %s: not found after it was queued", io.id);
    if (rc == GTEE_EEXIST)
        return send_json(a, c, 200, json_pack("{s:o,s:b}", "job", j, "duplicate", 1));
    gtee_node_jobs_wake(a->jobs);
    return send_json(a, c, 202, json_pack("{s:o,s:b}", "job", j, "duplicate", 0));
}

/* GET /api/v1/jobs/{id}/record: the enclave's answer box, which only the requester opens
 * (its job record: gtee_job_record_parse). A job the enclave refused is 400 rejected with
 * the enclave's reason; one that failed otherwise 409 failed (submit it again). */
static enum MHD_Result h_job_record(struct gtee_node_api *a, struct MHD_Connection *c, const char *path_id)
{
    struct gtee_err err = { 0 };
    struct MHD_Response *r;
    char id[65];
    const char *state, *stage, *why;
    uint8_t *box = NULL;
    size_t len = 0;
    json_t *j;
    int rc;

    snprintf(id, sizeof(id), "%.64s", path_id);
    if (gtee_node_parse_hexid(id, 64, "job id", &err) < 0)
        return send_err(a, c, GTEE_EFORMAT, &err);
    j = gtee_node_store_job(a->store, id);
    if (!j)
        return send_error(a, c, 404, "not_found", "job %s: not on this node", id);
    state = json_string_value(json_object_get(j, "state"));
    stage = json_string_value(json_object_get(j, "stage"));
    why = json_string_value(json_object_get(j, "error"));
    if (!strcmp(state, "failed")) {
        enum MHD_Result ret = !strcmp(stage, "refused")
                                  ? send_error(a, c, 400, "rejected", "job %s: the enclave refused it: %s", id,
                                               why ? why : "no reason given")
                                  : send_error(a, c, 409, "failed", "job %s failed: %s", id, why ? why : "no reason given");

        json_decref(j);
        return ret;
    }
    if (strcmp(state, "done")) {
        enum MHD_Result ret = send_error(a, c, 409, "not_ready", "job %s is %s (%s); its record comes when it is done",
                                         id, state, stage);

        json_decref(j);
        return ret;
    }
    json_decref(j);
    if ((rc = gtee_node_store_job_record(a->store, id, &box, &len, &err)) != 1)
        return rc < 0 ? send_err(a, c, rc, &err) : send_error(a, c, 500, "internal", "job %s: done without a record", id);
    r = MHD_create_response_from_buffer(len, box, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(box);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    return queue(a, c, 200, r);
}

static enum MHD_Result h_blob(struct gtee_node_api *a, struct MHD_Connection *c, const char *id)
{
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    struct gtee_err err = { 0 };
    uint64_t size = 0, first = 0, len;
    struct MHD_Response *r;
    char cr[96];
    int fd = -1, rc;

    if (gtee_node_parse_hexid(id, GTEE_NODE_ID_HEX, "blob id", &err) < 0)
        return send_err(a, c, GTEE_EFORMAT, &err);
    if ((rc = gtee_node_blob_open(a->blobs, id, &fd, &size, &err)) < 0)
        return send_err(a, c, rc, &err);
    len = size;
    if (range && (rc = gtee_node_parse_range(range, size, &first, &len, &err)) < 0) {
        close(fd);
        if (rc == GTEE_ENOTFOUND) {
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
            return send_json_hdr(a, c, 416, json_pack("{s:{s:s,s:s}}", "error", "code", "range_not_satisfiable",
                                                      "message", err.msg),
                                 "Content-Range", cr);
        }
        return send_err(a, c, rc, &err);
    }
    /* MHD takes the descriptor and closes it after the response. */
    r = MHD_create_response_from_fd_at_offset64(len, fd, first);
    if (!r) {
        close(fd);
        return send_error(a, c, 500, "internal", "cannot make the response");
    }
    MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    snprintf(cr, sizeof(cr), "\"%s\"", id);
    MHD_add_response_header(r, "ETag", cr);
    a->m.download_bytes += len;
    if (range) {
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)(first + len - 1), (unsigned long long)size);
        MHD_add_response_header(r, "Content-Range", cr);
        return queue(a, c, 206, r);
    }
    return queue(a, c, 200, r);
}

static json_t *upload_json(const struct gtee_node_upload *u)
{
    return json_pack("{s:s,s:o,s:I,s:I}", "id", u->id, "content_id",
                     u->content_id[0] ? json_string(u->content_id) : json_null(), "size", (json_int_t)u->size,
                     "offset", (json_int_t)u->received);
}

static enum MHD_Result h_upload_new(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    struct gtee_node_upload u;
    struct gtee_err err = { 0 };
    char cid[65];
    uint64_t size = 0, have = 0;
    int rc;

    if ((rc = gtee_node_parse_upload_req((const char *)q->body, q->len, a->config->max_blob_bytes, &size, cid,
                                         &err)) < 0)
        return send_err(a, c, rc, &err);
    /* Content-addressed: a blob already stored is not sent again (when the client names it). */
    if (cid[0] && (rc = gtee_node_store_blob_get(a->store, cid, &have, &err)) < 0)
        return send_err(a, c, rc, &err);
    if (cid[0] && rc == 1 && have == size)
        return send_json(a, c, 200, json_pack("{s:{s:s,s:I},s:b}", "blob", "id", cid, "size", (json_int_t)size,
                                              "complete", 1));
    /* Over the store's quota: 507, refused before a byte is written. */
    if ((rc = gtee_node_upload_new(a->blobs, size, cid, &u, &err)) == GTEE_ELIMIT)
        return send_json(a, c, 507,
                         json_pack("{s:{s:s,s:s,s:I,s:I}}", "error", "code", "insufficient_storage", "message", err.msg,
                                   "size", (json_int_t)size, "quota", (json_int_t)a->blobs->quota));
    if (rc < 0)
        return send_err(a, c, rc, &err);
    return send_json(a, c, 201, json_pack("{s:o,s:b}", "upload", upload_json(&u), "complete", 0));
}

static enum MHD_Result h_upload_get(struct gtee_node_api *a, struct MHD_Connection *c, const char *id)
{
    struct gtee_node_upload u;
    struct gtee_err err = { 0 };
    int rc;

    if (gtee_node_parse_hexid(id, GTEE_NODE_UPLOAD_ID_HEX, "upload id", &err) < 0)
        return send_err(a, c, GTEE_EFORMAT, &err);
    if ((rc = gtee_node_store_upload_get(a->store, id, &u, &err)) < 0)
        return send_err(a, c, rc, &err);
    if (rc == 0)
        return send_error(a, c, 404, "not_found", "upload %s: no such session (finished, failed or never opened)", id);
    return send_json(a, c, 200, json_pack("{s:o}", "upload", upload_json(&u)));
}

/* First call of a PUT: opens the session at the client's offset. */
static void upload_open(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    const char *off = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upload-Offset");
    struct gtee_err err = { 0 };
    const char *code;
    uint64_t offset = 0;
    int rc;

    if ((rc = gtee_node_parse_hexid(q->id, GTEE_NODE_UPLOAD_ID_HEX, "upload id", &err)) == 0 &&
        (rc = gtee_node_parse_offset(off, &offset, &err)) == 0 &&
        (rc = gtee_node_upload_begin(a->blobs, q->id, offset, &q->put, &err)) == 0) {
        q->put_open = 1;
        return;
    }
    q->status = (int)http_status(rc, &code);
    snprintf(q->code, sizeof(q->code), "%s", code);
    snprintf(q->msg, sizeof(q->msg), "%s", err.msg);
}

static enum MHD_Result h_upload_put(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    struct gtee_err err = { 0 };
    int done = 0, rc;

    q->put_open = 0;
    rc = gtee_node_upload_end(a->blobs, &q->put, &done, &err);
    if (q->status)
        return send_json(a, c, (unsigned)q->status,
                         json_pack("{s:{s:s,s:s,s:I}}", "error", "code", q->code, "message", q->msg, "offset",
                                   (json_int_t)q->put.u.received));
    if (rc == GTEE_EAUTH)
        a->m.uploads_failed++;
    if (rc < 0)
        return send_err(a, c, rc, &err);
    if (done) {
        a->m.blobs_stored++;
        return send_json(a, c, 201, json_pack("{s:{s:s,s:I},s:b}", "blob", "id", q->put.u.content_id, "size",
                                              (json_int_t)q->put.u.size, "complete", 1));
    }
    return send_json(a, c, 200, json_pack("{s:o,s:b}", "upload", upload_json(&q->put.u), "complete", 0));
}

static enum MHD_Result respond(struct gtee_node_api *a, struct MHD_Connection *c, struct req *q)
{
    if (q->status && q->route != R_UPLOAD_PUT)
        return send_json_hdr(a, c, (unsigned)q->status,
                             json_pack("{s:{s:s,s:s}}", "error", "code", q->code, "message", q->msg),
                             q->status == 405 ? "Allow" : NULL, q->allow);
    switch (q->route) {
    case R_PAGE:
        return send_text(a, c, 200, "text/html; charset=utf-8", gtee_node_page_html, strlen(gtee_node_page_html));
    case R_HEALTH: {
        json_t *st = gtee_node_enclave_status(a->enclave);
        int up = st && !strcmp(json_string_value(json_object_get(st, "state")), "running");

        json_decref(st);
        return send_json(a, c, up ? 200 : 503,
                         json_pack("{s:s,s:s}", "status", up ? "ok" : "degraded", "enclave", up ? "running" : "down"));
    }
    case R_METRICS:
        return h_metrics(a, c);
    case R_STATUS:
        return send_json(a, c, 200, status_json(a));
    case R_PROOFS:
        return h_proofs(a, c);
    case R_EVIDENCE:
    case R_RELAY:
        return enclave_request(a, c, q);
    case R_JOBS:
        return send_json(a, c, 200, json_pack("{s:o}", "jobs", gtee_node_store_jobs(a->store, 1000)));
    case R_JOB:
        return h_job(a, c, q);
    case R_JOB_NEW:
        return h_job_new(a, c, q);
    case R_JOB_RECORD:
        return h_job_record(a, c, q->id);
    case R_BLOBS:
        return send_json(a, c, 200, json_pack("{s:o}", "blobs", gtee_node_store_blobs(a->store)));
    case R_BLOB:
        return h_blob(a, c, q->id);
    case R_UPLOAD_NEW:
        return h_upload_new(a, c, q);
    case R_UPLOAD_GET:
        return h_upload_get(a, c, q->id);
    case R_UPLOAD_PUT:
        return h_upload_put(a, c, q);
    case R_NONE:
        break;
    }
    return send_error(a, c, 500, "internal", "no handler");
}

/* A body arrived in pieces: buffered (bounded), or written into an upload. */
static void take_body(struct gtee_node_api *a, struct req *q, const char *data, size_t n)
{
    struct gtee_err err = { 0 };
    const char *code;

    if (q->status)
        return; /* already failed: the rest is read and dropped */
    if (q->route == R_UPLOAD_PUT) {
        int rc = gtee_node_upload_write(&q->put, data, n, &err);

        if (rc < 0) {
            q->status = (int)http_status(rc, &code);
            snprintf(q->code, sizeof(q->code), "%s", code);
            snprintf(q->msg, sizeof(q->msg), "%s", err.msg);
        } else {
            a->m.upload_bytes += n;
        }
        return;
    }
    if (n > q->max - q->len) {
        q->status = 413;
        snprintf(q->code, sizeof(q->code), "too_large");
        snprintf(q->msg, sizeof(q->msg), "request body over the %zu bytes this route takes", q->max);
        return;
    }
    if (q->len + n > 0 && !q->body) {
        q->body = malloc(q->max + 1);
        if (!q->body) {
            q->status = 500;
            snprintf(q->code, sizeof(q->code), "internal");
            snprintf(q->msg, sizeof(q->msg), "out of memory");
            return;
        }
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    struct gtee_node_api *a = cls;
    struct req *q = *con_cls;

    if (!q) {
        const char *allow;

        q = calloc(1, sizeof(*q));
        if (!q)
            return MHD_NO;
        q->put.fd = -1;
        *con_cls = q;
        a->m.requests++;
        atomic_fetch_add(&a->in_flight, 1);
        q->counted = 1;
        q->route = route_of(url, method, &q->id, &allow);
        q->allow = allow;
        if (q->route == R_NONE) {
            q->status = allow ? 405 : 404;
            snprintf(q->code, sizeof(q->code), "%s", allow ? "method_not_allowed" : "not_found");
            snprintf(q->msg, sizeof(q->msg), allow ? "%s %.200s: this path takes %s" : "%s %.200s: no such path%s",
                     method, url, allow ? allow : "");
        }
        q->max = q->route == R_RELAY ? RELAY_BODY_MAX : JSON_BODY_MAX;
        if (q->route == R_UPLOAD_PUT)
            upload_open(a, c, q);
        else if (!q->status && q->route != R_RELAY && q->route != R_UPLOAD_NEW && q->route != R_JOB_NEW)
            q->max = 0; /* GET, HEAD: no body */
        return MHD_YES;
    }
    if (*upload_data_size) {
        take_body(a, q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(a, c, q);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct gtee_node_api *a = cls;
    struct req *q = *con_cls;

    if (!q)
        return;
    if (q->put_open) {
        /* The client went away mid-upload: what arrived is synced and its offset recorded,
         * so the client resumes from there. */
        struct gtee_err err = { 0 };
        int done = 0;

        if (gtee_node_upload_end(a->blobs, &q->put, &done, &err) < 0)
            gtee_node_store_event(a->store, "warn", "interrupted upload %s: %s", q->put.u.id, err.msg);
    }
    if (q->counted)
        atomic_fetch_sub(&a->in_flight, 1);
    if (q->resp)
        MHD_destroy_response(q->resp);
    free(q->body);
    free(q);
    *con_cls = NULL;
}

int gtee_node_api_start(struct gtee_node_api *a, int listen_fd, struct gtee_err *err)
{
    int rc;

    a->started_at = now_s();
    if ((rc = gtee_node_watch_start(&a->watch, err)) < 0) {
        close(listen_fd);
        return rc;
    }
    /* poll(2), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll missed a client that
     * closed mid-body under load, so an interrupted upload was neither synced nor recorded
     * until the connection timeout (tests/node/test_node_daemon.sh, under ASan). */
    a->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler,
        a, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)a->config->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)a->config->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)a->config->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)a->config->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128u << 10),
        MHD_OPTION_NOTIFY_COMPLETED, completed, a, MHD_OPTION_END);
    if (!a->mhd) {
        close(listen_fd);
        gtee_node_watch_free(a->watch);
        a->watch = NULL;
        return GTEE_FAIL(err, GTEE_EIO, "node: the HTTP server did not start");
    }
    gtee_node_store_on_job(a->store, gtee_node_watch_notify, a->watch);
    return 0;
}

int gtee_node_api_stop(struct gtee_node_api *a, int drain_ms)
{
    int64_t waited = 0;
    MHD_socket fd;
    int left;

    if (!a->mhd)
        return 0;
    fd = MHD_quiesce_daemon(a->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Long polls are answered now, with their job as it is, and no new one waits. */
    gtee_node_store_on_job(a->store, NULL, NULL);
    gtee_node_watch_stop(a->watch);
    while ((left = atomic_load(&a->in_flight)) > 0 && waited < drain_ms) {
        usleep(50 * 1000);
        waited += 50;
    }
    /* A request still with the enclave holds a suspended connection, which must be resumed
     * before the server stops: its thread ends within the enclave's own timeout. */
    while (atomic_load(&a->enclave_users) > 0)
        usleep(50 * 1000);
    MHD_stop_daemon(a->mhd);
    a->mhd = NULL;
    gtee_node_watch_free(a->watch);
    a->watch = NULL;
    return left;
}
