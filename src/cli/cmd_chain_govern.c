/* `gtee chain govern`: the governor's transactions (docs/chain.md "Governance"): accept or
 * withdraw an enclave measurement, set the minimum TCB of a TEE type, and change the policy
 * (the evidence freshness window, the epoch, the quorum, simulation, stakes, the reward per
 * unit), on an evm or a local ledger, each as the contract's function of the same name. */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "gtee/crypto.h"
#include "gtee/ledger.h"
#include "gtee/tee_kind.h"

#define ACTIONS_MAX 32

static const char usage[] =
    "Usage: gtee chain govern (--ledger local:PATH | --ledger evm:URL,ADDRESS |\n"
    "                          --rpc URL --contract ADDRESS) --key FILE ACTION... [--json]\n"
    "\n"
    "Sends the governor's transactions, one per action, in the order given: an enclave\n"
    "registers only with an accepted measurement and stops being active the moment its\n"
    "measurement is withdrawn or the minimum TCB of its TEE type is raised above its own;\n"
    "the policy options change the policy in one transaction (the values not named stay).\n"
    "Only the governor (the deployer, or whom it handed the role) may; anyone else is\n"
    "refused with the contract's reason. On a refusal the actions before it stay done.\n"
    "\n"
    "Actions:\n"
    "      --accept-measurement HEX  accept an enclave measurement (64 hex digits: SGX's\n"
    "                          MRENCLAVE, keccak256 of TDX's MRTD or SEV-SNP's MEASUREMENT)\n"
    "      --revoke-measurement HEX  withdraw it: its enclaves stop earning\n"
    "      --min-tcb TYPE:TCB  the minimum TCB of a TEE type (sim, sgx, tdx, snp): Intel's TCB\n"
    "                          evaluation data number; for snp the four SVNs packed, 0xBBTTSSMM\n"
    "                          (bootloader, tee, snp, microcode), each compared on its own\n"
    "      --freshness SECONDS the oldest evidence accepted at registration or renewal\n"
    "      --epoch SECONDS     how long an approved registration lasts\n"
    "      --quorum N          verifier votes that decide a registration (1 to 65535)\n"
    "      --allow-simulated yes|no  whether enclaves on the simulated TEE are accepted\n"
    "      --min-stake WEI     an operator's minimum stake\n"
    "      --verifier-stake WEI a verifier's minimum stake\n"
    "      --reward-per-unit WEI paid per claimed unit of work\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --contract ADDRESS  the Glacier contract (0x and 40 hex digits; with --rpc)\n"
    "      --key FILE          the governor's secp256k1 key: 0x and 64 hex digits, mode 0600\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 done, 7 the ledger refused an action (its reason is printed; not the\n"
    "governor, a quorum of 0), 3 the chain did not answer or no such local ledger, 5 a\n"
    "malformed answer, 6 the key file is readable by others, 2 usage.\n";

enum act { ACCEPT, REVOKE, MIN_TCB, POLICY };

struct action {
    enum act kind;
    uint8_t m[32];
    uint8_t tee;
    uint32_t tcb;
};

/* What the policy options change (the rest is read from the ledger). */
struct policy_change {
    int any, freshness_set, epoch_set, quorum_set, sim_set, stake_set, vstake_set, reward_set;
    struct gtee_ledger_policy p;
};

static int parse_hex32(const char *s, uint8_t out[32])
{
    if (!strncmp(s, "0x", 2))
        s += 2;
    return strlen(s) == 64 && gtee_hex_decode(s, out, 32) == 0 ? 0 : -1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
    char *end = NULL;
    unsigned long long x;

    if (!*s || *s == '-' || *s == '+')
        return -1;
    x = strtoull(s, &end, 10);
    if (*end || x > max)
        return -1;
    *v = x;
    return 0;
}

