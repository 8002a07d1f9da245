/* The node's job route (docs/node-api.md, "Jobs"): a provider seals a model and its data,
 * uploads the containers, grants them over the relay and submits its sealed job box with
 * POST /api/v1/jobs; the node passes the blobs from its store into the enclave's slots, relays
 * the box, and keeps the result as a blob and the answer box as the job's record. Inference
 * gives the plaintext engine's output, training reports its epochs as progress and gives the
 * trained model; the same box again is the same job; and a job on a blob without a grant, on
 * an expired grant, by another requester, on a tampered blob or a container over the memory
 * limit is refused with the enclave's reason. Results over the message limit (a trained
 * model of 7.5 MiB, an inference output over 1 MiB) come out whole. While a training job
 * runs, evidence, grants and relay boxes are answered at once, and a grant replaced under
 * the job leaves the job's terms as they were. Drives `gtee node run` on the simulated TEE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <sys/mman.h>

#include "gtee/box.h"
#include "gtee/crypto.h"
#include "gtee/dataset.h"
#include "gtee/jobs.h"
#include "gtee/ml.h"
#include "gtee/msg.h"
#include "ml/mlp_build.h"
#include "node/node_http.h"

#define ITEMS 64
#define BIG (80u << 20)           /* over the node's 64 MiB memory limit below */
#define WIDE_ROWS 320             /* an inference output of WIDE_ROWS x 1024 floats: over 1 MiB */

static struct test_node node;

struct blob {
    uint8_t *c;                   /* the container */
    size_t len;
    uint8_t id[32];
    char hex[65];
};

static struct {
    uint8_t chan[GTEE_RELAY_PUB_LEN];
    uint8_t sk[32], pk[32];       /* the provider's X25519 key */
    uint8_t sk2[32], pk2[32];     /* someone the grants do not name */
    struct gtee_box_key key, other;
    struct blob model, input, features, labels, ungranted, expired, big;
} w;

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

/* Seals pt under key into b and uploads it: POST /api/v1/uploads, one PUT. */
static void seal_upload(const struct gtee_box_key *key, const void *pt, size_t len, struct blob *b)
{
    struct gtee_box_opts o = { .chunk_size = 65536 };
    int in = memfd_create("pt", MFD_CLOEXEC), out = memfd_create("c", MFD_CLOEXEC);
    char req[200];
    uint8_t *body = NULL;
    size_t n = 0;
    json_t *j;
    off_t end;

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

/* One relay exchange: the opened answer (NULL and the status if the node refused it). */
static int relay(const uint8_t *pt, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], *box = NULL, *body = NULL;
    size_t box_len = 0, n = 0;
    int status;

    assert_int_equal(gtee_relay_seal_request(w.chan, pt, len, resp_key, &box, &box_len, NULL), 0);
    status = node_http(&node, "POST", "/api/v1/relay", NULL, box, box_len, &body, &n);
    if (status == 200)
        assert_int_equal(gtee_relay_open_response(resp_key, body, n, out, out_len, NULL), 0);
    free(body);
    free(box);
    return status;
}

/* The provider's grant of b for both kinds; to: a requester it names besides itself (NULL:
 * none); flags: GTEE_GRANT_WEIGHTS_TO_REQUESTER or 0. */
static void grant_to(const struct blob *b, const struct gtee_box_key *key, uint64_t until, const uint8_t *to,
                     uint8_t flags)
{
    struct gtee_grant g = { .kinds = GTEE_GRANT_INFER | GTEE_GRANT_TRAIN, .until = until, .flags = flags };
    uint8_t req[1 + GTEE_GRANT_MAX_LEN], *out = NULL;
    size_t n = 0, out_len = 0;

    memcpy(g.content_id, b->id, 32);
    memcpy(g.key, key->bytes, 32);
    memcpy(g.owner, w.pk, 32);
    if (to) {
        g.n_to = 1;
        memcpy(g.to[0], to, 32);
    }
    req[0] = GTEE_RELAY_GRANT;
    assert_int_equal(gtee_grant_encode(&g, req + 1, &n, NULL), 0);
    assert_int_equal(relay(req, 1 + n, &out, &out_len), 200);
    free(out);
    gtee_wipe(&g, sizeof(g));
}

static void grant(const struct blob *b, const struct gtee_box_key *key, uint64_t until)
{
    grant_to(b, key, until, NULL, 0);
}

