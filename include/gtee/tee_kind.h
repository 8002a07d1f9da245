/* The kinds of TEE, as both sides of the enclave boundary name them: the host's launcher
 * checks the kind an enclave claims in its INFO answer (gtee/enclave.h) against the backend
 * it started, and the backends (gtee/tee.h) report their own. */
#ifndef GTEE_TEE_KIND_H
#define GTEE_TEE_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_MEASUREMENT_MAX 48   /* SGX MRENCLAVE 32, TDX MRTD 48, SNP MEASUREMENT 48 */

enum gtee_tee_kind {
    GTEE_TEE_KIND_SIM = 1,
    GTEE_TEE_KIND_SGX = 2,
    GTEE_TEE_KIND_TDX = 3,
    GTEE_TEE_KIND_SNP = 4,
};

/* "sim", "sgx", "tdx", "snp" (the backend names of --tee), or "unknown". */
const char *gtee_tee_kind_name(enum gtee_tee_kind k);

/* The enclave measurement under sim (docs/tee.md, "sim"), computed alike by the launcher
 * and the enclave runtime. */
/* SHA-256 of the open executable file, and the measurement over it and the configuration:
 * SHA-256("gtee enclave measurement v1" 0x00 || exe_sha256 || SHA-256(config)). */
int gtee_enclave_hash_fd(int fd, uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;
int gtee_enclave_measurement(const uint8_t exe_sha256[32], const void *config, size_t config_len,
                             uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;

/* What an application's seccomp list adds to the runtime's base (gtee_app_options.allow,
 * the same bits as gtee/tee.h's GTEE_HARDEN_*); measured with its configuration. */
#define GTEE_APP_ALLOW_NET 0x3u   /* listen, accept, connect: serve clients, call other enclaves */
#define GTEE_APP_ALLOW_FILES 0x4u /* create, replace, remove files of its own (sealed state) */
/* Executable memory for the ML engine's oneDNN JIT (convolutions and pooling): oneDNN 2.6
 * maps its code read-write-execute, so with this bit the process keeps no W^X guarantee
 * (docs/tee.md §8). Without it, such a kernel fails with an error; nothing is killed. */
#define GTEE_APP_ALLOW_JIT 0x8u

/* What the sim measurement covers besides the executable: what changes the enclave's
 * behaviour (backend, evidence format, the operator's configuration text, what its
 * hardening allows, its memory limit), not where files live. */
struct gtee_enclave_config {
    const char *tee;
    int sim_quote_version;
    const char *config;       /* NULL: "" */
    int gramine;
    unsigned allow;           /* the seccomp list's additions (gtee/sdk.h GTEE_APP_ALLOW_*) */
    uint64_t memory_limit;    /* 0: the default */
};
/* The text measured: "tee=..\nsim_quote_version=..\nconfig=..\n", then "gramine=1\n",
 * "allow=0x..\n" and "memory_limit=..\n" each only when set, so a configuration without them
 * measures as it always has. Returns its length, or GTEE_EINVAL when over len. */
int gtee_enclave_config_text(const struct gtee_enclave_config *c, char *out, size_t len) GTEE_MUST_USE;

#endif
