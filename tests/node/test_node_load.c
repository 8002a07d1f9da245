/* The node under load (issue 13, "Load"): 32 concurrent clients submit 500 inference jobs
 * to one node on the simulated TEE, each job its own sealed box, and every job completes
 * exactly once: 500 distinct ids, each result opens for its requester and is the model's
 * output, the node lists exactly 500 done jobs, and its enclave ran 500 job boxes (the
 * records' units of work and /metrics say so). Prints throughput and p50/p99 latency
 * (submission to done, as the client sees it). About 10 s on the shared 2-core machine at a
 * load average of 9 (35 s under ASan+UBSan); the only timing bound is a generous 600 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "gtee/box.h"
#include "gtee/crypto.h"
#include "gtee/dataset.h"
#include "gtee/jobs.h"
#include "gtee/msg.h"
#include "node/node_http.h"

#define CLIENTS 32
#define JOBS 500
#define PROVIDERS GTEE_GRANT_MAX_TO /* data providers: one model grant names them all */
#define BOUND_S 600                 /* the whole load, generously (2 slow cores, the suite beside) */

static struct test_node node;

struct blob {
    uint8_t *c;                   /* the container */
    size_t len;
    uint8_t id[32];
    char hex[65];
};

/* A model provider owns the model and grants inference to PROVIDERS data providers; each
 * of these owns its input (the same tensor, sealed under its own key) and runs CLIENTS /
 * PROVIDERS clients, each sealing its own job boxes. */
static struct {
    uint8_t chan[GTEE_RELAY_PUB_LEN];
    uint8_t msk[32], mpk[32];
    uint8_t sk[PROVIDERS][32], pk[PROVIDERS][32];
    struct blob model, input[PROVIDERS];
    struct gtee_array want;       /* what PyTorch gave for this model and input */
} w;

struct done {
    char id[65];
    double latency_ms;
    uint64_t macs, samples;
};

struct client {
    pthread_t t;
    int no, jobs;
    struct done *out;
    char error[512];
};

