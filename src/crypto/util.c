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

int gtee_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int gtee_hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    if (strlen(hex) != 2 * out_len)
        return GTEE_EFORMAT;
    for (size_t i = 0; i < out_len; i++) {
        int hi = gtee_hex_digit(hex[2 * i]), lo = gtee_hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return GTEE_EFORMAT;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
