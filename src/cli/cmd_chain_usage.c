/* `gtee chain usage BLOB`: a model or data provider counts the uses of its blob, from the
 * key-release receipts the ledger recorded (docs/chain.md "Key-release receipts"): which
 * enclave received its key, under which grant, when, and in which block. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "gtee/crypto.h"
#include "gtee/ledger.h"

static const char usage[] =
    "Usage: gtee chain usage CONTENT_ID (--ledger local:PATH | --ledger evm:URL,ADDRESS |\n"
    "                                    --rpc URL --contract ADDRESS) [--json]\n"
    "\n"
    "Counts the uses of a blob (a model, a data set): the key-release receipts the ledger\n"
    "recorded for its content id (64 hex digits, as gtee push prints it), each naming the\n"
    "enclave that received the blob's key, the grant under which it did (the grant id gtee\n"
    "grant prints), when the enclave accepted it and the block that recorded it. Receipts\n"
    "count key releases, once each; the jobs run with the key are counted by Work Proofs.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --contract ADDRESS  the Glacier contract (0x and 40 hex digits; with --rpc)\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 shown (also with no use), 3 the chain did not answer or no such local\n"
    "ledger, 5 the address holds no Glacier contract or the answer is malformed, 2 usage.\n";

static json_t *receipt_json(const struct gtee_ledger_key_release *r, int evm)
{
    char id[GTEE_ETH_ADDR_HEX_LEN + 1], grant[65], tx[67] = "0x";

    gtee_eth_address_hex(r->enclave_id, id);
    gtee_hex_encode(r->grant_id, 32, grant);
    gtee_hex_encode(r->tx_hash, 32, tx + 2);
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "enclave", id, "grant_id", grant, "time", (json_int_t)r->time,
                     "block", (json_int_t)r->block, "uses", (json_int_t)r->uses, "tx",
                     evm ? json_string(tx) : json_null());
}

int cmd_chain_usage(int argc, char **argv)
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
    struct gtee_ledger_key_release *rs = NULL;
    const char *cid;
    uint8_t blob[32];
    uint64_t uses = 0;
    size_t n = 0;
    int c, rc, evm, emit_failed = 0;

    if ((c = chain_read_opts(argc, argv, opts, &co, usage)) >= 0)
        return c;
    if (argc - optind != 1)
        return cli_usage_error("expected one argument CONTENT_ID (the blob's content id)");
    cid = argv[optind];
    if (!strncmp(cid, "0x", 2))
        cid += 2;
    if (strlen(cid) != 64 || gtee_hex_decode(cid, blob, 32) != 0)
        return cli_usage_error("CONTENT_ID %.80s: expected 64 hex digits (as gtee push prints it)", argv[optind]);
    TRY(chain_ledger(&co, 0, &l, &err));
    TRY(gtee_ledger_blob_uses(l, blob, &uses, &err));
    TRY(gtee_ledger_key_releases(l, blob, &rs, &n, &err));
    /* the count and the receipts are read apart: a receipt recorded between them shows in one */
    evm = !strcmp(gtee_ledger_kind(l), "evm");
    if (cli_json()) {
        json_t *a = json_array();
        char hex[65];

        for (size_t i = 0; a && i < n; i++)
            json_array_append_new(a, receipt_json(&rs[i], evm));
        gtee_hex_encode(blob, 32, hex);
        if (cli_json_emit(json_pack("{s:s,s:s,s:I,s:o}", "ledger", gtee_ledger_kind(l), "content_id", hex, "uses",
                                    (json_int_t)uses, "receipts", a ? a : json_null())))
            emit_failed = 1;
    } else {
        printf("content id %s\nuses       %llu\n", cid, (unsigned long long)uses);
        for (size_t i = 0; i < n; i++) {
            char id[GTEE_ETH_ADDR_HEX_LEN + 1], grant[65];

            gtee_eth_address_hex(rs[i].enclave_id, id);
            gtee_hex_encode(rs[i].grant_id, 32, grant);
            printf("enclave %s  grant %s  time %llu  block %llu\n", id, grant, (unsigned long long)rs[i].time,
                   (unsigned long long)rs[i].block);
        }
    }
out:
    free(rs);
    gtee_ledger_close(l);
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err.msg);
    return rc < 0 ? cli_fail_err(rc, &err) : emit_failed ? CLI_EXIT_IO : 0;
}
