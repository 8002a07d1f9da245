/* The providers' steps (cli/provider.h): sealing and uploading a file, and releasing its
 * key to an attested enclave with a grant. gtee seals but never opens a container (the
 * never-rule): the key goes only into a grant sealed to the enclave. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/guard.h"
#include "cli/http.h"
#include "cli/provider.h"
#include "gtee/crypto.h"
#include "gtee/file.h"

/* A request's body, fed from the container as the sealer (if any) writes it, so that the
 * node receives and stores a chunk while the rest of it is sealed. */
struct feed {
    struct cli_push *p;
    struct sealer *s;
};

static void on_sent(uint64_t sent, void *arg)
{
    struct feed *f = arg;

    cli_progress_update(f->p->base + sent, &f->p->bar);
}

/* An unnamed temporary file (gone when closed) in $TMPDIR or /tmp. */
static int tmpfile_fd(int *fd, struct gtee_err *err)
{
    const char *tmp = getenv("TMPDIR");

    tmp = tmp && tmp[0] ? tmp : "/tmp";
    *fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (*fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "cannot make a temporary file in %s: %s", tmp, strerror(errno));
    return 0;
}

/* in's gzip stream, decompressed into an unnamed temporary. zlib's own stream reader: the
 * file may be larger than memory should hold. */
static int gunzip_fd(int in, const char *path, int *out, struct gtee_err *err)
{
    unsigned char buf[1 << 16];
    gzFile gz = NULL;
    int fd = -1, n, rc, dup_in = dup(in);

    ENSURE(dup_in >= 0, err, GTEE_EIO, "%s: %s", path, strerror(errno));
    gz = gzdopen(dup_in, "rb");
    if (!gz)
        close(dup_in);
    ENSURE(gz, err, GTEE_ENOMEM, "%s: cannot start decompressing", path);
    TRY(tmpfile_fd(&fd, err));
    while ((n = gzread(gz, buf, sizeof(buf))) > 0)
        for (int done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));

            if (w < 0 && errno == EINTR)
                continue;
            ENSURE(w > 0, err, GTEE_EIO, "temporary file for %s: %s", path, strerror(errno));
            done += (int)w;
        }
    if (n < 0) {
        int zerr = 0;
        const char *msg = gzerror(gz, &zerr);

        rc = GTEE_FAIL(err, GTEE_EFORMAT, "%s: not a whole gzip stream (%s)", path, msg ? msg : "zlib error");
        goto out;
    }
    ENSURE(lseek(fd, 0, SEEK_SET) == 0, err, GTEE_EIO, "temporary file: %s", strerror(errno));
    *out = fd;
    fd = -1;
    rc = 0;
