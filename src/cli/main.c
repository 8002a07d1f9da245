/* gtee: the command-line entry point. A table of git-style subcommands.
 * This is the executable the node's host runs, so it holds no ML engine and no code that
 * opens a container (the never-rule, docs/architecture.md; scripts/check-never-rule.sh
 * checks it): `gtee model` runs gtee-model (main_model.c) and the container commands run
 * gtee-box (main_box.c), in place of this process.
 *
 * Adding a command `gtee foo`:
 *   1. write src/cli/cmd_foo.c with `int cmd_foo(int argc, char **argv)`: argv[0] is
 *      "foo"; parse options with getopt_long (getopt is already reset; unknown options ->
 *      `return cli_bad_option(argc, argv)`); `--help` -> `return cli_help(usage)`;
 *      results via printf or cli_json_emit, failures via cli_fail/cli_fail_err, which
 *      return the exit code (cli.h). cmd_inspect.c is a short example.
 *   2. add its prototype to commands.h and one line to `commands[]` below.
 *   CMake picks the new file up by itself.
 * Nested commands (`gtee evidence verify`): cmd_evidence owns a table of its own and
 * returns cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv); see cli.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"

/* The container commands, one family in gtee-box: `gtee decrypt ARGS` is `gtee-box decrypt ARGS`. */
static int run_box(int argc, char **argv)
{
    return cli_tool_exec("gtee-box", 1, argc, argv);
}

/* `gtee model ARGS` is `gtee-model ARGS`. */
static int run_model(int argc, char **argv)
{
    return cli_tool_exec("gtee-model", 0, argc, argv);
}

static const struct cli_cmd commands[] = {
    { "keygen", "Generate a sealed-container key file", run_box },
    { "encrypt", "Seal a file into a container", run_box },
    { "decrypt", "Open a container and write its plaintext", run_box },
    { "inspect", "Show a container's header, size and content id (no key needed)", run_box },
    { "model", "ONNX models: inspect, run (developer tools; plaintext)", run_model },
    { "sim", "Simulated TEE device for development and CI (not secure): sim init DIR", cmd_sim },
    { "version", "Print the gtee and OpenSSL versions", cmd_version },
    { "evidence", "TEE evidence: get it from the enclave; collect a GPU's (gpu); verify a quote, SEV-SNP report, GPU report or bundle against collateral and a policy", cmd_evidence },
    { "attest", "Connect to an enclave's attested channel and print its verified claims", cmd_attest },
    { "relay", "Relay clients' TCP connections to an enclave application's attested channel", cmd_relay },
    { "enclave", "Start the enclave through a TEE backend and show its identity", cmd_enclave },
    { "node", "The node daemon: node init DIR, node run DIR, node status DIR, node register DIR, node gc DIR", cmd_node },
    { "push", "Seal a file into a container and upload it to a node's blob store", cmd_push },
    { "identity", "X25519 identities that grants name and results are sealed to: identity new FILE, identity show FILE", cmd_identity },
    { "grant", "Attest a node's enclave, then release a container's key to it with a grant (kinds, counterparties, until)", cmd_grant },
    { "infer", "Run a model on an input inside a node's enclave (attested); the predictions come sealed to you", cmd_infer },
    { "train", "Train a model on a dataset inside a node's enclave (attested); loss, accuracy and the trained model", cmd_train },
    { "job", "A node's jobs: job status ID, job list (state, stage, progress; nothing secret), job fetch ID (the result)", cmd_job },
    { "proof", "Work Proofs: proof verify (signature, signer == Enclave ID, hash chain; with a ledger, the registration), proof submit", cmd_proof },
    { "chain", "The ledger: chain deploy, chain status (the Glacier contract), chain usage (a blob's uses), chain govern", cmd_chain },
    { "rewards", "An operator's reward units on the chain; rewards claim", cmd_rewards },
    { "verifier", "A staked verifier: verifier run (vote on registrations, report equivocation), verifier join", cmd_verifier },
    { "nodes", "The nodes a ledger lists: Enclave ID, TEE, TCB, measurement, URL, expiry", cmd_nodes },
    { "keyrelease", "TDX key release: keyrelease init FILE (master secret), keyrelease serve (answer key requests)", cmd_keyrelease },
};

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return cli_help("Usage: gtee version\n       gtee --version\n\n"
                        "Prints the gtee version and the OpenSSL library it runs with.\n");
    if (argc > 1)
        return cli_usage_error("unexpected argument '%s'", argv[1]);
    printf("gtee %s (%s)\n", GTEE_VERSION_STRING, OpenSSL_version(OPENSSL_VERSION));
    return 0;
}

int main(int argc, char **argv)
{
    static char prog[] = "gtee";

    if (argc > 1 && !strcmp(argv[1], "--version")) {
        char *v[] = { argv[1] };
        return cmd_version(1, v);
    }
    argv[0] = prog; /* messages say "gtee", whatever path ran us */
    return cli_dispatch(commands, GTEE_ARRAY_LEN(commands), argc, argv);
}