static atomic_int next_done;
static struct done done[JOBS];

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    uint8_t *b;
    long n;

    snprintf(path, sizeof(path), "%s/tests/ml/models/%s", getenv("GTEE_SOURCE_DIR"), name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Seals pt under a fresh key (into *key) and uploads it: POST /api/v1/uploads, one PUT. */
static void seal_upload(struct gtee_box_key *key, const void *pt, size_t len, struct blob *b)
{
    struct gtee_box_opts o = { .chunk_size = 65536 };
    int in = memfd_create("pt", MFD_CLOEXEC), out = memfd_create("c", MFD_CLOEXEC);
    char req[200];
    uint8_t *body = NULL;
    size_t n = 0;
    json_t *j;
    off_t end;

    assert_int_equal(gtee_box_key_generate(key), 0);
    assert_true(in >= 0 && out >= 0);
    assert_int_equal(write(in, pt, len), (ssize_t)len);
    assert_int_equal(lseek(in, 0, SEEK_SET), 0);
    assert_int_equal(gtee_box_seal(key, &o, in, out, NULL, NULL), 0);
    end = lseek(out, 0, SEEK_END);
    b->len = (size_t)end;
    b->c = malloc(b->len);
    assert_non_null(b->c);
    assert_int_equal(pread(out, b->c, b->len, 0), (ssize_t)b->len);
    close(in);
    close(out);
    assert_int_equal(gtee_sha256(b->c, b->len, b->id), 0);
    gtee_hex_encode(b->id, 32, b->hex);

    snprintf(req, sizeof(req), "{\"size\": %zu, \"content_id\": \"%s\"}", b->len, b->hex);
    assert_int_equal(node_http(&node, "POST", "/api/v1/uploads", NULL, req, strlen(req), &body, &n), 201);
    j = json_loadb((char *)body, n, 0, NULL);
    free(body);
    assert_non_null(j);
    snprintf(req, sizeof(req), "/api/v1/uploads/%s",
             json_string_value(json_object_get(json_object_get(j, "upload"), "id")));
    json_decref(j);
    assert_int_equal(node_http(&node, "PUT", req, "Upload-Offset: 0", b->c, b->len, &body, &n), 201);
    free(body);
}

/* The owner's grant of b (inference), naming n_to others. */
static void grant(const struct blob *b, const struct gtee_box_key *key, const uint8_t owner[32],
                  uint8_t (*to)[32], unsigned n_to)
{
    struct gtee_grant g = { .kinds = GTEE_GRANT_INFER, .n_to = (uint8_t)n_to };
    uint8_t req[1 + GTEE_GRANT_MAX_LEN], resp_key[GTEE_RELAY_KEY_LEN], *box = NULL, *body = NULL, *out = NULL;
    size_t n = 0, box_len = 0, len = 0, out_len = 0;

    memcpy(g.content_id, b->id, 32);
    memcpy(g.key, key->bytes, 32);
    memcpy(g.owner, owner, 32);
    for (unsigned i = 0; i < n_to; i++)
        memcpy(g.to[i], to[i], 32);
    req[0] = GTEE_RELAY_GRANT;
    assert_int_equal(gtee_grant_encode(&g, req + 1, &n, NULL), 0);
    assert_int_equal(gtee_relay_seal_request(w.chan, req, 1 + n, resp_key, &box, &box_len, NULL), 0);
    assert_int_equal(node_http(&node, "POST", "/api/v1/relay", NULL, box, box_len, &body, &len), 200);
    assert_int_equal(gtee_relay_open_response(resp_key, body, len, &out, &out_len, NULL), 0);
    free(out);
    free(body);
    free(box);
    gtee_wipe(&g, sizeof(g));
    gtee_wipe(req, sizeof(req));
}

/* A metric's value from /metrics (-1 if absent). */
static long long metric(const char *name)
{
    uint8_t *body = NULL;
    size_t n = 0;
    long long v = -1;
    char key[128];

    snprintf(key, sizeof(key), "\n%s ", name);
    if (node_http(&node, "GET", "/metrics", NULL, NULL, 0, &body, &n) == 200) {
        const char *p = strstr((char *)body, key);

        if (p)
            v = strtoll(p + strlen(key), NULL, 10);
    }
    free(body);
    return v;
}

static int setup(void **state)
{
    size_t model_len = 0, input_len = 0, torch_len = 0;
    uint8_t *model, *input, *torch;
    struct gtee_box_key key;
    json_t *j;

    (void)state;
    if (node_start(&node, "load", NULL) != 0)
        return -1;
    j = node_get_json(&node, "/api/v1/status", 200);
    if (!j || gtee_hex_decode(json_string_value(json_object_get(json_object_get(j, "enclave"), "channel_public_key")),
                              w.chan, sizeof(w.chan)) != 0)
        return -1;
    json_decref(j);
    if (gtee_x25519_keypair(w.msk, w.mpk) != 0)
        return -1;
    for (int i = 0; i < PROVIDERS; i++)
        if (gtee_x25519_keypair(w.sk[i], w.pk[i]) != 0)
            return -1;
    model = load("mlp.onnx", &model_len);
    input = load("mlp.input.npy", &input_len);
    torch = load("mlp.torch.npy", &torch_len);
    if (gtee_npy_parse(torch, torch_len, "torch", GTEE_ARRAY_F32, GTEE_NORM_NONE, &w.want, NULL) != 0)
        return -1;
    seal_upload(&key, model, model_len, &w.model);
    grant(&w.model, &key, w.mpk, w.pk, PROVIDERS);
    gtee_box_key_wipe(&key);
    for (int i = 0; i < PROVIDERS; i++) {
        seal_upload(&key, input, input_len, &w.input[i]);
        grant(&w.input[i], &key, w.pk[i], NULL, 0);
        gtee_box_key_wipe(&key);
    }
    free(model);
    free(input);
    free(torch);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gtee_wipe(w.msk, sizeof(w.msk));
    gtee_wipe(w.sk, sizeof(w.sk));
    free(w.model.c);
    for (int i = 0; i < PROVIDERS; i++)
        free(w.input[i].c);
    gtee_array_free(&w.want);
    return node_stop(&node);
}

#define CHECK(c, ...)                                                      \
    do {                                                                   \
        if (!(c)) {                                                        \
            snprintf(cl->error, sizeof(cl->error), __VA_ARGS__);           \
            goto out;                                                      \
        }                                                                  \
    } while (0)

/* One job of a client: seal, submit, follow until done, fetch the record and the result,
 * open both as the requester and check the output. 0, or -1 with cl->error set. */
static int one_job(struct client *cl, int p)
{
    struct gtee_job job = { .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .labels = 2, .threads = 1 };
    uint8_t pt[1 + GTEE_JOB_MAX_LEN], resp_key[GTEE_RELAY_KEY_LEN], *box = NULL, *body = NULL, *opened = NULL;
    uint8_t *res = NULL, *out_pt = NULL;
    size_t n = 0, box_len = 0, len = 0, opened_len = 0, res_len = 0, out_len = 0;
    struct gtee_job_record rec = { 0 };
    struct gtee_array got = { 0 };
    char *hex = NULL, *req = NULL, path[160], id[65] = "", rhex[65];
    json_t *j = NULL;
    double t0, t1 = 0;
    int status, rc = -1, ended = 0, pause = 10;

    memcpy(job.requester, w.pk[p], 32);
    pt[0] = GTEE_RELAY_ML_JOB;
    CHECK(gtee_job_encode(&job, pt + 1, &n, NULL) == 0, "job encode");
    CHECK(gtee_relay_seal_request(w.chan, pt, 1 + n, resp_key, &box, &box_len, NULL) == 0, "relay seal");
    hex = malloc(2 * box_len + 1);
    CHECK(hex, "out of memory");
    gtee_hex_encode(box, box_len, hex);
    j = json_pack("{s:s,s:s,s:s}", "model", w.model.hex, "input", w.input[p].hex, "box", hex);
    req = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    j = NULL;
    CHECK(req, "out of memory");

    t0 = now_ms();
    status = node_http(&node, "POST", "/api/v1/jobs", NULL, req, strlen(req), &body, &len);
    CHECK(status == 202, "client %d: POST /api/v1/jobs: %d %s", cl->no, status, body ? (char *)body : "");
    j = json_loadb((char *)body, len, 0, NULL);
    CHECK(j && json_is_false(json_object_get(j, "duplicate")), "client %d: a new box taken for a duplicate",
          cl->no);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(json_object_get(j, "job"), "id")));
    json_decref(j);
    j = NULL;
    free(body);
    body = NULL;
    CHECK(strlen(id) == 64, "client %d: no job id", cl->no);

    /* Followed as a client would, polling more slowly as the wait grows (at most 100 ms). */
    snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
    while (!ended) {
        const char *st;

        j = node_get_json(&node, path, 200);
        st = json_string_value(json_object_get(json_object_get(j, "job"), "state"));
        CHECK(st, "client %d: GET %s failed", cl->no, path);
        CHECK(strcmp(st, "failed") != 0, "client %d: job %.16s failed: %s", cl->no, id,
              json_string_value(json_object_get(json_object_get(j, "job"), "error")));
        if (!strcmp(st, "done")) {
            const char *result = json_string_value(json_object_get(json_object_get(j, "job"), "result"));

            t1 = now_ms();
            ended = 1;
            snprintf(rhex, sizeof(rhex), "%s", result ? result : "");
        }
        json_decref(j);
        j = NULL;
        CHECK(now_ms() - t0 < BOUND_S * 1e3, "client %d: job %.16s did not end in %d s", cl->no, id, BOUND_S);
        if (!ended) {
            sleep_ms(pause);
            pause = pause * 3 / 2 > 100 ? 100 : pause * 3 / 2;
        }
    }

    snprintf(path, sizeof(path), "/api/v1/jobs/%s/record", id);
    status = node_http(&node, "GET", path, NULL, NULL, 0, &body, &len);
    CHECK(status == 200, "client %d: GET %s: %d", cl->no, path, status);
    CHECK(gtee_relay_open_response(resp_key, body, len, &opened, &opened_len, NULL) == 0,
          "client %d: the record of %.16s does not open", cl->no, id);
    CHECK(gtee_job_record_parse(opened, opened_len, &rec, NULL) == 0, "client %d: record parse", cl->no);
    CHECK(rec.recipient == 1 && !memcmp(rec.model, w.model.id, 32) && !memcmp(rec.input, w.input[p].id, 32),
          "client %d: the record of %.16s names other blobs or another recipient", cl->no, id);
    {
        char h[65];

        gtee_hex_encode(rec.result_sha256, 32, h);
        CHECK(!strcmp(h, rhex), "client %d: the job names result %s, its record %s", cl->no, rhex, h);
        snprintf(path, sizeof(path), "/api/v1/blobs/%s", h);
    }
    status = node_http(&node, "GET", path, NULL, NULL, 0, &res, &res_len);
    CHECK(status == 200, "client %d: GET %s: %d", cl->no, path, status);
    CHECK(gtee_result_open(&rec, w.sk[p], res, res_len, &out_pt, &out_len, NULL) == 0,
          "client %d: the result of %.16s does not open for its requester", cl->no, id);
    CHECK(gtee_npy_parse(out_pt, out_len, "output", GTEE_ARRAY_F32, GTEE_NORM_NONE, &got, NULL) == 0,
          "client %d: the output is not a .npy", cl->no);
    CHECK(got.count == w.want.count, "client %d: %zu outputs, want %zu", cl->no, got.count, w.want.count);
    for (size_t i = 0; i < got.count; i++)
        CHECK(fabsf(got.f32[i] - w.want.f32[i]) <= 1e-4f * fmaxf(1.0f, fabsf(w.want.f32[i])),
              "client %d: output %zu is %g, PyTorch gave %g", cl->no, i, got.f32[i], w.want.f32[i]);
    {
        int k = atomic_fetch_add(&next_done, 1);

        CHECK(k < JOBS, "more than %d jobs ended", JOBS);
        memcpy(done[k].id, id, sizeof(id));
        done[k].latency_ms = t1 - t0;
        done[k].macs = rec.macs;
        done[k].samples = rec.samples;
    }
    rc = 0;
