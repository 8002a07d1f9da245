/* Internal: the Keccak sponge behind gtee_keccak256, with the rate and padding byte
 * exposed so tests can check the permutation against FIPS 202 SHA3-256 (pad 0x06). */
#ifndef GTEE_CRYPTO_KECCAK_H
#define GTEE_CRYPTO_KECCAK_H

#include <stddef.h>
#include <stdint.h>

/* Sponge over Keccak-f[1600] with capacity 1600 - 8*rate bits; pad is the first byte of
 * the multi-rate padding (0x01 for original Keccak, 0x06 for SHA-3). rate <= 200 and
 * out_len <= rate. */
void gtee_keccak_sponge(size_t rate, uint8_t pad, const void *msg, size_t len, uint8_t *out,
                        size_t out_len);

#endif
