/* `gtee push`: seals a file into a container and uploads it to a node's blob store, in
 * chunks that the node acknowledges one by one, resuming after an interruption from the
 * offset the node holds; prints the blob id (docs/node-api.md, "Blobs"). This executable
 * seals but never opens a container (the never-rule). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/http.h"
#include "gtee/file.h"

static const char usage[] =
    "Usage: gtee push FILE --node URL --key KEY [options]\n"
    "\n"
    "Seals FILE into a container with the container key in key file KEY (as gtee encrypt\n"
    "does), uploads the container to the node at URL and prints its blob id: the content\n"
    "id, the SHA-256 of the container, which the node checks. The node receives only the\n"
    "container. The upload goes in chunks the node acknowledges; after an interruption\n"
    "(a dropped connection, a node restart) push asks the node how much it holds and\n"
    "resumes from there. A container the node already holds is not sent again.\n"
    "\n"
    "Options:\n"
    "      --node URL         the node's API, e.g. http://127.0.0.1:8470 (required)\n"
    "  -k, --key KEY          the container key file (gtee keygen; required)\n"
    "      --chunk SIZE       bytes per acknowledged request (N, NK, NM; default 8M)\n"
    "      --retries N        resume attempts after failures, 0-100 (default 5)\n"
    "      --timeout S        the longest one request may take, seconds (default 600)\n"
    "      --progress         a progress bar on stderr even when it is not a terminal\n"
    "      --no-progress      no progress output (default: a bar on a terminal, else one\n"
    "                         line per acknowledged chunk)\n"
    "      --json             print {\"blob\":...,\"size\":...,\"node\":...} on stdout\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 stored; 3 the node could not be reached or FILE read; 4 the node\n"
    "received other bytes than were sent; 7 the node refused (over its size limit).\n";

struct push {
    const char *node, *file, *key_path;
    uint64_t chunk;
    long timeout;
    int retries, progress;
    struct cli_progress bar;
    uint64_t base;  /* bytes acknowledged before the current request */
};

static void on_sent(uint64_t sent, void *arg)
{
    struct push *p = arg;

    cli_progress_update(p->base + sent, &p->bar);
}

/* Seals FILE into an unnamed temporary (gone when closed). */
static int seal(struct push *p, int *out_fd, uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size,
                struct gtee_err *err)
{
    struct gtee_box_key key;
    struct gtee_box_opts opts = { 0 };
    struct gtee_box_stats st;
    const char *tmp = getenv("TMPDIR");
    int in = -1, fd = -1, rc;