/* A .npy of int64 labels. */
static uint8_t *labels_npy(const int64_t *y, size_t n, size_t *len)
{
    char hdr[118];
    size_t h = (size_t)snprintf(hdr, sizeof(hdr), "{'descr': '<i8', 'fortran_order': False, 'shape': (%zu,), }", n);
    uint8_t *b;

    while (h < sizeof(hdr) - 1)
        hdr[h++] = ' ';
    hdr[h - 1] = '\n';
    *len = 10 + h + n * 8;
    b = malloc(*len);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)h;
    b[9] = (uint8_t)(h >> 8);
    memcpy(b + 10, hdr, h);
    memcpy(b + 10 + h, y, n * 8);
    return b;
}

static int setup(void **state)
{
    size_t model_len = 0, input_len = 0, x_len = 0, y_len = 0;
    uint8_t *model, *input, *x_npy = NULL, *y_npy, *big;
    float *x = malloc(ITEMS * 784 * sizeof(float));
    int64_t y[ITEMS];
    size_t dims[4] = { ITEMS, 1, 28, 28 };
    uint64_t seed = 0x5eed;
    json_t *j;

    (void)state;
    /* 64 MiB for the enclave's models, data and results: the MLPs and their training fit. */
    if (!x || node_start(&node, "jobs", "s/^enclave_memory_limit = .*/enclave_memory_limit = 67108864/") != 0)
        return -1;
    j = node_get_json(&node, "/api/v1/status", 200);
    if (!j || gtee_hex_decode(json_string_value(json_object_get(json_object_get(j, "enclave"), "channel_public_key")),
                              w.chan, sizeof(w.chan)) != 0)
        return -1;
    json_decref(j);
    if (gtee_box_key_generate(&w.key) != 0 || gtee_box_key_generate(&w.other) != 0 ||
        gtee_x25519_keypair(w.sk, w.pk) != 0 || gtee_x25519_keypair(w.sk2, w.pk2) != 0)
        return -1;

    model = load("mlp.onnx", &model_len);
    input = load("mlp.input.npy", &input_len);
    for (size_t i = 0; i < ITEMS * 784; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(seed >> 40) / (float)(1u << 24);
    }
    for (size_t i = 0; i < ITEMS; i++)
        y[i] = (int64_t)(i % 10);
    if (gtee_npy_encode_f32(x, dims, 4, &x_npy, &x_len, NULL) != 0)
        return -1;
    y_npy = labels_npy(y, ITEMS, &y_len);
    big = calloc(1, BIG);
    if (!big)
        return -1;

    seal_upload(&w.key, model, model_len, &w.model);
    seal_upload(&w.key, input, input_len, &w.input);
    seal_upload(&w.key, x_npy, x_len, &w.features);
    seal_upload(&w.key, y_npy, y_len, &w.labels);
    seal_upload(&w.other, input, input_len, &w.ungranted);
    /* the same input again, under a key of its own whose grant has ended */
    {
        static struct gtee_box_key k3;

        if (gtee_box_key_generate(&k3) != 0)
            return -1;
        seal_upload(&k3, input, input_len + 0, &w.expired);
        grant(&w.expired, &k3, (uint64_t)time(NULL) - 60);
        gtee_box_key_wipe(&k3);
    }
    seal_upload(&w.key, big, BIG, &w.big);
    grant(&w.model, &w.key, 0);
    grant(&w.input, &w.key, 0);
    grant(&w.features, &w.key, 0);
    grant(&w.labels, &w.key, 0);
    free(model);
    free(input);
    free(x_npy);
    free(y_npy);
    free(big);
    free(x);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gtee_box_key_wipe(&w.key);
    gtee_box_key_wipe(&w.other);
    gtee_wipe(w.sk, sizeof(w.sk));
    gtee_wipe(w.sk2, sizeof(w.sk2));
    free(w.model.c);
    free(w.input.c);
    free(w.features.c);
    free(w.labels.c);
    free(w.ungranted.c);
    free(w.expired.c);
    free(w.big.c);
    return node_stop(&node);
}

struct submitted {
    char id[65];
    uint8_t resp_key[GTEE_RELAY_KEY_LEN];
    char *body;                   /* the POST's JSON, for a resubmission */
};

