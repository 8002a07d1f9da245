/* What a node starts its enclave with, from node.conf: the launch (backend, executable, limits;
 * under sim the device `gtee node init` made) and the node's own evidence check (collateral,
 * simulated root, policy). `gtee node run` and `gtee node register` both use it, so that the
 * enclave a registration describes is the one the daemon runs. Internal to src/node/. */
#ifndef GTEE_NODE_LAUNCH_H
#define GTEE_NODE_LAUNCH_H

#include "gtee/enclave.h"
#include "gtee/file.h"
#include "node/config.h"
#include "node/supervise.h"

struct gtee_node_launch {
    struct gtee_enclave_launch l; /* points into the buffers below: do not copy the struct */
    struct gtee_node_check check;
    char sim_dir[GTEE_FILE_PATH_MAX], sim_root[GTEE_FILE_PATH_MAX + 32];
    char collateral[GTEE_FILE_PATH_MAX], policy[GTEE_FILE_PATH_MAX];
};

/* enclave: the gtee-enclave executable when node.conf names none. Paths in node.conf are
 * relative to dir. GTEE_ENOTFOUND when no executable is named. */
int gtee_node_launch_prepare(const char *dir, const struct gtee_node_config *cfg, const char *enclave,
                             struct gtee_node_launch *nl, struct gtee_err *err) GTEE_MUST_USE;

#endif
