/* One name for each TEE kind (gtee/tee_kind.h), for the host's INFO check and the enclave's
 * own INFO answer alike. */
#include "gtee/tee_kind.h"

const char *gtee_tee_kind_name(enum gtee_tee_kind k)
{
    switch (k) {
    case GTEE_TEE_KIND_SIM: return "sim";
    case GTEE_TEE_KIND_SGX: return "sgx";
    case GTEE_TEE_KIND_TDX: return "tdx";
    case GTEE_TEE_KIND_SNP: return "snp";
    }
    return "unknown";
}

