/* `gtee infer` and `gtee train`: a requester attests the node's enclave, seals its job to the
 * attested channel key, submits it (POST /api/v1/jobs; the node fills the enclave's slots
 * by convention: model 0, input or features 1, labels 2), follows its progress, then opens
 * the job record (only it can) and the result sealed to its identity (HPKE,
 * gtee_result_open) and writes the output through the safe writer. gtee never opens a
 * container: the blobs are opened in the enclave alone. In the one-shot form, for one user
 * who is both providers, a file named in place of a content id is sealed under a fresh key
 * held only in memory, uploaded, and granted to the requester for this job's kind alone,
 * after the enclave is attested and before the job is sealed to it. */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/jobs.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/http.h"
#include "cli/node_client.h"
#include "cli/node_pick.h"
#include "cli/provider.h"

/* The job is followed by long polls: each asks the node to answer once the job is not at the
 * version last seen, or after WAIT_MS (docs/node-api.md, "Following a job"), so each change,
 * the end included, is seen as it happens, and a quiet job costs the node one request in
 * WAIT_MS. (Polls at intervals saw a job done up to a tenth of its time after it ended.) */
#define WAIT_MS 20000

static const char usage_infer[] =
    "Usage: gtee infer --node URL --identity ID --model CID --input CID --out OUT.npy [options]\n"
    "       gtee infer (--node URL | --ledger SPEC) --model MODEL.onnx --input X.npy --out OUT.npy\n"
    "                  [options]\n"
    "\n"
    "Runs the model CID on the input CID (containers on the node, granted to your identity or\n"
    "yours) inside the node's enclave, after attesting it, and writes the predictions (.npy),\n"
    "which the enclave sealed to your identity, to OUT.npy.\n"
    "\n"
    "One-shot form: a file in place of a content id (the model .onnx; the input .npy or IDX,\n"
    "gzip-compressed or not) is sealed under a fresh key that only this command holds,\n"
    "uploaded, and granted to you for this job after the enclave is attested. Without\n"
    "--identity, when every blob is a file, a one-time identity receives the result.\n"
    "\n"
    "Options:\n"
    "      --node URL, --model CID|FILE, --input CID|FILE, --out FILE  (required)\n"
    "      --ledger SPEC       in place of --node: evm:URL,ADDRESS or local:PATH; the job runs\n"
    "                          on the first active node of the ledger (in registration order)\n"
    "                          that answers and whose evidence, bound to its registered\n"
    "                          Enclave ID, this client accepts; the others are named and skipped\n"
    "      --node-timeout S    --ledger: the bound on each node's attestation (default 20)\n"
    "      --identity ID       your identity (gtee identity new); required with content ids\n"
    "      --threads N         the enclave's threads for the job (default 1)\n"
    "      --force             replace OUT if it exists\n"
    "      --timeout S         give up waiting for the job after S seconds (default 3600)\n"
    "      --policy POLICY, --collateral DIR, --sim-root DER   as for gtee grant\n"
    "      --progress, --no-progress   force or suppress the progress bar (default: on a terminal)\n"
    "      --json              print the summary as JSON\n"
    "  -h, --help              show this help\n";

