/* The enclave's launch and the node's evidence check from node.conf (launch.h): one place
 * for `gtee node run` and `gtee node register`. */
#include <stdio.h>
#include <string.h>

#include "base/guard.h"
#include "node/launch.h"
#include "node/node.h"

/* A path of node.conf: absolute as given, else relative to the data directory. */
static void conf_path(char *out, size_t n, const char *dir, const char *p)
{
    if (p[0] == '/')
        snprintf(out, n, "%s", p);
    else
        snprintf(out, n, "%s/%s", dir, p);
}

int gtee_node_launch_prepare(const char *dir, const struct gtee_node_config *cfg, const char *enclave,
                             struct gtee_node_launch *nl, struct gtee_err *err)
{
    int rc = 0;

    memset(nl, 0, sizeof(*nl));
    nl->l.tee = cfg->tee;
    nl->l.binary = cfg->enclave[0] ? cfg->enclave : enclave;
    ENSURE(nl->l.binary, err, GTEE_ENOTFOUND, "no gtee-enclave executable: set enclave in %s/%s", dir,
           GTEE_NODE_CONF);
    nl->l.config = cfg->enclave_config;
    nl->l.allow_jit = (int)cfg->enclave_allow_jit;
    nl->l.memory_limit = cfg->enclave_memory_limit;
    nl->l.gpus = cfg->gpus;
    nl->l.gpu_library = cfg->gpu_library[0] ? cfg->gpu_library : NULL;
    nl->l.timeout_ms = cfg->enclave_timeout_s * 1000u;
    nl->l.stderr_fd = -1;
    /* sim runs on the device made by init; its collateral and simulated root are what the
     * node's check of the evidence trusts */
    if (!strcmp(cfg->tee, "sim")) {
        conf_path(nl->sim_dir, sizeof(nl->sim_dir), dir, cfg->sim_dir);
        nl->l.sim_dir = nl->sim_dir;
        snprintf(nl->sim_root, sizeof(nl->sim_root), "%s/sim_root_ca.der", nl->sim_dir);
        nl->check.sim_root = nl->sim_root;
        nl->check.collateral = nl->sim_dir;
    }
    if (cfg->collateral[0]) {
        conf_path(nl->collateral, sizeof(nl->collateral), dir, cfg->collateral);
        nl->check.collateral = nl->collateral;
    }
    if (cfg->policy[0]) {
        conf_path(nl->policy, sizeof(nl->policy), dir, cfg->policy);
        nl->check.policy = nl->policy;
    }
out:
    return rc;
}
