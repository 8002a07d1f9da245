/* The node's config file: parsed over the defaults, strictly (an unknown or repeated key is an
 * error, so a typo never silently leaves a default in force), and rendered with comments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/file.h"
#include "node/config.h"

void gtee_node_config_default(struct gtee_node_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->listen, "127.0.0.1:8470");
    strcpy(c->tee, "auto");
    c->max_blob_bytes = 4ull << 30;
    c->max_connections = 256;
    c->per_ip_connections = 32;
    c->threads = 4;
    c->connection_timeout_s = 30;
    c->drain_timeout_s = 30;
    c->enclave_timeout_s = 60;
    c->restart_max_s = 30;
    strcpy(c->ledger, "local");
    c->proof_batch = 32;
    strcpy(c->stake, "0");
}

int gtee_node_config_stake(const struct gtee_node_config *c, uint8_t wei[32], struct gtee_err *err)
{
    memset(wei, 0, 32);
    if (!c->stake[0])
        return GTEE_FAIL(err, GTEE_EFORMAT, "stake: empty (a decimal number of wei)");
    /* wei = wei * 10 + digit, byte by byte from the low end; a carry out of the top byte
     * is a number of 2^256 or more */
    for (const char *p = c->stake; *p; p++) {
        unsigned carry;

        if (*p < '0' || *p > '9')
            return GTEE_FAIL(err, GTEE_EFORMAT, "stake: '%.80s' is not a decimal number of wei", c->stake);
        carry = (unsigned)(*p - '0');
        for (int i = 31; i >= 0; i--) {
            unsigned v = wei[i] * 10u + carry;

            wei[i] = (uint8_t)v;
            carry = v >> 8;
        }
        if (carry)
            return GTEE_FAIL(err, GTEE_EFORMAT, "stake: '%.80s' is 2^256 wei or more", c->stake);
    }
    return 0;
}

int gtee_node_tee_valid(const char *tee)
{
    static const char *const names[] = { "auto", "sim", "sgx", "tdx", "snp" };

    for (size_t i = 0; i < GTEE_ARRAY_LEN(names); i++)
        if (!strcmp(tee, names[i]))
            return 1;
    return 0;
}

enum kind { STR, U64, UINT };
struct key {
    const char *name;
    enum kind kind;
    size_t off, size;
    uint64_t min, max;
};
#define S(n, f) { n, STR, offsetof(struct gtee_node_config, f), sizeof(((struct gtee_node_config *)0)->f), 0, 0 }
#define U(n, f, lo, hi) { n, UINT, offsetof(struct gtee_node_config, f), 0, lo, hi }
static const struct key keys[] = {
    S("listen", listen),
    S("tee", tee),
    S("enclave", enclave),
    S("sim_dir", sim_dir),
    S("enclave_config", enclave_config),
    U("enclave_allow_jit", enclave_allow_jit, 0, 1),
    { "enclave_memory_limit", U64, offsetof(struct gtee_node_config, enclave_memory_limit), 0, 0, 1ull << 44 },
    U("gpus", gpus, 0, 8),
    S("gpu_library", gpu_library),
    S("collateral", collateral),
    S("policy", policy),
    { "max_blob_bytes", U64, offsetof(struct gtee_node_config, max_blob_bytes), 0, 1, 1ull << 44 },
    { "blob_store_max_bytes", U64, offsetof(struct gtee_node_config, blob_store_max_bytes), 0, 0, 1ull << 50 },
    U("blob_retention_days", blob_retention_days, 0, 36500),
    U("max_connections", max_connections, 1, 65536),
    U("per_ip_connections", per_ip_connections, 1, 65536),
    U("threads", threads, 1, 256),
    U("connection_timeout_s", connection_timeout_s, 1, 3600),
    U("drain_timeout_s", drain_timeout_s, 0, 3600),
    U("enclave_timeout_s", enclave_timeout_s, 1, 3600),
    U("restart_max_s", restart_max_s, 1, 3600),
    S("ledger", ledger),
    S("stake", stake),
    U("proof_batch", proof_batch, 1, 64),
    U("proof_batch_wait", proof_batch_wait, 0, 86400),
};

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int set_value(const char *path, unsigned line, const struct key *k, const char *v, struct gtee_node_config *c,
                     struct gtee_err *err)
{
    char *base = (char *)c + k->off, *end;
    unsigned long long n;
    int rc = GTEE_EFORMAT;