static const char usage_train[] =
    "Usage: gtee train --node URL --identity ID --model CID --data CID --labels CID --epochs N\n"
    "                  --out TRAINED.onnx [options]\n"
    "       gtee train (--node URL | --ledger SPEC) --model MODEL.onnx --data DIR --epochs N\n"
    "                  --out TRAINED.onnx\n"
    "\n"
    "Trains the model CID on the features CID (--data: .npy, or IDX whose bytes are scaled\n"
    "to 0..1) and the labels CID (integer .npy or IDX) inside the node's enclave, after\n"
    "attesting it; prints each epoch's loss and accuracy and writes the trained model, if\n"
    "the model's grant lets it come to you (else it was sealed to the model's owner, and only\n"
    "the metrics are yours).\n"
    "\n"
    "One-shot form: files in place of content ids are sealed under fresh keys, uploaded and\n"
    "granted to you for this job (see gtee infer --help). --data DIR takes the training split\n"
    "of a dataset directory as gtee model train reads it: train-images-idx3-ubyte[.gz] and\n"
    "train-labels-idx1-ubyte[.gz], or x_train.npy and y_train.npy.\n"
    "\n"
    "Options:\n"
    "      --node URL, --model CID|FILE, --data CID|FILE|DIR, --epochs N, --out FILE  (required)\n"
    "      --ledger SPEC       in place of --node: pick an active node of the ledger, attested\n"
    "      --node-timeout S    as for gtee infer (default 20)\n"
    "      --labels CID|FILE   the labels (required unless --data is a directory)\n"
    "      --identity ID       your identity; required with content ids\n"
    "      --batch N           mini-batch size (default 32)\n"
    "      --lr X              learning rate (default 0.001)\n"
    "      --optimizer NAME    adam (default) or sgd\n"
    "      --seed N            the shuffling's seed (default 1)\n"
    "      --threads N         the enclave's threads for the job (default 1)\n"
    "      --force, --timeout S, --policy, --collateral, --sim-root, --progress, --no-progress,\n"
    "      --json              as for gtee infer\n"
    "  -h, --help              show this help\n";

struct job_args {
    const char *node, *ledger, *identity, *model, *input, *labels, *out;
    long node_timeout_s; /* --ledger: the bound on each node's attestation */
    /* the content ids of the files the one-shot form provided, and a --data DIR's files */
    char cid[3][65], dir_x[PATH_MAX], dir_y[PATH_MAX];
    struct cli_attest_opts ao;
    struct gtee_job job;
    int force, progress;
    long timeout_s;
};

static int url_of(const char *node, const char *path, char *out, size_t n, struct gtee_err *err)
{
    if (cli_http_url(out, n, node, path) != 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "--node %s: expected an http:// or https:// URL", node);
    return 0;
}

static int cid_ok(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* The job's progress: a bar on a terminal, else a line when the stage or epoch changes. */
static void show(const struct job_args *a, json_t *job, char *last, size_t n)
{
    const char *stage = json_string_value(json_object_get(job, "stage"));
    double pct = json_number_value(json_object_get(job, "percent"));
    int ep = (int)json_integer_value(json_object_get(job, "epoch"));
    int eps = (int)json_integer_value(json_object_get(job, "epochs"));
    char now[96] = "", bar[31];
    int fill = (int)(pct / 100.0 * 30);

    if (!a->progress || !stage)
        return;
    if (eps)
        snprintf(now, sizeof(now), " epoch %d/%d", ep, eps);
    if (a->progress == 2) {
        fill = fill < 0 ? 0 : fill > 30 ? 30 : fill;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(30 - fill));
        bar[30] = '\0';
        fprintf(stderr, "\r%-10.10s [%s] %3d%%%s   ", stage, bar, (int)pct, now);
        fflush(stderr);
        snprintf(last, n, "drawn");
        return;
    }
    {
        char line[160];

        /* a line per stage and epoch, and per tenth of the way within them */
        snprintf(line, sizeof(line), "%s%s %d%%", stage, now, (int)(pct / 10) * 10);
        if (strcmp(line, last))
            fprintf(stderr, "gtee: job %s\n", line);
        snprintf(last, n, "%s", line);
    }
}

/* Submits the box and waits for the job to end; its id in id. */
static int submit_and_wait(const struct job_args *a, const uint8_t *box, size_t box_len, char id[65],
                           struct gtee_err *err)
{
    char url[1200], why[GTEE_ERR_MSG_MAX], path[160], last[160] = "", version[17] = "";
    struct cli_http_resp r = { 0 };
    char *hex = malloc(2 * box_len + 1), *body = NULL;
    json_t *req = NULL;
    const char *state = NULL;
    double start = cli_now();
    int rc;

