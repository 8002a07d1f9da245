/* A client's choice of node from a ledger (docs/jobs.md, "Picking a node from a ledger"): the
 * registered enclaves the ledger says may earn now, in the order of their registration,
 * each then attested by the client itself before it is used. Internal to src/cli/. */
#ifndef GTEE_CLI_NODE_PICK_H
#define GTEE_CLI_NODE_PICK_H

#include <stddef.h>

#include "cli/node_client.h"
#include "gtee/err.h"
#include "gtee/ledger.h"

struct cli_node_entry {
    struct gtee_ledger_enclave e;
    int tcb_ok; /* the TCB is not below the ledger's minimum for its TEE type */
};

/* Every registered enclave of l (active_only: those active now), in registration order;
 * *out malloc'ed (cli_nodes_free). */
int cli_nodes_list(struct gtee_ledger *l, int active_only, struct cli_node_entry **out, size_t *n,
                   struct gtee_err *err) GTEE_MUST_USE;
void cli_nodes_free(struct cli_node_entry *nodes, size_t n);

/* Attests the active nodes of the ledger the spec names (evm:URL,ADDRESS or local:PATH) one
 * after the other, each bound to its registered Enclave ID and within timeout_s, until one
 * passes: *e is that node's enclave (e->url its node URL). A node that does not answer or
 * fails attestation is named on stderr (unless quiet) and the next one tried; none left is
 * GTEE_EIO (none answered) or GTEE_EPOLICY (one answered and was rejected). */
int cli_node_pick(const char *ledger_spec, const struct cli_attest_opts *o, long timeout_s, int quiet,
                  struct cli_enclave *e, struct gtee_err *err) GTEE_MUST_USE;

#endif
