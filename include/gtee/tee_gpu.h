/* GPU evidence from the NVIDIA management library (NVML), loaded at run time with dlopen so
 * that nothing in the build needs NVIDIA's packages: a confidential-computing GPU's
 * attestation report over our nonce, its certificate chain, the CC mode, and the driver and
 * VBIOS versions. The enclave side of docs/evidence-nvidia.md ("Collecting GPU evidence"). */
#ifndef GTEE_TEE_GPU_H
#define GTEE_TEE_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_GPU_NONCE_LEN 32
#define GTEE_GPU_LIBRARY "libnvidia-ml.so.1"

/* What one GPU gave. report / cert_chain are malloc'ed; free with gtee_tee_gpu_free. */
struct gtee_tee_gpu {
    unsigned index;
    uint8_t *report;          /* SPDM GET_MEASUREMENTS request || MEASUREMENTS response */
    size_t report_len;
    char *cert_chain;         /* PEM, leaf first (the attestation chain), NUL-terminated */
    size_t cert_chain_len;
    char driver_version[81];  /* nvmlSystemGetDriverVersion */
    char vbios_version[33];   /* nvmlDeviceGetVbiosVersion */
};

/* Number of GPUs NVML sees. lib: the library to load (NULL: GTEE_GPU_LIBRARY, the one the
 * driver installs; tests pass their fake). GTEE_ENOTFOUND: no library, naming it;
 * GTEE_EUNSUPPORTED: a symbol missing from it; GTEE_EIO: NVML failed (its message). */
int gtee_tee_gpu_count(const char *lib, unsigned *n, struct gtee_err *err) GTEE_MUST_USE;

/* The evidence of GPU `index` over nonce. Refused with a clear error: no library
 * (GTEE_ENOTFOUND), no GPU or no such index (GTEE_ENOTFOUND), confidential computing off
 * (GTEE_ESTATE), a report that is not an SPDM GET_MEASUREMENTS over exactly our nonce
 * (GTEE_EAUTH), sizes past NVML's buffers (GTEE_EFORMAT). */
int gtee_tee_gpu_collect(const char *lib, unsigned index, const uint8_t nonce[GTEE_GPU_NONCE_LEN],
                         struct gtee_tee_gpu *out, struct gtee_err *err) GTEE_MUST_USE;

/* The library loaded and NVML initialised once, for a process that collects later under a
 * system-call allow-list that no longer permits loading code (the SDK, docs/tee.md §8):
 * open gives the handle and the GPU count (errors as gtee_tee_gpu_count), collect_from
 * collects as gtee_tee_gpu_collect does with it, close shuts NVML down (NULL ok). */
struct gtee_tee_gpu_lib;
int gtee_tee_gpu_open(const char *lib, struct gtee_tee_gpu_lib **out, unsigned *count,
                      struct gtee_err *err) GTEE_MUST_USE;
int gtee_tee_gpu_collect_from(struct gtee_tee_gpu_lib *l, unsigned index, const uint8_t nonce[GTEE_GPU_NONCE_LEN],
                              struct gtee_tee_gpu *out, struct gtee_err *err) GTEE_MUST_USE;
void gtee_tee_gpu_close(struct gtee_tee_gpu_lib *l);
void gtee_tee_gpu_free(struct gtee_tee_gpu *g);

#endif