/* Seals the job to the enclave and submits it with the blobs named; the HTTP status. */
static int submit(const struct gtee_job *job, const struct blob *model, const struct blob *in,
                  const struct blob *labels, struct submitted *s)
{
    uint8_t pt[1 + GTEE_JOB_MAX_LEN], *box = NULL, *body = NULL;
    size_t n = 0, box_len = 0, len = 0;
    char *hex;
    json_t *req, *j;
    int status;

    memset(s, 0, sizeof(*s));
    pt[0] = GTEE_RELAY_ML_JOB;
    assert_int_equal(gtee_job_encode(job, pt + 1, &n, NULL), 0);
    assert_int_equal(gtee_relay_seal_request(w.chan, pt, 1 + n, s->resp_key, &box, &box_len, NULL), 0);
    hex = malloc(2 * box_len + 1);
    assert_non_null(hex);
    gtee_hex_encode(box, box_len, hex);
    req = labels ? json_pack("{s:s,s:s,s:s,s:s}", "model", model->hex, "features", in->hex, "labels", labels->hex,
                             "box", hex)
                 : json_pack("{s:s,s:s,s:s}", "model", model->hex, "input", in->hex, "box", hex);
    s->body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    free(hex);
    free(box);
    status = node_http(&node, "POST", "/api/v1/jobs", NULL, s->body, strlen(s->body), &body, &len);
    j = json_loadb((char *)body, len, 0, NULL);
    free(body);
    if (status == 202 || status == 200)
        snprintf(s->id, sizeof(s->id), "%s", json_string_value(json_object_get(json_object_get(j, "job"), "id")));
    json_decref(j);
    return status;
}

/* Polls the job until it is done or failed (well within the bound, in tenths of seconds). */
static json_t *wait_job_for(const char *id, int tenths)
{
    char path[128];

    snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
    for (int i = 0; i < tenths; i++) {
        json_t *j = node_get_json(&node, path, 200), *job = json_object_get(j, "job");
        const char *st = json_string_value(json_object_get(job, "state"));

        if (st && (!strcmp(st, "done") || !strcmp(st, "failed"))) {
            json_incref(job);
            json_decref(j);
            return job;
        }
        json_decref(j);
        sleep_ms(100);
    }
    fail_msg("job %s did not end in %d s", id, tenths / 10);
    return NULL;
}

static json_t *wait_job(const char *id)
{
    return wait_job_for(id, 1200);
}

/* The record and the result of a done job, opened as its requester. */
static void fetch(const struct submitted *s, struct gtee_job_record *rec, uint8_t **pt, size_t *pt_len)
{
    char path[128], hex[65];
    uint8_t *body = NULL, *opened = NULL, *res = NULL;
    size_t n = 0, opened_len = 0, res_len = 0;

    snprintf(path, sizeof(path), "/api/v1/jobs/%s/record", s->id);
    assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &body, &n), 200);
    assert_int_equal(gtee_relay_open_response(s->resp_key, body, n, &opened, &opened_len, NULL), 0);
    free(body);
    assert_int_equal(gtee_job_record_parse(opened, opened_len, rec, NULL), 0);
    free(opened);
    gtee_hex_encode(rec->result_sha256, 32, hex);
    snprintf(path, sizeof(path), "/api/v1/blobs/%s", hex);
    assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &res, &res_len), 200);
    assert_int_equal(gtee_result_open(rec, w.sk, res, res_len, pt, pt_len, NULL), 0);
    free(res);
}

static void test_infer(void **state)
{
    struct gtee_job job = { .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .labels = 2, .threads = 1 };
    struct gtee_job_record rec = { 0 };
    struct gtee_array got = { 0 }, want = { 0 };
    struct submitted s;
    uint8_t *pt = NULL, *torch;
    size_t pt_len = 0, torch_len = 0;
    json_t *j, *list;
    char hex[65];

    (void)state;
    memcpy(job.requester, w.pk, 32);
    assert_int_equal(submit(&job, &w.model, &w.input, NULL, &s), 202);
    j = wait_job(s.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "infer");
    fetch(&s, &rec, &pt, &pt_len);
    /* the job JSON names the result blob the record names */
    gtee_hex_encode(rec.result_sha256, 32, hex);
    assert_string_equal(json_string_value(json_object_get(j, "result")), hex);
    json_decref(j);
    assert_int_equal(rec.recipient, 1);
    assert_memory_equal(rec.model, w.model.id, 32);
    assert_memory_equal(rec.input, w.input.id, 32);
    assert_true(rec.macs > 0);
    /* the enclave's output is what PyTorch gave for this model and input */
    torch = load("mlp.torch.npy", &torch_len);
    assert_int_equal(gtee_npy_parse(pt, pt_len, "output", GTEE_ARRAY_F32, GTEE_NORM_NONE, &got, NULL), 0);
    assert_int_equal(gtee_npy_parse(torch, torch_len, "torch", GTEE_ARRAY_F32, GTEE_NORM_NONE, &want, NULL),
                     0);
    assert_int_equal(got.count, want.count);
    for (size_t i = 0; i < got.count; i++)
        assert_true(fabsf(got.f32[i] - want.f32[i]) <= 1e-4f * fmaxf(1.0f, fabsf(want.f32[i])));
    gtee_array_free(&got);
    gtee_array_free(&want);
    free(torch);
    gtee_wipe(pt, pt_len);
    free(pt);
    gtee_job_record_free(&rec);

    /* The same box again is the same job, not a second run. */
    {
        uint8_t *body = NULL;
        size_t n = 0;

        assert_int_equal(node_http(&node, "POST", "/api/v1/jobs", NULL, s.body, strlen(s.body), &body, &n), 200);
        j = json_loadb((char *)body, n, 0, NULL);
        free(body);
        assert_true(json_is_true(json_object_get(j, "duplicate")));
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "job"), "id")), s.id);
        json_decref(j);
    }
    list = node_get_json(&node, "/api/v1/jobs", 200);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 1);
    json_decref(list);
    free(s.body);
}

