/* `gtee attest`: opens an attested channel (RA-TLS, docs/ratls.md) to HOST:PORT, verifies
 * the enclave's evidence and its binding to the channel key inside the TLS 1.3 handshake,
 * optionally asks for fresh evidence over a nonce of its own, and prints the verified claims
 * or why the enclave was rejected (exit 7). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/net.h"
#include "gtee/ratls.h"

static const char usage[] =
    "Usage: gtee attest --connect HOST:PORT [--policy POLICY] [--collateral DIR]\n"
    "                   [--sim-root DER] [--at TIME] [--fresh] [--json] [--timeout SECONDS]\n"
    "\n"
    "Connects to an enclave's attested channel at HOST:PORT (TLS 1.3, RA-TLS), verifies\n"
    "the evidence in its certificate with the collateral and POLICY, checks that the\n"
    "evidence commits to the certificate's key, and prints the verified claims: TEE type,\n"
    "measurement, Enclave ID, TCB status, simulated or not. A rejected enclave is named\n"
    "with the reason: a policy rule, a check of the evidence, or the binding.\n"
    "\n"
    "Options:\n"
    "      --connect HOST:PORT  where the enclave (or the node host's relay) listens\n"
    "      --policy POLICY      policy JSON (docs/policy.md); default: strict\n"
    "      --collateral DIR     collateral files, or a simulated device directory (its\n"
    "                           sgx/ and tdx/ collateral are used)\n"
    "      --sim-root DER       also trust this simulated root (reported as simulated;\n"
    "                           accepted only if the policy allows simulation)\n"
    "      --at TIME            verify at TIME (RFC 3339 or unix seconds); default now\n"
    "      --fresh              also ask for evidence over a fresh nonce inside the session\n"
    "      --json               print the result as one JSON object\n"
    "      --timeout SECONDS    give up on a peer silent this long while connecting or\n"
    "                           waiting for an answer (default 30)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 accepted, 7 rejected (the evidence failed verification or the policy),\n"
    "3 cannot connect, no TLS answer in time, not a TLS server, or cannot read a file,\n"
    "5 bad policy.\n"
    "\n"
    "Example:\n"
    "  gtee attest --connect 127.0.0.1:7443 --policy sim-policy.json \\\n"
    "      --collateral ./simdev --sim-root ./simdev/sim_root_ca.der\n";

struct attest_args {
    const char *connect, *policy, *collateral, *sim_root, *at;
    int fresh;
    unsigned timeout_s;
};

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    struct gtee_err err = {0};
    int rc = gtee_file_read(path, 65536, out, len, &err);

    if (rc == 0 && *len == 0) {
        free(*out);
        *out = NULL;
        rc = GTEE_FAIL(&err, GTEE_EFORMAT, "%s is empty", path);
    }
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

/* DIR itself, or DIR/sgx and DIR/tdx when DIR is a simulated device. */
static int load_collateral(const char *dir, struct gtee_collateral *sgx, struct gtee_collateral *tdx, int *have_sgx,
                           int *have_tdx)
{
    char path[4096];
    struct gtee_err err = {0};
    struct stat st;
    int rc;

    snprintf(path, sizeof(path), "%s/sgx", dir);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        *have_sgx = gtee_collateral_load(path, sgx, &err) == 0;
        snprintf(path, sizeof(path), "%s/tdx", dir);
        *have_tdx = gtee_collateral_load(path, tdx, &err) == 0;
        if (!*have_sgx && !*have_tdx)
            return cli_fail_err(GTEE_EIO, &err);
        return 0;
    }
    if ((rc = gtee_collateral_load(dir, sgx, &err)) < 0)
        return cli_fail_err(rc == GTEE_ENOTFOUND ? GTEE_EIO : rc, &err);
    if ((rc = gtee_collateral_load(dir, tdx, &err)) < 0)
        return cli_fail_err(rc == GTEE_ENOTFOUND ? GTEE_EIO : rc, &err);
    *have_sgx = *have_tdx = 1;
    return 0;
}

static void hex_line(const char *label, const uint8_t *p, size_t n)
{
    char buf[2 * 65 + 1];

    gtee_hex_encode(p, n, buf);
    printf("%-13s %s\n", label, buf);
}

