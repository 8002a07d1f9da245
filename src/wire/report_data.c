/* The report data an enclave's evidence commits to (gtee/report_data.h, docs/tee.md "Report
 * data"): computed by the enclave when it asks for evidence and by every verifier that
 * checks the binding, from this one definition. */
#include <string.h>

#include "gtee/crypto.h"
#include "gtee/report_data.h"

static const char rd_tag[] = "gtee report data v1";

int gtee_tee_report_data(const uint8_t enclave_pub[GTEE_ENCLAVE_PUB_LEN], const uint8_t channel_pub[GTEE_CHANNEL_PUB_LEN],
                         const uint8_t nonce[GTEE_REPORT_NONCE_LEN], uint8_t report_data[GTEE_REPORT_DATA_LEN])
{
    uint8_t buf[sizeof(rd_tag) + GTEE_ENCLAVE_PUB_LEN + GTEE_CHANNEL_PUB_LEN];

    memcpy(buf, rd_tag, sizeof(rd_tag)); /* the tag and its NUL separator */
    memcpy(buf + sizeof(rd_tag), enclave_pub, GTEE_ENCLAVE_PUB_LEN);
    memcpy(buf + sizeof(rd_tag) + GTEE_ENCLAVE_PUB_LEN, channel_pub, GTEE_CHANNEL_PUB_LEN);
    if (gtee_sha256(buf, sizeof(buf), report_data) != 0)
        return GTEE_ECRYPTO;
    if (nonce)
        memcpy(report_data + 32, nonce, GTEE_REPORT_NONCE_LEN);
    else
        memset(report_data + 32, 0, GTEE_REPORT_NONCE_LEN);
    return 0;
}