static void test_train(void **state)
{
    struct gtee_job job = { .kind = GTEE_JOB_TRAIN, .model = 0, .input = 1, .labels = 2, .threads = 1,
                            .optimizer = 2, .epochs = 2, .batch = 16, .seed = 7, .lr = 0.001f };
    struct gtee_job_record rec = { 0 };
    struct submitted s;
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    json_t *j;

    (void)state;
    memcpy(job.requester, w.pk, 32);
    assert_int_equal(submit(&job, &w.model, &w.features, &w.labels, &s), 202);
    j = wait_job(s.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done"))
        fail_msg("train: %s", json_string_value(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "train");
    /* the epochs come only from the enclave's progress reports */
    assert_int_equal(json_integer_value(json_object_get(j, "epochs")), 2);
    assert_true(json_real_value(json_object_get(j, "percent")) == 100.0);
    json_decref(j);
    fetch(&s, &rec, &pt, &pt_len);
    assert_int_equal(rec.n_epochs, 2);
    assert_int_equal(rec.recipient, 1); /* the requester owns the model */
    assert_int_equal(rec.epochs[1].samples, ITEMS);
    assert_memory_equal(rec.labels, w.labels.id, 32);
    /* the trained model: an ONNX protobuf of about the original's size */
    assert_true(pt_len > w.model.len / 2);
    gtee_wipe(pt, pt_len);
    free(pt);
    gtee_job_record_free(&rec);
    free(s.body);
}

/* Results larger than one host-enclave message (1 MiB): the enclave keeps them and the node
 * reads them out in pieces. An inference output of WIDE_ROWS x 1024 floats, and a training
 * job on an MLP with a 784x1024 and a 1024x1024 layer (built here from a seed: its ONNX is
 * about 7.5 MiB); both are what the plaintext engine gives. */
static void test_results_over_the_message_limit(void **state)
{
    static const int64_t deep[4] = { 784, 1024, 1024, 10 }, wide[2] = { 784, 1024 };
    struct gtee_job infer = { .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .threads = 1 };
    struct gtee_job train = { .kind = GTEE_JOB_TRAIN, .model = 0, .input = 1, .labels = 2, .threads = 1,
                              .optimizer = 2, .epochs = 1, .batch = 32, .seed = 7, .lr = 0.001f };
    size_t deep_len = 0, wide_len = 0, x_len = 0, in_len = 0, pt_len = 0, want_n = 0, saved_len = 0;
    uint8_t *deep_m = mlp_build(deep, 3, 0xdee9, &deep_len), *wide_m = mlp_build(wide, 1, 0x1de, &wide_len);
    uint8_t *x_npy = NULL, *in_npy = NULL, *pt = NULL, *saved = NULL;
    float *x = malloc(WIDE_ROWS * 784 * sizeof(float)), *want = NULL;
    int64_t y[ITEMS];
    size_t xdims[2] = { ITEMS, 784 }, idims[2] = { WIDE_ROWS, 784 };
    struct blob bdeep, bwide, bx, bin;
    struct gtee_job_record rec = { 0 };
    struct gtee_array got = { 0 };
    struct submitted s;
    uint64_t seed = 0xb1d;
    json_t *j;

    (void)state;
    assert_non_null(deep_m);
    assert_non_null(wide_m);
    assert_non_null(x);
    assert_true(deep_len > (4u << 20));
    for (size_t i = 0; i < WIDE_ROWS * 784; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(seed >> 40) / (float)(1u << 24);
    }
    for (size_t i = 0; i < ITEMS; i++)
        y[i] = (int64_t)(i % 10);
    assert_int_equal(gtee_npy_encode_f32(x, xdims, 2, &x_npy, &x_len, NULL), 0);
    assert_int_equal(gtee_npy_encode_f32(x, idims, 2, &in_npy, &in_len, NULL), 0);
    seal_upload(&w.key, deep_m, deep_len, &bdeep);
    seal_upload(&w.key, wide_m, wide_len, &bwide);
    seal_upload(&w.key, x_npy, x_len, &bx);
    seal_upload(&w.key, in_npy, in_len, &bin);
    grant(&bdeep, &w.key, 0);
    grant(&bwide, &w.key, 0);
    grant(&bx, &w.key, 0);
    grant(&bin, &w.key, 0);

    memcpy(infer.requester, w.pk, 32);
    assert_int_equal(submit(&infer, &bwide, &bin, NULL, &s), 202);
    j = wait_job(s.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done"))
        fail_msg("infer: %s", json_string_value(json_object_get(j, "error")));
    json_decref(j);
    fetch(&s, &rec, &pt, &pt_len);
    assert_true(rec.result_len > GTEE_MSG_MAX_PAYLOAD);
    assert_int_equal(gtee_npy_parse(pt, pt_len, "output", GTEE_ARRAY_F32, GTEE_NORM_NONE, &got, NULL), 0);
    assert_int_equal(mlp_run_local(wide_m, wide_len, x, WIDE_ROWS, 784, &want, &want_n), 0);
    assert_int_equal(got.count, WIDE_ROWS * 1024);
    assert_int_equal(want_n, got.count);
    for (size_t i = 0; i < got.count; i++)
        assert_true(fabsf(got.f32[i] - want[i]) <= 1e-5f * fmaxf(1.0f, fabsf(want[i])));
    gtee_array_free(&got);
    free(want);
    gtee_wipe(pt, pt_len);
    free(pt);
    gtee_job_record_free(&rec);
    free(s.body);

    memcpy(train.requester, w.pk, 32);
    assert_int_equal(submit(&train, &bdeep, &bx, &w.labels, &s), 202);
    j = wait_job(s.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done"))
        fail_msg("train: %s", json_string_value(json_object_get(j, "error")));
    json_decref(j);
    fetch(&s, &rec, &pt, &pt_len);
    assert_true(rec.result_len > (4u << 20));
    /* one thread, the same engine and seed: the same trained model, byte for byte */
    assert_int_equal(mlp_train_local(deep_m, deep_len, x, y, ITEMS, &saved, &saved_len), 0);
    assert_int_equal(pt_len, saved_len);
    assert_memory_equal(pt, saved, saved_len);
    gtee_wipe(pt, pt_len);
    free(pt);
    free(saved);
    gtee_job_record_free(&rec);
    free(s.body);
    free(bdeep.c);
    free(bwide.c);
    free(bx.c);
    free(bin.c);
    free(deep_m);
    free(wide_m);
    free(x_npy);
    free(in_npy);
    free(x);
}

/* A job the enclave refuses: failed, its record 400 rejected with the enclave's reason. */
static void refused(const struct gtee_job *job, const struct blob *model, const struct blob *in, const char *why)
{
    struct submitted s;
    char path[128];
    uint8_t *body = NULL;
    size_t n = 0;
    json_t *j;

    assert_int_equal(submit(job, model, in, NULL, &s), 202);
    j = wait_job(s.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(j, "stage")), "refused");
    if (!strstr(json_string_value(json_object_get(j, "error")), why))
        fail_msg("expected '%s' in: %s", why, json_string_value(json_object_get(j, "error")));
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/jobs/%s/record", s.id);
    assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &body, &n), 400);
    j = json_loadb((char *)body, n, 0, NULL);
    free(body);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "rejected");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), why));
    json_decref(j);
    free(s.body);
}