    ENSURE(hex, err, GTEE_ENOMEM, "out of memory");
    gtee_hex_encode(box, box_len, hex);
    req = a->labels ? json_pack("{s:s,s:s,s:s,s:s}", "model", a->model, "features", a->input, "labels", a->labels,
                                "box", hex)
                    : json_pack("{s:s,s:s,s:s}", "model", a->model, "input", a->input, "box", hex);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    ENSURE(body, err, GTEE_ENOMEM, "out of memory");
    TRY(url_of(a->node, "/api/v1/jobs", url, sizeof(url), err));
    TRY(cli_http_request("POST", url, "application/json", body, strlen(body), -1, 0, -1, 60, NULL, NULL, &r, err));
    ENSURE(r.status != 404, err, GTEE_ENOTFOUND, "%s", cli_http_error(&r, why, sizeof(why)));
    ENSURE(r.status == 202 || r.status == 200, err, r.status >= 500 ? GTEE_EIO : GTEE_EFORMAT, "submitting the job: %s",
           cli_http_error(&r, why, sizeof(why)));
    state = json_string_value(json_object_get(json_object_get(r.json, "job"), "id"));
    ENSURE(cid_ok(state), err, GTEE_EFORMAT, "the node's answer names no job id");
    memcpy(id, state, 65);
    cli_http_resp_free(&r);
    for (;;) {
        json_t *job;
        const char *v;
        double left = (double)a->timeout_s - (cli_now() - start);
        long wait_ms = left <= 0 ? 0 : left * 1000 < WAIT_MS ? (long)(left * 1000) : WAIT_MS;

        if (version[0])
            snprintf(path, sizeof(path), "/api/v1/jobs/%s?wait_ms=%ld&version=%s", id, wait_ms, version);
        else
            snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
        TRY(url_of(a->node, path, url, sizeof(url), err));
        TRY(cli_http_request("GET", url, NULL, NULL, 0, -1, 0, -1, wait_ms / 1000 + 60, NULL, NULL, &r, err));
        ENSURE(r.status == 200, err, GTEE_EIO, "job %s: %s", id, cli_http_error(&r, why, sizeof(why)));
        job = json_object_get(r.json, "job");
        state = json_string_value(json_object_get(job, "state"));
        ENSURE(state, err, GTEE_EFORMAT, "job %s: the node's answer has no state", id);
        v = json_string_value(json_object_get(job, "version"));
        ENSURE(v && strlen(v) == sizeof(version) - 1 && strspn(v, "0123456789abcdef") == sizeof(version) - 1, err,
               GTEE_EFORMAT, "job %s: the node's answer has no version (16 hex digits)", id);
        snprintf(version, sizeof(version), "%s", v);
        show(a, job, last, sizeof(last));
        if (!strcmp(state, "done") || !strcmp(state, "failed"))
            break;
        cli_http_resp_free(&r);
        ENSURE(cli_now() - start < (double)a->timeout_s, err, GTEE_EIO,
               "job %s did not end within %ld s (--timeout); gtee job status follows it", id, a->timeout_s);
    }
    rc = 0;
out:
    if (a->progress == 2 && last[0])
        fputc('\n', stderr);
    cli_http_resp_free(&r);
    json_decref(req);
    free(body);
    free(hex);
    return rc;
}

/* GET path into bytes; a refusal's JSON into err (400: the enclave's reason, exit 7). */
static int fetch(const struct job_args *a, const char *path, uint8_t **out, size_t *len, struct gtee_err *err)
{
    return cli_node_get(a->node, path, out, len, err);
}

/* One file of the one-shot form, sealed under a fresh key on a thread of its own from the
 * command's start and, when the node is named (--node), uploaded there too: sealing and
 * uploading the 31 MB of 10,000 images take longer than attesting the enclave and providing
 * the model, which they now overlap (docs/performance.md, "Confidential overhead"). Only
 * ciphertext under a key that never left this process goes out before the enclave is
 * attested; the key goes only into a grant to the attested enclave. With --ledger the node
 * is the one the attestation picks, so the upload waits for it. */
