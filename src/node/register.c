/* `gtee node register` (docs/node.md, "Ledger"): registers or renews the node's enclave on
 * the ledger node.conf names, now, without the daemon: the enclave started as `gtee node run`
 * starts it (launch.c), and the registration made by the daemon's own code (ledger.c's
 * PROOF_START, the node's check of the fresh evidence, the enclave's consent), then the
 * enclave stopped. The data directory is locked as a running node locks it, so the two never
 * race over the enclave's proof counter. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/net.h"
#include "node/launch.h"
#include "node/ledger.h"
#include "node/node.h"
#include "node/register.h"

int gtee_node_register(const struct gtee_node_register_opts *o, struct gtee_node_enrollment *out,
                       struct gtee_err *err)
{
    struct gtee_node_config cfg;
    struct gtee_node_store *store = NULL;
    struct gtee_node_launch *launch = NULL;
    struct gtee_node_enclave *enc = NULL;
    struct gtee_node_ledger *nl = NULL;
    uint8_t priv[GTEE_SECP256K1_PRIV_LEN];
    char path[GTEE_FILE_PATH_MAX], host[GTEE_NET_HOST_MAX], url[GTEE_NET_HOST_MAX + 200];
    uint16_t port = 0;
    int dir_fd = -1, enclave_started = 0, rc;

    memset(out, 0, sizeof(*out));
    TRY(gtee_node_config_load(o->dir, &cfg, err));
    /* The URL the ledger records: the one given, else what node.conf listens on. */
    if (o->url) {
        ENSURE(strlen(o->url) < 200 && (!strncmp(o->url, "http://", 7) || !strncmp(o->url, "https://", 8)),
               err, GTEE_EINVAL, "--url: '%.60s' is not an http(s) URL", o->url);
        snprintf(url, sizeof(url), "%.199s%s", o->url, o->url[strlen(o->url) - 1] == '/' ? "" : "/");
    } else {
        TRY(gtee_net_split(cfg.listen, 1, host, &port, err));
        ENSURE(port != 0, err, GTEE_EINVAL,
               "node.conf listens on port 0, so the node's URL is known only when it runs: give --url");
        snprintf(url, sizeof(url), strchr(host, ':') ? "http://[%s]:%u/" : "http://%s:%u/",
                 host[0] ? host : "0.0.0.0", (unsigned)port);
    }
    dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(dir_fd >= 0, err, GTEE_EIO, "data directory %s: %s", o->dir, strerror(errno));
    ENSURE(flock(dir_fd, LOCK_EX | LOCK_NB) == 0, err, GTEE_ESTATE,
           "data directory %s is in use by a running node, which registers its enclave itself", o->dir);
    snprintf(path, sizeof(path), "%s/%s", o->dir, GTEE_NODE_OPERATOR_KEY);
    TRY(gtee_node_opkey_read(path, priv, err));
    TRY(gtee_node_store_open(o->dir, 0, &store, err));
    launch = calloc(1, sizeof(*launch));
    enc = calloc(1, sizeof(*enc));
    nl = calloc(1, sizeof(*nl));
    ENSURE(launch && enc && nl, err, GTEE_ENOMEM, "node: out of memory");
    TRY(gtee_node_launch_prepare(o->dir, &cfg, o->enclave, launch, err));
    TRY(gtee_node_ledger_open(nl, o->dir, &cfg, priv, &launch->check, url, store, enc, err));
    gtee_wipe(priv, sizeof(priv));
    /* started and supervised as the daemon does; stopped once registered */
    TRY(gtee_node_enclave_run(enc, &launch->l, cfg.restart_max_s, &launch->check, store, err));
    enclave_started = 1;
    ENSURE(gtee_node_enclave_wait(enc, (int)(cfg.enclave_timeout_s ? cfg.enclave_timeout_s : 30) * 1000), err,
           GTEE_EIO, "the enclave did not start: %s", enc->last_error[0] ? enc->last_error : "no answer in time");
    TRY(gtee_node_ledger_enroll_now(nl, out, err));
out:
    gtee_wipe(priv, sizeof(priv));
    if (enclave_started)
        gtee_node_enclave_shutdown(enc);
    if (nl)
        gtee_node_ledger_stop(nl);
    gtee_node_store_close(store);
    free(nl);
    free(enc);
    free(launch);
    if (dir_fd >= 0)
        close(dir_fd);
    return rc;
}