static void test_refusals(void **state)
{
    struct gtee_job job = { .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .labels = 2, .threads = 1 };
    uint8_t *body = NULL;
    size_t n = 0;
    char req[400], path[300];
    FILE *f;

    (void)state;
    memcpy(job.requester, w.pk, 32);
    refused(&job, &w.model, &w.ungranted, "no grant holds the key");
    refused(&job, &w.model, &w.expired, "has expired");
    refused(&job, &w.big, &w.input, "memory");
    memcpy(job.requester, w.pk2, 32);
    refused(&job, &w.model, &w.input, "names this requester");
    memcpy(job.requester, w.pk, 32);

    /* Checked before anything is queued: a blob the node does not hold, a malformed body. */
    snprintf(req, sizeof(req), "{\"model\":\"%s\",\"input\":\"%064d\",\"box\":\"%0186d\"}", w.model.hex, 0, 0);
    assert_int_equal(node_http(&node, "POST", "/api/v1/jobs", NULL, req, strlen(req), &body, &n), 404);
    assert_non_null(strstr((char *)body, "the input blob"));
    free(body);
    snprintf(req, sizeof(req), "{\"model\":\"%s\",\"input\":\"%s\",\"labels\":\"%s\",\"box\":\"00\"}", w.model.hex,
             w.input.hex, w.input.hex);
    assert_int_equal(node_http(&node, "POST", "/api/v1/jobs", NULL, req, strlen(req), &body, &n), 400);
    free(body);
    assert_int_equal(node_http(&node, "GET", "/api/v1/jobs/00/record", NULL, NULL, 0, &body, &n), 404);
    free(body);

    /* A host that alters a stored blob: the enclave finds it out and refuses the job. */
    snprintf(path, sizeof(path), "%s/n/blobs/%s", node.dir, w.model.hex);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(w.model.len / 2), SEEK_SET), 0);
    assert_int_equal(fputc(w.model.c[w.model.len / 2] ^ 0x01, f), w.model.c[w.model.len / 2] ^ 0x01);
    fclose(f);
    refused(&job, &w.model, &w.input, "the model blob");
}

