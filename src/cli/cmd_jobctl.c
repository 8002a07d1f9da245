/* `gtee job status ID --node URL` and `gtee job list --node URL`: what a node says of its
 * jobs (GET /api/v1/jobs[/ID]): kind, state, stage, epoch, percent, error. Nothing secret is
 * there to show; the record and the result are for `gtee infer` and `gtee train`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/http.h"

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

int cmd_job(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "status", "Show one job's state, stage and progress on a node", job_status },
        { "list", "List a node's jobs", job_list },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