struct sealing {
    const char *what, *path, *node;
    int gunzip, bar;
    struct gtee_box_key key;
    int fd;
    uint8_t id[GTEE_BOX_CONTENT_ID_LEN];
    char cid[65];
    uint64_t size;
    int rc, started, uploaded;
    struct gtee_err err;
    const _Atomic int *stop;
    pthread_t t;
};

/* Uploads z's container to node (progress lines, or a bar where z->bar says). */
/* The push settings of z's upload to node: stopped by z->stop, progress as z->bar says. */
static struct cli_push push_of(const struct sealing *z, const char *node)
{
    struct cli_push p = CLI_PUSH_DEFAULTS;

    p.node = node;
    p.stop = z->stop;
    p.progress = z->bar ? CLI_PROGRESS_AUTO : CLI_PROGRESS_OFF;
    return p;
}

static int upload(struct sealing *z, const char *node, struct gtee_err *err)
{
    struct cli_push p = push_of(z, node);
    int rc;

    cli_progress_init(&p.bar, p.progress == CLI_PROGRESS_AUTO && z->bar > 1, z->size, z->what);
    rc = cli_push_upload(&p, z->fd, z->cid, z->size, err);
    cli_progress_finish(&p.bar);
    return rc;
}

static void *seal_main(void *arg)
{
    struct sealing *z = arg;
    struct cli_push p = push_of(z, z->node);

    z->rc = gtee_box_key_generate(&z->key);
    if (z->rc < 0) {
        (void)GTEE_FAIL(&z->err, z->rc, "no randomness for a fresh key");
    } else if (z->node) {
        /* sealed and uploaded at once (cli_push_file) */
        z->rc = cli_push_file(&p, &z->key, z->path, z->gunzip, z->bar > 1, z->what, z->id, &z->size, &z->err);
        z->uploaded = z->rc == 0;
    } else {
        z->rc = cli_push_seal(&z->key, z->path, z->gunzip, &z->fd, z->id, &z->size, &z->err);
    }
    if (z->rc == 0)
        gtee_hex_encode(z->id, sizeof(z->id), z->cid);
    return NULL;
}

/* Starts sealing (and, with --node, uploading) each file named in place of a content id
 * (z[i] for slot i). Only the largest file's upload draws a bar on a terminal, so that two
 * threads never draw at once. */
static int seal_ahead(const struct job_args *a, struct sealing z[3], const _Atomic int *stop, struct gtee_err *err)
{
    const char *slot[3] = { a->model, a->input, a->labels };
    const char *what[3] = { "model", a->labels ? "features" : "input", "labels" };
    off_t largest = -1;
    int bar = -1;

    for (int i = 0; i < 3; i++) {
        struct stat st;

        if (slot[i] && !cid_ok(slot[i]) && stat(slot[i], &st) == 0 && st.st_size > largest) {
            largest = st.st_size;
            bar = i;
        }
    }
    for (int i = 0; i < 3; i++) {
        memset(&z[i], 0, sizeof(z[i]));
        z[i].fd = -1;
        if (!slot[i] || cid_ok(slot[i]))
            continue;
        z[i].what = what[i];
        z[i].path = slot[i];
        z[i].gunzip = i != 0;
        z[i].node = a->ledger ? NULL : a->node;
        z[i].stop = stop;
        z[i].bar = a->progress && i == bar ? a->progress : 0;
        if (pthread_create(&z[i].t, NULL, seal_main, &z[i]) != 0)
            return GTEE_FAIL(err, GTEE_EIO, "no thread to seal the %s", what[i]);
        z[i].started = 1;
    }
    return 0;
}

/* Waits for every sealing started (an upload in flight stops before its next request) and
 * drops what is left of them (keys wiped). */
static void seal_end(struct sealing z[3], _Atomic int *stop)
{
    *stop = 1;
    for (int i = 0; i < 3; i++) {
        if (z[i].started)
            pthread_join(z[i].t, NULL);
        z[i].started = 0;
        if (z[i].fd >= 0)
            close(z[i].fd);
        z[i].fd = -1;
        gtee_box_key_wipe(&z[i].key);
    }
}

