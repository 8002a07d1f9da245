/* The node's configuration: DIR/node.conf, "key = value" lines with # comments, written
 * documented by `gtee node init` and read by `gtee node run` (docs/node.md, "Config keys").
 * Internal to src/node/ and the CLI. */
#ifndef GTEE_NODE_CONFIG_H
#define GTEE_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_NODE_CONF "node.conf"
#define GTEE_NODE_CONF_MAX (64u << 10)
#define GTEE_NODE_VALUE_MAX 1024

struct gtee_node_config {
    char listen[GTEE_NODE_VALUE_MAX];     /* HOST:PORT of the HTTP API; port 0: any free port */
    char tee[16];                         /* auto, sim, sgx, tdx, snp */
    char enclave[GTEE_NODE_VALUE_MAX];    /* the gtee-enclave executable; "": beside gtee */
    char sim_dir[GTEE_NODE_VALUE_MAX];    /* sim only; relative paths are under the data dir */
    char enclave_config[GTEE_NODE_VALUE_MAX]; /* the enclave's measured configuration text */
    unsigned enclave_allow_jit;           /* 1: the enclave's seccomp list allows oneDNN's JIT */
    uint64_t enclave_memory_limit;        /* the enclave's memory limit; 0: the runtime's default */
    unsigned gpus;                        /* confidential GPUs bound into the evidence; 0: none */
    char gpu_library[GTEE_NODE_VALUE_MAX]; /* NVML to load; "": the driver's libnvidia-ml.so.1 */
    char collateral[GTEE_NODE_VALUE_MAX]; /* the evidence check's collateral; "": sim_dir under sim */
    char policy[GTEE_NODE_VALUE_MAX];     /* the evidence check's policy file; "": strict default */
    uint64_t max_blob_bytes;              /* largest blob an upload may declare */
    uint64_t blob_store_max_bytes;        /* blobs and upload sessions together; 0: no quota */
    unsigned blob_retention_days;         /* blobs unused this long are deleted; 0: kept for ever */
    unsigned max_connections;             /* open HTTP connections, all clients together */
    unsigned per_ip_connections;          /* open HTTP connections of one client address */
    unsigned threads;                     /* HTTP worker threads */
    unsigned connection_timeout_s;        /* an idle connection is closed after this */
    unsigned drain_timeout_s;             /* SIGTERM: the longest wait for requests in flight */
    unsigned enclave_timeout_s;           /* the bound on each enclave request */
    unsigned restart_max_s;               /* the longest backoff between enclave restarts */
    char ledger[GTEE_NODE_VALUE_MAX];     /* "local" (DIR/ledger.db) or "evm:URL,ADDRESS" (docs/node.md) */
    unsigned proof_batch;                 /* Work Proofs per ledger transaction, 1..64 */
    unsigned proof_batch_wait;            /* seconds a proof may wait for a fuller batch, 0..86400 */
    char stake[80];                       /* wei, decimal: what a new registration stakes */
};
#define GTEE_NODE_LEDGER_FILE "ledger.db"


/* The defaults (docs/node.md). */
void gtee_node_config_default(struct gtee_node_config *c);
/* Parses config text over the defaults; an unknown key, a repeated key or a bad value is
 * GTEE_EFORMAT naming path, line and key. */
int gtee_node_config_parse(const char *path, const char *text, size_t len, struct gtee_node_config *c,
                           struct gtee_err *err) GTEE_MUST_USE;
/* Reads DIR/node.conf. */
int gtee_node_config_load(const char *dir, struct gtee_node_config *c, struct gtee_err *err) GTEE_MUST_USE;
/* The documented config file for c, malloc'ed text. */
int gtee_node_config_render(const struct gtee_node_config *c, char **text, struct gtee_err *err) GTEE_MUST_USE;
/* c->stake (checked by the parser) as the 256-bit big-endian number of wei a registration
 * sends; GTEE_EFORMAT unless it is a decimal number below 2^256. */
int gtee_node_config_stake(const struct gtee_node_config *c, uint8_t wei[32], struct gtee_err *err) GTEE_MUST_USE;
/* 1 for the names a node accepts as its TEE backend. */
int gtee_node_tee_valid(const char *tee);

#endif
