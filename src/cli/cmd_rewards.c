/* `gtee rewards` and `gtee rewards claim`: an operator's reward units on the ledger (the
 * Glacier contract or a local ledger; docs/chain.md "Proofs and rewards"), what they are
 * worth, and claiming them. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/crypto.h"
#include "gtee/ledger.h"

static const char rewards_usage[] =
    "Usage: gtee rewards LEDGER (--operator ADDRESS | --key FILE) [--json]\n"
    "       gtee rewards claim LEDGER --key FILE [--json]\n"
    "  LEDGER: --ledger local:PATH | --ledger evm:URL,ADDRESS | --rpc URL --contract ADDRESS\n"
    "\n"
    "Shows an operator's unclaimed reward units, the wei per unit and the reward pool; `claim`\n"
    "claims them with the operator's key (the contract pays units x reward per unit; a local\n"
    "ledger moves no money: it records the claim and zeroes the units).\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --contract ADDRESS  the Glacier contract (with --rpc)\n"
    "      --operator ADDRESS  whose rewards to show (default: the --key's address)\n"
    "      --key FILE          the operator's secp256k1 key (0x and 64 hex digits, mode 0600)\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 done, 7 the ledger refused the claim (its reason is printed: nothing to\n"
    "claim, a pool that cannot pay), 3 the chain did not answer or no such local ledger,\n"
    "5 a malformed answer,\n"
    "6 the key file is readable by others, 2 usage.\n";

static void print_standing(const uint8_t op[20], const struct gtee_ledger_rewards *s, const char *claimed_tx)
{
    char a[GTEE_ETH_ADDR_HEX_LEN + 1], u[80], p[80], pool[80];

    gtee_eth_address_hex(op, a);
    chain_wei_str(s->units, u);
    chain_wei_str(s->reward_per_unit, p);
    chain_wei_str(s->pool, pool);
    if (cli_json()) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "operator", a, claimed_tx ? "claimed_units" : "units", u,
                              "reward_per_unit", p, "reward_pool", pool);

        if (o && claimed_tx)
            json_object_set_new(o, "tx", json_string(claimed_tx));
        cli_json_emit(o);
        return;
    }
    printf("operator         %s\n%-16s %s\nreward_per_unit  %s wei\nreward_pool      %s wei\n", a,
           claimed_tx ? "claimed_units" : "units", u, p, pool);
    if (claimed_tx)
        printf("tx               %s\n", claimed_tx);
}

static int run(int argc, char **argv, int claim)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "operator", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    const char *operator = NULL;
    struct gtee_err err = {0};
    struct gtee_ledger *l = NULL;
    struct gtee_ledger_rewards s;
    uint8_t op[20];
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = chain_opt(&co, c, optarg);

        if (k < 0)
            return -k;
        if (k)
            continue;
        switch (c) {
        case 'o': operator = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(rewards_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!co.ledger && co.rpc && chain_address(co.contract, op, "--contract", &err) < 0)
        return cli_usage_error("%s", co.contract ? err.msg : "--contract ADDRESS is required");
    if (claim && (operator || !co.key))
        return cli_usage_error("claim takes --key FILE (the operator's), not --operator");
    if (!claim && !operator == !co.key)
        return cli_usage_error("name the operator with --operator ADDRESS or --key FILE");
    if (operator && chain_address(operator, op, "--operator", &err) < 0)
        return cli_usage_error("%s", err.msg);
    TRY(chain_ledger(&co, claim, &l, &err));
    if (!operator)
        gtee_ledger_operator(l, op);
    if (claim) {
        struct gtee_evm_receipt r;
        char tx[67] = "0x";

        TRY(gtee_ledger_claim(l, s.units, &r, &err));
        {
            uint8_t units[32];

            memcpy(units, s.units, 32);
            TRY(gtee_ledger_rewards(l, op, &s, &err)); /* the pool after the claim */
            memcpy(s.units, units, 32);
        }
        gtee_hex_encode(r.tx_hash, 32, tx + 2);
        print_standing(op, &s, tx);
    } else {
        TRY(gtee_ledger_rewards(l, op, &s, &err));
        print_standing(op, &s, NULL);
    }
out:
    gtee_ledger_close(l);
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err.msg);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

static int cmd_rewards_claim(int argc, char **argv)
{
    return run(argc, argv, 1);
}

int cmd_rewards(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "claim", "Claim the operator's reward units", cmd_rewards_claim },
    };

    if (argc > 1 && !strcmp(argv[1], "claim"))
        return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
    return run(argc, argv, 0);
}