out:
    json_decref(j);
    gtee_array_free(&got);
    gtee_job_record_free(&rec);
    if (out_pt)
        gtee_wipe(out_pt, out_len);
    free(out_pt);
    free(res);
    free(opened);
    free(body);
    free(req);
    free(hex);
    free(box);
    gtee_wipe(resp_key, sizeof(resp_key));
    return rc;
}

static void *client(void *arg)
{
    struct client *cl = arg;

    for (int i = 0; i < cl->jobs; i++)
        if (one_job(cl, cl->no % PROVIDERS) != 0)
            break;
    return NULL;
}

static int by_latency(const void *a, const void *b)
{
    double x = ((const struct done *)a)->latency_ms, y = ((const struct done *)b)->latency_ms;

    return x < y ? -1 : x > y;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct done *)a)->id, ((const struct done *)b)->id);
}

static void test_load(void **state)
{
    static struct client cl[CLIENTS];
    static struct done sorted[JOBS];
    double t0, secs;
    json_t *list, *jobs, *v;
    size_t i;
    int failed = 0;

    (void)state;
    t0 = now_ms();
    for (int c = 0; c < CLIENTS; c++) {
        cl[c].no = c;
        cl[c].jobs = JOBS / CLIENTS + (c < JOBS % CLIENTS);
        assert_int_equal(pthread_create(&cl[c].t, NULL, client, &cl[c]), 0);
    }
    for (int c = 0; c < CLIENTS; c++) {
        pthread_join(cl[c].t, NULL);
        if (cl[c].error[0]) {
            print_error("%s\n", cl[c].error);
            failed++;
        }
    }
    secs = (now_ms() - t0) / 1e3;
    assert_int_equal(failed, 0);
    assert_int_equal(atomic_load(&next_done), JOBS);
    assert_true(secs < BOUND_S);

    memcpy(sorted, done, sizeof(done));
    qsort(sorted, JOBS, sizeof(sorted[0]), by_latency);
    print_message("load: %d jobs from %d clients in %.1f s: %.1f jobs/s; latency (submit to done) p50 %.0f ms, "
                  "p99 %.0f ms, max %.0f ms\n",
                  JOBS, CLIENTS, secs, JOBS / secs, sorted[JOBS / 2].latency_ms, sorted[JOBS * 99 / 100].latency_ms,
                  sorted[JOBS - 1].latency_ms);

    /* Every job its own id, and each ran once: its record's units of work are one run's. */
    qsort(sorted, JOBS, sizeof(sorted[0]), by_id);
    for (i = 1; i < JOBS; i++)
        assert_string_not_equal(sorted[i - 1].id, sorted[i].id);
    for (i = 0; i < JOBS; i++) {
        assert_true(sorted[i].macs > 0);
        assert_int_equal(sorted[i].macs, sorted[0].macs);
        assert_true(sorted[i].samples > 0);
        assert_int_equal(sorted[i].samples, sorted[0].samples);
    }

    /* The node's account: exactly these 500 jobs, each done once, none failed. */
    list = node_get_json(&node, "/api/v1/jobs", 200);
    assert_non_null(list);
    jobs = json_object_get(list, "jobs");
    assert_int_equal(json_array_size(jobs), JOBS);
    json_array_foreach(jobs, i, v)
    {
        struct done key;

        snprintf(key.id, sizeof(key.id), "%s", json_string_value(json_object_get(v, "id")));
        assert_non_null(bsearch(&key, sorted, JOBS, sizeof(sorted[0]), by_id));
        assert_string_equal(json_string_value(json_object_get(v, "state")), "done");
    }
    json_decref(list);
    assert_int_equal(metric("gtee_node_jobs{state=\"done\"}"), JOBS);
    assert_int_equal(metric("gtee_node_jobs{state=\"failed\"}"), 0);
    assert_int_equal(metric("gtee_node_jobs{state=\"queued\"}"), 0);
    /* and the queue handed the enclave 500 job boxes: none ran twice */
    assert_int_equal(metric("gtee_node_jobs_run_total"), JOBS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
