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

static inline uint64_t rotl64(uint64_t v, unsigned n)
{
    return (v << (n & 63)) | (v >> ((64 - n) & 63));
}

/* One round (FIPS 202 §3.3, Rnd = iota(chi(pi(rho(theta(A)))))) from the 25 lanes named
 * A##<row><column> into E##<row><column>: rows b g k m s are y = 0..4, columns a e i o u
 * are x = 0..4 (the naming of the Keccak team's reference code). theta's column parities C
 * and their mixes D first; then, one output row at a time, the five lanes that pi moves
 * into it (from (x, y) to (y, 2x + 3y mod 5)), each xored with its D and rotated by its
 * rho offset (Table 2), and chi across the row, with iota on lane (0, 0).
 *
 * Lane complementing (Bertoni, Daemen, Peeters, Van Assche, Van Keer, "Keccak
 * implementation overview" v3.2, §2.2): the lanes of KECCAK_COMPLEMENTED are held
 * complemented (every bit flipped) between rounds, so that chi, whose ~b & c costs a NOT
 * per lane without an and-not instruction, comes out as a mix of AND and OR that needs
 * 8 NOTs a round instead of 25. Which operand or result of each chi lane is flipped follows
 * from which inputs are held flipped (xor passes a complement through, and a column with
 * an odd number of flipped lanes flips its C); the expressions below were derived and
 * checked bit by bit for that pattern, and the tests check the whole permutation against
 * known answers and OpenSSL's SHA3-256. */
#define KECCAK_ROUND(A, E, rc) \
    do { \
        Ca = A##ba ^ A##ga ^ A##ka ^ A##ma ^ A##sa; \
        Ce = A##be ^ A##ge ^ A##ke ^ A##me ^ A##se; \
        Ci = A##bi ^ A##gi ^ A##ki ^ A##mi ^ A##si; \
        Co = A##bo ^ A##go ^ A##ko ^ A##mo ^ A##so; \
        Cu = A##bu ^ A##gu ^ A##ku ^ A##mu ^ A##su; \
        Da = Cu ^ rotl64(Ce, 1); \
        De = Ca ^ rotl64(Ci, 1); \
        Di = Ce ^ rotl64(Co, 1); \
        Do = Ci ^ rotl64(Cu, 1); \
        Du = Co ^ rotl64(Ca, 1); \
        Ba = A##ba ^ Da; \
        Be = rotl64(A##ge ^ De, 44); \
        Bi = rotl64(A##ki ^ Di, 43); \
        Bo = rotl64(A##mo ^ Do, 21); \
        Bu = rotl64(A##su ^ Du, 14); \
        E##ba = Ba ^ (Be | Bi) ^ (rc); \
        E##be = Be ^ (~Bi | Bo); \
        E##bi = Bi ^ (Bo & Bu); \
        E##bo = Bo ^ (Bu | Ba); \
        E##bu = Bu ^ (Ba & Be); \
        Ba = rotl64(A##bo ^ Do, 28); \
        Be = rotl64(A##gu ^ Du, 20); \
        Bi = rotl64(A##ka ^ Da, 3); \
        Bo = rotl64(A##me ^ De, 45); \
        Bu = rotl64(A##si ^ Di, 61); \
        E##ga = Ba ^ (Be | Bi); \
        E##ge = Be ^ (Bi & Bo); \
        E##gi = Bi ^ (Bo | ~Bu); \
        E##go = Bo ^ (Bu | Ba); \
        E##gu = Bu ^ (Ba & Be); \
        Ba = rotl64(A##be ^ De, 1); \
        Be = rotl64(A##gi ^ Di, 6); \
        Bi = rotl64(A##ko ^ Do, 25); \
        Bo = rotl64(A##mu ^ Du, 8); \
        Bu = rotl64(A##sa ^ Da, 18); \
        E##ka = Ba ^ (Be | Bi); \
        E##ke = Be ^ (Bi & Bo); \
        E##ki = Bi ^ (~Bo & Bu); \
        E##ko = ~(Bo ^ (Bu | Ba)); \
        E##ku = Bu ^ (Ba & Be); \
        Ba = rotl64(A##bu ^ Du, 27); \
        Be = rotl64(A##ga ^ Da, 36); \
        Bi = rotl64(A##ke ^ De, 10); \
        Bo = rotl64(A##mi ^ Di, 15); \
        Bu = rotl64(A##so ^ Do, 56); \
        E##ma = Ba ^ (Be & Bi); \
        E##me = Be ^ (Bi | Bo); \
        E##mi = Bi ^ (~Bo | Bu); \
        E##mo = ~(Bo ^ (Bu & Ba)); \
        E##mu = Bu ^ (Ba | Be); \
        Ba = rotl64(A##bi ^ Di, 62); \
        Be = rotl64(A##go ^ Do, 55); \
        Bi = rotl64(A##ku ^ Du, 39); \
        Bo = rotl64(A##ma ^ Da, 41); \
        Bu = rotl64(A##se ^ De, 2); \
        E##sa = Ba ^ (~Be & Bi); \
        E##se = ~(Be ^ (Bi | Bo)); \
        E##si = Bi ^ (Bo & Bu); \
        E##so = Bo ^ (Bu | Ba); \
        E##su = Bu ^ (Ba & Be); \
    } while (0)

#define KECCAK_LANES(X) \
    X(ba, 0) X(be, 1) X(bi, 2) X(bo, 3) X(bu, 4) X(ga, 5) X(ge, 6) X(gi, 7) X(go, 8) X(gu, 9) \
    X(ka, 10) X(ke, 11) X(ki, 12) X(ko, 13) X(ku, 14) X(ma, 15) X(me, 16) X(mi, 17) X(mo, 18) X(mu, 19) \
    X(sa, 20) X(se, 21) X(si, 22) X(so, 23) X(su, 24)
/* the lanes held complemented: (1,0) (2,0) (3,1) (2,2) (2,3) (0,4) */
#define KECCAK_COMPLEMENTED(X) X(be, 1) X(bi, 2) X(go, 8) X(ki, 12) X(mi, 17) X(sa, 20)

/* Keccak-f[1600] on lanes a[x + 5*y]: 24 rounds, two per pass (A into E, E back into A),
 * with every lane in a local so the compiler keeps what it can in registers. A verifier
 * hashes each Work Proof with five permutations (docs/proofs.md "Performance"). */
static void keccak_f1600(uint64_t a[25])
{
#define DECLARE(l, i) uint64_t A##l = a[i], E##l;
    KECCAK_LANES(DECLARE)
#undef DECLARE
    uint64_t Ca, Ce, Ci, Co, Cu, Da, De, Di, Do, Du, Ba, Be, Bi, Bo, Bu;

#define FLIP(l, i) A##l = ~A##l;
    KECCAK_COMPLEMENTED(FLIP)
    for (int round = 0; round < KECCAK_ROUNDS; round += 2) {
        KECCAK_ROUND(A, E, round_constants[round]);
        KECCAK_ROUND(E, A, round_constants[round + 1]);
    }
    KECCAK_COMPLEMENTED(FLIP)
#undef FLIP
#define STORE(l, i) a[i] = A##l;
    KECCAK_LANES(STORE)
#undef STORE
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