out:
    if (gz)
        gzclose_r(gz);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int is_gzip(int fd)
{
    unsigned char m[2];

    return pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* path opened for reading; with gunzip, a gzip file is decompressed into a temporary. */
static int open_plaintext(const char *path, int gunzip, int *fd, struct gtee_err *err)
{
    int in = -1, rc;

    TRY(gtee_file_open_read(path, &in, err));
    if (gunzip && is_gzip(in)) {
        int plain = -1;

        TRY(gunzip_fd(in, path, &plain, err));
        close(in);
        in = plain;
    }
    *fd = in;
    in = -1;
out:
    if (in >= 0)
        close(in);
    return rc;
}

int cli_push_seal(const struct gtee_box_key *key, const char *path, int gunzip, int *out_fd,
                  uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size, struct gtee_err *err)
{
    struct gtee_box_opts opts = { 0 };
    struct gtee_box_stats st;
    int in = -1, fd = -1, rc;

    TRY(open_plaintext(path, gunzip, &in, err));
    TRY(tmpfile_fd(&fd, err));
    TRY(gtee_box_seal(key, &opts, in, fd, &st, err));
    /* the upload reads the container with pread at its own offsets */
    memcpy(id, st.content_id, GTEE_BOX_CONTENT_ID_LEN);
    *size = st.container_bytes;
    *out_fd = fd;
    fd = -1;
out:
    if (in >= 0)
        close(in);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The node's answer as a failure: its HTTP status mapped to a GTEE_E* code. */
static int node_refused(const struct cli_http_resp *r, const char *what, struct gtee_err *err)
{
    char msg[GTEE_ERR_MSG_MAX];
    int code = r->status == 413 ? GTEE_EPOLICY : r->status == 422 ? GTEE_EAUTH
             : r->status >= 500 || r->status == 0 ? GTEE_EIO : GTEE_EFORMAT;

    return GTEE_FAIL(err, code, "%s: %s", what, cli_http_error(r, msg, sizeof(msg)));
}

/* The node's record of an upload (offset), or the finished blob (its id into blob_id when
 * that is not NULL). */
static int read_upload(json_t *j, uint64_t *offset, int *complete, char *blob_id)
{
    json_t *u = json_object_get(j, "upload");

    *complete = json_is_true(json_object_get(j, "complete"));
    if (*complete) {
        const char *id = json_string_value(json_object_get(json_object_get(j, "blob"), "id"));

        if (!id || strlen(id) != 64)
            return -1;
        if (blob_id)
            memcpy(blob_id, id, 65);
        return 0;
    }
    if (!json_is_integer(json_object_get(u, "offset")) || json_integer_value(json_object_get(u, "offset")) < 0)
        return -1;
    *offset = (uint64_t)json_integer_value(json_object_get(u, "offset"));
    return 0;
}

/* POST /api/v1/uploads: the node's session for the blob (its URL in url), or complete when
 * it holds the blob already. A refusal is the node's (over its limit...); after a session
 * ended (resume), any refusal means the blob is lost to this upload. */
static int open_session(const struct cli_push *p, const char *cid, uint64_t size, int resume, char *url,
                        size_t url_len, uint64_t *offset, int *complete, char *blob_id, struct gtee_err *err)
{
    struct cli_http_resp r = { 0 };
    char body[160], upath[128];
    const char *uid;
    int rc;

    TRY(cli_http_url(url, url_len, p->node, "/api/v1/uploads") == 0
            ? 0
            : GTEE_FAIL(err, GTEE_EINVAL, "--node: '%s' is not an http:// or https:// URL", p->node));
    if (cid)
        snprintf(body, sizeof(body), "{\"size\":%llu,\"content_id\":\"%s\"}", (unsigned long long)size, cid);
    else
        snprintf(body, sizeof(body), "{\"size\":%llu}", (unsigned long long)size);
    TRY(cli_http_request("POST", url, "application/json", body, strlen(body), -1, 0, -1, 60, NULL, NULL, &r, err));
    if (r.status != 200 && r.status != 201) {
        rc = resume ? GTEE_FAIL(err, GTEE_EIO, "uploading: the session ended and the node does not hold the blob")
                    : node_refused(&r, "opening the upload", err);
        goto out;
    }
    ENSURE(read_upload(r.json, offset, complete, blob_id) == 0, err, GTEE_EFORMAT,
           "the node's upload answer is malformed");
    if (*complete)
        goto out;
    uid = json_string_value(json_object_get(json_object_get(r.json, "upload"), "id"));
    ENSURE(uid && strlen(uid) < 64 && strspn(uid, "0123456789abcdef") == strlen(uid), err, GTEE_EFORMAT,
           "the node's upload id is malformed");
    snprintf(upath, sizeof(upath), "/api/v1/uploads/%s", uid);
    TRY(cli_http_url(url, url_len, p->node, upath));
out:
    cli_http_resp_free(&r);
    return rc;
}

/* A container sealed on a thread into an unnamed temporary while the same container is
 * uploaded: each request waits until the sealer has written its bytes. */
struct sealer {
    const struct gtee_box_key *key;
    int in, out;
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t written; /* the container's bytes written so far */
    int done, rc;
    struct gtee_box_stats st;
    struct gtee_err err;
};

static void on_sealed(uint64_t plaintext_done, void *arg)
{
    struct sealer *s = arg;

    pthread_mutex_lock(&s->mu);
    s->written = gtee_box_sealed_size(plaintext_done, 0);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *sealer_main(void *arg)
{
    struct sealer *s = arg;
    struct gtee_box_opts opts = { .progress = on_sealed, .progress_arg = s };
    int rc = gtee_box_seal(s->key, &opts, s->in, s->out, &s->st, &s->err);

    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->done = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* With s->mu held: waits (at most timeout_s) until the sealer has written up to byte end
 * or ended; returns how far it has written. */
static uint64_t wait_sealed(struct sealer *s, uint64_t end, long timeout_s)
{
    struct timespec until;
    int w = 0;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_s;
    while (!s->done && s->written < end && w == 0)
        w = pthread_cond_timedwait(&s->cv, &s->mu, &until);
    return s->written;
}

/* Waits until the sealer has written the container up to byte end: bounded by timeout_s,
 * the bound of one request. A sealer that failed, or ended short of end (the file shrank
 * while it was read), is the error. */
static int sealed_upto(struct sealer *s, uint64_t end, long timeout_s, struct gtee_err *err)
{
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (wait_sealed(s, end, timeout_s) >= end)
        rc = 0;
    else if (s->done && s->rc < 0)
        rc = (*err = s->err, s->rc);
    else if (s->done)
        rc = GTEE_FAIL(err, GTEE_EIO, "the file ended %llu bytes into its container of %llu: it changed while sealed",
                       (unsigned long long)s->written, (unsigned long long)end);
    else
        rc = GTEE_FAIL(err, GTEE_EIO, "sealing stalled: byte %llu not sealed within %ld s", (unsigned long long)end,
                       timeout_s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static uint64_t feed_ready(uint64_t end, void *arg)
{
    struct feed *f = arg;
    uint64_t held;

    pthread_mutex_lock(&f->s->mu);
    held = wait_sealed(f->s, end, f->p->timeout);
    pthread_mutex_unlock(&f->s->mu);
    return held;
}

/* Waits (bounded by timeout_s) for the sealer to end; its result (st is then set). */
static int sealed_all(struct sealer *s, long timeout_s)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    (void)wait_sealed(s, UINT64_MAX, timeout_s); /* until it ends */
    rc = s->done ? s->rc : GTEE_EIO;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The upload of fd's size bytes (content id cid in hex, or NULL: the node names it, into
 * blob_id); with a sealer, each request's body streams as the sealer writes it. */
static int upload(struct cli_push *p, int fd, const char *cid, uint64_t size, struct sealer *sealer, char *blob_id,
                  struct gtee_err *err)
{
    struct cli_http_resp r = { 0 };
    struct feed fd_feed = { .p = p, .s = sealer };
    struct cli_http_feed feed = { .ready = sealer ? feed_ready : NULL, .progress = on_sent, .arg = &fd_feed };
    char url[1024], body[160], sealed_cid[65];
    uint64_t offset = 0;
    int complete = 0, tries = 0, rc;

    TRY(open_session(p, cid, size, 0, url, sizeof(url), &offset, &complete, blob_id, err));
    while (!complete) {
        uint64_t n = size - offset < p->chunk ? size - offset : p->chunk;
        struct gtee_err perr = { 0 };

        ENSURE(!p->stop || !*p->stop, err, GTEE_ESTATE, "uploading: stopped at byte %llu of %llu",
               (unsigned long long)offset, (unsigned long long)size);
        cli_http_resp_free(&r);
        p->base = offset;
        rc = cli_http_request_fed("PUT", url, "application/octet-stream", fd, offset, n, (int64_t)offset, p->timeout,
                                  &feed, &r, &perr);
        /* A request cut short by the sealer (failed, stalled, or the file changed) ends the
         * upload with the sealer's reason; one cut by the network is resumed below. */
        if (sealer && rc < 0) {
            int sealed = sealed_upto(sealer, offset + n, p->timeout, err);

            if (sealed < 0) {
                rc = sealed;
                goto out;
            }
        }
        if (rc == 0 && (r.status == 200 || r.status == 201)) {
            ENSURE(read_upload(r.json, &offset, &complete, blob_id) == 0, err, GTEE_EFORMAT,
                   "the node's upload answer is malformed");
            if (!p->bar.enabled && p->progress != CLI_PROGRESS_OFF && !cli_json())
                fprintf(stderr, "gtee push: %llu/%llu bytes (%d%%)\n", (unsigned long long)(complete ? size : offset),
                        (unsigned long long)size, (int)((complete ? size : offset) * 100 / size));
            tries = 0;
            continue;
        }
        /* A request the node refused for what it is (too large, other bytes) is final. */
        if (rc == 0 && (r.status == 413 || r.status == 422 || r.status == 404 || r.status == 400)) {
            rc = node_refused(&r, "uploading", err);
            goto out;
        }
        ENSURE(tries++ < p->retries, err, rc < 0 ? perr.code : GTEE_EIO, "uploading: %s (after %d resumes)",
               rc < 0 ? perr.msg : cli_http_error(&r, body, sizeof(body)), p->retries);
        if (rc < 0 || r.status >= 500)
            sleep((unsigned)(tries < 5 ? 1u << (tries - 1) : 16u));
        /* Ask the node how much it holds, and resume from there. */
        cli_http_resp_free(&r);
        rc = cli_http_request("GET", url, NULL, NULL, 0, -1, 0, -1, 60, NULL, NULL, &r, &perr);
        if (rc == 0 && r.status == 200 && read_upload(r.json, &offset, &complete, blob_id) == 0) {
            if (!cli_json() && p->progress != CLI_PROGRESS_OFF)
                fprintf(stderr, "gtee push: resuming at byte %llu\n", (unsigned long long)offset);
        } else if (rc == 0 && r.status == 404) {
            /* The session ended: the last request completed it, or the node dropped it. A new
             * session names the content id where it is known by now, so a blob the node holds
             * is not sent again. */
            const char *known = cid;

            if (!known && sealer && sealed_all(sealer, p->timeout) == 0) {
                gtee_hex_encode(sealer->st.content_id, sizeof(sealer->st.content_id), sealed_cid);
                known = sealed_cid;
            }
            TRY(open_session(p, known, size, 1, url, sizeof(url), &offset, &complete, blob_id, err));
        }
    }
    rc = 0;
out:
    cli_http_resp_free(&r);
    return rc;
}

int cli_push_upload(struct cli_push *p, int fd, const char *cid, uint64_t size, struct gtee_err *err)
{
    return upload(p, fd, cid, size, NULL, NULL, err);
}

int cli_push_file(struct cli_push *p, const struct gtee_box_key *key, const char *path, int gunzip, int bar,
                  const char *label, uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size, struct gtee_err *err)
{
    struct sealer s = { .key = key, .in = -1, .out = -1 };
    struct stat st;
    char node_id[65] = "", hex[65];
    int started = 0, rc;

    pthread_mutex_init(&s.mu, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s.cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    TRY(open_plaintext(path, gunzip, &s.in, err));
    ENSURE(fstat(s.in, &st) == 0, err, GTEE_EIO, "%s: %s", path, strerror(errno));
    TRY(tmpfile_fd(&s.out, err));
    if (!S_ISREG(st.st_mode)) {
        /* Its size is known only at its end: sealed first, then uploaded. */
        TRY(gtee_box_seal(key, NULL, s.in, s.out, &s.st, err));
        *size = s.st.container_bytes;
        memcpy(id, s.st.content_id, GTEE_BOX_CONTENT_ID_LEN);
        gtee_hex_encode(id, GTEE_BOX_CONTENT_ID_LEN, hex);
        cli_progress_init(&p->bar, bar, *size, label);
        rc = upload(p, s.out, hex, *size, NULL, NULL, err);
        cli_progress_finish(&p->bar);
        goto out;
    }
    *size = gtee_box_sealed_size((uint64_t)st.st_size, 0);
    ENSURE(pthread_create(&s.t, NULL, sealer_main, &s) == 0, err, GTEE_EIO, "no thread to seal %s", path);
    started = 1;
    cli_progress_init(&p->bar, bar, *size, label);
    rc = upload(p, s.out, NULL, *size, &s, node_id, err);
    cli_progress_finish(&p->bar);
    /* the sealer ends by itself, bounded by the file's size, even after a failed upload */
    pthread_join(s.t, NULL);
    started = 0;
    TRY(rc);
    if (s.rc < 0) {
        *err = s.err;
        rc = s.rc;
        goto out;
    }
    ENSURE(s.st.container_bytes == *size, err, GTEE_EIO,
           "%s changed while it was sealed: its container has %llu bytes, not the %llu uploaded", path,
           (unsigned long long)s.st.container_bytes, (unsigned long long)*size);
    gtee_hex_encode(s.st.content_id, sizeof(s.st.content_id), hex);
    ENSURE(!strcmp(hex, node_id), err, GTEE_EAUTH,
           "uploading %s: the node stored it as blob %s, but the sealed container is %s", path, node_id, hex);
    memcpy(id, s.st.content_id, GTEE_BOX_CONTENT_ID_LEN);
out:
    if (started)
        pthread_join(s.t, NULL);
    if (s.in >= 0)
        close(s.in);
    if (s.out >= 0)
        close(s.out);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return rc;
}

int cli_grant_release(const struct cli_enclave *enc, const struct gtee_box_key *key, struct gtee_grant *g,
                      uint8_t key_id[GTEE_BOX_KEY_ID_LEN], struct gtee_err *err)
{
    uint8_t req[1 + GTEE_GRANT_MAX_LEN], *ans = NULL;
    size_t n = 0, ans_len = 0;
    int rc;

    memcpy(g->key, key->bytes, sizeof(g->key));
    TRY(gtee_box_key_id(key, key_id));
    req[0] = GTEE_RELAY_GRANT;
    TRY(gtee_grant_encode(g, req + 1, &n, err));
    TRY(cli_node_relay(enc, req, 1 + n, &ans, &ans_len, err));
    /* The enclave answers with the key id it now holds: the one of this key. */
    ENSURE(ans_len == GTEE_BOX_KEY_ID_LEN && memcmp(ans, key_id, GTEE_BOX_KEY_ID_LEN) == 0, err, GTEE_EFORMAT,
           "the enclave's answer to the grant is not this key's id");
out:
    gtee_wipe(g->key, sizeof(g->key));
    gtee_wipe(req, sizeof(req));
    free(ans);
    return rc;
}
