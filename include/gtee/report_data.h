/* Glacier TEE Node report data layout (docs/tee.md, "Report data"): what an enclave's
 * evidence commits to. A format both sides share (src/wire/report_data.c): the enclave
 * produces it, the evidence verifier (src/evidence/binding.c) and the attested channel check
 * it. */
#ifndef GTEE_REPORT_DATA_H
#define GTEE_REPORT_DATA_H

#include <stdint.h>

#include "gtee/err.h"

#define GTEE_ENCLAVE_PUB_LEN 65  /* secp256k1, uncompressed */
#define GTEE_ENCLAVE_ADDR_LEN 20 /* Ethereum address: the Enclave ID */
#define GTEE_CHANNEL_PUB_LEN 65  /* P-256, uncompressed */
#define GTEE_REPORT_NONCE_LEN 32
#define GTEE_REPORT_DATA_LEN 64

/* report_data = SHA-256("gtee report data v1" 0x00 || enclave_pub || channel_pub) || nonce
 * (nonce NULL: 32 zero bytes). */
int gtee_tee_report_data(const uint8_t enclave_pub[GTEE_ENCLAVE_PUB_LEN],
                         const uint8_t channel_pub[GTEE_CHANNEL_PUB_LEN],
                         const uint8_t nonce[GTEE_REPORT_NONCE_LEN],
                         uint8_t report_data[GTEE_REPORT_DATA_LEN]) GTEE_MUST_USE;

#endif