/* Waits for a sealed (and maybe uploaded) file, uploads it if it is not yet, and grants it
 * to the requester for this job's kind until an hour past the job's timeout; cid gets its
 * id. */
static int provide(const struct job_args *a, const struct cli_enclave *enc, struct sealing *z, char cid[65],
                   struct gtee_err *err)
{
    struct gtee_grant g;
    uint8_t kid[GTEE_BOX_KEY_ID_LEN];
    int rc;

    memset(&g, 0, sizeof(g));
    pthread_join(z->t, NULL);
    z->started = 0;
    if (z->rc < 0) {
        *err = z->err;
        return z->rc;
    }
    memcpy(cid, z->cid, 65);
    if (!z->uploaded) {
        if (!cli_json())
            fprintf(stderr, "gtee: %s %s sealed under a fresh key (%llu bytes); uploading\n", z->what, z->path,
                    (unsigned long long)z->size);
        TRY(upload(z, a->node, err));
    } else if (!cli_json()) {
        fprintf(stderr, "gtee: %s %s sealed under a fresh key (%llu bytes) and uploaded\n", z->what, z->path,
                (unsigned long long)z->size);
    }
    memcpy(g.content_id, z->id, sizeof(g.content_id));
    memcpy(g.owner, a->job.requester, sizeof(g.owner));
    g.kinds = a->job.kind == GTEE_JOB_TRAIN ? GTEE_GRANT_TRAIN : GTEE_GRANT_INFER;
    g.until = (uint64_t)time(NULL) + (uint64_t)a->timeout_s + 3600;
    TRY(cli_grant_release(enc, &z->key, &g, kid, err));
    if (!cli_json())
        fprintf(stderr, "gtee: %s blob %s granted to this job's requester\n", z->what, cid);
out:
    gtee_wipe(&g, sizeof(g));
    return rc;
}

/* The one-shot form: each file named in place of a content id becomes one. */
static int provide_all(struct job_args *a, const struct cli_enclave *enc, struct sealing z[3], struct gtee_err *err)
{
    const char **slot[3] = { &a->model, &a->input, &a->labels };
    int rc = 0;

    for (int i = 0; i < 3; i++) {
        if (!z[i].started)
            continue;
        TRY(provide(a, enc, &z[i], a->cid[i], err));
        *slot[i] = a->cid[i];
    }
out:
    return rc;
}