static int parse_min_tcb(const char *s, struct action *a)
{
    static const char *const names[] = { "sim", "sgx", "tdx", "snp" };
    const char *colon = strchr(s, ':');
    uint64_t tcb = 0;
    char *end = NULL;

    if (!colon)
        return -1;
    if (!strncmp(colon + 1, "0x", 2)) { /* SEV-SNP's packed SVNs read best in hex */
        if (!isxdigit((unsigned char)colon[3]) || strlen(colon + 3) > 8)
            return -1;
        tcb = strtoull(colon + 3, &end, 16);
        if (*end)
            return -1;
    } else if (parse_u64(colon + 1, UINT32_MAX, &tcb) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < GTEE_ARRAY_LEN(names); i++)
        if ((size_t)(colon - s) == strlen(names[i]) && !strncmp(s, names[i], strlen(names[i])))
            a->tee = (uint8_t)(GTEE_TEE_KIND_SIM + i);
    if (!a->tee)
        return -1;
    a->tcb = (uint32_t)tcb;
    return 0;
}

static const char *act_name(enum act k)
{
    return k == ACCEPT ? "accept-measurement" : k == REVOKE ? "revoke-measurement" : k == MIN_TCB ? "min-tcb" : "policy";
}

static int apply(struct gtee_ledger *l, const struct action *a, const struct policy_change *pc,
                 struct gtee_evm_receipt *r, struct gtee_err *err)
{
    struct gtee_ledger_policy p;
    uint8_t gov[20];
    int rc = 0;

    switch (a->kind) {
    case ACCEPT: return gtee_ledger_set_measurement(l, a->m, 1, r, err);
    case REVOKE: return gtee_ledger_set_measurement(l, a->m, 0, r, err);
    case MIN_TCB: return gtee_ledger_set_min_tcb(l, a->tee, a->tcb, r, err);
    case POLICY: break;
    }
    TRY(gtee_ledger_policy(l, &p, gov, err));
    if (pc->freshness_set)
        p.freshness = pc->p.freshness;
    if (pc->epoch_set)
        p.epoch = pc->p.epoch;
    if (pc->quorum_set)
        p.quorum = pc->p.quorum;
    if (pc->sim_set)
        p.allow_simulated = pc->p.allow_simulated;
    if (pc->stake_set)
        memcpy(p.min_stake, pc->p.min_stake, 32);
    if (pc->vstake_set)
        memcpy(p.min_verifier_stake, pc->p.min_verifier_stake, 32);
    if (pc->reward_set)
        memcpy(p.reward_per_unit, pc->p.reward_per_unit, 32);
    rc = gtee_ledger_set_policy(l, &p, r, err);
out:
    return rc;
}

static json_t *action_json(const struct action *a, const struct gtee_evm_receipt *r, int evm)
{
    char hex[65], tx[67] = "0x";
    json_t *o;

    gtee_hex_encode(r->tx_hash, 32, tx + 2);
    o = json_pack("{s:s,s:I,s:o}", "action", act_name(a->kind), "block", (json_int_t)r->block, "tx",
                  evm ? json_string(tx) : json_null());
    if (o && (a->kind == ACCEPT || a->kind == REVOKE)) {
        gtee_hex_encode(a->m, 32, hex);
        json_object_set_new(o, "measurement", json_string(hex));
    } else if (o && a->kind == MIN_TCB) {
        json_object_set_new(o, "tee_type", json_string(gtee_tee_kind_name((enum gtee_tee_kind)a->tee)));
        json_object_set_new(o, "min_tcb", json_integer(a->tcb));
    }
    return o;
}

