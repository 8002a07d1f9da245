/* `gtee node init|run|status|gc`: the operator's commands for a node's data directory, its
 * daemon and what the running daemon says (docs/node.md); `register` is cmd_node_register.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/enclave_cli.h"
#include "cli/http.h"
#include "gtee/file.h"
#include "gtee/net.h"
#include "gtee/sim.h"
#include "node/daemon.h"
#include "node/gc.h"
#include "node/node.h"

static const char init_usage[] =
    "Usage: gtee node init [--tee T] [--listen HOST:PORT] [--enclave PATH] [--max-blob SIZE] [--json] DIR\n"
    "\n"
    "Makes a node's data directory DIR (created with mode 0700, or an existing empty\n"
    "directory; a directory holding anything is refused, so a node's state is never\n"
    "overwritten): node.conf (the documented configuration), operator.key (the operator's\n"
    "secp256k1 key, mode 0600), state.db (the state store), blobs/ and uploads/. Prints the\n"
    "operator's address.\n"
    "\n"
    "Options:\n"
    "      --tee T            auto (default: this machine's TEE, never the simulation), sgx,\n"
    "                         tdx, snp, or sim: the SIMULATED TEE, NOT SECURE, for development\n"
    "                         and tests; it makes a simulated device in DIR/sim\n"
    "      --listen HOST:PORT where the API listens (default 127.0.0.1:8470; port 0: any)\n"
    "      --enclave PATH     the gtee-enclave executable (default: the one beside gtee)\n"
    "      --max-blob SIZE    the largest blob an upload may declare (N, NK, NM, NG; default 4G)\n"
    "      --json             print one JSON object\n"
    "  -h, --help             show this help\n"
    "\n"
    "Example:\n"
    "  gtee node init --tee sim ./node && gtee node run ./node\n";

static const char run_usage[] =
    "Usage: gtee node run [--listen HOST:PORT] [--enclave PATH] DIR\n"
    "\n"
    "Runs the node of data directory DIR in the foreground: starts the enclave through the\n"
    "configured TEE backend and restarts it (after 1, 2, 4 ... s) if it dies, serves the\n"
    "HTTP API and the status page, and prints its URL ('gtee node: listening on URL'), also\n"
    "written to DIR/node.url. Logs go to stderr. SIGTERM or SIGINT: stops accepting, lets\n"
    "requests in flight finish (drain_timeout_s), stops the enclave and exits 0.\n"
    "\n"
    "Options:\n"
    "      --listen HOST:PORT override node.conf's listen (port 0: any free port)\n"
    "      --enclave PATH     the gtee-enclave executable when node.conf names none (default:\n"
    "                         $GTEE_ENCLAVE, else gtee-enclave beside gtee)\n"
    "  -h, --help             show this help\n";

static const char status_usage[] =
    "Usage: gtee node status [--timeout S] [--json] DIR\n"
    "\n"
    "Asks the node running on data directory DIR (at the URL in DIR/node.url) for its status:\n"
    "the enclave's state and identity, the TEE (SIMULATED where it is), jobs and recent\n"
    "errors. Exit status 0 when the node answers, 3 when it is not running or does not answer.\n"
    "\n"
    "Options:\n"
    "      --timeout S        the longest wait for the answer, seconds (default 10)\n"
    "      --json             print the node's status object (or {\"running\":false,...})\n"
    "  -h, --help             show this help\n";

static const char gc_usage[] =
    "Usage: gtee node gc [--dry-run] [--days N] [--json] DIR\n"
    "\n"
    "Applies the blob store's retention rule to data directory DIR by hand: deletes the blobs\n"
    "that no job has named (as model, input, labels or result) for blob_retention_days days\n"
    "(node.conf), never one a queued or running job names, and upload sessions idle as long;\n"
    "first it runs the check the node runs at every start (half-written files, files without\n"
    "rows, rows without files). A running node applies the rule itself (at start and every\n"
    "hour), so while it runs only --dry-run is allowed: without it gc refuses, exit 3.\n"
    "\n"
    "      --dry-run          list what the rule would delete; change nothing\n"
    "      --days N           the rule with N days instead of blob_retention_days (0: every\n"
    "                         blob no queued or running job names)\n"
    "      --json             print one JSON object\n";

static int node_init(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tee", required_argument, NULL, 't' },     { "listen", required_argument, NULL, 'l' },
        { "enclave", required_argument, NULL, 'e' }, { "max-blob", required_argument, NULL, 'm' },
        { "json", no_argument, NULL, 'j' },          { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_node_config c;
    struct gtee_err err = { 0 };
    char addr[GTEE_ETH_ADDR_HEX_LEN + 1], sim[GTEE_FILE_PATH_MAX];
    const char *dir;
    int ch, rc, created = 0;

    gtee_node_config_default(&c);
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            if (!gtee_node_tee_valid(optarg))
                return cli_usage_error("--tee: '%s' is not one of auto, sim, sgx, tdx, snp", optarg);
            snprintf(c.tee, sizeof(c.tee), "%s", optarg);
            break;
        case 'l':
            if (strlen(optarg) >= sizeof(c.listen))
                return cli_usage_error("--listen: too long");
            snprintf(c.listen, sizeof(c.listen), "%s", optarg);
            break;
        case 'e':
            if (strlen(optarg) >= sizeof(c.enclave) || strchr(optarg, '\n'))
                return cli_usage_error("--enclave: not a usable path");
            snprintf(c.enclave, sizeof(c.enclave), "%s", optarg);
            break;
        case 'm':
            if (!strcmp(optarg, "0") || cli_parse_size(optarg, &c.max_blob_bytes) != 0 || c.max_blob_bytes == 0 ||
                c.max_blob_bytes > (1ull << 44))
                return cli_usage_error("--max-blob: '%s' is not a size from 1 to 16T (N, NK, NM, NG)", optarg);
            break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(init_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument DIR (the data directory to make)");
    dir = argv[optind];
    {
        char host[GTEE_NET_HOST_MAX];
        uint16_t port;

        if (gtee_net_split(c.listen, 1, host, &port, &err) < 0)
            return cli_usage_error("--listen: %s", err.msg);
    }
    if (!strcmp(c.tee, "sim"))
        snprintf(c.sim_dir, sizeof(c.sim_dir), "%s", GTEE_NODE_SIM_DIR);
    if ((rc = gtee_node_dir_prepare(dir, &created, &err)) < 0)
        return cli_fail_err(rc, &err);
    if (!strcmp(c.tee, "sim")) {
        if ((size_t)snprintf(sim, sizeof(sim), "%s/%s", dir, GTEE_NODE_SIM_DIR) >= sizeof(sim))
            rc = GTEE_FAIL(&err, GTEE_EINVAL, "%s: path too long", dir);
        else
            rc = gtee_sim_init(sim, &err);
    }
    if (rc == 0)
        rc = gtee_node_dir_fill(dir, &c, addr, &err);
    if (rc < 0) {
        gtee_node_dir_undo(dir, created);
        return cli_fail_err(rc, &err);
    }
    if (!strcmp(c.tee, "sim"))
        fputs("WARNING: SIMULATED TEE. NOT SECURE: the host can read the simulated device's secrets; for\n"
              "WARNING: development and tests only. The node says SIMULATED wherever it shows its TEE.\n",
              stderr);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:s,s:s,s:b,s:s}", "dir", dir, "operator", addr, "tee", c.tee,
                                       "simulated", !strcmp(c.tee, "sim"), "listen", c.listen))
                   ? CLI_EXIT_IO
                   : 0;
    printf("node data directory %s\noperator %s\ntee %s%s\nlisten %s\nstart it with: gtee node run %s\n", dir, addr,
           c.tee, strcmp(c.tee, "sim") ? "" : " (SIMULATED - NOT SECURE)", c.listen, dir);
    return 0;
}

static int node_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "enclave", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_node_run_opts o = { 0 };
    struct gtee_err err = { 0 };
    char bin[GTEE_FILE_PATH_MAX];
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': o.listen = optarg; break;
        case 'e': o.enclave = optarg; break;
        case 'h': return cli_help(run_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument DIR (a data directory made by gtee node init)");
    o.dir = argv[optind];
    if (!o.enclave && cli_enclave_find_binary(bin, sizeof(bin)) == 0)
        o.enclave = bin;
    rc = gtee_node_run(&o, &err);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

static int node_gc(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dry-run", no_argument, NULL, 'n' },
        { "days", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_node_gc_opts o = { .days = -1 };
    struct gtee_err err = { 0 };
    json_t *r = NULL, *it;
    size_t i;
    char *end;
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'n': o.dry_run = 1; break;
        case 'j': cli_set_json(1); break;
        case 'd':
            errno = 0;
            o.days = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || o.days < 0 || o.days > 36500)
                return cli_usage_error("--days: '%s' is not 0 to 36500", optarg);
            break;
        case 'h': return cli_help(gc_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument DIR (the node's data directory)");
    o.dir = argv[optind];
    rc = gtee_node_gc(&o, &r, &err);
    if (rc == GTEE_ESTATE) {
        (void)cli_fail_err(rc, &err);
        return CLI_EXIT_IO; /* refused: the running node owns the store */
    }
    if (rc < 0)
        return cli_fail_err(rc, &err);
    if (cli_json())
        return cli_json_emit(r) ? CLI_EXIT_IO : 0;
    {
        json_t *f = json_object_get(r, "repaired");
        const char *k;
        json_t *v;
        long long sum = 0;

        json_object_foreach(f, k, v)
            sum += json_integer_value(v);
        if (sum)
            printf("repaired (traces of a stop mid-write): %lld temporaries, %lld files without a row, %lld rows "
                   "without a file, %lld of the wrong size, %lld staging files, %lld sessions\n",
                   (long long)json_integer_value(json_object_get(f, "temporaries")),
                   (long long)json_integer_value(json_object_get(f, "orphans")),
                   (long long)json_integer_value(json_object_get(f, "missing")),
                   (long long)json_integer_value(json_object_get(f, "wrong_size")),
                   (long long)json_integer_value(json_object_get(f, "staging")),
                   (long long)json_integer_value(json_object_get(f, "sessions")));
    }
    if (!json_is_true(json_object_get(r, "rule")))
        printf("no retention rule (blob_retention_days = 0 in node.conf; --days N gives one): nothing to delete\n");
    json_array_foreach(json_object_get(r, "blobs"), i, it)
        printf("%s %s %lld bytes, last used %lld\n", o.dry_run ? "would delete" : "deleted",
               json_string_value(json_object_get(it, "id")), (long long)json_integer_value(json_object_get(it, "size")),
               (long long)json_integer_value(json_object_get(it, "last_used")));
    printf("%s %zu blob%s (%lld bytes) and %lld idle upload session%s%s\n", o.dry_run ? "would delete" : "deleted",
           json_array_size(json_object_get(r, "blobs")), json_array_size(json_object_get(r, "blobs")) == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(r, "bytes")),
           (long long)json_integer_value(json_object_get(r, "upload_sessions")),
           json_integer_value(json_object_get(r, "upload_sessions")) == 1 ? "" : "s",
           json_is_true(json_object_get(r, "node_running")) ? " (the node is running: a dry run only)" : "");
    json_decref(r);
    return 0;
}