static void print_text(const struct gtee_ratls_peer *peer, int accepted, int fresh_done)
{
    const struct gtee_claims *c = &peer->verdict.claims;
    char id[GTEE_ETH_ADDR_HEX_LEN + 1];

    printf("%-13s %s\n", "enclave", accepted ? "accepted" : "rejected");
    if (!accepted)
        printf("%-13s %s: %s\n", "reason", gtee_ratls_failure_name(peer->failure), peer->why);
    if (peer->failure == GTEE_RATLS_FAIL_CERT || peer->failure == GTEE_RATLS_FAIL_TLS)
        return;
    printf("%-13s %s\n%-13s %s\n%-13s %s\n", "tee", gtee_tee_type_name(c->tee), "simulated",
           c->simulated ? "YES (not a hardware TEE)" : "no", "debug", c->debug ? "yes" : "no");
    if (c->tee == GTEE_TEE_SGX) {
        hex_line("mrenclave", c->sgx.mrenclave, 32);
        hex_line("mrsigner", c->sgx.mrsigner, 32);
    } else if (c->tee == GTEE_TEE_TDX) {
        hex_line("mrtd", c->tdx.mrtd, 48);
    }
    gtee_eth_address_hex(peer->enclave_id, id);
    printf("%-13s %s\n", "enclave_id", id);
    hex_line("channel_key", peer->channel_pub, GTEE_RATLS_CHANNEL_PUB_LEN);
    printf("%-13s %s\n", "tcb_status", c->tcb_status ? gtee_tcb_status_name(c->tcb_status) : "-");
    if (fresh_done)
        printf("%-13s %s\n", "fresh", "evidence over our nonce verified");
}

static int print_json(const struct gtee_ratls_peer *peer, int accepted, int fresh_done)
{
    struct gtee_err err = {0};
    char *vj = NULL, id[GTEE_ETH_ADDR_HEX_LEN + 1];
    json_t *o = json_object(), *verdict;

    if (gtee_verdict_to_json(&peer->verdict, &vj, &err) < 0) {
        json_decref(o);
        return cli_fail_err(GTEE_ENOMEM, &err);
    }
    verdict = json_loads(vj, 0, NULL);
    free(vj);
    gtee_eth_address_hex(peer->enclave_id, id);
    json_object_set_new(o, "accepted", json_boolean(accepted));
    json_object_set_new(o, "failure", json_string(gtee_ratls_failure_name(peer->failure)));
    if (!accepted)
        json_object_set_new(o, "why", json_string(peer->why));
    json_object_set_new(o, "enclave_id", json_string(id));
    json_object_set_new(o, "enclave_key", cli_json_hex(peer->enclave_pub, GTEE_RATLS_ENCLAVE_PUB_LEN));
    json_object_set_new(o, "channel_key", cli_json_hex(peer->channel_pub, GTEE_RATLS_CHANNEL_PUB_LEN));
    json_object_set_new(o, "fresh", json_boolean(fresh_done));
    json_object_set_new(o, "verdict", verdict ? verdict : json_null());
    return cli_json_emit(o);
}