    memset(&key, 0, sizeof(key));
    TRY(cli_keyfile_read(p->key_path, &key, err));
    TRY(gtee_file_open_read(p->file, &in, err));
    fd = open(tmp && tmp[0] ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    ENSURE(fd >= 0, err, GTEE_EIO, "cannot make a temporary file in %s: %s", tmp && tmp[0] ? tmp : "/tmp",
           strerror(errno));
    TRY(gtee_box_seal(&key, &opts, in, fd, &st, err));
    /* from the start: the upload reads the container with pread at its own offsets */
    ENSURE(lseek(fd, 0, SEEK_SET) == 0, err, GTEE_EIO, "temporary container: %s", strerror(errno));
    TRY(gtee_box_content_id(fd, id, size, err));
    *out_fd = fd;
    fd = -1;
out:
    gtee_box_key_wipe(&key);
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

static int upload(struct push *p, int fd, const char *cid, uint64_t size, struct gtee_err *err)
{
    struct cli_http_resp r = { 0 };
    char url[1024], upath[128], body[160];
    uint64_t offset = 0;
    int complete = 0, tries = 0, rc;
    const char *uid;
    char uid_buf[64];

    TRY(cli_http_url(url, sizeof(url), p->node, "/api/v1/uploads") == 0
            ? 0
            : GTEE_FAIL(err, GTEE_EINVAL, "--node: '%s' is not an http:// or https:// URL", p->node));
    snprintf(body, sizeof(body), "{\"size\":%llu,\"content_id\":\"%s\"}", (unsigned long long)size, cid);
    TRY(cli_http_request("POST", url, "application/json", body, strlen(body), -1, 0, -1, 60, NULL, NULL, &r, err));
    if (r.status != 200 && r.status != 201) {
        rc = node_refused(&r, "opening the upload", err);
        goto out;
    }
    ENSURE(read_upload(r.json, &offset, &complete) == 0, err, GTEE_EFORMAT, "the node's upload answer is malformed");
    if (complete)
        goto out;
    uid = json_string_value(json_object_get(json_object_get(r.json, "upload"), "id"));
    ENSURE(uid && strlen(uid) < sizeof(uid_buf) && strspn(uid, "0123456789abcdef") == strlen(uid), err,
           GTEE_EFORMAT, "the node's upload id is malformed");
    snprintf(uid_buf, sizeof(uid_buf), "%s", uid);
    snprintf(upath, sizeof(upath), "/api/v1/uploads/%s", uid_buf);
    TRY(cli_http_url(url, sizeof(url), p->node, upath));
    while (!complete) {
        uint64_t n = size - offset < p->chunk ? size - offset : p->chunk;
        struct gtee_err perr = { 0 };

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
            cli_http_resp_free(&r);
            TRY(cli_http_url(url, sizeof(url), p->node, "/api/v1/uploads"));
            snprintf(body, sizeof(body), "{\"size\":%llu,\"content_id\":\"%s\"}", (unsigned long long)size, cid);
            TRY(cli_http_request("POST", url, "application/json", body, strlen(body), -1, 0, -1, 60, NULL, NULL, &r,
                                 err));
            ENSURE((r.status == 200 || r.status == 201) && read_upload(r.json, &offset, &complete) == 0, err, GTEE_EIO,
                   "uploading: the session ended and the node does not hold the blob");
            if (!complete) {
                uid = json_string_value(json_object_get(json_object_get(r.json, "upload"), "id"));
                ENSURE(uid && strlen(uid) < sizeof(uid_buf) && strspn(uid, "0123456789abcdef") == strlen(uid), err,
                       GTEE_EFORMAT, "the node's upload id is malformed");
                snprintf(uid_buf, sizeof(uid_buf), "%s", uid);
                snprintf(upath, sizeof(upath), "/api/v1/uploads/%s", uid_buf);
                TRY(cli_http_url(url, sizeof(url), p->node, upath));
            }
        }
    }
    rc = 0;
out:
    cli_http_resp_free(&r);
    return rc;
}

int cmd_push(int argc, char **argv)
{
    static const struct option opts[] = {
        { "node", required_argument, NULL, 'n' },    { "key", required_argument, NULL, 'k' },
        { "chunk", required_argument, NULL, 'c' },   { "retries", required_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' }, { "progress", no_argument, NULL, 'p' },
        { "no-progress", no_argument, NULL, 'P' },   { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
    };
    struct push p = { .chunk = 8u << 20, .timeout = 600, .retries = 5, .progress = CLI_PROGRESS_AUTO };
    struct gtee_err err = { 0 };
    uint8_t id[GTEE_BOX_CONTENT_ID_LEN];
    char cid[2 * GTEE_BOX_CONTENT_ID_LEN + 1];
    uint64_t size = 0, v;
    int c, fd = -1, rc;
    char *end;

    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': p.node = optarg; break;
        case 'k': p.key_path = optarg; break;
        case 'c':
            if (cli_parse_size(optarg, &v) < 0 || v < 1 || v > (1ull << 32))
                return cli_usage_error("--chunk: '%s' is not a size from 1 to 4G", optarg);
            p.chunk = v;
            break;
        case 'r':
            errno = 0;
            p.retries = (int)strtol(optarg, &end, 10);
            if (errno || *end || p.retries < 0 || p.retries > 100)
                return cli_usage_error("--retries: '%s' is not 0 to 100", optarg);
            break;
        case 't':
            errno = 0;
            p.timeout = strtol(optarg, &end, 10);
            if (errno || *end || p.timeout < 1 || p.timeout > 86400)
                return cli_usage_error("--timeout: '%s' is not 1 to 86400 seconds", optarg);
            break;
        case 'p': p.progress = CLI_PROGRESS_ON; break;
        case 'P': p.progress = CLI_PROGRESS_OFF; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument FILE (the file to seal and upload)");
    if (!p.node || !p.key_path)
        return cli_usage_error("--node URL and --key KEY are required");
    if (strncmp(p.node, "http://", 7) && strncmp(p.node, "https://", 8))
        return cli_usage_error("--node: '%s' is not an http:// or https:// URL", p.node);
    p.file = argv[optind];
    if ((rc = seal(&p, &fd, id, &size, &err)) < 0)
        return cli_fail_err(rc, &err);
    gtee_hex_encode(id, sizeof(id), cid);
    /* A bar on a terminal whatever the size; elsewhere plain lines per chunk. */
    cli_progress_init(&p.bar, p.progress == CLI_PROGRESS_AUTO ? (isatty(STDERR_FILENO) && !cli_json())
                                                              : p.progress == CLI_PROGRESS_ON,
                      size, "upload");
    rc = upload(&p, fd, cid, size, &err);
    cli_progress_finish(&p.bar);
    close(fd);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:I,s:s}", "blob", cid, "size", (json_int_t)size, "node", p.node))
                   ? CLI_EXIT_IO
                   : 0;
    printf("%s\n", cid);
    return 0;
}
