/* `gtee proof verify` and `gtee proof submit`: checks Work Proof files (docs/proofs.md): each
 * proof's fields, its signature and that the signer is the Enclave ID it names, the
 * per-enclave hash chain across every proof given, and with a ledger (local or evm) the
 * enclave's standing there; submits them to the ledger in batches. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/ledger.h"
#include "gtee/proof.h"

static const char verify_usage[] =
    "Usage: gtee proof verify FILE... [--chain-id N] [--contract ADDRESS]\n"
    "                         [--ledger local:PATH | --ledger evm:URL,ADDRESS] [--json]\n"
    "\n"
    "Verifies the Work Proofs in each FILE (one proof object or an array of them,\n"
    "docs/proofs.md) offline: every field, the EIP-712 signature (canonical, low-s), that\n"
    "the signer is the Enclave ID the proof names, and the hash chain of each enclave across\n"
    "all the proofs given (sequence numbers one apart, each naming its predecessor's hash, no\n"
    "replayed or equivocating proof). The first proof of an enclave may start at any sequence\n"
    "number; its predecessors are then not checked.\n"
    "With --ledger (or --rpc URL --contract ADDRESS), each enclave's standing on the ledger is\n"
    "checked too: it must be registered and not slashed; the proof with the ledger's last\n"
    "sequence number must be the one there (else equivocation); a proof past it, not yet on\n"
    "the ledger, needs the enclave to be active now.\n"
    "\n"
    "Options:\n"
    "      --chain-id N        require every proof's domain to name this chain id\n"
    "      --contract ADDRESS  require every proof's domain to name this contract\n"
    "      --ledger SPEC       check the enclaves on the ledger: local:PATH (a local ledger\n"
    "                          file) or evm:URL[,ADDRESS] (the Glacier contract on a chain); its\n"
    "                          chain id must be the proofs' domain's\n"
    "      --rpc URL           the same as --ledger evm:URL (needs --contract)\n"
    "      --timeout MS, --retries N  for an evm ledger, as in `gtee chain status`\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 all verified, 4 a signature does not verify or is not the Enclave ID's,\n"
    "7 the hash chain is broken (skipped, repeated or equivocating sequence numbers), the\n"
    "domain is not the one required, or the ledger does not stand behind an enclave,\n"
    "5 a malformed proof file, 3 unreadable file, no such local ledger or the chain did not\n"
    "answer, 2 usage.\n"
    "\n"
    "Example:\n"
    "  gtee proof verify proofs.json --chain-id 31337 --json\n";

struct proofs {
    struct gtee_proof *p;
    uint8_t (*h)[GTEE_PROOF_HASH_LEN];
    size_t n;
};

static int load(struct proofs *all, const char *path, struct gtee_err *err)
{
    struct gtee_proof *p = NULL, *grown;
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    int rc;

    TRY(gtee_file_read(path, GTEE_PROOF_FILE_MAX, &buf, &len, err));
    TRY(gtee_proof_parse(buf, len, &p, &n, err));
    ENSURE(all->n + n <= GTEE_PROOF_MAX_PROOFS, err, GTEE_EFORMAT, "more than %u proofs in all",
           GTEE_PROOF_MAX_PROOFS);
    if (!all->p) { /* the first file's proofs are taken as they are, not copied */
        all->p = p;
        all->n = n;
        p = NULL;
        goto out;
    }
    grown = realloc(all->p, (all->n + n) * sizeof(*all->p));
    ENSURE(grown, err, GTEE_ENOMEM, "out of memory");
    all->p = grown;
    memcpy(all->p + all->n, p, n * sizeof(*p));
    all->n += n;
out:
    free(p);
    free(buf);
    return rc;
}

