/* Shared by `gtee enclave ...` and `gtee evidence get`: the options that start an enclave
 * and finding the gtee-enclave executable. Internal to src/cli/. */
#ifndef GTEE_CLI_ENCLAVE_CLI_H
#define GTEE_CLI_ENCLAVE_CLI_H

#include <getopt.h>

#include "gtee/enclave.h"

/* getopt_long entries for --tee, --sim-dir, --root, --config, --enclave,
 * --sim-quote-version, --gramine-dir, --gramine-sgx, --key-release, --key-release-pub
 * --enclave-timeout, --allow-jit, --memory-limit (values 0x100..0x10c),
 * handled by cli_enclave_opt. */
#define CLI_ENCLAVE_LONGOPTS                                              \
    { "tee", required_argument, NULL, 0x100 },                            \
    { "sim-dir", required_argument, NULL, 0x101 },                        \
    { "root", required_argument, NULL, 0x102 },                           \
    { "config", required_argument, NULL, 0x103 },                         \
    { "enclave", required_argument, NULL, 0x104 },                        \
    { "sim-quote-version", required_argument, NULL, 0x105 },             \
    { "gramine-dir", required_argument, NULL, 0x106 },                    \
    { "gramine-sgx", required_argument, NULL, 0x107 },                    \
    { "key-release", required_argument, NULL, 0x108 },                    \
    { "key-release-pub", required_argument, NULL, 0x109 },               \
    { "enclave-timeout", required_argument, NULL, 0x10a },               \
    { "allow-jit", no_argument, NULL, 0x10b },                            \
    { "memory-limit", required_argument, NULL, 0x10c }

#define CLI_ENCLAVE_OPTS_HELP                                                                  \
    "      --tee T            sim, sgx, tdx, snp or auto (auto never picks sim)\n"             \
    "      --sim-dir DIR      sim: the device made by `gtee sim init DIR`\n"                   \
    "      --sim-quote-version N  sim: 3 (SGX-style quote, default) or 4 (TDX-style)\n"         \
    "      --root DIR         where the TEE interfaces live (default /; for tests)\n"          \
    "      --config TEXT      the enclave's configuration text (part of its measurement)\n"    \
    "      --enclave PATH     the gtee-enclave executable (default: $GTEE_ENCLAVE, else\n"     \
    "                         gtee-enclave next to gtee)\n"                               \
    "      --gramine-dir DIR  sgx: start the enclave with gramine-sgx in DIR, which holds\n"  \
    "                         gtee-enclave.manifest.sgx and gtee-enclave.sig (required for\n" \
    "                         sgx; MRENCLAVE is then the measurement)\n"                   \
    "      --gramine-sgx PATH sgx: the Gramine loader (default: gramine-sgx on PATH)\n"         \
    "      --key-release HOST:PORT  tdx (required there; also with auto): the key-release\n"  \
    "                         service (`gtee keyrelease serve`) that gives the TD its key\n"  \
    "                         root after verifying its quote; numeric IPv4 or [IPv6]\n"      \
    "      --key-release-pub HEX  with --key-release: the service key to pin (130 hex\n"    \
    "                         digits, printed by `gtee keyrelease init`)\n"                 \
    "      --enclave-timeout S  the longest wait for the enclave, per request and for its\n"  \
    "                         exit, in seconds (1-3600, default 60); then it is killed\n"      \
    "      --allow-jit        let the enclave's seccomp list allow executable memory for the\n" \
    "                         ML engine's JIT (convolutions; measured; docs/tee.md section 8)\n" \
    "      --memory-limit MIB the enclave's memory limit for models and data (default 1024;\n" \
    "                         measured)\n"

/* 1 if c was one of ours (stored in l), 0 if not, -1 on a bad value. */
int cli_enclave_opt(int c, const char *arg, struct gtee_enclave_launch *l, char *bin, size_t bin_len);
/* Fills l->binary when not given; starts the enclave; reports failures (returns exit code). */
int cli_enclave_start(struct gtee_enclave_launch *l, char *bin, size_t bin_len, struct gtee_enclave_proc *p);
/* Stops it; an abnormal end (signal, non-zero status) is reported. Returns exit code. */
int cli_enclave_stop(struct gtee_enclave_proc *p);

#endif