static int run_job(struct job_args *a)
{
    struct gtee_err err = { 0 };
    struct cli_enclave enc;
    struct gtee_job_record rec;
    struct stat st;
    uint8_t sk[32], pt_req[1 + GTEE_JOB_MAX_LEN], resp_key[GTEE_RELAY_KEY_LEN], *box = NULL, *rbox = NULL,
        *opened = NULL, *res = NULL, *pt = NULL;
    size_t n = 0, box_len = 0, rbox_len = 0, opened_len = 0, res_len = 0, pt_len = 0;
    char id[65] = "", path[160], hex[65], receipt[67] = "";
    int rc, have_rec = 0;
    json_t *sum = NULL;
    struct sealing z[3];
    _Atomic int stop = 0;

    memset(&rec, 0, sizeof(rec));
    memset(z, 0, sizeof(z));
    for (int i = 0; i < 3; i++)
        z[i].fd = -1;
    if (!a->force && lstat(a->out, &st) == 0)
        return cli_fail(GTEE_EEXIST, "output %s already exists (refusing to overwrite; --force replaces it)", a->out);
    if (a->progress < 0)
        a->progress = isatty(STDERR_FILENO) && !cli_json() ? 2 : 0;
    else if (a->progress)
        a->progress = isatty(STDERR_FILENO) ? 2 : 1;
    if (!a->identity) {
        /* One-shot with every blob a file: nobody else needs to name this requester. */
        TRY(gtee_x25519_keypair(sk, a->job.requester));
    } else if ((rc = cli_secret_read(a->identity, "identity", CLI_IDENTITY_PREFIX, sk, &err)) < 0) {
        return cli_fail_err(rc, &err);
    } else if ((rc = gtee_x25519_public(sk, a->job.requester)) < 0) {
        (void)GTEE_FAIL(&err, rc, "identity file %s: not an X25519 key", a->identity);
        goto out;
    }
    TRY(seal_ahead(a, z, &stop, &err));
    if (a->ledger) {
        /* the first active node of the ledger that answers and attests runs the job */
        TRY(cli_node_pick(a->ledger, &a->ao, a->node_timeout_s, cli_json(), &enc, &err));
        a->node = enc.url;
    } else {
        TRY(cli_node_attest(a->node, &a->ao, &enc, &err));
    }
    if (!cli_json())
        fprintf(stderr, "gtee: enclave %s (%s%s) attested at %s\n", enc.enclave_id, enc.tee,
                enc.simulated ? ", SIMULATED: not secure" : "", a->node);
    TRY(provide_all(a, &enc, z, &err));
    seal_end(z, &stop);
    a->job.model = 0;
    a->job.input = 1;
    a->job.labels = 2;
    pt_req[0] = GTEE_RELAY_ML_JOB;
    TRY(gtee_job_encode(&a->job, pt_req + 1, &n, &err));
    TRY(gtee_relay_seal_request(enc.channel_pub, pt_req, 1 + n, resp_key, &box, &box_len, &err));
    TRY(submit_and_wait(a, box, box_len, id, &err));
    snprintf(path, sizeof(path), "/api/v1/jobs/%s/record", id);
    TRY(fetch(a, path, &rbox, &rbox_len, &err));
    TRY(gtee_relay_open_response(resp_key, rbox, rbox_len, &opened, &opened_len, &err));
    TRY(gtee_job_record_parse(opened, opened_len, &rec, &err));
    have_rec = 1;
    gtee_hex_encode(rec.result_sha256, 32, hex);
    sum = cli_job_summary(id, &rec, hex);
    ENSURE(sum, &err, GTEE_ENOMEM, "out of memory");
    json_object_set_new(sum, "node", json_string(a->node));
    json_object_set_new(sum, "enclave_id", json_string(enc.enclave_id));
    if (rec.kind == GTEE_JOB_TRAIN) {
        /* the training receipt is the record as given here: its Work Proof names its hash
         * (docs/proofs.md), which only the requester can recompute */
        uint8_t rh[32];

        TRY(gtee_sha256(opened, opened_len, rh));
        receipt[0] = '0', receipt[1] = 'x';
        gtee_hex_encode(rh, 32, receipt + 2);
        json_object_set_new(sum, "receipt_hash", json_string(receipt));
    }
    if (rec.recipient != 1) {
        /* The model's grant keeps its trained weights for its owner. */
        json_object_set_new(sum, "output", json_null());
        json_object_set_new(sum, "note", json_string("the trained weights were sealed to the model's owner, who "
                                                     "fetches them with gtee job fetch"));
    } else {
        snprintf(path, sizeof(path), "/api/v1/blobs/%s", hex);
        TRY(fetch(a, path, &res, &res_len, &err));
        TRY(gtee_result_open(&rec, sk, res, res_len, &pt, &pt_len, &err));
        TRY(gtee_file_write(a->out, pt, pt_len, 0600, a->force ? GTEE_FILE_REPLACE : 0, &err));
        json_object_set_new(sum, "output", json_string(a->out));
        json_object_set_new(sum, "output_bytes", json_integer((json_int_t)pt_len));
    }
    if (cli_json()) {
        rc = cli_json_emit(sum) ? CLI_EXIT_IO : 0;
        sum = NULL;
        goto done;
    }
    printf("job %s done\nnode: %s (enclave %s)\n", id, a->node, enc.enclave_id);
    cli_job_print(&rec);
    if (receipt[0])
        printf("training receipt %s (the hash its Work Proof names)\n", receipt);
    if (rec.recipient != 1)
        printf("the trained weights were sealed to the model's owner (its grant keeps them); nothing written: the "
               "owner fetches them with gtee job fetch %s\n",
               id);
    else
        printf("wrote %s (%zu bytes)\n", a->out, pt_len);
    rc = 0;
    goto done;
out:
    seal_end(z, &stop);
    rc = cli_fail_err(rc, &err);
done:
    json_decref(sum);
    if (have_rec)
        gtee_job_record_free(&rec);
    gtee_wipe(sk, sizeof(sk));
    gtee_wipe(resp_key, sizeof(resp_key));
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    free(box);
    free(rbox);
    free(opened);
    free(res);
    return rc;
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < lo || v > hi) {
        cli_usage_error("%s %.40s: expected a whole number from %ld to %ld", what, s, lo, hi);
        return -1;
    }
    return v;
}