static int verify_all(struct proofs *all, const char *chain_id, const char *contract, struct gtee_err *err)
{
    uint8_t want_contract[GTEE_PROOF_ID_LEN];
    unsigned long long want_chain = 0;
    int rc = 0;

    if (chain_id) {
        char *end;

        want_chain = strtoull(chain_id, &end, 10);
        ENSURE(*chain_id >= '0' && *chain_id <= '9' && !*end, err, GTEE_EINVAL,
               "--chain-id: '%.40s' is not a decimal number", chain_id);
    }
    if (contract)
        ENSURE(!strncmp(contract, "0x", 2) && gtee_hex_decode(contract, want_contract, sizeof(want_contract)) == 0,
               err, GTEE_EINVAL, "--contract: not 0x and 40 hex digits");
    all->h = calloc(all->n, sizeof(*all->h));
    ENSURE(all->h, err, GTEE_ENOMEM, "out of memory");
    for (size_t i = 0; i < all->n; i++) {
        const struct gtee_proof *p = &all->p[i];

        ENSURE(!chain_id || p->domain.chain_id == want_chain, err, GTEE_EPOLICY,
               "proof %zu (seq %llu): domain chain id %llu, not %llu", i, (unsigned long long)p->seq,
               (unsigned long long)p->domain.chain_id, want_chain);
        ENSURE(!contract || !memcmp(p->domain.contract, want_contract, sizeof(want_contract)), err, GTEE_EPOLICY,
               "proof %zu (seq %llu): domain names another contract", i, (unsigned long long)p->seq);
        rc = gtee_proof_verify(p, all->h[i], err);
        if (rc < 0) {
            gtee_err_wrap(err, "proof %zu: ", i);
            goto out;
        }
    }
    TRY(gtee_proof_chain_check(all->p, (const uint8_t(*)[GTEE_PROOF_HASH_LEN])all->h, all->n, err));
out:
    return rc;
}

/* Each enclave's standing on the ledger (docs/chain.md): registered, not slashed, its last
 * proof there the same as ours with that seq, and active for proofs past it. */
static int check_on_chain(const struct proofs *all, const struct chain_opts *co, json_t *onchain,
                          struct gtee_err *err)
{
    static const char *const status_name[] = { "not registered", "pending", "active", "rejected", "revoked" };
    struct gtee_ledger *l = NULL;
    struct gtee_ledger_standing st;
    int rc;

    TRY(chain_ledger(co, 0, &l, err));
    for (size_t i = 0; i < all->n; i++) {
        const struct gtee_proof *p = &all->p[i];
        char id[GTEE_ETH_ADDR_HEX_LEN + 1];
        int seen = 0;

        ENSURE(p->domain.chain_id == gtee_ledger_chain_id(l), err, GTEE_EPOLICY,
               "proof %zu: made for chain %llu, the ledger's is %llu", i, (unsigned long long)p->domain.chain_id,
               (unsigned long long)gtee_ledger_chain_id(l));
        for (size_t j = 0; j < i && !seen; j++)
            seen = !memcmp(all->p[j].enclave_id, p->enclave_id, 20);
        if (seen)
            continue;
        gtee_eth_address_hex(p->enclave_id, id);
        TRY(gtee_ledger_standing(l, p->enclave_id, &st, err));
        ENSURE(st.status != GTEE_ENCLAVE_UNREGISTERED, err, GTEE_EPOLICY, "enclave %s is not registered on the %s ledger",
               id, gtee_ledger_kind(l));
        ENSURE(!st.slashed, err, GTEE_EPOLICY, "enclave %s was slashed for equivocation", id);
        for (size_t j = 0; j < all->n; j++) {
            const struct gtee_proof *q = &all->p[j];

            if (memcmp(q->enclave_id, p->enclave_id, 20))
                continue;
            ENSURE(q->seq != st.last_seq || !memcmp(all->h[j], st.last_hash, 32), err, GTEE_EPOLICY,
                   "enclave %s: the ledger holds another proof with seq %llu (equivocation)", id,
                   (unsigned long long)q->seq);
            ENSURE(q->seq <= st.last_seq || st.active, err, GTEE_EPOLICY,
                   "enclave %s is not active (%s%s): its proof seq %llu, past the ledger's last (%llu), cannot be accepted",
                   id, status_name[st.status], st.status == GTEE_ENCLAVE_ACTIVE ? ", expired or below the minimum TCB" : "",
                   (unsigned long long)q->seq, (unsigned long long)st.last_seq);
        }
        if (onchain)
            json_array_append_new(onchain, json_pack("{s:s, s:s, s:b, s:I}", "enclave_id", id, "status",
                                                     status_name[st.status], "active", st.active, "last_seq",
                                                     (json_int_t)st.last_seq));
        else
            printf("on ledger enclave %s %s%s, last seq %llu\n", id, status_name[st.status],
                   st.active ? " (active)" : "", (unsigned long long)st.last_seq);
    }
out:
    gtee_ledger_close(l);
    return rc;
}

