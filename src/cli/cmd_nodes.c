/* `gtee nodes`: the nodes a ledger lists (docs/chain.md "Registry"), the active ones by
 * default: Enclave ID, TEE type, TCB against the minimum, measurement, URL and when the
 * registration expires. Clients pick a node from the same list (cli/node_pick.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/node_pick.h"
#include "gtee/crypto.h"
#include "gtee/ledger.h"
#include "gtee/tee_kind.h"

static const char usage[] =
    "Usage: gtee nodes --ledger evm:URL,ADDRESS|local:PATH [--all] [--json]\n"
    "\n"
    "Lists the active nodes of the ledger (approved, not expired, measurement accepted, TCB\n"
    "not below the minimum): Enclave ID, TEE type, TCB and its status against the ledger's\n"
    "minimum, measurement, node URL and when the registration expires. With --all, every\n"
    "registered enclave, with its status (pending, active, rejected, revoked). The ledger's\n"
    "word is not the client's check: gtee infer --ledger attests the node it picks itself.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --contract ADDRESS  the Glacier contract (with --rpc)\n"
    "      --all               also the enclaves that are not active\n"
    "      --json              print {\"nodes\": [...]} as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 listed (an empty list too), 3 the chain did not answer or no such local\n"
    "ledger, 5 a malformed answer, 2 usage.\n";

static const char *status_name(const struct cli_node_entry *n)
{
    static const char *const names[] = { "unregistered", "pending", "approved", "rejected", "revoked" };

    if (n->e.status == GTEE_ENCLAVE_ACTIVE && n->e.active)
        return "active";
    if (n->e.status == GTEE_ENCLAVE_ACTIVE && n->e.expires <= (uint64_t)time(NULL))
        return "expired";
    return (unsigned)n->e.status < GTEE_ARRAY_LEN(names) ? names[n->e.status] : "unknown";
}

int cmd_nodes(int argc, char **argv)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "all", no_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    struct gtee_err err = {0};
    struct gtee_ledger *l = NULL;
    struct cli_node_entry *nodes = NULL;
    size_t n = 0, shown = 0;
    json_t *arr = NULL;
    int c, rc = 0, all = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = chain_opt(&co, c, optarg);

        if (k < 0)
            return -k;
        if (k)
            continue;
        switch (c) {
        case 'a': all = 1; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    TRY(chain_ledger(&co, 0, &l, &err));
    TRY(cli_nodes_list(l, !all, &nodes, &n, &err));
    arr = json_array();
    ENSURE(arr, &err, GTEE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct cli_node_entry *e = &nodes[i];
        char id[43], op[43], m[65], exp[32] = "-", tcb[GTEE_LEDGER_TCB_TEXT_MAX];
        time_t t = (time_t)e->e.expires;
        struct tm tm;

        gtee_eth_address_hex(e->e.enclave_id, id);
        gtee_eth_address_hex(e->e.operator_addr, op);
        gtee_hex_encode(e->e.measurement, 32, m);
        if (e->e.expires && gmtime_r(&t, &tm))
            strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        shown++;
        if (cli_json()) {
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:s, s:s, s:s, s:I, s:s, s:I}",
                                                 "enclave_id", id, "status", status_name(e), "operator", op, "tee",
                                                 gtee_tee_kind_name((enum gtee_tee_kind)e->e.tee_type), "simulated",
                                                 e->e.tee_type == GTEE_TEE_KIND_SIM, "tcb",
                                                 (json_int_t)e->e.tcb, "tcb_status",
                                                 e->tcb_ok ? "ok" : "below the minimum", "measurement", m, "url",
                                                 e->e.node_url, "expires", (json_int_t)e->e.expires, "expires_utc",
                                                 exp, "last_seq", (json_int_t)e->e.last_seq));
            continue;
        }
        /* a simulated enclave is labelled as such: it gives no hardware protection */
        printf("%s  %-8s %-4s%s tcb %s (%s)  measurement 0x%s  %s  expires %s\n", id, status_name(e),
               gtee_tee_kind_name((enum gtee_tee_kind)e->e.tee_type),
               e->e.tee_type == GTEE_TEE_KIND_SIM ? " (SIMULATED: not secure)" : "",
               gtee_ledger_tcb_text(e->e.tee_type, e->e.tcb, tcb),
               e->tcb_ok ? "ok" : "below the minimum", m, e->e.node_url, exp);
    }
    if (cli_json()) {
        rc = cli_json_emit(json_pack("{s:s, s:o}", "ledger", gtee_ledger_kind(l), "nodes", arr)) ? GTEE_EIO : 0;
        arr = NULL;
    } else if (!shown) {
        printf("no %snodes on the ledger\n", all ? "" : "active ");
    }
out:
    json_decref(arr);
    cli_nodes_free(nodes, n);
    gtee_ledger_close(l);
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err.msg);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}
