/* `gtee chain deploy` and `gtee chain status`: deploy the Glacier contract (docs/chain.md)
 * with its governance policy through the EVM client, or make a local ledger file with it, and
 * show a ledger's chain, governor and policy. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/rpc.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/ledger.h"

#define ARTEFACTS_MAX (8u << 20)

static const char deploy_usage[] =
    "Usage: gtee chain deploy --rpc URL --key FILE --artefacts FILE [policy options] [--json]\n"
    "       gtee chain deploy --ledger local:PATH --key FILE [--chain-id N] [policy options] [--json]\n"
    "\n"
    "Deploys the Glacier contract (the registry, Work Proofs and rewards, key-release receipts;\n"
    "docs/chain.md) with the operator key in FILE as its governor, and prints its address.\n"
    "The bytecode comes from the artefacts that contracts/compile.js makes with the pinned solc.\n"
    "With --ledger local:PATH it makes a local ledger file instead (mode 0600; refused if PATH\n"
    "exists): the same rules on one machine, its address a random one made now, its chain id N\n"
    "(default 1337); the stakes and the quorum are kept but a local ledger has no use for them.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --key FILE          the deployer's (governor's) secp256k1 key: 0x and 64 hex digits,\n"
    "                          mode 0600\n"
    "      --artefacts FILE    contracts/compile.js's output (the contract Glacier in it)\n"
    "      --chain-id N        a local ledger's chain id, for its proofs' domain (default 1337)\n"
    "      --quorum N          verifier votes that decide a registration (default 1)\n"
    "      --epoch SECONDS     how long an approved registration lasts (default 86400)\n"
    "      --freshness SECONDS the oldest evidence accepted at registration (default 86400)\n"
    "      --min-stake WEI     an operator's minimum stake (default 0)\n"
    "      --verifier-stake WEI a verifier's minimum stake (default 0)\n"
    "      --reward-per-unit WEI paid per claimed unit of work (default 0)\n"
    "      --allow-simulated   accept enclaves on the simulated TEE (never on a public chain)\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 deployed, 7 the chain refused the transaction (its reason is printed),\n"
    "3 the chain did not answer, a file cannot be read or the local ledger exists,\n"
    "5 malformed artefacts or answer,\n"
    "6 the key file is readable by others, 2 usage.\n";

static const char status_usage[] =
    "Usage: gtee chain status (--ledger local:PATH | --ledger evm:URL,ADDRESS |\n"
    "                          --rpc URL --contract ADDRESS) [--json]\n"
    "\n"
    "Shows the ledger (its kind, chain id and contract) and its governor and policy.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --contract ADDRESS  the Glacier contract (0x and 40 hex digits; with --rpc)\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 shown, 3 the chain did not answer or no such local ledger, 5 the address\n"
    "holds no Glacier contract or the answer is malformed, 2 usage.\n";

static int fail(int rc, struct gtee_err *err)
{
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err->msg);
    return cli_fail_err(rc, err);
}

/* The Glacier contract's creation bytecode from the artefacts file. */
static int load_bytecode(const char *path, uint8_t **code, size_t *len, struct gtee_err *err)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    json_error_t je;
    json_t *root = NULL, *bc;
    int rc;

    TRY(gtee_file_read(path, ARTEFACTS_MAX, &buf, &n, err));
    root = json_loadb((const char *)buf, n, 0, &je);
    ENSURE(root, err, GTEE_EFORMAT, "%s: not JSON: %s at line %d", path, je.text, je.line);
    bc = json_object_get(json_object_get(json_object_get(root, "contracts"), "Glacier"), "bytecode");
    ENSURE(json_is_string(bc), err, GTEE_EFORMAT, "%s: no contracts.Glacier.bytecode (made by contracts/compile.js?)",
           path);
    rc = rpc_data(bc, ARTEFACTS_MAX, code, len, err);
    if (rc < 0)
        gtee_err_wrap(err, "%s: ", path);
    ENSURE(rc == 0 && *len > 0, err, GTEE_EFORMAT, "%s: the Glacier bytecode is empty or malformed", path);
out:
    json_decref(root);
    free(buf);
    return rc;
}

struct policy {
    uint64_t freshness, epoch, quorum;
    int allow_sim;
    uint8_t min_stake[32], verifier_stake[32], reward[32];
};

/* --ledger local:PATH: a local ledger file made with the policy, the key's address its
 * governor. */