/* The enclave dies under a running job: the job is reported failed (the node's trouble, not
 * a refusal) and says to submit it again; the node restarts the enclave, hands the grants
 * back, and the job submitted again runs. */
static void test_enclave_dies(void **state)
{
    struct gtee_job train = { .kind = GTEE_JOB_TRAIN, .model = 0, .input = 1, .labels = 2, .threads = 1,
                              .optimizer = 1, .epochs = 1000, .batch = 1, .seed = 3, .lr = 0.001f };
    struct gtee_job infer = { .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .labels = 2, .threads = 1 };
    struct gtee_job_record rec = { 0 };
    struct submitted s, queued;
    char path[128];
    uint8_t *body = NULL, *pt = NULL;
    size_t n = 0, pt_len = 0;
    json_t *j, *st;
    int pid = 0, seen = 0;

    (void)state;
    memcpy(train.requester, w.pk, 32);
    memcpy(infer.requester, w.pk, 32);
    assert_int_equal(submit(&train, &w.model, &w.features, &w.labels, &s), 202);
    snprintf(path, sizeof(path), "/api/v1/jobs/%s", s.id);
    /* Training, as the enclave's progress reports say: then the enclave is killed. */
    for (int i = 0; i < 600 && !seen; i++) {
        j = node_get_json(&node, path, 200);
        seen = j && !strcmp(json_string_value(json_object_get(json_object_get(j, "job"), "stage")), "training");
        json_decref(j);
        if (!seen)
            sleep_ms(50);
    }
    assert_true(seen);
    /* One more job, queued behind the training, sealed to this start's channel key. */
    assert_int_equal(submit(&infer, &w.model, &w.input, NULL, &queued), 202);
    j = node_get_json(&node, "/api/v1/jobs", 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 5 + 1); /* the tests before, this one */
    json_decref(j);
    st = node_get_json(&node, "/api/v1/status", 200);
    pid = (int)json_integer_value(json_object_get(json_object_get(st, "enclave"), "pid"));
    json_decref(st);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    j = wait_job(s.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    assert_string_not_equal(json_string_value(json_object_get(j, "stage")), "refused");
    if (!strstr(json_string_value(json_object_get(j, "error")), "submit the job again"))
        fail_msg("the failure does not say to submit again: %s", json_string_value(json_object_get(j, "error")));
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/jobs/%s/record", s.id);
    assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &body, &n), 409);
    assert_non_null(strstr((char *)body, "\"failed\""));
    free(body);
    free(s.body);
    /* The queued job runs on the restarted enclave, which has another channel key: it fails
     * plainly, for its requester to attest again, rather than as a box that does not open. */
    j = wait_job(queued.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
    if (!strstr(json_string_value(json_object_get(j, "error")), "restarted after the job was submitted"))
        fail_msg("the queued job: %s", json_string_value(json_object_get(j, "error")));
    json_decref(j);
    free(queued.body);

    /* Submitted again (a new box, to the new start's channel key) once the enclave runs
     * again with its grants restored. */
    for (int i = 0; i < 600; i++) {
        json_t *e;
        int up;

        st = node_get_json(&node, "/api/v1/status", 200);
        e = json_object_get(st, "enclave");
        up = !strcmp(json_string_value(json_object_get(e, "state")), "running") &&
             json_integer_value(json_object_get(e, "pid")) != pid;
        if (up)
            assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(e, "channel_public_key")), w.chan,
                                             sizeof(w.chan)),
                             0);
        json_decref(st);
        if (up)
            break;
        sleep_ms(50);
    }
    assert_int_equal(submit(&infer, &w.model, &w.input, NULL, &s), 202);
    j = wait_job(s.id);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done"))
        fail_msg("the job after the restart: %s", json_string_value(json_object_get(j, "error")));
    json_decref(j);
    fetch(&s, &rec, &pt, &pt_len);
    assert_true(pt_len > 0);
    gtee_wipe(pt, pt_len);
    free(pt);
    gtee_job_record_free(&rec);
    free(s.body);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *job_stage(const char *id)
{
    static char stage[32];
    char path[128];
    json_t *j;

    snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
    j = node_get_json(&node, path, 200);
    snprintf(stage, sizeof(stage), "%s", j ? json_string_value(json_object_get(json_object_get(j, "job"), "stage")) : "");
    json_decref(j);
    return stage;
}