int cmd_chain_govern(int argc, char **argv)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "accept-measurement", required_argument, NULL, 'a' },
        { "revoke-measurement", required_argument, NULL, 'r' },
        { "min-tcb", required_argument, NULL, 't' },
        { "freshness", required_argument, NULL, 'f' },
        { "epoch", required_argument, NULL, 'e' },
        { "quorum", required_argument, NULL, 'q' },
        { "allow-simulated", required_argument, NULL, 'S' },
        { "min-stake", required_argument, NULL, 's' },
        { "verifier-stake", required_argument, NULL, 'v' },
        { "reward-per-unit", required_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    struct action acts[ACTIONS_MAX];
    struct policy_change pc = { 0 };
    struct gtee_err err = { 0 };
    struct gtee_ledger *l = NULL;
    json_t *done = NULL;
    size_t n = 0, i = 0;
    uint64_t v = 0;
    int c, rc = 0, evm;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = chain_opt(&co, c, optarg);
        struct action *a = &acts[n];

        if (k < 0)
            return -k;
        if (k)
            continue;
        if ((c == 'a' || c == 'r' || c == 't') && n == ACTIONS_MAX)
            return cli_usage_error("at most %d actions at once", ACTIONS_MAX);
        switch (c) {
        case 'a':
        case 'r':
            memset(a, 0, sizeof(*a));
            a->kind = c == 'a' ? ACCEPT : REVOKE;
            if (parse_hex32(optarg, a->m) != 0)
                return cli_usage_error("--%s-measurement %.80s: expected 64 hex digits", c == 'a' ? "accept" : "revoke",
                                       optarg);
            n++;
            break;
        case 't':
            memset(a, 0, sizeof(*a));
            a->kind = MIN_TCB;
            if (parse_min_tcb(optarg, a) != 0)
                return cli_usage_error("--min-tcb %.80s: expected TYPE:TCB, TYPE one of sim, sgx, tdx, snp and TCB a "
                                       "whole number below 2^32 (or 0x and up to 8 hex digits)",
                                       optarg);
            n++;
            break;
        case 'f':
        case 'e':
            if (parse_u64(optarg, UINT64_MAX, &v) != 0)
                return cli_usage_error("--%s: '%s' is not a whole number of seconds", c == 'f' ? "freshness" : "epoch",
                                       optarg);
            if (c == 'f')
                pc.p.freshness = v, pc.freshness_set = 1;
            else
                pc.p.epoch = v, pc.epoch_set = 1;
            pc.any = 1;
            break;
        case 'q':
            if (parse_u64(optarg, 65535, &v) != 0 || v == 0)
                return cli_usage_error("--quorum: '%s' is not a number from 1 to 65535", optarg);
            pc.p.quorum = (uint16_t)v;
            pc.quorum_set = pc.any = 1;
            break;
        case 'S':
            if (strcmp(optarg, "yes") && strcmp(optarg, "no"))
                return cli_usage_error("--allow-simulated: '%s' is not yes or no", optarg);
            pc.p.allow_simulated = !strcmp(optarg, "yes");
            pc.sim_set = pc.any = 1;
            break;
        case 's':
        case 'v':
        case 'w':
            rc = chain_wei(optarg, c == 's' ? pc.p.min_stake : c == 'v' ? pc.p.min_verifier_stake : pc.p.reward_per_unit,
                           c == 's' ? "--min-stake" : c == 'v' ? "--verifier-stake" : "--reward-per-unit", &err);
            if (rc < 0)
                return cli_usage_error("%s", err.msg);
            *(c == 's' ? &pc.stake_set : c == 'v' ? &pc.vstake_set : &pc.reward_set) = 1;
            pc.any = 1;
            break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (pc.any) {
        if (n == ACTIONS_MAX)
            return cli_usage_error("at most %d actions at once", ACTIONS_MAX);
        memset(&acts[n], 0, sizeof(acts[n]));
        acts[n++].kind = POLICY;
    }
    if (!n)
        return cli_usage_error("no action: name at least one (--accept-measurement, --min-tcb, --freshness, ...)");
    if (!co.key)
        return cli_usage_error("--key FILE is required: the governor's key signs the transactions");
    TRY(chain_ledger(&co, 1, &l, &err));
    evm = !strcmp(gtee_ledger_kind(l), "evm");
    done = json_array();
    ENSURE(done, &err, GTEE_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        struct gtee_evm_receipt r = { 0 };

        rc = apply(l, &acts[i], &pc, &r, &err);
        if (rc < 0) {
            gtee_err_wrap(&err, "%s (action %zu of %zu%s): ", act_name(acts[i].kind), i + 1, n,
                          i ? "; the ones before it are done" : "");
            goto out;
        }
        json_array_append_new(done, action_json(&acts[i], &r, evm));
        if (!cli_json())
            printf("%-19s done in block %llu\n", act_name(acts[i].kind), (unsigned long long)r.block);
    }
out:
    if (cli_json() && done && (rc == 0 || i > 0))
        (void)cli_json_emit(json_pack("{s:s,s:O,s:b}", "ledger", l ? gtee_ledger_kind(l) : "", "done", done, "complete",
                                      rc == 0));
    json_decref(done);
    gtee_ledger_close(l);
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err.msg);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}