static int deploy_local(const struct chain_opts *co, const struct policy *p, unsigned long long chain_id,
                        const char *artefacts)
{
    struct gtee_ledger_local_options lo = {0};
    struct gtee_ledger *l = NULL;
    struct gtee_proof_domain d;
    struct gtee_err err = {0};
    uint8_t gov[20];
    const char *path = chain_local_path(co);
    int rc;

    if (!path)
        return cli_usage_error("chain deploy makes a local ledger (--ledger local:PATH) or deploys on --rpc URL");
    if (artefacts)
        return cli_usage_error("--artefacts is for a chain; a local ledger runs no bytecode");
    ENSURE(access(path, F_OK) != 0, &err, GTEE_EEXIST, "ledger %s exists; refusing to make it again", path);
    if (chain_id == 0)
        return cli_usage_error("--chain-id must be at least 1");
    lo.chain_id = chain_id == UINT64_MAX ? 1337 : chain_id;
    lo.policy.freshness = p->freshness;
    lo.policy.epoch = p->epoch;
    lo.policy.quorum = (uint16_t)p->quorum;
    lo.policy.allow_simulated = p->allow_sim;
    memcpy(lo.policy.min_stake, p->min_stake, 32);
    memcpy(lo.policy.min_verifier_stake, p->verifier_stake, 32);
    memcpy(lo.policy.reward_per_unit, p->reward, 32);
    TRY(chain_local_create(co, &lo, &l, &err));
    gtee_ledger_domain(l, &d);
    gtee_ledger_operator(l, gov);
    {
        char addr[GTEE_ETH_ADDR_HEX_LEN + 1], g[GTEE_ETH_ADDR_HEX_LEN + 1];

        gtee_eth_address_hex(d.contract, addr);
        gtee_eth_address_hex(gov, g);
        if (cli_json())
            cli_json_emit(json_pack("{s:s, s:s, s:s, s:I, s:s}", "ledger", "local", "path", path, "contract", addr,
                                    "chain_id", (json_int_t)d.chain_id, "governor", g));
        else
            printf("ledger    local %s\ncontract  %s\nchain_id  %llu\ngovernor  %s\n", path, addr,
                   (unsigned long long)d.chain_id, g);
    }
out:
    gtee_ledger_close(l);
    return rc < 0 ? fail(rc, &err) : 0;
}

static int cmd_chain_deploy(int argc, char **argv)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "artefacts", required_argument, NULL, 'a' },
        { "chain-id", required_argument, NULL, 'i' },
        { "quorum", required_argument, NULL, 'q' },
        { "epoch", required_argument, NULL, 'e' },
        { "freshness", required_argument, NULL, 'f' },
        { "min-stake", required_argument, NULL, 's' },
        { "verifier-stake", required_argument, NULL, 'v' },
        { "reward-per-unit", required_argument, NULL, 'r' },
        { "allow-simulated", no_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    struct policy p = { .freshness = 86400, .epoch = 86400, .quorum = 1 };
    const char *artefacts = NULL;
    unsigned long long chain_id = UINT64_MAX;
    struct gtee_err err = {0};
    struct gtee_evm *e = NULL;
    struct gtee_evm_receipt r;
    struct chain_buf b = {0};
    uint8_t *code = NULL, gov[20];
    size_t code_len = 0;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        int k = chain_opt(&co, c, optarg);

        if (k < 0)
            return -k;
        if (k)
            continue;
        switch (c) {
        case 'a': artefacts = optarg; break;
        case 'i': chain_id = strtoull(optarg, &end, 10); break;
        case 'q': p.quorum = strtoull(optarg, &end, 10); break;
        case 'e': p.epoch = strtoull(optarg, &end, 10); break;
        case 'f': p.freshness = strtoull(optarg, &end, 10); break;
        case 's': rc = chain_wei(optarg, p.min_stake, "--min-stake", &err); break;
        case 'v': rc = chain_wei(optarg, p.verifier_stake, "--verifier-stake", &err); break;
        case 'r': rc = chain_wei(optarg, p.reward, "--reward-per-unit", &err); break;
        case 'S': p.allow_sim = 1; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(deploy_usage);
        default: return cli_bad_option(argc, argv);
        }
        if (rc < 0)
            return cli_usage_error("%s", err.msg);
        if (end && (*end || !*optarg || *optarg == '-'))
            return cli_usage_error("--%s: '%s' is not a whole number",
                                   c == 'q' ? "quorum" : c == 'e' ? "epoch" : c == 'i' ? "chain-id" : "freshness", optarg);
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (p.quorum < 1 || p.quorum > 65535)
        return cli_usage_error("--quorum must be from 1 to 65535");
    if (co.ledger)
        return deploy_local(&co, &p, chain_id, artefacts);
    if (chain_id != UINT64_MAX)
        return cli_usage_error("--chain-id is for a local ledger: a chain has its own");
    if (!artefacts)
        return cli_usage_error("--artefacts FILE is required (contracts/compile.js makes it)");
    rc = load_bytecode(artefacts, &code, &code_len, &err);
    if (rc < 0)
        return fail(rc, &err);
    rc = chain_connect(&co, 1, &e, &err);
    if (rc < 0)
        goto fail;
    /* constructor(Policy): a static tuple, its seven words inline after the code */
    chain_buf_put(&b, code, code_len);
    abi_u64(&b, p.freshness);
    abi_u64(&b, p.epoch);
    abi_u64(&b, p.quorum);
    abi_u64(&b, (uint64_t)p.allow_sim);
    abi_u256(&b, p.min_stake);
    abi_u256(&b, p.verifier_stake);
    abi_u256(&b, p.reward);
    if (b.oom) {
        rc = GTEE_FAIL(&err, GTEE_ENOMEM, "out of memory");
        goto fail;
    }
    rc = gtee_evm_send(e, NULL, NULL, b.p, b.len, &r, &err);
    if (rc < 0)
        goto fail;
    if (!r.has_contract) {
        rc = GTEE_FAIL(&err, GTEE_EFORMAT, "the receipt of the deployment names no contract address");
        goto fail;
    }
    gtee_evm_address(e, gov);
    {
        char addr[GTEE_ETH_ADDR_HEX_LEN + 1], g[GTEE_ETH_ADDR_HEX_LEN + 1], tx[67] = "0x";

        gtee_eth_address_hex(r.contract, addr);
        gtee_eth_address_hex(gov, g);
        gtee_hex_encode(r.tx_hash, 32, tx + 2);
        if (cli_json())
            cli_json_emit(json_pack("{s:s, s:I, s:s, s:I, s:s, s:I}", "contract", addr, "chain_id",
                                    (json_int_t)gtee_evm_chain_id(e), "governor", g, "block", (json_int_t)r.block,
                                    "tx", tx, "gas_used", (json_int_t)r.gas_used));
        else
            printf("contract  %s\nchain_id  %llu\ngovernor  %s\nblock     %llu\ntx        %s\ngas_used  %llu\n", addr,
                   (unsigned long long)gtee_evm_chain_id(e), g, (unsigned long long)r.block, tx,
                   (unsigned long long)r.gas_used);
    }
    goto done;
fail:
    rc = fail(rc, &err);
done:
    chain_buf_free(&b);
    free(code);
    gtee_evm_close(e);
    return rc;
}