/* How long one request took, failing when it was not answered within the bound. */
#define ANSWERED_MS 3000
static void answered_within(int64_t t0, const char *what)
{
    int64_t took = now_ms() - t0;

    if (took > ANSWERED_MS)
        fail_msg("%s took %lld ms while a job ran (bound %d ms)", what, (long long)took, ANSWERED_MS);
}

/* A job's JSON and its version (docs/node-api.md, "Following a job"). */
static json_t *job_now(const char *id, char version[17])
{
    char path[128];
    json_t *j, *job;

    snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
    j = node_get_json(&node, path, 200);
    job = json_object_get(j, "job");
    assert_non_null(job);
    assert_non_null(json_string_value(json_object_get(job, "version")));
    snprintf(version, 17, "%s", json_string_value(json_object_get(job, "version")));
    json_incref(job);
    json_decref(j);
    return job;
}

/* Long polls, while the training job `running` runs and the job `queued` waits behind it:
 * - on the running job at its version: answered when it changes (its epochs), long before
 *   the wait asked for;
 * - on the queued job at its version: more of them than the node has HTTP threads, all
 *   waiting at once, and the node still answers others at once; each is answered after its
 *   wait, with the same version;
 * - at another version: at once; bad parameters: 400. */
#define WAITERS 24
static void check_long_polls(const char *running, const char *queued)
{
    char v[17], v2[17], path[200];
    int fds[WAITERS];
    uint8_t *body = NULL;
    size_t n = 0;
    int64_t t0;
    json_t *j;

    json_decref(job_now(running, v));
    snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait_ms=20000&version=%s", running, v);
    t0 = now_ms();
    j = node_get_json(&node, path, 200);
    assert_non_null(j);
    snprintf(v2, sizeof(v2), "%s", json_string_value(json_object_get(json_object_get(j, "job"), "version")));
    json_decref(j);
    assert_string_not_equal(v, v2);
    if (now_ms() - t0 > 10000)
        fail_msg("a long poll on a running job took %lld ms to see it change", (long long)(now_ms() - t0));

    json_decref(job_now(queued, v));
    snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait_ms=1500&version=%s", queued, v);
    t0 = now_ms();
    for (int i = 0; i < WAITERS; i++)
        assert_true((fds[i] = node_http_send(&node, "GET", path, NULL, NULL, 0)) >= 0);
    sleep_ms(200);
    assert_int_equal(node_http(&node, "GET", "/healthz", NULL, NULL, 0, &body, &n), 200);
    free(body);
    answered_within(t0, "/healthz while long polls waited");
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(node_http_read(fds[i], &body, &n), 200);
        j = json_loadb((char *)body, n, 0, NULL);
        free(body);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "job"), "state")), "queued");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "job"), "version")), v);
        json_decref(j);
    }
    if (now_ms() - t0 < 1400)
        fail_msg("long polls on an unchanged job were answered after %lld ms, before their 1500 ms",
                 (long long)(now_ms() - t0));

    snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait_ms=20000&version=0000000000000000", queued);
    t0 = now_ms();
    json_decref(node_get_json(&node, path, 200));
    answered_within(t0, "a long poll at another version");
    snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait_ms=30001&version=%s", queued, v);
    assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &body, &n), 400);
    assert_non_null(strstr((char *)body, "wait_ms"));
    free(body);
    snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait_ms=100", queued);
    assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &body, &n), 400);
    assert_non_null(strstr((char *)body, "version"));
    free(body);
}

/* The enclave answers while a job runs: a training job of a good while (several seconds of
 * epochs on slow cores), and meanwhile evidence requests (clients attesting), a GRANT that
 * replaces the grant the running job uses, and a relay box that the enclave refuses, each
 * answered well within a generous bound; then the job still ends as it began: done, with
 * the terms its grants had when it started (the trained weights to the model's owner, not
 * to the requester, though the new grant would send them there). */
/* Long enough that every request below (long polls of 1.5 s among them) is answered while it
 * runs, with seconds to spare on a fast core: 400 epochs left one second here. The
 * sanitizers' build (GTEE_SANITIZED) trains about seventeen times slower: 1000 epochs took
 * 160 s there, so it runs a fifth as many. */
