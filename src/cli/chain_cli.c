/* The chain commands' shared pieces: the operator's key file, the connection, addresses and
 * wei amounts, and the contract's views. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/buf.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "gtee/crypto.h"
#include "gtee/ledger.h"

static int key_for(const struct chain_opts *o, int need_key, uint8_t key[32], struct gtee_err *err);

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (!*s || *s == '-' || *end || errno || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int chain_opt(struct chain_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'L': o->ledger = arg; return 1;
    case 'R': o->rpc = arg; return 1;
    case 'K': o->key = arg; return 1;
    case 'C': o->contract = arg; return 1;
    case 'T':
        if (parse_uint(arg, 600000, &o->timeout_ms) != 0 || o->timeout_ms == 0)
            return -cli_usage_error("--timeout: '%s' is not a number of milliseconds from 1 to 600000", arg);
        return 1;
    case 'Y':
        if (parse_uint(arg, 10, &o->retries) != 0)
            return -cli_usage_error("--retries: '%s' is not a number from 0 to 10", arg);
        return 1;
    default: return 0;
    }
}

int chain_read_opts(int argc, char **argv, const struct option *opts, struct chain_opts *o, const char *usage)
{
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = c == 'K' ? 0 : chain_opt(o, c, optarg); /* no key: the ledger is only read */

        if (k < 0)
            return -k;
        if (k)
            continue;
        switch (c) {
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    return -1;
}

int chain_key_read(const char *path, uint8_t key[32], struct gtee_err *err)
{
    char buf[70] = {0};
    size_t len = 0;
    struct stat st;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ENSURE(fd >= 0, err, GTEE_EIO, "cannot open key file %s: %s", path, strerror(errno));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "cannot stat key file %s: %s", path, strerror(errno));
    ENSURE(S_ISREG(st.st_mode), err, GTEE_EIO, "key file %s is not a regular file", path);
    ENSURE((st.st_mode & 077) == 0, err, GTEE_EPERM,
           "key file %s is accessible by group or others (mode %04o); run: chmod 600 %s", path,
           (unsigned)(st.st_mode & 07777), path);
    while (len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "cannot read key file %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == 67 && buf[66] == '\n')
        buf[--len] = '\0';
    ENSURE(len == 66 && !strncmp(buf, "0x", 2) && gtee_hex_decode(buf, key, 32) == 0, err, GTEE_EFORMAT,
           "key file %s: expected 0x and 64 hex digits (a secp256k1 private key)", path);
out:
    if (fd >= 0)
        close(fd);
    gtee_wipe(buf, sizeof(buf));
    return rc;
}

int chain_connect(const struct chain_opts *o, int need_key, struct gtee_evm **e, struct gtee_err *err)
{
    struct gtee_evm_options eo = { .rpc_url = o->rpc, .timeout_ms = o->timeout_ms, .retries = o->retries };
    uint8_t key[32];
    int rc;

    ENSURE(o->rpc, err, GTEE_EINVAL, "--rpc URL is required");
    TRY(key_for(o, need_key, key, err));
    TRY(gtee_evm_open(&eo, key, e, err));
out:
    gtee_wipe(key, sizeof(key));
    return rc;
}

/* The key file, or a throwaway key when reading needs none. */
static int key_for(const struct chain_opts *o, int need_key, uint8_t key[32], struct gtee_err *err)
{
    uint8_t pub[GTEE_SECP256K1_PUB_LEN];
    int rc = 0;

    ENSURE(!need_key || o->key, err, GTEE_EINVAL, "--key FILE (the operator's key) is required");
    if (o->key)
        return chain_key_read(o->key, key, err);
    rc = gtee_secp256k1_keypair(key, pub);
    ENSURE(rc == 0, err, GTEE_ECRYPTO, "no randomness for a throwaway key");
out:
    return rc;
}

int chain_has_ledger(const struct chain_opts *o)
{
    return o->ledger || o->rpc;
}

const char *chain_local_path(const struct chain_opts *o)
{
    return o->ledger && !strncmp(o->ledger, "local:", 6) ? o->ledger + 6 : NULL;
}

int chain_local_create(const struct chain_opts *o, struct gtee_ledger_local_options *lo, struct gtee_ledger **l,
                       struct gtee_err *err)
{
    uint8_t key[32];
    int rc;

    ENSURE(chain_local_path(o) && *chain_local_path(o), err, GTEE_EINVAL, "--ledger local:PATH is required");
    ENSURE(!o->rpc && !o->contract, err, GTEE_EINVAL, "--rpc and --contract are for the evm ledger, not a local one");
    TRY(key_for(o, 1, key, err));
    lo->create = 1;
    TRY(gtee_ledger_open_local(chain_local_path(o), lo, key, l, err));
out:
    gtee_wipe(key, sizeof(key));
    return rc;
}