/* A blob argument: a content id, or a regular file for the one-shot form. */
static int blob_arg(const char *opt, const char *v)
{
    struct stat st;

    if (cid_ok(v))
        return 0;
    if (stat(v, &st) == 0 && S_ISREG(st.st_mode))
        return 0;
    cli_usage_error("%s %.200s: neither a content id (64 lowercase hex digits, as gtee push prints) nor a file%s",
                    opt, v, stat(v, &st) == 0 ? "" : " that exists");
    return -1;
}

/* --data DIR: the training split's features and labels files, as gtee model train finds them. */
static int data_dir(struct job_args *a, const char *dir)
{
    static const char *const pairs[][2] = {
        { "train-images-idx3-ubyte", "train-labels-idx1-ubyte" },
        { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" },
        { "x_train.npy", "y_train.npy" },
    };
    struct stat st;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0; /* a file: --labels names the labels */
    if (a->labels)
        return cli_usage_error("--data %.200s is a dataset directory: it names the labels (no --labels)", dir), -1;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        snprintf(a->dir_x, sizeof(a->dir_x), "%s/%s", dir, pairs[i][0]);
        snprintf(a->dir_y, sizeof(a->dir_y), "%s/%s", dir, pairs[i][1]);
        if (stat(a->dir_x, &st) == 0 && stat(a->dir_y, &st) == 0) {
            a->input = a->dir_x;
            a->labels = a->dir_y;
            return 0;
        }
    }
    cli_usage_error("--data %.200s: neither train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz] nor "
                    "x_train.npy with y_train.npy is in the directory",
                    dir);
    return -1;
}

