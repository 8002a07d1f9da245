/* `gtee node register`: the node's enclave registered or renewed on its ledger now, without
 * the daemon (docs/node.md, "Ledger"). Internal to src/node/ and the CLI. */
#ifndef GTEE_NODE_REGISTER_H
#define GTEE_NODE_REGISTER_H

#include "gtee/err.h"
#include "node/ledger.h"

struct gtee_node_register_opts {
    const char *dir;            /* the data directory */
    const char *enclave;        /* the gtee-enclave executable when node.conf names none */
    const char *url;            /* the node's URL the ledger records (NULL: node.conf's listen) */
};

/* Starts the enclave as `gtee node run` does, registers it (or renews its registration) with
 * the daemon's own code, stops it. GTEE_EPOLICY with the ledger's reason when it refuses,
 * GTEE_EIO when it does not answer, GTEE_ESTATE when a running node holds the directory. */
int gtee_node_register(const struct gtee_node_register_opts *o, struct gtee_node_enrollment *out,
                       struct gtee_err *err) GTEE_MUST_USE;

#endif
