/* Randomness, constant-time comparison, wiping and hex: the small primitives every
 * other part uses for secrets. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <limits.h>
#include <string.h>

#include "gtee/crypto.h"

int gtee_random(void *buf, size_t len)
{
    /* RAND_priv_bytes draws from OpenSSL's private DRBG, kept apart from public nonces. */
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;

        if (RAND_priv_bytes(buf, n) != 1)
            return GTEE_ECRYPTO;
        buf = (uint8_t *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

int gtee_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void gtee_wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

void gtee_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Each byte's value as a hex digit, or X: one load in place of three range tests, whose
 * branches a verifier's random-looking hashes mispredict (12 hex fields a Work Proof,
 * docs/proofs.md "Performance"). */
#define X 0xff
static const uint8_t hex_value[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

int gtee_hex_digit(int c)
{
    return c >= 0 && c <= 255 && hex_value[c] != 0xff ? hex_value[c] : -1;
}

int gtee_hex_bytes(const char *hex, size_t len, uint8_t *out)
{
    const unsigned char *h = (const unsigned char *)hex;
    unsigned bad = 0;

    /* no branch per digit: a non-digit's 0xff sets the high bit of bad */
    for (size_t i = 0; i < len; i++) {
        unsigned hi = hex_value[h[2 * i]], lo = hex_value[h[2 * i + 1]];

        bad |= hi | lo;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return bad & 0x80 ? GTEE_EFORMAT : 0;
}

int gtee_hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    if (strlen(hex) != 2 * out_len)
        return GTEE_EFORMAT;
    return gtee_hex_bytes(hex, out_len, out);
}
