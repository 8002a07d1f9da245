/* kvstore-enclave: a confidential key-value store as a TEE application, built only on the
 * public SDK (gtee/sdk.h). Clients reach it over the attested channel; the whole store is
 * kept sealed on the host's disk (one file, replaced atomically), so the host holds only
 * ciphertext and only this code on this device can read it back after a restart.
 *
 *   kvstore-enclave --tee sim --sim-dir DIR --state FILE [--listen HOST:PORT]
 *                   [--port-file FILE] [--max-clients N] [--sim-quote-version 3|4]
 *                   [--key-release HOST:PORT --key-release-pub HEX]   (TDX: docs/tee.md §4.3.2)
 *                   [--max-sessions N] [--session-timeout SECONDS]
 *
 * Clients are served concurrently (gtee_app_serve); the SDK calls the handler one request at
 * a time, so the store needs no lock of its own (include/gtee/sdk.h, "Concurrency").
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <gtee/file.h>
#include <gtee/sdk.h>

#include "kvstore.h"

struct entry {
    char *key;
    size_t key_len;
    uint8_t *value;
    size_t value_len;
};

struct store {
    const char *state_path;
    size_t n;
    struct entry e[KV_ENTRIES_MAX];
};

static struct entry *find(struct store *s, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].key_len == len && memcmp(s->e[i].key, key, len) == 0)
            return &s->e[i];
    return NULL;
}

static void drop(struct entry *e)
{
    gtee_app_free_secret(e->key, e->key_len);
    gtee_app_free_secret(e->value, e->value_len);
    memset(e, 0, sizeof(*e));
}

/* Serialised store: repeated key_len u16 || value_len u32 || key || value (big-endian). */
static int serialise(const struct store *s, uint8_t **out, size_t *len)
{
    size_t total = 0, off = 0;
    uint8_t *p;

    for (size_t i = 0; i < s->n; i++)
        total += 6 + s->e[i].key_len + s->e[i].value_len;
    p = malloc(total ? total : 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        const struct entry *e = &s->e[i];

        p[off] = (uint8_t)(e->key_len >> 8);
        p[off + 1] = (uint8_t)e->key_len;
        for (int b = 0; b < 4; b++)
            p[off + 2 + b] = (uint8_t)(e->value_len >> (24 - 8 * b));
        memcpy(p + off + 6, e->key, e->key_len);
        memcpy(p + off + 6 + e->key_len, e->value, e->value_len);
        off += 6 + e->key_len + e->value_len;
    }
    *out = p;
    *len = total;
    return 0;
}

static int put(struct store *s, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    struct entry *e = find(s, key, klen);

    if (!e) {
        if (s->n == KV_ENTRIES_MAX)
            return -1;
        e = &s->e[s->n++];
    } else {
        drop(e);
    }
    e->key = malloc(klen ? klen : 1);
    e->value = malloc(vlen ? vlen : 1);
    if (!e->key || !e->value)
        return -1;
    memcpy(e->key, key, klen);
    memcpy(e->value, val, vlen);
    e->key_len = klen;
    e->value_len = vlen;
    return 0;
}

static int parse_into(struct store *s, const uint8_t *p, size_t len)
{
    size_t off = 0;

    while (off < len) {
        size_t klen, vlen;

        if (len - off < 6)
            return -1;
        klen = (size_t)p[off] << 8 | p[off + 1];
        vlen = (size_t)p[off + 2] << 24 | (size_t)p[off + 3] << 16 | (size_t)p[off + 4] << 8 | p[off + 5];
        if (klen > KV_KEY_MAX || vlen > KV_VALUE_MAX || len - off - 6 < klen + vlen)
            return -1;
        if (put(s, p + off + 6, klen, p + off + 6 + klen, vlen) != 0)
            return -1;
        off += 6 + klen + vlen;
    }
    return 0;
}

/* Seal the whole store and replace the state file through the SDK's output helper (a
 * temporary beside it that no planted link can redirect, fsync, rename), mode 0600. */
static int save(struct gtee_app *app, struct store *s, struct gtee_err *err)
{
    uint8_t *plain = NULL, *blob = NULL;
    size_t plain_len = 0, blob_len = 0;
    int rc;

    if (serialise(s, &plain, &plain_len) != 0)
        return GTEE_ENOMEM;
    rc = gtee_app_seal(app, plain, plain_len, &blob, &blob_len, err);
    gtee_app_free_secret(plain, plain_len);
    if (rc < 0)
        return rc;
    rc = gtee_file_write(s->state_path, blob, blob_len, 0600, GTEE_FILE_REPLACE, err);
    free(blob);
    return rc;
}

static int load(struct gtee_app *app, struct store *s, struct gtee_err *err)
{
    uint8_t *blob = NULL, *plain = NULL;
    size_t n = 0, plain_len = 0;
    struct stat st;
    int rc;

    if (lstat(s->state_path, &st) != 0 && errno == ENOENT)
        return 0; /* a new store */
    /* A regular file only (a FIFO here would block start-up), of bounded size. */
    rc = gtee_file_read(s->state_path, 64u << 20, &blob, &n, err);
    if (rc < 0)
        return rc;
    rc = gtee_app_unseal(app, blob, n, &plain, &plain_len, err);
    free(blob);
    if (rc < 0)
        return rc;
    rc = parse_into(s, plain, plain_len) == 0 ? 0 : GTEE_EFORMAT;
    gtee_app_free_secret(plain, plain_len);
    return rc;
}