static void print_status(json_t *s)
{
    json_t *n = json_object_get(s, "node"), *e = json_object_get(s, "enclave"), *jobs = json_object_get(s, "jobs");
    json_t *errs = json_object_get(s, "errors"), *v;
    size_t i;
#define STR(o, k) (json_string_value(json_object_get((o), (k))) ? json_string_value(json_object_get((o), (k))) : "")

    printf("node:        %s (gtee %s)\n", STR(n, "url"), STR(n, "version"));
    printf("tee:         %s%s\n", json_object_get(e, "tee") ? STR(e, "tee") : STR(n, "tee"),
           json_is_true(json_object_get(n, "simulated")) ? " (SIMULATED - NOT SECURE)" : "");
    printf("operator:    %s\n", STR(n, "operator"));
    printf("enclave:     %s, %lld restart%s%s%s\n", STR(e, "state"),
           (long long)json_integer_value(json_object_get(e, "restarts")),
           json_integer_value(json_object_get(e, "restarts")) == 1 ? "" : "s",
           json_object_get(e, "last_exit") ? "; last exit: " : "", STR(e, "last_exit"));
    printf("enclave id:  %s\n", STR(e, "enclave_id"));
    printf("measurement: %s\n", STR(e, "measurement"));
    printf("evidence:    %s\n", STR(json_object_get(s, "evidence"), "verdict"));
    {
        json_t *l = json_object_get(s, "ledger"), *le = json_object_get(l, "enclave"), *lp = json_object_get(l, "proofs");

        if (json_is_object(l)) {
            printf("ledger:      %s (chain %lld, contract %s)\n", STR(l, "kind"),
                   (long long)json_integer_value(json_object_get(l, "chain_id")), STR(l, "contract"));
            printf("standing:    %s%s%s, last proof %lld\n", STR(le, "status"),
                   json_is_true(json_object_get(le, "active")) ? " (active)" : " (not active)",
                   json_is_true(json_object_get(le, "slashed")) ? ", SLASHED" : "",
                   (long long)json_integer_value(json_object_get(le, "last_seq")));
            printf("proofs:      %lld pending, %lld submitted, %lld refused%s\n",
                   (long long)json_integer_value(json_object_get(lp, "pending")),
                   (long long)json_integer_value(json_object_get(lp, "submitted")),
                   (long long)json_integer_value(json_object_get(lp, "refused")),
                   json_is_true(json_object_get(lp, "signing")) ? "" : "; THE ENCLAVE SIGNS NO PROOFS");
            if (STR(lp, "refusal")[0])
                printf("  refusal: %s\n", STR(lp, "refusal"));
            if (STR(l, "last_error")[0])
                printf("  ledger error: %s\n", STR(l, "last_error"));
        }
    }
    printf("jobs:        %zu\n", json_array_size(jobs));
    json_array_foreach(jobs, i, v)
        printf("  %.16s  %-6s %-8s %-12s %5.1f%%%s%s\n", STR(v, "id"), STR(v, "kind"), STR(v, "state"),
               STR(v, "stage"), json_real_value(json_object_get(v, "percent")),
               json_object_get(v, "error") ? "  " : "", STR(v, "error"));
    printf("recent errors: %zu\n", json_array_size(errs));
    json_array_foreach(errs, i, v)
        printf("  %s\n", STR(v, "text"));
#undef STR
}

