/* The kinds of TEE, as both sides of the enclave boundary name them: the host's launcher
 * checks the kind an enclave claims in its INFO answer (gtee/enclave.h) against the backend
 * it started, and the backends (gtee/tee.h) report their own. */
#ifndef GTEE_TEE_KIND_H
#define GTEE_TEE_KIND_H

#define GTEE_MEASUREMENT_MAX 48   /* SGX MRENCLAVE 32, TDX MRTD 48, SNP MEASUREMENT 48 */

enum gtee_tee_kind {
    GTEE_TEE_KIND_SIM = 1,
    GTEE_TEE_KIND_SGX = 2,
    GTEE_TEE_KIND_TDX = 3,
    GTEE_TEE_KIND_SNP = 4,
};

/* "sim", "sgx", "tdx", "snp" (the backend names of --tee), or "unknown". */
const char *gtee_tee_kind_name(enum gtee_tee_kind k);

#endif