static int fail(struct gtee_err *err, int code, const char *msg)
{
    err->code = code;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return code;
}

static int handle(void *arg, struct gtee_app *app, uint16_t op, const uint8_t *req, size_t len, uint8_t **resp,
                  size_t *resp_len, struct gtee_err *err)
{
    struct store *s = arg;
    struct entry *e;

    *resp = NULL;
    *resp_len = 0;
    switch (op) {
    case KV_PUT: {
        size_t klen = len >= 2 ? (size_t)req[0] << 8 | req[1] : 0;

        if (len < 2 || klen == 0 || klen > KV_KEY_MAX || len - 2 < klen || len - 2 - klen > KV_VALUE_MAX)
            return fail(err, GTEE_EFORMAT, "kvstore: PUT is key_len || key || value");
        if (put(s, req + 2, klen, req + 2 + klen, len - 2 - klen) != 0)
            return fail(err, GTEE_ENOMEM, "kvstore: store full");
        return save(app, s, err);
    }
    case KV_GET:
        if (!(e = find(s, req, len)))
            return fail(err, GTEE_ENOTFOUND, "kvstore: no such key");
        *resp = malloc(e->value_len ? e->value_len : 1);
        if (!*resp)
            return fail(err, GTEE_ENOMEM, "kvstore: out of memory");
        memcpy(*resp, e->value, e->value_len);
        *resp_len = e->value_len;
        return 0;
    case KV_DEL:
        if (!(e = find(s, req, len)))
            return fail(err, GTEE_ENOTFOUND, "kvstore: no such key");
        drop(e);
        *e = s->e[--s->n];
        memset(&s->e[s->n], 0, sizeof(s->e[s->n]));
        return save(app, s, err);
    default:
        return fail(err, GTEE_EUNSUPPORTED, "kvstore: unknown operation");
    }
}

static void print_identity(const struct gtee_app *app, uint16_t port)
{
    struct gtee_app_identity id;

    gtee_app_identity(app, &id);
    fprintf(stderr, "kvstore-enclave: tee %s%s, Enclave ID 0x", id.tee,
            id.simulated ? " (SIMULATED: not secure)" : "");
    for (int i = 0; i < GTEE_APP_ID_LEN; i++)
        fprintf(stderr, "%02x", id.enclave_id[i]);
    fprintf(stderr, ", listening on port %u\n", port);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tee", required_argument, NULL, 't' },       { "sim-dir", required_argument, NULL, 'd' },
        { "state", required_argument, NULL, 's' },     { "listen", required_argument, NULL, 'l' },
        { "port-file", required_argument, NULL, 'p' }, { "max-clients", required_argument, NULL, 'm' },
        { "sim-quote-version", required_argument, NULL, 'q' }, { "key-release", required_argument, NULL, 'k' },
        { "key-release-pub", required_argument, NULL, 'K' },   { "max-sessions", required_argument, NULL, 'S' },
        { "session-timeout", required_argument, NULL, 'T' },   { NULL, 0, NULL, 0 },
    };
    /* It serves clients over TCP and keeps its sealed state in a file: what its seccomp
     * list adds to the runtime's base, and nothing more. */
    struct gtee_app_options o = { .tee = "sim", .config = "kvstore v1",
                                  .allow = GTEE_APP_ALLOW_NET | GTEE_APP_ALLOW_FILES };
    static struct store store;
    const char *listen_at = "127.0.0.1:0", *port_file = NULL;
    unsigned max_clients = 0;
    struct gtee_app *app = NULL;
    struct gtee_err err = {0};
    uint16_t port = 0;
    int c, fd = -1, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': o.tee = optarg; break;
        case 'd': o.sim_dir = optarg; break;
        case 's': store.state_path = optarg; break;
        case 'l': listen_at = optarg; break;
        case 'p': port_file = optarg; break;
        case 'm': max_clients = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'q': o.sim_quote_version = atoi(optarg); break;
        case 'k': o.key_release = optarg; break;
        case 'K': o.key_release_pub = optarg; break;
        case 'S': o.max_sessions = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'T': o.session_seconds = (unsigned)strtoul(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (!store.state_path || optind != argc) {
        fprintf(stderr, "usage: kvstore-enclave --tee sim --sim-dir DIR --state FILE [--listen HOST:PORT] "
                        "[--port-file FILE] [--max-clients N] [--sim-quote-version 3|4] "
                        "[--key-release HOST:PORT --key-release-pub HEX] [--max-sessions N] "
                        "[--session-timeout SECONDS]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    rc = gtee_app_open(&o, &app, &err);
    if (rc == 0)
        rc = load(app, &store, &err);
    if (rc == 0)
        rc = gtee_app_listen(listen_at, &fd, &port, &err);
    if (rc == 0) {
        print_identity(app, port);
        if (port_file) {
            /* Written whole through the output helper, so a reader never sees half a number
             * and a link planted beside it is never followed. */
            char line[16];
            int n = snprintf(line, sizeof(line), "%u\n", port);

            rc = gtee_file_write(port_file, line, (size_t)n, 0600, GTEE_FILE_REPLACE, &err);
        }
    }
    if (rc == 0)
        rc = gtee_app_serve(app, fd, max_clients, handle, &store, &err);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < store.n; i++)
        drop(&store.e[i]);
    gtee_app_close(app);
    if (rc != 0) {
        fprintf(stderr, "kvstore-enclave: %s\n", err.msg[0] ? err.msg : "failed");
        return 1;
    }
    return 0;
}
