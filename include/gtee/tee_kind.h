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

#endif