static int run(int argc, char **argv, int train)
{
    static const struct option opts[] = {
        { "node", required_argument, NULL, 'n' },
        { "ledger", required_argument, NULL, 'L' },
        { "node-timeout", required_argument, NULL, 'W' },
        { "identity", required_argument, NULL, 'i' },
        { "model", required_argument, NULL, 'm' },
        { "input", required_argument, NULL, 'I' },
        { "data", required_argument, NULL, 'd' },
        { "labels", required_argument, NULL, 'l' },
        { "out", required_argument, NULL, 'o' },
        { "epochs", required_argument, NULL, 'e' },
        { "batch", required_argument, NULL, 'b' },
        { "lr", required_argument, NULL, 'r' },
        { "optimizer", required_argument, NULL, 'O' },
        { "seed", required_argument, NULL, 'S' },
        { "threads", required_argument, NULL, 't' },
        { "force", no_argument, NULL, 'f' },
        { "timeout", required_argument, NULL, 'T' },
        { "policy", required_argument, NULL, 'p' },
        { "collateral", required_argument, NULL, 'c' },
        { "sim-root", required_argument, NULL, 's' },
        { "progress", no_argument, NULL, 'P' },
        { "no-progress", no_argument, NULL, 'N' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct job_args a;
    const char *input = NULL, *data = NULL;
    long v;
    int c;

    memset(&a, 0, sizeof(a));
    a.progress = -1;
    a.timeout_s = 3600;
    a.node_timeout_s = 20;
    a.job.kind = train ? GTEE_JOB_TRAIN : GTEE_JOB_INFER;
    a.job.threads = 1;
    if (train) {
        a.job.optimizer = 2;
        a.job.batch = 32;
        a.job.lr = 0.001f;
        a.job.seed = 1;
    }
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': a.node = optarg; break;
        case 'L': a.ledger = optarg; break;
        case 'W':
            if ((v = parse_long(optarg, 1, 3600, "--node-timeout")) < 0)
                return CLI_EXIT_USAGE;
            a.node_timeout_s = v;
            break;
        case 'i': a.identity = optarg; break;
        case 'm': a.model = optarg; break;
        case 'I': input = optarg; break;
        case 'd': data = optarg; break;
        case 'l': a.labels = optarg; break;
        case 'o': a.out = optarg; break;
        case 'e':
            if ((v = parse_long(optarg, 1, GTEE_JOB_MAX_EPOCHS, "--epochs")) < 0)
                return CLI_EXIT_USAGE;
            a.job.epochs = (uint16_t)v;
            break;
        case 'b':
            if ((v = parse_long(optarg, 1, 1 << 20, "--batch")) < 0)
                return CLI_EXIT_USAGE;
            a.job.batch = (uint32_t)v;
            break;
        case 'r': {
            char *end = NULL;
            float lr = strtof(optarg, &end);

            if (!*optarg || *end || !(lr > 0.0f && lr < 10.0f))
                return cli_usage_error("--lr %.40s: expected a positive number under 10", optarg);
            a.job.lr = lr;
            break;
        }
        case 'O':
            if (!strcmp(optarg, "sgd"))
                a.job.optimizer = 1;
            else if (!strcmp(optarg, "adam"))
                a.job.optimizer = 2;
            else
                return cli_usage_error("--optimizer %.40s: expected adam or sgd", optarg);
            break;
        case 'S':
            if ((v = parse_long(optarg, 0, 0x7fffffffL, "--seed")) < 0)
                return CLI_EXIT_USAGE;
            a.job.seed = (uint64_t)v;
            break;
        case 't':
            if ((v = parse_long(optarg, 1, GTEE_JOB_MAX_THREADS, "--threads")) < 0)
                return CLI_EXIT_USAGE;
            a.job.threads = (uint8_t)v;
            break;
        case 'f': a.force = 1; break;
        case 'T':
            if ((v = parse_long(optarg, 1, 7 * 86400, "--timeout")) < 0)
                return CLI_EXIT_USAGE;
            a.timeout_s = v;
            break;
        case 'p': a.ao.policy = optarg; break;
        case 'c': a.ao.collateral = optarg; break;
        case 's': a.ao.sim_root = optarg; break;
        case 'P': a.progress = 1; break;
        case 'N': a.progress = 0; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(train ? usage_train : usage_infer);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc != optind)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!a.node == !a.ledger)
        return cli_usage_error("name the node with --node URL or pick one from --ledger SPEC (one of them)");
    if (!a.model || !a.out)
        return cli_usage_error("--model and --out are required");
    if (train) {
        if (input || !data || !a.job.epochs)
            return cli_usage_error("train takes --data and --epochs (not --input)");
        a.input = data;
        if (!cid_ok(data) && data_dir(&a, data) < 0)
            return CLI_EXIT_USAGE;
        if (!a.labels)
            return cli_usage_error("train takes --labels unless --data is a dataset directory");
    } else {
        if (data || a.labels || !input)
            return cli_usage_error("infer takes --input (not --data or --labels)");
        a.input = input;
    }
    if (blob_arg("--model", a.model) < 0 || blob_arg(train ? "--data" : "--input", a.input) < 0 ||
        (a.labels && blob_arg("--labels", a.labels) < 0))
        return CLI_EXIT_USAGE;
    if (!a.identity && (cid_ok(a.model) || cid_ok(a.input) || (a.labels && cid_ok(a.labels))))
        return cli_usage_error("--identity is required with content ids (the grants name it)");
    return run_job(&a);
}

int cmd_infer(int argc, char **argv)
{
    return run(argc, argv, 0);
}

int cmd_train(int argc, char **argv)
{
    return run(argc, argv, 1);
}
