/* The node's data directory: made empty-or-new (never over a node's state), filled with the
 * operator key, the state database and the blob store's folders, then node.conf. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/ledger.h"
#include "gtee/file.h"
#include "node/node.h"
#include "node/store.h"

#define KEY_HEX (2 * GTEE_SECP256K1_PRIV_LEN)
#define PREFIX_LEN (sizeof(GTEE_NODE_OPERATOR_PREFIX) - 1)

int gtee_node_opkey_write(const char *path, const uint8_t priv[GTEE_SECP256K1_PRIV_LEN], struct gtee_err *err)
{
    char line[PREFIX_LEN + KEY_HEX + 2];
    int rc;

    memcpy(line, GTEE_NODE_OPERATOR_PREFIX, PREFIX_LEN);
    gtee_hex_encode(priv, GTEE_SECP256K1_PRIV_LEN, line + PREFIX_LEN);
    line[PREFIX_LEN + KEY_HEX] = '\n';
    rc = gtee_file_write(path, line, PREFIX_LEN + KEY_HEX + 1, 0600, 0, err);
    gtee_wipe(line, sizeof(line));
    return rc;
}

int gtee_node_opkey_parse(const char *path, const uint8_t *buf, size_t len, uint8_t priv[GTEE_SECP256K1_PRIV_LEN],
                          struct gtee_err *err)
{
    uint8_t pub[GTEE_SECP256K1_PUB_LEN];
    char hex[KEY_HEX + 1];
    int rc = GTEE_EFORMAT;

    ENSURE(len >= PREFIX_LEN && !memcmp(buf, GTEE_NODE_OPERATOR_PREFIX, PREFIX_LEN), err, GTEE_EFORMAT,
           "operator key %s, line 1, column 1: expected '%s'", path, GTEE_NODE_OPERATOR_PREFIX);
    for (size_t i = 0; i < KEY_HEX; i++) {
        char c = PREFIX_LEN + i < len ? (char)buf[PREFIX_LEN + i] : '\n';

        ENSURE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), err, GTEE_EFORMAT,
               "operator key %s, line 1, column %zu: expected a hex digit (%d in all)", path, PREFIX_LEN + i + 1,
               KEY_HEX);
        hex[i] = c;
    }
    hex[KEY_HEX] = '\0';
    ENSURE(len == PREFIX_LEN + KEY_HEX || (len == PREFIX_LEN + KEY_HEX + 1 && buf[len - 1] == '\n'), err,
           GTEE_EFORMAT, "operator key %s, line 1, column %zu: expected the end of the file", path,
           PREFIX_LEN + KEY_HEX + 1);
    ENSURE(gtee_hex_decode(hex, priv, GTEE_SECP256K1_PRIV_LEN) == 0 && gtee_secp256k1_public(priv, pub) == 0, err,
           GTEE_EFORMAT, "operator key %s: not a valid secp256k1 private key", path);
    rc = 0;
out:
    gtee_wipe(hex, sizeof(hex));
    if (rc < 0)
        gtee_wipe(priv, GTEE_SECP256K1_PRIV_LEN);
    return rc;
}

int gtee_node_opkey_read(const char *path, uint8_t priv[GTEE_SECP256K1_PRIV_LEN], struct gtee_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd = -1, rc;

    TRY(gtee_file_open_read(path, &fd, err));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "operator key %s: %s", path, strerror(errno));
    ENSURE((st.st_mode & 077) == 0, err, GTEE_EPERM,
           "operator key %s is accessible by group or others (mode %04o); run: chmod 600 %s", path,
           (unsigned)(st.st_mode & 07777), path);
    TRY(gtee_file_read(path, 256, &buf, &len, err));
    TRY(gtee_node_opkey_parse(path, buf, len, priv, err));
out:
    if (fd >= 0)
        close(fd);
    if (buf) {
        gtee_wipe(buf, len);
        free(buf);
    }
    return rc;
}

static int path_in(char *out, size_t n, const char *dir, const char *name, struct gtee_err *err)
{
    if ((size_t)snprintf(out, n, "%s/%s", dir, name) >= n)
        return GTEE_FAIL(err, GTEE_EINVAL, "node: data directory path too long");
    return 0;
}

int gtee_node_dir_prepare(const char *dir, int *created, struct gtee_err *err)
{
    struct dirent *e;
    struct stat st;
    DIR *d = NULL;
    int rc = 0;

    *created = 0;
    if (mkdir(dir, 0700) == 0) {
        *created = 1;
        return 0;
    }
    ENSURE(errno == EEXIST, err, GTEE_EIO, "cannot create data directory %s: %s", dir, strerror(errno));
    ENSURE(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode), err, GTEE_EEXIST, "%s exists and is not a directory", dir);
    {
        char conf[GTEE_FILE_PATH_MAX];

        ENSURE(path_in(conf, sizeof(conf), dir, GTEE_NODE_CONF, NULL) < 0 || lstat(conf, &st) != 0, err,
               GTEE_EEXIST, "%s already holds a node (%s): refusing to overwrite its state", dir, GTEE_NODE_CONF);
    }
    d = opendir(dir);
    ENSURE(d, err, GTEE_EIO, "cannot read directory %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        ENSURE(0, err, GTEE_EEXIST, "%s is not empty (it holds %s%s): refusing to make a node over it", dir,
               e->d_name, !strcmp(e->d_name, GTEE_NODE_CONF) ? ", a node's configuration" : "");
    }
    ENSURE(chmod(dir, 0700) == 0, err, GTEE_EIO, "cannot set mode 0700 on %s: %s", dir, strerror(errno));
out:
    if (d)
        closedir(d);
    return rc;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d) {
        while ((e = readdir(d)) != NULL) {
            char sub[GTEE_FILE_PATH_MAX];

            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < sizeof(sub) && unlink(sub) != 0)
                rm_tree(sub);
        }
        closedir(d);
        (void)rmdir(path);
    }
}

void gtee_node_dir_undo(const char *dir, int remove_dir)
{
    static const char *const files[] = { GTEE_NODE_CONF, GTEE_NODE_OPERATOR_KEY, GTEE_NODE_DB, "state.db-wal",
                                         "state.db-shm", "state.db-journal", GTEE_NODE_LEDGER_FILE,
                                         "ledger.db-wal", "ledger.db-shm", "ledger.db-journal" };
    static const char *const dirs[] = { GTEE_NODE_BLOBS, GTEE_NODE_UPLOADS, GTEE_NODE_SIM_DIR };
    char p[GTEE_FILE_PATH_MAX];

    for (size_t i = 0; i < GTEE_ARRAY_LEN(files); i++)
        if (path_in(p, sizeof(p), dir, files[i], NULL) == 0)
            (void)unlink(p);
    for (size_t i = 0; i < GTEE_ARRAY_LEN(dirs); i++)
        if (path_in(p, sizeof(p), dir, dirs[i], NULL) == 0)
            rm_tree(p);
    if (remove_dir)
        (void)rmdir(dir);
}

int gtee_node_dir_fill(const char *dir, const struct gtee_node_config *c, char addr_hex[GTEE_ETH_ADDR_HEX_LEN + 1],
                       struct gtee_err *err)
{
    uint8_t priv[GTEE_SECP256K1_PRIV_LEN], pub[GTEE_SECP256K1_PUB_LEN], addr[GTEE_ETH_ADDR_LEN];
    struct gtee_node_store *store = NULL;
    char p[GTEE_FILE_PATH_MAX], *text = NULL;
    int rc;

    TRY(gtee_node_config_render(c, &text, err));
    ENSURE(gtee_secp256k1_keypair(priv, pub) == 0 && gtee_eth_address(pub, addr) == 0, err, GTEE_ECRYPTO,
           "node init: cannot make the operator key");
    gtee_eth_address_hex(addr, addr_hex);
    TRY(path_in(p, sizeof(p), dir, GTEE_NODE_OPERATOR_KEY, err));
    TRY(gtee_node_opkey_write(p, priv, err));
    TRY(gtee_node_store_open(dir, 1, &store, err));
    TRY(path_in(p, sizeof(p), dir, GTEE_NODE_BLOBS, err));
    ENSURE(mkdir(p, 0700) == 0, err, GTEE_EIO, "cannot create %s: %s", p, strerror(errno));
    TRY(path_in(p, sizeof(p), dir, GTEE_NODE_UPLOADS, err));
    ENSURE(mkdir(p, 0700) == 0, err, GTEE_EIO, "cannot create %s: %s", p, strerror(errno));
    if (!strcmp(c->ledger, "local")) {
        /* The local ledger (docs/node.md, "Ledger"): the operator its governor; simulated
         * enclaves allowed only on a node of the simulated TEE. */
        struct gtee_ledger_local_options lo = { .create = 1, .chain_id = GTEE_NODE_LOCAL_CHAIN_ID };
        struct gtee_ledger *l = NULL;

        lo.policy.freshness = 3600;
        lo.policy.epoch = GTEE_NODE_LOCAL_EPOCH_S;
        lo.policy.quorum = 1;
        lo.policy.allow_simulated = !strcmp(c->tee, "sim");
        TRY(path_in(p, sizeof(p), dir, GTEE_NODE_LEDGER_FILE, err));
        TRY(gtee_ledger_open_local(p, &lo, priv, &l, err));
        gtee_ledger_close(l);
    }
    TRY(path_in(p, sizeof(p), dir, GTEE_NODE_CONF, err));
    TRY(gtee_file_write(p, text, strlen(text), 0600, 0, err));
out:
    gtee_wipe(priv, sizeof(priv));
    gtee_node_store_close(store);
    free(text);
    if (rc < 0)
        gtee_node_dir_undo(dir, 0);
    return rc;
}
