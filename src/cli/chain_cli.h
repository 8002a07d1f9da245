/* Shared by the chain commands (`gtee chain`, `gtee rewards`): the operator's key file, the
 * connection options and the Glacier contract's calls. Internal to src/cli/. */
#ifndef GTEE_CLI_CHAIN_CLI_H
#define GTEE_CLI_CHAIN_CLI_H

#include <stdint.h>

#include "gtee/err.h"
#include "gtee/evm.h"

/* The connection options every chain command takes; long option values from 'R' up. */
struct chain_opts {
    const char *rpc, *key, *contract, *ledger;
    unsigned timeout_ms, retries;
};
#define CHAIN_OPTIONS_HELP                                                                        \
    "      --ledger SPEC       the ledger: local:PATH (a local ledger file) or evm:URL[,ADDRESS]\n" \
    "                          (a chain's JSON-RPC endpoint and the Glacier contract there)\n"  \
    "      --rpc URL           the chain's JSON-RPC endpoint (http:// or https://), as evm:URL\n" \
    "      --timeout MS        per JSON-RPC attempt (default 10000)\n"                          \
    "      --retries N         attempts after the first on transport failures, with backoff\n"  \
    "                          doubling from 200 ms (default 3)\n"
/* Handles --ledger, --rpc, --key, --contract, --timeout, --retries; 1 if c was one of them, 0 if not,
 * or the usage exit code (negative) on a bad value. */
int chain_opt(struct chain_opts *o, int c, const char *arg);
/* The whole option loop of a command that only reads the ledger and takes nothing but the
 * connection options (no --key), --json and --help: -1 once they are read (the operands
 * start at optind), else the exit code to return (help shown, or a usage error). */
struct option;
int chain_read_opts(int argc, char **argv, const struct option *opts, struct chain_opts *o, const char *usage);
#define CHAIN_LONG_OPTIONS                                 \
    { "ledger", required_argument, NULL, 'L' },            \
    { "rpc", required_argument, NULL, 'R' },               \
    { "key", required_argument, NULL, 'K' },               \
    { "contract", required_argument, NULL, 'C' },          \
    { "timeout", required_argument, NULL, 'T' },           \
    { "retries", required_argument, NULL, 'Y' }

/* The operator key file: "0x" and 64 hex digits (an optional newline after), mode 0600 or
 * stricter (GTEE_EPERM otherwise), a regular file. */
int chain_key_read(const char *path, uint8_t key[32], struct gtee_err *err) GTEE_MUST_USE;
/* Connects with the key file, or with a throwaway key when none is needed (reads only). */
int chain_connect(const struct chain_opts *o, int need_key, struct gtee_evm **e, struct gtee_err *err) GTEE_MUST_USE;
/* The ledger the options name: --ledger local:PATH (the file must exist), --ledger
 * evm:URL[,ADDRESS] or --rpc URL with --contract ADDRESS; with the key file, or a throwaway
 * key when none is needed (reads only). GTEE_EINVAL naming what is missing. */
struct gtee_ledger;
struct gtee_ledger_local_options;
int chain_ledger(const struct chain_opts *o, int need_key, struct gtee_ledger **l, struct gtee_err *err) GTEE_MUST_USE;
/* Whether the options name a ledger at all (--ledger or --rpc). */
int chain_has_ledger(const struct chain_opts *o);
/* --ledger local:PATH: the path, else NULL. */
const char *chain_local_path(const struct chain_opts *o);
/* Makes the local ledger --ledger local:PATH names with lo's policy, the key file's address
 * its governor (gtee chain deploy). */
int chain_local_create(const struct chain_opts *o, struct gtee_ledger_local_options *lo, struct gtee_ledger **l,
                       struct gtee_err *err) GTEE_MUST_USE;
/* "0x" and 40 hex digits. */
int chain_address(const char *s, uint8_t addr[20], const char *what, struct gtee_err *err) GTEE_MUST_USE;
/* A decimal amount of wei into 32 bytes big-endian. */
int chain_wei(const char *s, uint8_t out[32], const char *what, struct gtee_err *err) GTEE_MUST_USE;
/* The decimal spelling of a 32-byte big-endian amount (buf of 80). */
const char *chain_wei_str(const uint8_t v[32], char buf[80]);
/* A view of the contract with no arguments or one address; *out, *len its return data. */
int chain_view(struct gtee_evm *e, const uint8_t contract[20], const char *signature, const uint8_t *addr_arg,
               uint8_t **out, size_t *len, struct gtee_err *err) GTEE_MUST_USE;

/* `gtee chain usage` (cmd_chain_usage.c) and `gtee chain govern` (cmd_chain_govern.c). */
int cmd_chain_usage(int argc, char **argv);
int cmd_chain_govern(int argc, char **argv);

#endif