static int cmd_chain_status(int argc, char **argv)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    struct gtee_err err = {0};
    struct gtee_ledger *l = NULL;
    struct gtee_ledger_policy p;
    struct gtee_proof_domain d;
    uint8_t gov[20];
    int c, rc;

    if ((c = chain_read_opts(argc, argv, opts, &co, status_usage)) >= 0)
        return c;
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    TRY(chain_ledger(&co, 0, &l, &err));
    TRY(gtee_ledger_policy(l, &p, gov, &err));
    gtee_ledger_domain(l, &d);
    {
        char g[GTEE_ETH_ADDR_HEX_LEN + 1], a[GTEE_ETH_ADDR_HEX_LEN + 1], s0[80], s1[80], s2[80];

        gtee_eth_address_hex(gov, g);
        gtee_eth_address_hex(d.contract, a);
        chain_wei_str(p.min_stake, s0);
        chain_wei_str(p.min_verifier_stake, s1);
        chain_wei_str(p.reward_per_unit, s2);
        if (cli_json())
            cli_json_emit(json_pack("{s:s, s:s, s:I, s:s, s:{s:I, s:I, s:I, s:b, s:s, s:s, s:s}}", "ledger",
                                    gtee_ledger_kind(l), "contract", a, "chain_id", (json_int_t)d.chain_id,
                                    "governor", g, "policy", "freshness", (json_int_t)p.freshness, "epoch",
                                    (json_int_t)p.epoch, "quorum", (json_int_t)p.quorum, "allow_simulated",
                                    p.allow_simulated, "min_stake", s0, "min_verifier_stake", s1,
                                    "reward_per_unit", s2));
        else
            printf("ledger             %s\ncontract           %s\nchain_id           %llu\ngovernor           %s\n"
                   "freshness          %llu s\nepoch              %llu s\nquorum             %u\n"
                   "allow_simulated    %s\nmin_stake          %s wei\nmin_verifier_stake %s wei\n"
                   "reward_per_unit    %s wei\n",
                   gtee_ledger_kind(l), a, (unsigned long long)d.chain_id, g, (unsigned long long)p.freshness,
                   (unsigned long long)p.epoch, (unsigned)p.quorum, p.allow_simulated ? "yes" : "no", s0, s1, s2);
    }
out:
    gtee_ledger_close(l);
    return rc < 0 ? fail(rc, &err) : 0;
}

int cmd_chain(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "deploy", "Deploy the Glacier contract with its governance policy", cmd_chain_deploy },
        { "status", "Show a Glacier deployment's chain, governor and policy", cmd_chain_status },
        { "usage", "Count a blob's uses: the key-release receipts recorded for it", cmd_chain_usage },
        { "govern", "Governance: accept or withdraw a measurement, set a minimum TCB, the policy", cmd_chain_govern },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
