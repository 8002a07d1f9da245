/* `gtee node run`: the node daemon in the foreground (docs/node.md, "Running"). Internal to
 * src/node/ and the CLI. */
#ifndef GTEE_NODE_DAEMON_H
#define GTEE_NODE_DAEMON_H

#include "gtee/err.h"

struct gtee_node_run_opts {
    const char *dir;            /* the data directory */
    const char *enclave;        /* the gtee-enclave executable when node.conf names none */
    const char *listen;         /* overrides node.conf's listen (NULL: keep) */
};

/* Runs until SIGTERM or SIGINT: then stops accepting, drains requests in flight for up to
 * drain_timeout_s, stops the enclave and returns 0. Prints the URL on stdout once it listens
 * and writes it to DIR/node.url (removed at exit). */
int gtee_node_run(const struct gtee_node_run_opts *o, struct gtee_err *err) GTEE_MUST_USE;

#endif
