/* Ethereum's Keccak-256: the Keccak sponge as submitted to the SHA-3 competition, with the
 * original multi-rate padding 0x01 ... 0x80, not FIPS 202 SHA3-256 (which pads with 0x06).
 *
 * Written here rather than taken from a library: Debian 12 ships OpenSSL 3.0, and its
 * "KECCAK-256" digest only arrived in OpenSSL 3.2; no Debian C library package offers
 * Ethereum's Keccak-256 either. The permutation is Keccak-f[1600] as specified in the
 * Keccak reference (v3.0) and FIPS 202 §3.2-3.3; it is checked against the FIPS 202
 * SHA3-256 examples and OpenSSL's SHA3-256 by the tests. */
#include <string.h>

#include "crypto/keccak.h"
#include "gtee/crypto.h"

#define KECCAK_ROUNDS 24
#define KECCAK_STATE_BYTES 200

/* FIPS 202 §3.2.5: the iota round constants RC[ir], the output of the rc(t) LFSR. */
static const uint64_t round_constants[KECCAK_ROUNDS] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* FIPS 202 §3.2.2-3.2.3: rho and pi together. pi moves lane x + 5y to pi_dst[x + 5y], the
 * index of (y, 2x + 3y mod 5); rho rotates it first by rho_rot[x + 5y], the offset of
 * Table 2 (the (t + 1)(t + 2)/2 mod 64 of the walk from (1, 0)). */
static const uint8_t pi_dst[25] = {
    0, 10, 20, 5, 15, 16, 1, 11, 21, 6, 7, 17, 2, 12, 22, 23, 8, 18, 3, 13, 14, 24, 9, 19, 4,
};
static const uint8_t rho_rot[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static inline uint64_t rotl64(uint64_t v, unsigned n)
{
    return (v << (n & 63)) | (v >> ((64 - n) & 63));
}

/* Keccak-f[1600] on lanes a[x + 5*y] (FIPS 202 §3.3, Rnd = iota(chi(pi(rho(theta(A)))))).
 * The loops have constant bounds and are unrolled, so the table lookups and rotations
 * become constants: a verifier hashes each Work Proof several times, and the rolled loops
 * cost a sixth of `gtee proof verify`'s time (docs/proofs.md "Performance"). */
static void keccak_f1600(uint64_t a[25])
{
    uint64_t c[5], d[5], b[25];

    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        /* theta (§3.2.1): xor into every lane of column x the parity of columns x-1, x+1 */
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#pragma GCC unroll 5
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
        /* theta's xor, rho and pi in one move */
#pragma GCC unroll 25
        for (int i = 0; i < 25; i++)
            b[pi_dst[i]] = rotl64(a[i] ^ d[i % 5], rho_rot[i]);
        /* chi (§3.2.4), the only non-linear step, row by row */
#pragma GCC unroll 25
        for (int i = 0; i < 25; i++)
            a[i] = b[i] ^ (~b[i - i % 5 + (i + 1) % 5] & b[i - i % 5 + (i + 2) % 5]);
        /* iota (§3.2.5) */
        a[0] ^= round_constants[round];
    }
}

/* Lanes are little-endian (FIPS 202 §3.1.2, B.1), independent of the host's byte order;
 * whole lanes are read eight bytes at a time (the shifts compile to one load on x86-64). */
static void xor_block(uint64_t a[25], const uint8_t *p, size_t len)
{
    size_t i = 0;

    for (; i + 8 <= len; i += 8)
        a[i / 8] ^= (uint64_t)p[i] | (uint64_t)p[i + 1] << 8 | (uint64_t)p[i + 2] << 16 |
                    (uint64_t)p[i + 3] << 24 | (uint64_t)p[i + 4] << 32 | (uint64_t)p[i + 5] << 40 |
                    (uint64_t)p[i + 6] << 48 | (uint64_t)p[i + 7] << 56;
    for (; i < len; i++)
        a[i / 8] ^= (uint64_t)p[i] << (8 * (i % 8));
}

void gtee_keccak_sponge(size_t rate, uint8_t pad, const void *msg, size_t len, uint8_t *out,
                        size_t out_len)
{
    const uint8_t *p = msg;
    uint8_t last[KECCAK_STATE_BYTES];
    uint64_t a[25] = {0};

    /* absorb whole blocks */
    while (len >= rate) {
        xor_block(a, p, rate);
        keccak_f1600(a);
        p += rate;
        len -= rate;
    }
    /* pad10*1 with the domain bits in front (Keccak: 0x01; SHA-3: 0x06, FIPS 202 B.2);
     * when only one byte is free, pad and the final 0x80 share it. */
    memset(last, 0, rate);
    if (len)
        memcpy(last, p, len);
    last[len] ^= pad;
    last[rate - 1] ^= 0x80;
    xor_block(a, last, rate);
    keccak_f1600(a);
    /* squeeze: one block is enough for every digest we need (out_len <= rate) */
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(a[i / 8] >> (8 * (i % 8)));
    gtee_wipe(last, sizeof(last)); /* the input may be secret (key derivations) */
    gtee_wipe(a, sizeof(a));
}

void gtee_keccak256(const void *msg, size_t len, uint8_t out[GTEE_KECCAK256_LEN])
{
    /* Keccak[c=512]: rate 1088 bits = 136 bytes, 256-bit output */
    gtee_keccak_sponge(136, 0x01, msg, len, out, GTEE_KECCAK256_LEN);
}
