/* `gtee job status ID --node URL` and `gtee job list --node URL`: what a node says of its
 * jobs (GET /api/v1/jobs[/ID]): kind, state, stage, epoch, percent, error; nothing secret is
 * there to show. `gtee job fetch ID`: a done job's result, opened with the identity it was
 * sealed to alone (gtee_result_open_alone: the job's record is inside it), written through
 * the safe writer with what the result says of its job. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/jobs.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/http.h"
#include "cli/node_client.h"

static const char usage_status[] =
    "Usage: gtee job status ID --node URL [--json]\n"
    "\n"
    "Prints the state of the job ID (64 hex digits, as gtee infer and gtee train print it) on\n"
    "the node: its kind, state (queued, running, done, failed), stage, epoch, percent, the\n"
    "result blob once done and the reason once failed.\n"
    "\n"
    "Options:\n"
    "      --node URL   the node\n"
    "      --json       print the node's JSON for the job\n"
    "  -h, --help       show this help\n";

static const char usage_list[] =
    "Usage: gtee job list --node URL [--json]\n"
    "\n"
    "Lists the node's jobs, newest first (at most 1000), one line each.\n"
    "\n"
    "Options:\n"
    "      --node URL   the node\n"
    "      --json       print the node's JSON list\n"
    "  -h, --help       show this help\n";

static const char usage_fetch[] =
    "Usage: gtee job fetch ID --node URL --identity ID --out OUT [--force] [--json]\n"
    "\n"
    "Fetches the result of the job ID once it is done (a job started earlier: by gtee infer or\n"
    "gtee train, also one interrupted after it submitted), opens it with the identity it was\n"
    "sealed to, alone, and writes the output to OUT: the predictions (.npy) of an inference, the\n"
    "trained model (.onnx) of a training. Prints what the result says of its job: the kind, the\n"
    "content ids it read, the units of work and, for training, each epoch's loss and accuracy.\n"
    "Trained weights are sealed to the model's owner unless the model's grant gave them to the\n"
    "requester: the owner fetches them with its identity.\n"
    "\n"
    "Options:\n"
    "      --node URL       the node\n"
    "      --identity ID    the identity the result is sealed to (gtee identity new)\n"
    "      --out FILE       where to write the output\n"
    "      --force          replace OUT if it exists\n"
    "      --json           print the summary as JSON\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 written; 2 usage; 3 no such job, not done yet, failed on the node, or OUT\n"
    "exists (without --force); 4 the result does not open with this identity (it is sealed to\n"
    "another) or is not the job's; 7 the enclave refused the job (its reason is printed).\n";

static void print_job(json_t *j)
{
    const char *err = json_string_value(json_object_get(j, "error"));
    const char *res = json_string_value(json_object_get(j, "result"));
    char safe[GTEE_ERR_MSG_MAX];
    int eps = (int)json_integer_value(json_object_get(j, "epochs"));

    printf("%s %-5s %-6s %-9s", json_string_value(json_object_get(j, "id")),
           json_string_value(json_object_get(j, "kind")), json_string_value(json_object_get(j, "state")),
           json_string_value(json_object_get(j, "stage")));
    if (eps)
        printf(" epoch %d/%d", (int)json_integer_value(json_object_get(j, "epoch")), eps);
    printf(" %3.0f%%", json_number_value(json_object_get(j, "percent")));
    if (res)
        printf(" result %s", res);
    if (err) {
        /* The node's text may hold anything: escaped before it reaches a terminal. */
        (void)gtee_err_escape(err, strlen(err), safe, sizeof(safe));
        printf(" error: %s", safe);
    }
    putchar('\n');
}

static int get(const char *node, const char *path, json_t **out)
{
    struct gtee_err err = { 0 };
    struct cli_http_resp r = { 0 };
    char url[1200], why[GTEE_ERR_MSG_MAX];
    int rc;

    *out = NULL;
    if (cli_http_url(url, sizeof(url), node, path) != 0)
        return cli_usage_error("--node %.200s: expected an http:// or https:// URL", node);
    if ((rc = cli_http_request("GET", url, NULL, NULL, 0, -1, 0, -1, 60, NULL, NULL, &r, &err)) < 0)
        return cli_fail_err(rc, &err);
    if (r.status != 200 || !json_is_object(r.json)) {
        rc = cli_fail(r.status == 404 ? GTEE_ENOTFOUND : GTEE_EIO, "%s", cli_http_error(&r, why, sizeof(why)));
        cli_http_resp_free(&r);
        return rc;
    }
    *out = json_incref(r.json);
    cli_http_resp_free(&r);
    return 0;
}