static void report(const struct proofs *all, json_t *onchain)
{
    json_t *list = cli_json() ? json_array() : NULL;
    char id[GTEE_ETH_ADDR_HEX_LEN + 1];

    for (size_t i = 0; i < all->n; i++) {
        const struct gtee_proof *p = &all->p[i];
        char h[2 + 2 * GTEE_PROOF_HASH_LEN + 1] = "0x", job[2 + 64 + 1] = "0x";

        /* EIP-55 costs a Keccak hash: once per run of one enclave's proofs, not per proof */
        if (i == 0 || memcmp(p->enclave_id, all->p[i - 1].enclave_id, sizeof(p->enclave_id)))
            gtee_eth_address_hex(p->enclave_id, id);
        gtee_hex_encode(all->h[i], GTEE_PROOF_HASH_LEN, h + 2);
        gtee_hex_encode(p->job_id, sizeof(p->job_id), job + 2);
        if (list)
            json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s, s:I, s:s}", "enclave_id", id, "seq",
                                                  (json_int_t)p->seq, "job_kind", gtee_job_kind_name(p->job_kind),
                                                  "job_id", job, "units",
                                                  (json_int_t)p->units, "hash", h));
        else
            printf("verified  enclave %s seq %llu %s units %llu hash %s\n", id, (unsigned long long)p->seq,
                   gtee_job_kind_name(p->job_kind), (unsigned long long)p->units, h);
    }
    if (list) {
        json_t *o = json_pack("{s:b, s:I, s:o}", "verified", 1, "count", (json_int_t)all->n, "proofs", list);

        if (o && onchain)
            json_object_set(o, "on_chain", onchain);
        cli_json_emit(o);
    }
    else
        printf("%zu proof%s verified\n", all->n, all->n == 1 ? "" : "s");
}

static int cmd_proof_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "chain-id", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    const char *chain_id = NULL;
    struct proofs all = {0};
    struct gtee_err err = {0};
    json_t *onchain = NULL;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = c == 'K' ? 0 : chain_opt(&co, c, optarg); /* no key: the chain is only read */

        if (k < 0)
            return -k;
        if (k)
            continue;
        switch (c) {
        case 'c': chain_id = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(verify_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("expected at least one proof FILE");
    if (co.rpc && !co.contract)
        return cli_usage_error("--rpc needs --contract ADDRESS (the Glacier contract)");
    if (co.ledger && co.rpc)
        return cli_usage_error("--ledger and --rpc both name a ledger: give one");
    for (int i = optind; i < argc; i++) {
        rc = load(&all, argv[i], &err);
        if (rc < 0) {
            gtee_err_wrap(&err, "%s: ", argv[i]);
            rc = cli_fail_err(rc, &err);
            goto out;
        }
    }
    rc = verify_all(&all, chain_id, co.contract, &err);
    if (rc == 0 && chain_has_ledger(&co)) {
        onchain = cli_json() ? json_array() : NULL;
        rc = check_on_chain(&all, &co, onchain, &err);
    }
    if (rc == GTEE_EINVAL) {
        rc = cli_usage_error("%s", err.msg);
        goto out;
    }
    if (rc < 0) {
        rc = cli_fail_err(rc, &err);
        goto out;
    }
    report(&all, onchain);
out:
    json_decref(onchain);
    free(all.p);
    free(all.h);
    return rc;
}

static const char submit_usage[] =
    "Usage: gtee proof submit FILE... (--ledger local:PATH | --ledger evm:URL,ADDRESS |\n"
    "                         --rpc URL --contract ADDRESS) --key FILE [--batch N] [--json]\n"
    "\n"
    "Submits the Work Proofs in each FILE to the ledger (docs/chain.md): the Glacier contract\n"
    "on a chain, in transactions of up to N proofs each, or a local ledger file, in\n"
    "all-or-nothing batches of up to N; per enclave in sequence order, sent with the key in\n"
    "FILE (anyone may submit: the ledger trusts the enclaves' signatures). Every proof is first\n"
    "verified as `gtee proof verify` does, and must be made for this ledger's chain and\n"
    "contract. Proofs the ledger already holds (up to the enclave's last sequence number there;\n"
    "the last one must be the very proof there) are skipped, so submitting again after a\n"
    "failure or a restart sends each proof once and loses none. A batch the ledger refuses (a\n"
    "replayed, skipped or repeated sequence number, a wrong previous hash, an enclave that is\n"
    "not active) is refused whole, with the contract's reason; the batches before it stay on\n"
    "the ledger, and are named.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --contract ADDRESS  the Glacier contract (with --rpc)\n"
    "      --key FILE          the submitter's secp256k1 key (0x and 64 hex digits, mode 0600)\n"
    "      --batch N           proofs per transaction, 1 to 64 (default 32)\n"
    "      --json              print the transactions as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 all submitted, 7 refused by the contract (its reason is printed) or a\n"
    "proof that does not verify as the ledger's, 4 a bad signature, 5 a malformed file or\n"
    "answer, 3 unreadable file, no such local ledger or the chain did not answer, 6 the key\n"
    "file is readable by others, 2 usage.\n";

static void print_batch(void *arg, const struct gtee_ledger_batch *b)
{
    json_t *txs = arg;
    char id[GTEE_ETH_ADDR_HEX_LEN + 1], tx[67] = "0x";

    gtee_eth_address_hex(b->enclave_id, id);
    gtee_hex_encode(b->receipt.tx_hash, 32, tx + 2);
    if (txs)
        json_array_append_new(txs, json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:I}", "enclave_id", id, "first_seq",
                                             (json_int_t)b->first_seq, "last_seq", (json_int_t)b->last_seq, "proofs",
                                             (json_int_t)b->proofs, "tx", tx, "block", (json_int_t)b->receipt.block,
                                             "gas_used", (json_int_t)b->receipt.gas_used));
    else
        printf("submitted enclave %s seq %llu..%llu (%zu proofs) tx %s gas %llu (%llu per proof)\n", id,
               (unsigned long long)b->first_seq, (unsigned long long)b->last_seq, b->proofs, tx,
               (unsigned long long)b->receipt.gas_used, (unsigned long long)(b->receipt.gas_used / b->proofs));
}

