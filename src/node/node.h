/* The node's data directory and its operator key (docs/node.md): what `gtee node init`
 * makes and `gtee node run` and `gtee node status` read. Internal to src/node/ and the CLI. */
#ifndef GTEE_NODE_NODE_H
#define GTEE_NODE_NODE_H

#include <stdint.h>

#include "gtee/crypto.h"
#include "gtee/err.h"
#include "node/config.h"

#define GTEE_NODE_OPERATOR_KEY "operator.key"
/* The local ledger `gtee node init` makes: its chain id (the domain of its proofs) and epoch. */
#define GTEE_NODE_LOCAL_CHAIN_ID 1337
#define GTEE_NODE_LOCAL_EPOCH_S 86400
#define GTEE_NODE_OPERATOR_PREFIX "gtee-operator-key-v1:"
#define GTEE_NODE_URL_FILE "node.url"   /* written by run once it listens */
#define GTEE_NODE_BLOBS "blobs"
#define GTEE_NODE_UPLOADS "uploads"
#define GTEE_NODE_SIM_DIR "sim"

/* Writes the operator key (secp256k1) to path, mode 0600, refusing an existing file. */
int gtee_node_opkey_write(const char *path, const uint8_t priv[GTEE_SECP256K1_PRIV_LEN],
                          struct gtee_err *err) GTEE_MUST_USE;
/* Reads it back: GTEE_EPERM if group or others may access the file, GTEE_EFORMAT naming
 * line and column if malformed or not a valid secp256k1 scalar. */
int gtee_node_opkey_read(const char *path, uint8_t priv[GTEE_SECP256K1_PRIV_LEN], struct gtee_err *err) GTEE_MUST_USE;
/* The parser of gtee_node_opkey_read. */
int gtee_node_opkey_parse(const char *path, const uint8_t *buf, size_t len, uint8_t priv[GTEE_SECP256K1_PRIV_LEN],
                          struct gtee_err *err) GTEE_MUST_USE;

/* Checks that dir is absent or an empty directory and creates it (mode 0700). Refuses
 * (GTEE_EEXIST) a directory holding anything: never clobbers a node's state. *created
 * says whether it made dir. */
int gtee_node_dir_prepare(const char *dir, int *created, struct gtee_err *err) GTEE_MUST_USE;
/* Fills an empty data directory: the operator key, the state database, blobs/ and uploads/,
 * then node.conf from c (last, so a data directory with node.conf is complete). The
 * operator's address is written to addr_hex. On failure removes what it made. */
int gtee_node_dir_fill(const char *dir, const struct gtee_node_config *c, char addr_hex[GTEE_ETH_ADDR_HEX_LEN + 1],
                       struct gtee_err *err) GTEE_MUST_USE;
/* Removes what init may have made in dir (the known names only), and dir itself if
 * remove_dir. For the failure path of init. */
void gtee_node_dir_undo(const char *dir, int remove_dir);

#endif