    if (k->kind == STR) {
        ENSURE(strlen(v) < k->size, err, GTEE_EFORMAT, "%s, line %u: %s: value longer than %zu bytes", path, line,
               k->name, k->size - 1);
        for (const char *p = v; *p; p++)
            ENSURE((unsigned char)*p >= 0x20 && *p != 0x7f, err, GTEE_EFORMAT,
                   "%s, line %u: %s: control character in the value", path, line, k->name);
        strcpy(base, v);
        if (!strcmp(k->name, "tee"))
            ENSURE(gtee_node_tee_valid(v), err, GTEE_EFORMAT,
                   "%s, line %u: tee: '%s' is not one of auto, sim, sgx, tdx, snp", path, line, v);
        if (!strcmp(k->name, "ledger"))
            ENSURE(!strcmp(v, "local") || (!strncmp(v, "evm:", 4) && strchr(v + 4, ',')), err, GTEE_EFORMAT,
                   "%s, line %u: ledger: '%.100s' is neither local nor evm:URL,ADDRESS", path, line, v);
        if (!strcmp(k->name, "stake")) {
            uint8_t wei[32];

            rc = gtee_node_config_stake(c, wei, err);
            if (rc < 0) {
                gtee_err_wrap(err, "%s, line %u: ", path, line);
                goto out;
            }
        }
        return 0;
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    ENSURE(v[0] >= '0' && v[0] <= '9' && !*end && errno == 0 && n >= k->min && n <= k->max, err, GTEE_EFORMAT,
           "%s, line %u: %s: '%s' is not a whole number from %llu to %llu", path, line, k->name, v,
           (unsigned long long)k->min, (unsigned long long)k->max);
    if (k->kind == U64)
        *(uint64_t *)(void *)base = n;
    else
        *(unsigned *)(void *)base = (unsigned)n;
    rc = 0;
out:
    return rc;
}

int gtee_node_config_parse(const char *path, const char *text, size_t len, struct gtee_node_config *c,
                           struct gtee_err *err)
{
    char line[2 * GTEE_NODE_VALUE_MAX];
    unsigned seen = 0, lineno = 0;
    size_t pos = 0;
    int rc = 0;

    gtee_node_config_default(c);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *s, *eq, *k, *v;
        size_t i;

        lineno++;
        ENSURE(n < sizeof(line), err, GTEE_EFORMAT, "%s, line %u: longer than %zu bytes", path, lineno,
               sizeof(line) - 1);
        ENSURE(!memchr(text + pos, '\0', n), err, GTEE_EFORMAT, "%s, line %u: NUL byte", path, lineno);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        s = trim(line);
        if (!*s || *s == '#')
            continue;
        eq = strchr(s, '=');
        ENSURE(eq, err, GTEE_EFORMAT, "%s, line %u: expected 'key = value'", path, lineno);
        *eq = '\0';
        k = trim(s);
        v = trim(eq + 1);
        for (i = 0; i < GTEE_ARRAY_LEN(keys); i++)
            if (!strcmp(keys[i].name, k))
                break;
        ENSURE(i < GTEE_ARRAY_LEN(keys), err, GTEE_EFORMAT, "%s, line %u: unknown key '%.64s' (docs/node.md lists them)",
               path, lineno, k);
        ENSURE(!(seen & (1u << i)), err, GTEE_EFORMAT, "%s, line %u: key '%s' given twice", path, lineno, k);
        seen |= 1u << i;
        TRY(set_value(path, lineno, &keys[i], v, c, err));
    }
    ENSURE(strcmp(c->tee, "sim") || c->sim_dir[0], err, GTEE_EFORMAT, "%s: tee = sim needs sim_dir", path);
out:
    return rc;
}