static int submit_all(struct proofs *all, const struct chain_opts *co, unsigned batch, json_t *txs, size_t *skipped,
                      size_t *sent, struct gtee_err *err)
{
    struct gtee_ledger *l = NULL;
    int rc;

    TRY(chain_ledger(co, 1, &l, err));
    TRY(gtee_ledger_submit(l, all->p, all->n, batch, print_batch, txs, skipped, sent, err));
out:
    gtee_ledger_close(l);
    return rc;
}

static int cmd_proof_submit(int argc, char **argv)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "batch", required_argument, NULL, 'b' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    struct proofs all = {0};
    struct gtee_err err = {0};
    json_t *txs = NULL;
    unsigned long batch = 32;
    size_t skipped = 0, sent = 0;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = chain_opt(&co, c, optarg);
        char *end;

        if (k < 0)
            return -k;
        if (k)
            continue;
        switch (c) {
        case 'b':
            batch = strtoul(optarg, &end, 10);
            if (*end || !*optarg || *optarg == '-' || batch < 1 || batch > 64)
                return cli_usage_error("--batch: '%s' is not a number from 1 to 64", optarg);
            break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(submit_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("expected at least one proof FILE");
    if (!chain_has_ledger(&co) || !co.key)
        return cli_usage_error("--ledger SPEC (or --rpc URL --contract ADDRESS) and --key FILE are required");
    if (co.ledger && co.rpc)
        return cli_usage_error("--ledger and --rpc both name a ledger: give one");
    for (int i = optind; i < argc; i++) {
        rc = load(&all, argv[i], &err);
        if (rc < 0) {
            gtee_err_wrap(&err, "%s: ", argv[i]);
            rc = cli_fail_err(rc, &err);
            goto out;
        }
    }
    rc = verify_all(&all, NULL, co.contract, &err);
    if (rc == 0) {
        txs = cli_json() ? json_array() : NULL;
        rc = submit_all(&all, &co, (unsigned)batch, txs, &skipped, &sent, &err);
    }
    if (rc == GTEE_EINVAL) {
        rc = cli_usage_error("%s", err.msg);
        goto out;
    }
    if (rc < 0) {
        rc = cli_fail_err(rc, &err);
        goto out;
    }
    if (txs)
        cli_json_emit(json_pack("{s:I, s:I, s:O}", "submitted", (json_int_t)sent, "already_on_chain",
                                (json_int_t)skipped, "transactions", txs));
    else
        printf("%zu proof%s submitted, %zu already on the ledger\n", sent, sent == 1 ? "" : "s", skipped);
out:
    json_decref(txs);
    free(all.p);
    free(all.h);
    return rc;
}

int cmd_proof(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "verify", "Verify Work Proof files offline: signature, signer == Enclave ID, hash chain",
          cmd_proof_verify },
        { "submit", "Submit Work Proof files to the ledger (local or the Glacier contract), in batches",
          cmd_proof_submit },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