static int node_status(int argc, char **argv)
{
    static const struct option opts[] = {
        { "timeout", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cli_http_resp resp = { 0 };
    struct gtee_err err = { 0 };
    char path[GTEE_FILE_PATH_MAX], url[512], msg[GTEE_ERR_MSG_MAX + 32], *nl;
    uint8_t *buf = NULL;
    size_t len = 0;
    long timeout = 10;
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 't': {
            char *end;

            errno = 0;
            timeout = strtol(optarg, &end, 10);
            if (errno || *end || timeout < 1 || timeout > 3600)
                return cli_usage_error("--timeout: '%s' is not 1 to 3600 seconds", optarg);
            break;
        }
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(status_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument DIR (the node's data directory)");
    snprintf(path, sizeof(path), "%s/%s", argv[optind], GTEE_NODE_CONF);
    if ((rc = gtee_file_read(path, GTEE_NODE_CONF_MAX, &buf, &len, &err)) < 0)
        return cli_fail(rc, "%s is not a node's data directory: %s", argv[optind], err.msg);
    free(buf);
    buf = NULL;
    snprintf(path, sizeof(path), "%s/%s", argv[optind], GTEE_NODE_URL_FILE);
    rc = gtee_file_read(path, 512, &buf, &len, &err);
    if (rc == 0) {
        if ((nl = strchr((char *)buf, '\n')))
            *nl = '\0';
        rc = cli_http_url(url, sizeof(url), (char *)buf, "/api/v1/status");
        if (rc < 0)
            rc = GTEE_FAIL(&err, GTEE_EFORMAT, "%s: not a node URL", path);
    }
    free(buf);
    if (rc == 0)
        rc = cli_http_request("GET", url, NULL, NULL, 0, -1, 0, -1, timeout, NULL, NULL, &resp, &err);
    if (rc == 0 && (resp.status != 200 || !json_is_object(resp.json)))
        rc = GTEE_FAIL(&err, GTEE_EIO, "%s", cli_http_error(&resp, msg, sizeof(msg)));
    if (rc < 0) {
        cli_http_resp_free(&resp);
        if (cli_json()) {
            (void)cli_json_emit(json_pack("{s:b,s:s}", "running", 0, "reason", err.msg));
            return CLI_EXIT_IO;
        }
        printf("node %s: not running (%s)\n", argv[optind], err.msg);
        return CLI_EXIT_IO;
    }
    json_object_set_new(resp.json, "running", json_true());
    if (cli_json()) {
        rc = cli_json_emit(resp.json) ? CLI_EXIT_IO : 0;
        resp.json = NULL;
        cli_http_resp_free(&resp);
        return rc;
    }
    print_status(resp.json);
    cli_http_resp_free(&resp);
    return 0;
}

int cmd_node(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "init", "Make a node's data directory: config, operator key, state store (--tee sim: SIMULATED)",
          node_init },
        { "run", "Run the node in the foreground: enclave, HTTP API, status page", node_run },
        { "status", "Ask the running node of a data directory for its status", node_status },
        { "register", "Register (or renew) the node's enclave on its ledger now, without running the node",
          cmd_node_register },
        { "gc", "Delete blobs past the retention rule (--dry-run: list them; refused while the node runs)",
          node_gc },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