#ifdef GTEE_SANITIZED
#define LONG_EPOCHS 200
#else
#define LONG_EPOCHS 1000
#endif
static void test_answers_while_a_job_runs(void **state)
{
    struct gtee_job train = { .kind = GTEE_JOB_TRAIN, .model = 0, .input = 1, .labels = 2, .threads = 1,
                              .optimizer = 1, .epochs = LONG_EPOCHS, .batch = 1, .seed = 5, .lr = 0.001f };
    struct gtee_job_record rec = { 0 };
    struct submitted s, q;
    uint8_t *pt = NULL, *body = NULL, *out = NULL, junk[40];
    size_t pt_len = 0, n = 0, out_len = 0;
    char path[160], nonce[65];
    struct blob model = { 0 };
    uint8_t *onnx = load("mlp.onnx", &n);
    int64_t t_asked;
    int seen = 0;
    json_t *j;

    (void)state;
    /* The model sealed afresh (test_refusals tampered the stored one). The grants name a
     * second requester; the model's keeps trained weights for its owner. */
    seal_upload(&w.key, onnx, n, &model);
    free(onnx);
    grant_to(&model, &w.key, 0, w.pk2, 0);
    grant_to(&w.features, &w.key, 0, w.pk2, 0);
    grant_to(&w.labels, &w.key, 0, w.pk2, 0);
    memcpy(train.requester, w.pk2, 32);
    assert_int_equal(submit(&train, &model, &w.features, &w.labels, &s), 202);
    for (int i = 0; i < 1200 && !seen; i++) {
        const char *stage = job_stage(s.id);

        if (!strcmp(stage, "refused") || !strcmp(stage, "failed"))
            fail_msg("the job was %s: %s", stage, json_string_value(json_object_get(wait_job(s.id), "error")));
        seen = !strcmp(stage, "training");
        if (!seen)
            sleep_ms(50);
    }
    assert_true(seen);

    for (int i = 0; i < 5; i++) {
        int64_t t0 = now_ms();

        for (int k = 0; k < 64; k++)
            nonce[k] = "0123456789abcdef"[(i * 7 + k) % 16];
        nonce[64] = '\0';
        snprintf(path, sizeof(path), "/api/v1/evidence?nonce=%s", nonce);
        assert_int_equal(node_http(&node, "GET", path, NULL, NULL, 0, &body, &n), 200);
        free(body);
        answered_within(t0, "an evidence request");
    }
    {
        int64_t t0 = now_ms();

        /* the model's grant replaced: trained weights would now go to the requester */
        grant_to(&model, &w.key, 0, w.pk2, GTEE_GRANT_WEIGHTS_TO_REQUESTER);
        answered_within(t0, "a grant");
        t0 = now_ms();
        memset(junk, 0x77, sizeof(junk)); /* a relay operation the enclave does not know */
        assert_int_not_equal(relay(junk, sizeof(junk), &out, &out_len), 200);
        answered_within(t0, "a relay box");
    }
    {
        /* an inference job, queued behind the training job while it runs */
        struct gtee_job infer = { .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .threads = 1 };

        memcpy(infer.requester, w.pk2, 32);
        assert_int_equal(submit(&infer, &model, &w.features, NULL, &q), 202);
        check_long_polls(s.id, q.id);
    }
    /* all of it while the job ran */
    assert_string_equal(job_stage(s.id), "training");
    t_asked = now_ms();

    j = wait_job_for(s.id, 6000);
    if (strcmp(json_string_value(json_object_get(j, "state")), "done"))
        fail_msg("the job: %s", json_string_value(json_object_get(j, "error")));
    json_decref(j);
    print_message("the job ran %.1f s after the requests were answered\n", (double)(now_ms() - t_asked) / 1000.0);
    j = wait_job(q.id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "done");
    json_decref(j);
    free(q.body);
    fetch(&s, &rec, &pt, &pt_len); /* opened with the owner's key: the weights are the owner's */
    assert_int_equal(rec.recipient, 2);
    assert_int_equal(rec.n_epochs, LONG_EPOCHS);
    assert_true(pt_len > model.len / 2);
    gtee_wipe(pt, pt_len);
    free(pt);
    gtee_job_record_free(&rec);
    free(s.body);
    free(model.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infer),
        cmocka_unit_test(test_train),
        cmocka_unit_test(test_results_over_the_message_limit),
        cmocka_unit_test(test_enclave_dies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_answers_while_a_job_runs),
    };

    signal(SIGPIPE, SIG_IGN);
    /* The node's enclave runs without JIT (enclave_allow_jit = 0), so its matrix products
     * are OpenBLAS's (docs/ml.md, "Kernels"); the local references take the same kernels. */
    gtee_ml_forbid_jit();
    return cmocka_run_group_tests(tests, setup, teardown);
}