/* The options; *done when the command has nothing more to do (help, or a usage error whose
 * exit status is returned). */
static int parse(int argc, char **argv, const char *usage, const char **node, int *done)
{
    static const struct option opts[] = {
        { "node", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *node = NULL;
    *done = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': *node = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (!*node)
        return cli_usage_error("--node is required");
    *done = 0;
    return 0;
}

static int job_status(int argc, char **argv)
{
    const char *node;
    char path[128];
    json_t *o;
    int done, rc = parse(argc, argv, usage_status, &node, &done);

    if (done)
        return rc;
    if (argc - optind != 1)
        return cli_usage_error("expected one argument ID (the job's id)");
    if (strlen(argv[optind]) != 64 || strspn(argv[optind], "0123456789abcdef") != 64)
        return cli_usage_error("ID %.80s: expected 64 lowercase hex digits", argv[optind]);
    snprintf(path, sizeof(path), "/api/v1/jobs/%s", argv[optind]);
    if ((rc = get(node, path, &o)) != 0)
        return rc;
    if (cli_json()) {
        rc = cli_json_emit(json_incref(json_object_get(o, "job"))) ? CLI_EXIT_IO : 0;
    } else {
        print_job(json_object_get(o, "job"));
        rc = 0;
    }
    json_decref(o);
    return rc;
}

static int job_list(int argc, char **argv)
{
    const char *node;
    json_t *o, *j;
    size_t i;
    int done, rc = parse(argc, argv, usage_list, &node, &done);

    if (done)
        return rc;
    if (argc != optind)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if ((rc = get(node, "/api/v1/jobs", &o)) != 0)
        return rc;
    if (cli_json()) {
        rc = cli_json_emit(json_incref(o)) ? CLI_EXIT_IO : 0;
    } else {
        json_array_foreach(json_object_get(o, "jobs"), i, j)
            print_job(j);
        rc = 0;
    }
    json_decref(o);
    return rc;
}

static int id_ok(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The node's account of a done job: its kind and result blob; refused, failed and not yet
 * done each say so. */
static int done_job(const char *node, const char *id, char kind[8], char result[65], struct gtee_err *err)
{
    char path[128], why[GTEE_ERR_MSG_MAX], url[1200];
    struct cli_http_resp r = { 0 };
    const char *state, *stage, *k, *res, *e;
    json_t *job;
    int rc;

    snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
    ENSURE(cli_http_url(url, sizeof(url), node, path) == 0, err, GTEE_EINVAL,
           "--node %s: expected an http:// or https:// URL", node);
    TRY(cli_http_request("GET", url, NULL, NULL, 0, -1, 0, -1, 60, NULL, NULL, &r, err));
    ENSURE(r.status != 404, err, GTEE_ENOTFOUND, "job %s: %s", id, cli_http_error(&r, why, sizeof(why)));
    ENSURE(r.status == 200, err, GTEE_EIO, "job %s: %s", id, cli_http_error(&r, why, sizeof(why)));
    job = json_object_get(r.json, "job");
    state = json_string_value(json_object_get(job, "state"));
    stage = json_string_value(json_object_get(job, "stage"));
    k = json_string_value(json_object_get(job, "kind"));
    res = json_string_value(json_object_get(job, "result"));
    e = json_string_value(json_object_get(job, "error"));
    ENSURE(state && k, err, GTEE_EFORMAT, "job %s: the node's answer has no state or kind", id);
    if (strcmp(state, "done")) {
        char safe[GTEE_ERR_MSG_MAX];

        (void)gtee_err_escape(e ? e : "", e ? strlen(e) : 0, safe, sizeof(safe));
        ENSURE(strcmp(state, "failed") || !stage || strcmp(stage, "refused"), err, GTEE_EPOLICY,
               "job %s was refused by the enclave: %s", id, safe);
        ENSURE(strcmp(state, "failed"), err, GTEE_EIO, "job %s failed on the node: %s", id, safe);
        ENSURE(0, err, GTEE_ENOTFOUND, "job %s is %s, not done yet: no result to fetch (gtee job status follows it)",
               id, state);
    }
    ENSURE(id_ok(res), err, GTEE_EFORMAT, "job %s: the node names no result blob", id);
    snprintf(kind, 8, "%s", !strcmp(k, "train") ? "train" : "infer");
    memcpy(result, res, 65);
out:
    cli_http_resp_free(&r);
    return rc;
}

static int job_fetch(int argc, char **argv)
{
    static const struct option opts[] = {
        { "node", required_argument, NULL, 'n' },
        { "identity", required_argument, NULL, 'i' },
        { "out", required_argument, NULL, 'o' },
        { "force", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *node = NULL, *identity = NULL, *out_path = NULL, *id;
    struct gtee_err err = { 0 };
    struct gtee_job_record rec;
    struct stat st;
    uint8_t sk[32], *res = NULL, *pt = NULL;
    size_t res_len = 0, pt_len = 0;
    char kind[8], result[65], path[160], hex[65];
    json_t *sum = NULL;
    int c, force = 0, have_rec = 0, rc;

    memset(&rec, 0, sizeof(rec));
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': node = optarg; break;
        case 'i': identity = optarg; break;
        case 'o': out_path = optarg; break;
        case 'f': force = 1; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage_fetch);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument ID (the job's id)");
    id = argv[optind];
    if (!id_ok(id))
        return cli_usage_error("ID %.80s: expected 64 lowercase hex digits", id);
    if (!node || !identity || !out_path)
        return cli_usage_error("--node, --identity and --out are required");
    if (!force && lstat(out_path, &st) == 0)
        return cli_fail(GTEE_EEXIST, "output %s already exists (refusing to overwrite; --force replaces it)", out_path);
    if ((rc = cli_secret_read(identity, "identity", CLI_IDENTITY_PREFIX, sk, &err)) < 0)
        return cli_fail_err(rc, &err);
    TRY(done_job(node, id, kind, result, &err));
    snprintf(path, sizeof(path), "/api/v1/blobs/%s", result);
    TRY(cli_node_get(node, path, &res, &res_len, &err));
    rc = gtee_result_open_alone(sk, res, res_len, &rec, &pt, &pt_len, &err);
    if (rc == GTEE_EAUTH)
        (void)GTEE_FAIL(&err, rc, "job %s: its result does not open with the identity %s: it is sealed to another "
                                  "(trained weights go to the model's owner unless its grant gives them to the "
                                  "requester), or it was altered",
                        id, identity);
    TRY(rc);
    have_rec = 1;
    /* the blob is the one the node named, and the job the node says it is */
    gtee_hex_encode(rec.result_sha256, 32, hex);
    ENSURE(!strcmp(hex, result), &err, GTEE_EAUTH, "job %s: the node's result blob %s is not what it named", id, hex);
    ENSURE(!strcmp(kind, rec.kind == GTEE_JOB_TRAIN ? "train" : "infer"), &err, GTEE_EAUTH,
           "job %s: the node says it is a %s job, its result says otherwise", id, kind);
    sum = cli_job_summary(id, &rec, result);
    ENSURE(sum, &err, GTEE_ENOMEM, "out of memory");
    TRY(gtee_file_write(out_path, pt, pt_len, 0600, force ? GTEE_FILE_REPLACE : 0, &err));
    json_object_set_new(sum, "output", json_string(out_path));
    json_object_set_new(sum, "output_bytes", json_integer((json_int_t)pt_len));
    if (cli_json()) {
        rc = cli_json_emit(sum) ? CLI_EXIT_IO : 0;
        sum = NULL;
        goto done;
    }
    printf("job %s (%s): result for the %s\n", id, kind, rec.recipient == 1 ? "requester" : "model's owner");
    cli_job_print(&rec);
    printf("wrote %s (%zu bytes)\n", out_path, pt_len);
    rc = 0;
    goto done;
out:
    rc = cli_fail_err(rc, &err);
done:
    json_decref(sum);
    if (have_rec)
        gtee_job_record_free(&rec);
    gtee_wipe(sk, sizeof(sk));
    if (pt) {
        gtee_wipe(pt, pt_len);
        free(pt);
    }
    free(res);
    return rc;
}

int cmd_job(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "status", "Show one job's state, stage and progress on a node", job_status },
        { "list", "List a node's jobs", job_list },
        { "fetch", "Fetch a done job's result and open it with your identity", job_fetch },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
