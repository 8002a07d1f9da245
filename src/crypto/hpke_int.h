/* HPKE's steps, internal to the crypto part and its tests: the RFC 9180 test vectors check
 * each step on their own, including in the RFC's A.1 suite (AES-128-GCM, aead 1). */
#ifndef GTEE_CRYPTO_HPKE_INT_H
#define GTEE_CRYPTO_HPKE_INT_H

#include <stddef.h>
#include <stdint.h>

/* §4.1 Encap with a given ephemeral private key: enc and the KEM's shared secret. */
int hpke_encap_with(const uint8_t sk_e[32], const uint8_t pk_r[32], uint8_t enc[32], uint8_t shared[32]);
/* §5.1 the base-mode key schedule for suite (0x0020, 0x0001, aead_id): nk key bytes, nonce. */
int hpke_schedule(uint16_t aead_id, size_t nk, const uint8_t shared[32], const uint8_t *info, size_t info_len,
                  uint8_t *key, uint8_t base_nonce[12]);

#endif