int gtee_node_config_load(const char *dir, struct gtee_node_config *c, struct gtee_err *err)
{
    char path[GTEE_FILE_PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    ENSURE((size_t)snprintf(path, sizeof(path), "%s/%s", dir, GTEE_NODE_CONF) < sizeof(path), err, GTEE_EINVAL,
           "node: data directory path too long");
    TRY(gtee_file_read(path, GTEE_NODE_CONF_MAX, &buf, &len, err));
    TRY(gtee_node_config_parse(path, (const char *)buf, len, c, err));
out:
    free(buf);
    return rc;
}

int gtee_node_config_render(const struct gtee_node_config *c, char **text, struct gtee_err *err)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    int rc = 0;

    ENSURE(f, err, GTEE_ENOMEM, "node: out of memory");
    fprintf(f,
            "# Glacier TEE node configuration (docs/node.md, \"Config keys\").\n"
            "# One 'key = value' per line; '#' starts a comment. Unknown keys are an error.\n"
            "# Nothing in this file is secret: the operator key is operator.key beside it.\n\n"
            "# Where the HTTP API and the status page listen, HOST:PORT. Port 0 picks a free port;\n"
            "# `gtee node run` prints the URL and writes it to node.url.\n"
            "listen = %s\n\n"
            "# The TEE backend: auto (the hardware this machine has; never the simulation), sgx,\n"
            "# tdx, snp, or sim. sim is the SIMULATED TEE: NOT SECURE, for development and tests\n"
            "# only; the node then says SIMULATED in its logs, status page and API.\n"
            "tee = %s\n",
            c->listen, c->tee);
    if (c->sim_dir[0])
        fprintf(f, "# SIMULATED TEE device (made by `gtee node init --tee sim`); relative to this directory.\n"
                   "sim_dir = %s\n",
                c->sim_dir);
    fprintf(f,
            "\n# The gtee-enclave executable; empty: the one installed beside gtee.\n"
            "enclave = %s\n\n"
            "# The enclave's configuration text; it is part of the enclave's measurement.\n"
            "enclave_config = %s\n\n"
            "# What the enclave's seccomp list adds for the ML engine (1: executable memory for\n"
            "# oneDNN's JIT, which convolutions need; docs/tee.md) and its memory limit for models,\n"
            "# datasets and results in bytes (0: the runtime's default). Both are measured.\n"
            "enclave_allow_jit = %u\n"
            "enclave_memory_limit = %llu\n\n"
            "# Confidential GPUs (docs/node.md, \"GPUs\"): how many the enclave binds into its\n"
            "# evidence (0: none). With N, every evidence is one bundle of the TEE's evidence and\n"
            "# GPU 0..N-1's reports over the verifier's nonce; the enclave does not start without N\n"
            "# GPUs, and a GPU out of confidential-computing mode fails each request for evidence.\n"
            "# gpu_library: the NVIDIA management library to load (empty: the driver's\n"
            "# libnvidia-ml.so.1). Clients verify with a collateral directory of cvm/ and gpuN/.\n"
            "gpus = %u\n"
            "gpu_library = %s\n\n"
            "# The node checks its own enclave's evidence after each start, as a client would, and\n"
            "# shows the verdict (informational: every client verifies for itself). collateral: the\n"
            "# directory of collateral files (docs/evidence.md; empty: the simulated device under\n"
            "# tee = sim, else none); policy: a policy file (docs/policy.md; empty: the strict\n"
            "# default, which under tee = sim allows the simulation).\n"
            "collateral = %s\n"
            "policy = %s\n\n"
            "# The largest blob (sealed container) an upload may declare, in bytes.\n"
            "max_blob_bytes = %llu\n\n"
            "# The blob store's quota in bytes: stored blobs and the declared sizes of uploads in\n"
            "# progress together. An upload that would pass it is refused before any byte is\n"
            "# written (HTTP 507); results of jobs are always kept. 0: no quota.\n"
            "blob_store_max_bytes = %llu\n\n"
            "# Retention: a blob that no job has named (as model, input, labels or result) for\n"
            "# this many days since it was stored is deleted by the node (at start and every hour),\n"
            "# never one that a queued or running job names; so are upload sessions idle as long.\n"
            "# `gtee node gc DIR --dry-run` lists what would go. 0: blobs are kept for ever.\n"
            "blob_retention_days = %u\n\n"
            "# HTTP limits: open connections in all, from one client address, worker threads,\n"
            "# and the seconds after which a connection that sends nothing is closed.\n"
            "max_connections = %u\n"
            "per_ip_connections = %u\n"
            "threads = %u\n"
            "connection_timeout_s = %u\n\n"
            "# On SIGTERM: the longest wait, in seconds, for requests in flight to finish.\n"
            "drain_timeout_s = %u\n\n"
            "# The longest wait for one answer of the enclave, and the longest pause between\n"
            "# restarts of an enclave that died (the pause doubles from 1 s up to this).\n"
            "enclave_timeout_s = %u\n"
            "restart_max_s = %u\n\n"
            "# The ledger the node registers its enclave on and submits its Work Proofs to\n"
            "# (docs/node.md, \"Ledger\"): local (ledger.db in this directory, made by `gtee node\n"
            "# init`; it proves nothing to anyone else) or evm:URL,ADDRESS (the Glacier contract on\n"
            "# an EVM chain, operator.key paying for the transactions). proof_batch: proofs per\n"
            "# transaction, 1 to 64. proof_batch_wait: seconds a proof may wait for proof_batch\n"
            "# of them before it goes out in a smaller batch (0: at once; on a public chain a few\n"
            "# minutes pay the transaction's fixed gas once for many proofs). stake: the wei a new\n"
            "# registration sends with it (the ledger's minimum stake; a renewal sends none).\n"
            "ledger = %s\n"
            "proof_batch = %u\n"
            "proof_batch_wait = %u\n"
            "stake = %s\n",
            c->enclave, c->enclave_config, c->enclave_allow_jit, (unsigned long long)c->enclave_memory_limit, c->gpus,
            c->gpu_library,
            c->collateral, c->policy, (unsigned long long)c->max_blob_bytes,
            (unsigned long long)c->blob_store_max_bytes, c->blob_retention_days, c->max_connections,
            c->per_ip_connections, c->threads, c->connection_timeout_s, c->drain_timeout_s, c->enclave_timeout_s,
            c->restart_max_s, c->ledger, c->proof_batch, c->proof_batch_wait, c->stake);
    {
        int closed = fclose(f);

        f = NULL;
        ENSURE(closed == 0, err, GTEE_ENOMEM, "node: out of memory");
    }
    *text = buf;
    buf = NULL;
out:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}
