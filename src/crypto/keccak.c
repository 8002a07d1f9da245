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

/* FIPS 202 §3.2.2-3.2.3: rho and pi together. pi moves the lane at (x, y) to
 * (y, 2x + 3y mod 5); starting from (1, 0) that walk visits all 24 lanes other than (0, 0)
 * in one cycle, and rho's algorithm rotates the t-th lane of the same walk by
 * (t + 1)(t + 2)/2 mod 64. pi_walk[t] is the index x + 5y of the walk's (t + 1)-th
 * position, rho_walk[t] the rotation of the lane that moves into it. */
static const uint8_t pi_walk[24] = {
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
};
static const uint8_t rho_walk[24] = {
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
};

static uint64_t rotl64(uint64_t v, unsigned n)
{
    return (v << (n & 63)) | (v >> ((64 - n) & 63));
}

/* chi (§3.2.4) on the row starting at lane y: the only non-linear step */
static void chi_row(uint64_t *r)
{
    uint64_t r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4];

    r[0] = r0 ^ (~r1 & r2);
    r[1] = r1 ^ (~r2 & r3);
    r[2] = r2 ^ (~r3 & r4);
    r[3] = r3 ^ (~r4 & r0);
    r[4] = r4 ^ (~r0 & r1);
}

/* theta (§3.2.1): xor into every lane of column x the parity d of columns x-1 and x+1 */
static void theta_column(uint64_t a[25], int x, uint64_t d)
{
    a[x] ^= d;
    a[x + 5] ^= d;
    a[x + 10] ^= d;
    a[x + 15] ^= d;
    a[x + 20] ^= d;
}

/* Keccak-f[1600] on lanes a[x + 5*y] (FIPS 202 §3.3, Rnd = iota(chi(pi(rho(theta(A)))))). */
static void keccak_f1600(uint64_t a[25])
{
    uint64_t c0, c1, c2, c3, c4, cur, tmp;

    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
        c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
        c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
        c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
        c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
        theta_column(a, 0, c4 ^ rotl64(c1, 1));
        theta_column(a, 1, c0 ^ rotl64(c2, 1));
        theta_column(a, 2, c1 ^ rotl64(c3, 1));
        theta_column(a, 3, c2 ^ rotl64(c4, 1));
        theta_column(a, 4, c3 ^ rotl64(c0, 1));
        /* rho and pi, in place along the walk */
        cur = a[1];
        for (int t = 0; t < 24; t++) {
            tmp = a[pi_walk[t]];
            a[pi_walk[t]] = rotl64(cur, rho_walk[t]);
            cur = tmp;
        }
        chi_row(a);
        chi_row(a + 5);
        chi_row(a + 10);
        chi_row(a + 15);
        chi_row(a + 20);
        /* iota (§3.2.5) */
        a[0] ^= round_constants[round];
    }
}

/* Lanes are little-endian (FIPS 202 §3.1.2, B.1), independent of the host's byte order. */
static void xor_block(uint64_t a[25], const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
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