int chain_ledger(const struct chain_opts *o, int need_key, struct gtee_ledger **l, struct gtee_err *err)
{
    struct gtee_evm_options eo = { .rpc_url = o->rpc, .timeout_ms = o->timeout_ms, .retries = o->retries };
    const char *kind = "evm", *rest = NULL, *contract_hex = o->contract;
    char url[1024];
    uint8_t key[32], contract[20];
    int rc;

    *l = NULL;
    if (o->ledger) {
        ENSURE(!o->rpc, err, GTEE_EINVAL, "--ledger and --rpc both name a ledger: give one");
        TRY(gtee_ledger_spec_parse(o->ledger, &kind, &rest, err));
    }
    if (!strcmp(kind, "local")) {
        struct gtee_ledger_local_options lo = {0};

        ENSURE(!o->contract, err, GTEE_EINVAL, "--contract is for the evm ledger; a local ledger is its own contract");
        TRY(key_for(o, need_key, key, err));
        TRY(gtee_ledger_open_local(rest, &lo, key, l, err));
        goto out;
    }
    if (rest) {
        /* evm:URL or evm:URL,ADDRESS */
        const char *comma = strrchr(rest, ',');
        size_t n = comma ? (size_t)(comma - rest) : strlen(rest);

        ENSURE(n < sizeof(url), err, GTEE_EINVAL, "--ledger: the URL is too long");
        memcpy(url, rest, n);
        url[n] = '\0';
        eo.rpc_url = url;
        if (comma) {
            ENSURE(!o->contract, err, GTEE_EINVAL, "--ledger names the contract and so does --contract: give one");
            contract_hex = comma + 1;
        }
    }
    ENSURE(eo.rpc_url, err, GTEE_EINVAL, "--ledger SPEC (or --rpc URL) is required");
    ENSURE(contract_hex, err, GTEE_EINVAL, "the Glacier contract: --ledger evm:URL,ADDRESS or --contract ADDRESS");
    TRY(chain_address(contract_hex, contract, "the contract", err));
    TRY(key_for(o, need_key, key, err));
    TRY(gtee_ledger_open_evm(&eo, key, contract, l, err));
out:
    gtee_wipe(key, sizeof(key));
    return rc;
}

int chain_address(const char *s, uint8_t addr[20], const char *what, struct gtee_err *err)
{
    if (!s || strncmp(s, "0x", 2) != 0 || gtee_hex_decode(s, addr, 20) != 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "%s: '%.60s' is not 0x and 40 hex digits", what, s ? s : "");
    return 0;
}

int chain_wei(const char *s, uint8_t out[32], const char *what, struct gtee_err *err)
{
    BIGNUM *bn = NULL;
    int n = 0, rc = 0;

    for (const char *p = s; *p; p++)
        ENSURE(*p >= '0' && *p <= '9', err, GTEE_EINVAL, "%s: '%.80s' is not a decimal number of wei", what, s);
    ENSURE(*s && strlen(s) <= 78 && (n = BN_dec2bn(&bn, s)) == (int)strlen(s) && BN_num_bytes(bn) <= 32, err,
           GTEE_EINVAL, "%s: '%.80s' is not a decimal number of wei below 2^256", what, s);
    ENSURE(BN_bn2binpad(bn, out, 32) == 32, err, GTEE_ECRYPTO, "%s: conversion failed", what);
out:
    BN_free(bn);
    return rc;
}

const char *chain_wei_str(const uint8_t v[32], char buf[80])
{
    BIGNUM *bn = BN_bin2bn(v, 32, NULL);
    char *s = bn ? BN_bn2dec(bn) : NULL;

    snprintf(buf, 80, "%s", s ? s : "?");
    OPENSSL_free(s);
    BN_free(bn);
    return buf;
}

int chain_view(struct gtee_evm *e, const uint8_t contract[20], const char *signature, const uint8_t *addr_arg,
               uint8_t **out, size_t *len, struct gtee_err *err)
{
    struct chain_buf b = {0};
    int rc = 0;

    abi_selector(&b, signature);
    if (addr_arg)
        abi_address(&b, addr_arg);
    ENSURE(!b.oom, err, GTEE_ENOMEM, "out of memory");
    rc = gtee_evm_call(e, contract, b.p, b.len, out, len, err);
    if (rc == 0 && *len == 0) {
        free(*out);
        *out = NULL;
        rc = GTEE_FAIL(err, GTEE_EFORMAT, "%s returned nothing: is the address a Glacier contract?", signature);
    }
out:
    chain_buf_free(&b);
    return rc;
}
