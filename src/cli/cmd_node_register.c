/* `gtee node register DIR`: registers (or renews) the node's enclave on the ledger node.conf
 * names, now, without running the daemon (docs/node.md, "Ledger"; the daemon's own code,
 * src/node/register.c), and prints the Enclave ID, the registration's status and expiry. */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/enclave_cli.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "node/register.h"

static const char register_usage[] =
    "Usage: gtee node register [--url URL] [--enclave PATH] [--json] DIR\n"
    "\n"
    "Registers the enclave of the node of data directory DIR on the ledger its node.conf\n"
    "names (ledger = local or evm:URL,ADDRESS), or renews its registration with fresh\n"
    "evidence, now, without running the node: the enclave is started as `gtee node run`\n"
    "starts it, hands over its proof counter (checked against the ledger's last proof, as at\n"
    "every start), gives fresh evidence and its consent, and is registered with the operator\n"
    "key as its operator, as the running node does at each start; then it is stopped. Prints\n"
    "the Enclave ID, whether it was registered or renewed, its status on the ledger and when\n"
    "the registration expires. Refused while the node runs (it registers itself).\n"
    "\n"
    "Options:\n"
    "      --url URL          the node's URL the ledger records (default: http://LISTEN/ from\n"
    "                         node.conf's listen; required when that port is 0)\n"
    "      --enclave PATH     the gtee-enclave executable when node.conf names none (default:\n"
    "                         $GTEE_ENCLAVE, else gtee-enclave beside gtee)\n"
    "      --json             print one JSON object\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 registered or renewed, 7 the ledger refused it (its reason is printed:\n"
    "an unaccepted measurement, a TCB below the minimum, simulation not allowed, a revoked\n"
    "enclave) or the enclave refused its proof counter, 3 the ledger did not answer or the\n"
    "enclave did not start, 5 a malformed node.conf or answer, 1 the node is running, 2 usage.\n"
    "\n"
    "Example:\n"
    "  gtee node register ./node --json\n";

int cmd_node_register(int argc, char **argv)
{
    static const struct option opts[] = {
        { "url", required_argument, NULL, 'u' },
        { "enclave", required_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_node_register_opts o = { 0 };
    struct gtee_node_enrollment r;
    struct gtee_err err = { 0 };
    char bin[GTEE_FILE_PATH_MAX], id[GTEE_ETH_ADDR_HEX_LEN + 1];
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': o.url = optarg; break;
        case 'e': o.enclave = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(register_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument DIR (a data directory made by gtee node init)");
    o.dir = argv[optind];
    if (!o.enclave && cli_enclave_find_binary(bin, sizeof(bin)) == 0)
        o.enclave = bin;
    rc = gtee_node_register(&o, &r, &err);
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err.msg);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    gtee_eth_address_hex(r.enclave_id, id);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "enclave_id", id, "registration",
                                       r.renewed ? "renewed" : "registered", "status",
                                       gtee_ledger_status_name(r.standing.status), "active", r.standing.active,
                                       "registered_at", (json_int_t)r.registered_at, "expires",
                                       (json_int_t)r.standing.expires, "last_seq",
                                       (json_int_t)r.standing.last_seq)) < 0
                   ? CLI_EXIT_IO
                   : 0;
    printf("enclave %s %s\nstatus %s%s\n", id, r.renewed ? "renewed" : "registered",
           gtee_ledger_status_name(r.standing.status), r.standing.active ? " (active)" : "");
    if (r.standing.expires) {
        char when[32] = "?";
        time_t t = (time_t)r.standing.expires;
        struct tm tm;

        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("expires %s (%llu)%s\n", when, (unsigned long long)r.standing.expires,
               r.standing.status == GTEE_ENCLAVE_PENDING ? "; the new registration extends it once approved" : "");
    }
    else
        printf("expires - (not approved yet; an approved registration lasts an epoch, %llu s)\n",
               (unsigned long long)r.epoch);
    printf("last proof seq %llu\n", (unsigned long long)r.standing.last_seq);
    return 0;
}