static int run_attest(const struct attest_args *a)
{
    struct gtee_collateral sgx = {0}, tdx = {0};
    struct gtee_anchors anchors = {0};
    struct gtee_policy policy;
    struct gtee_ratls_verify vfy = {0};
    struct gtee_ratls_peer *peer = calloc(1, sizeof(*peer));
    struct gtee_ratls_ctx *ctx = NULL;
    struct gtee_ratls_conn *conn = NULL;
    struct gtee_err err = {0};
    uint8_t *root = NULL, nonce[GTEE_RATLS_NONCE_LEN];
    size_t root_len = 0;
    int have_sgx = 0, have_tdx = 0, fd = -1, rc, code, fresh_done = 0;

    if (!peer)
        return cli_fail(GTEE_ENOMEM, "out of memory");
    gtee_policy_default(&policy);
    vfy.at = 0;
    if (a->at && gtee_time_parse(a->at, &vfy.at, &err) < 0) {
        code = cli_usage_error("--at: %s", err.msg);
        goto out;
    }
    if (a->policy && (rc = gtee_policy_load(a->policy, &policy, &err)) < 0) {
        code = cli_fail_err(rc, &err);
        goto out;
    }
    if (a->collateral && (code = load_collateral(a->collateral, &sgx, &tdx, &have_sgx, &have_tdx)) != 0)
        goto out;
    if (a->sim_root) {
        if ((code = read_file(a->sim_root, &root, &root_len)) != 0)
            goto out;
        anchors.sim_root_der = root;
        anchors.sim_root_len = root_len;
    }
    vfy.policy = &policy;
    vfy.sgx_col = have_sgx ? &sgx : NULL;
    vfy.tdx_col = have_tdx ? &tdx : NULL;
    vfy.anchors = &anchors;
    if ((rc = gtee_ratls_client_new(&vfy, NULL, &ctx, &err)) < 0) {
        code = cli_fail_err(rc, &err);
        goto out;
    }
    if ((rc = gtee_net_dial(a->connect, (int)(a->timeout_s < 10 ? a->timeout_s : 10) * 1000, (int)a->timeout_s * 1000,
                            &fd, &err)) < 0) {
        code = rc == GTEE_EINVAL ? cli_usage_error("--connect: %s", err.msg) : cli_fail_err(rc, &err);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN); /* a vanished peer is an error to report, not a signal */
    rc = gtee_ratls_connect(ctx, fd, &conn, peer, &err);
    if (rc == 0 && a->fresh) {
        rc = gtee_ratls_fresh(conn, nonce, peer, &err);
        fresh_done = rc == 0;
    }
    if (rc < 0 && (peer->failure == GTEE_RATLS_OK || peer->failure == GTEE_RATLS_FAIL_TLS)) {
        /* Not a verdict on the enclave: no TLS server there, no answer in time, or the TLS
         * layer failed before any evidence was seen (exit 3, docs/cli.md). */
        code = cli_fail_err(rc == GTEE_ENOMEM ? rc : GTEE_EIO, &err);
        goto out;
    }
    if (cli_json())
        code = print_json(peer, rc == 0, fresh_done);
    else
        print_text(peer, rc == 0, fresh_done);
    if (rc < 0) {
        if (!cli_json())
            fprintf(stderr, "gtee: attest: enclave rejected (%s): %s\n", gtee_ratls_failure_name(peer->failure),
                    peer->why);
        code = CLI_EXIT_POLICY;
    } else if (!cli_json()) {
        code = 0;
    }
out:
    gtee_ratls_conn_free(conn);
    gtee_ratls_ctx_free(ctx);
    if (fd >= 0)
        close(fd);
    gtee_collateral_free(&sgx);
    gtee_collateral_free(&tdx);
    free(root);
    free(peer);
    return code;
}

int cmd_attest(int argc, char **argv)
{
    static const struct option opts[] = {
        { "connect", required_argument, NULL, 'C' },  { "policy", required_argument, NULL, 'p' },
        { "collateral", required_argument, NULL, 'c' }, { "sim-root", required_argument, NULL, 's' },
        { "at", required_argument, NULL, 'a' },        { "fresh", no_argument, NULL, 'f' },
        { "json", no_argument, NULL, 'j' },            { "help", no_argument, NULL, 'h' },
        { "timeout", required_argument, NULL, 't' },   { NULL, 0, NULL, 0 },
    };
    struct attest_args a = { .timeout_s = 30 };
    unsigned long v;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'C': a.connect = optarg; break;
        case 'p': a.policy = optarg; break;
        case 'c': a.collateral = optarg; break;
        case 's': a.sim_root = optarg; break;
        case 'a': a.at = optarg; break;
        case 'f': a.fresh = 1; break;
        case 'j': cli_set_json(1); break;
        case 't':
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v == 0 || v > 3600)
                return cli_usage_error("--timeout: expected a number of seconds from 1 to 3600, got '%s'", optarg);
            a.timeout_s = (unsigned)v;
            break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!a.connect)
        return cli_usage_error("--connect HOST:PORT is required");
    return run_attest(&a);
}
