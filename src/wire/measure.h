/* The enclave measurement under sim (docs/tee.md, "sim"): computed alike by the host's
 * launcher (what it expects of the executable it starts) and the enclave runtime (what it
 * claims), so the two cannot drift. Internal; implemented in measure.c. */
#ifndef GTEE_WIRE_MEASURE_H
#define GTEE_WIRE_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

/* SHA-256 of the open executable file, and the measurement over it and the configuration:
 * SHA-256("gtee enclave measurement v1" 0x00 || exe_sha256 || SHA-256(config)). */
int gtee_enclave_hash_fd(int fd, uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;
int gtee_enclave_measurement(const uint8_t exe_sha256[32], const void *config, size_t config_len,
                             uint8_t out[32], struct gtee_err *err) GTEE_MUST_USE;

#endif
