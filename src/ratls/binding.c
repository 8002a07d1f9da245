/* The binding between evidence and the channel key: the report-data layout both sides share
 * (docs/tee.md, docs/ratls.md "Binding"), reused rather than restated so both always agree. */
#include "gtee/report_data.h"
#include "ratls/internal.h"

int gtee_ratls_report_data(const uint8_t enclave_pub[65], const uint8_t channel_pub[65], const uint8_t nonce[32],
                           uint8_t report_data[64])
{
    return gtee_tee_report_data(enclave_pub, channel_pub, nonce, report_data);
}

_Static_assert(GTEE_ENCLAVE_PUB_LEN == 65 && GTEE_CHANNEL_PUB_LEN == 65 && GTEE_REPORT_NONCE_LEN == 32 &&
                   GTEE_REPORT_DATA_LEN == 64,
               "ratls/internal.h spells the runtime's sizes");
