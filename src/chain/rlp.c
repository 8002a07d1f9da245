/* RLP (Ethereum Yellow Paper, Appendix B): the encoder for transactions and a decoder that
 * takes only canonical encodings (shortest lengths, no single byte below 0x80 wrapped). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "chain/buf.h"
#include "chain/rlp.h"

/* The header of a payload of n bytes: offset 0x80 for strings, 0xc0 for lists. */
static size_t header(uint8_t h[9], size_t n, uint8_t offset)
{
    size_t k = 0;

    if (n <= 55) {
        h[0] = (uint8_t)(offset + n);
        return 1;
    }
    for (size_t m = n; m; m >>= 8)
        k++;
    h[0] = (uint8_t)(offset + 55 + k);
    for (size_t i = 0; i < k; i++)
        h[k - i] = (uint8_t)(n >> (8 * i));
    return k + 1;
}

void rlp_bytes(struct chain_buf *b, const uint8_t *s, size_t n)
{
    uint8_t h[9];
    size_t hl;

    if (n == 1 && s[0] < 0x80) {
        if (chain_buf_reserve(b, 1) == 0)
            b->p[b->len++] = s[0];
        return;
    }
    hl = header(h, n, 0x80);
    if (chain_buf_reserve(b, hl + n) != 0)
        return;
    memcpy(b->p + b->len, h, hl);
    if (n)
        memcpy(b->p + b->len + hl, s, n);
    b->len += hl + n;
}

void rlp_uint(struct chain_buf *b, uint64_t v)
{
    uint8_t be[8];
    size_t i = 0;

    for (int k = 0; k < 8; k++)
        be[k] = (uint8_t)(v >> (56 - 8 * k));
    while (i < 8 && be[i] == 0)
        i++;
    rlp_bytes(b, be + i, 8 - i);
}

void rlp_u256(struct chain_buf *b, const uint8_t be[32])
{
    size_t i = 0;

    while (i < 32 && be[i] == 0)
        i++;
    rlp_bytes(b, be + i, 32 - i);
}

void rlp_list_close(struct chain_buf *b, size_t start)
{
    uint8_t h[9];
    size_t n = b->len - start, hl = header(h, n, 0xc0);

    if (chain_buf_reserve(b, hl) != 0)
        return;
    memmove(b->p + start + hl, b->p + start, n);
    memcpy(b->p + start, h, hl);
    b->len += hl;
}

int rlp_next(const uint8_t *base, const uint8_t **cur, const uint8_t *end, struct rlp_item *it,
             struct gtee_err *err)
{
    const uint8_t *p = *cur;
    size_t off = (size_t)(p - base), avail = (size_t)(end - p), n = 0, k;
    uint8_t b0;
    int rc = 0;

    ENSURE(avail >= 1, err, GTEE_EFORMAT, "rlp: item expected at offset %zu, input ends", off);
    b0 = p[0];
    it->list = b0 >= 0xc0;
    if (b0 < 0x80) {
        it->p = p;
        it->len = 1;
        *cur = p + 1;
        return 0;
    }
    /* strings: 0x80..0xb7 short, 0xb8..0xbf long; lists: 0xc0..0xf7 short, 0xf8..0xff long */
    if (b0 <= 0xb7 || (b0 >= 0xc0 && b0 <= 0xf7)) {
        n = (size_t)(b0 - (it->list ? 0xc0 : 0x80));
        k = 0;
    } else {
        k = (size_t)(b0 - (it->list ? 0xf7 : 0xb7));
        ENSURE(k <= sizeof(size_t) && avail - 1 >= k, err, GTEE_EFORMAT,
               "rlp: length of length %zu at offset %zu runs past the input", k, off);
        ENSURE(p[1] != 0, err, GTEE_EFORMAT, "rlp: length with a leading zero at offset %zu", off);
        for (size_t i = 0; i < k; i++)
            n = n << 8 | p[1 + i];
        ENSURE(n > 55, err, GTEE_EFORMAT, "rlp: long form for a length of %zu at offset %zu", n, off);
    }
    ENSURE(n <= avail - 1 - k, err, GTEE_EFORMAT, "rlp: item of %zu bytes at offset %zu runs past the input", n,
           off);
    ENSURE(it->list || !(n == 1 && k == 0 && p[1] < 0x80), err, GTEE_EFORMAT,
           "rlp: single byte below 0x80 wrapped as a string at offset %zu", off);
    it->p = p + 1 + k;
    it->len = n;
    *cur = p + 1 + k + n;
out:
    return rc;
}
