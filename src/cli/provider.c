/* The providers' steps (cli/provider.h): sealing and uploading a file, and releasing its
 * key to an attested enclave with a grant. gtee seals but never opens a container (the
 * never-rule): the key goes only into a grant sealed to the enclave. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/guard.h"
#include "cli/http.h"
#include "cli/provider.h"
#include "gtee/crypto.h"
#include "gtee/file.h"

static void on_sent(uint64_t sent, void *arg)
{
    struct cli_push *p = arg;

    cli_progress_update(p->base + sent, &p->bar);
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

int cli_push_seal(const struct gtee_box_key *key, const char *path, int gunzip, int *out_fd,
                  uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size, struct gtee_err *err)
{
    struct gtee_box_opts opts = { 0 };
    struct gtee_box_stats st;
    int in = -1, fd = -1, rc;

    TRY(gtee_file_open_read(path, &in, err));
    if (gunzip && is_gzip(in)) {
        int plain = -1;

        TRY(gunzip_fd(in, path, &plain, err));
        close(in);
        in = plain;
    }
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

/* The node's record of an upload (offset), or the finished blob. */
static int read_upload(json_t *j, uint64_t *offset, int *complete)
{
    json_t *u = json_object_get(j, "upload");

    *complete = json_is_true(json_object_get(j, "complete"));
    if (*complete)
        return 0;
    if (!json_is_integer(json_object_get(u, "offset")) || json_integer_value(json_object_get(u, "offset")) < 0)
        return -1;
    *offset = (uint64_t)json_integer_value(json_object_get(u, "offset"));
    return 0;
}

/* POST /api/v1/uploads: the node's session for the blob (its URL in url), or complete when
 * it holds the blob already. A refusal is the node's (over its limit...); after a session
 * ended (resume), any refusal means the blob is lost to this upload. */
static int open_session(const struct cli_push *p, const char *cid, uint64_t size, int resume, char *url,
                        size_t url_len, uint64_t *offset, int *complete, struct gtee_err *err)
{
    struct cli_http_resp r = { 0 };
    char body[160], upath[128];
    const char *uid;
    int rc;

    TRY(cli_http_url(url, url_len, p->node, "/api/v1/uploads") == 0
            ? 0
            : GTEE_FAIL(err, GTEE_EINVAL, "--node: '%s' is not an http:// or https:// URL", p->node));
    snprintf(body, sizeof(body), "{\"size\":%llu,\"content_id\":\"%s\"}", (unsigned long long)size, cid);
    TRY(cli_http_request("POST", url, "application/json", body, strlen(body), -1, 0, -1, 60, NULL, NULL, &r, err));
    if (r.status != 200 && r.status != 201) {
        rc = resume ? GTEE_FAIL(err, GTEE_EIO, "uploading: the session ended and the node does not hold the blob")
                    : node_refused(&r, "opening the upload", err);
        goto out;
    }
    ENSURE(read_upload(r.json, offset, complete) == 0, err, GTEE_EFORMAT, "the node's upload answer is malformed");
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

int cli_push_upload(struct cli_push *p, int fd, const char *cid, uint64_t size, struct gtee_err *err)
{
    struct cli_http_resp r = { 0 };
    char url[1024], body[160];
    uint64_t offset = 0;
    int complete = 0, tries = 0, rc;

    TRY(open_session(p, cid, size, 0, url, sizeof(url), &offset, &complete, err));
    while (!complete) {
        uint64_t n = size - offset < p->chunk ? size - offset : p->chunk;
        struct gtee_err perr = { 0 };

        ENSURE(!p->stop || !*p->stop, err, GTEE_ESTATE, "uploading: stopped at byte %llu of %llu",
               (unsigned long long)offset, (unsigned long long)size);

        cli_http_resp_free(&r);
        p->base = offset;
        rc = cli_http_request("PUT", url, "application/octet-stream", NULL, n, fd, offset, (int64_t)offset,
                              p->timeout, on_sent, p, &r, &perr);
        if (rc == 0 && (r.status == 200 || r.status == 201)) {
            ENSURE(read_upload(r.json, &offset, &complete) == 0, err, GTEE_EFORMAT,
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
        if (rc == 0 && r.status == 200 && read_upload(r.json, &offset, &complete) == 0) {
            if (!cli_json() && p->progress != CLI_PROGRESS_OFF)
                fprintf(stderr, "gtee push: resuming at byte %llu\n", (unsigned long long)offset);
        } else if (rc == 0 && r.status == 404) {
            /* The session ended: the last request completed it, or the node dropped it. */
            TRY(open_session(p, cid, size, 1, url, sizeof(url), &offset, &complete, err));
        }
    }
    rc = 0;
out:
    cli_http_resp_free(&r);
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
