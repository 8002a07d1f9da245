/* The contract ABI's encoding of the values the evm client sends and the bounds-checked
 * reading of what calls return (Solidity "Contract ABI Specification": head words, dynamic
 * tails, Error(string) and Panic(uint256) reverts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/buf.h"
#include "gtee/crypto.h"

void abi_selector(struct chain_buf *b, const char *signature)
{
    uint8_t h[32];

    gtee_keccak256(signature, strlen(signature), h);
    chain_buf_put(b, h, 4);
}

void abi_u64(struct chain_buf *b, uint64_t v)
{
    uint8_t w[32] = {0};

    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
    chain_buf_put(b, w, 32);
}

void abi_u256(struct chain_buf *b, const uint8_t be[32])
{
    chain_buf_put(b, be, 32);
}

void abi_address(struct chain_buf *b, const uint8_t addr[20])
{
    uint8_t w[32] = {0};

    memcpy(w + 12, addr, 20);
    chain_buf_put(b, w, 32);
}

void abi_bytes32(struct chain_buf *b, const uint8_t w[32])
{
    chain_buf_put(b, w, 32);
}

void abi_tail(struct chain_buf *b, const void *p, size_t n)
{
    static const uint8_t zero[32];

    abi_u64(b, n);
    chain_buf_put(b, p, n);
    chain_buf_put(b, zero, (32 - n % 32) % 32);
}

int abi_word(const uint8_t *data, size_t len, size_t idx, uint8_t out[32], struct gtee_err *err)
{
    if (idx >= len / 32)
        return GTEE_FAIL(err, GTEE_EFORMAT, "abi: word %zu past the %zu bytes returned", idx, len);
    memcpy(out, data + 32 * idx, 32);
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int abi_word_u64(const uint8_t *data, size_t len, size_t idx, uint64_t *out, struct gtee_err *err)
{
    uint8_t w[32];
    int rc;

    TRY(abi_word(data, len, idx, w, err));
    ENSURE(all_zero(w, 24), err, GTEE_EFORMAT, "abi: word %zu does not fit in 64 bits", idx);
    *out = 0;
    for (int i = 24; i < 32; i++)
        *out = *out << 8 | w[i];
out:
    return rc;
}

int abi_word_address(const uint8_t *data, size_t len, size_t idx, uint8_t out[20], struct gtee_err *err)
{
    uint8_t w[32];
    int rc;

    TRY(abi_word(data, len, idx, w, err));
    ENSURE(all_zero(w, 12), err, GTEE_EFORMAT, "abi: word %zu is not an address", idx);
    memcpy(out, w + 12, 20);
out:
    return rc;
}

int abi_string(const uint8_t *data, size_t len, size_t base, size_t idx, char **out, struct gtee_err *err)
{
    uint64_t off, n;
    int rc;

    *out = NULL;
    ENSURE(base <= len, err, GTEE_EFORMAT, "abi: base %zu past the %zu bytes returned", base, len);
    TRY(abi_word_u64(data + base, len - base, idx, &off, err));
    ENSURE(off % 32 == 0 && off <= len - base, err, GTEE_EFORMAT, "abi: string offset %llu out of bounds",
           (unsigned long long)off);
    TRY(abi_word_u64(data + base + off, len - base - off, 0, &n, err));
    ENSURE(n <= len - base - off - 32, err, GTEE_EFORMAT, "abi: string of %llu bytes runs past the data",
           (unsigned long long)n);
    ENSURE(!memchr(data + base + off + 32, 0, n), err, GTEE_EFORMAT, "abi: string holds a NUL byte");
    *out = malloc(n + 1);
    ENSURE(*out, err, GTEE_ENOMEM, "abi: out of memory for a string of %llu bytes", (unsigned long long)n);
    memcpy(*out, data + base + off + 32, n);
    (*out)[n] = '\0';
out:
    return rc;
}

void abi_revert_reason(const uint8_t *data, size_t len, char *out, size_t out_len)
{
    static const uint8_t error_sel[4] = { 0x08, 0xc3, 0x79, 0xa0 }; /* Error(string) */
    static const uint8_t panic_sel[4] = { 0x4e, 0x48, 0x7b, 0x71 }; /* Panic(uint256) */
    char *msg = NULL;
    uint64_t code;

    if (len == 0) {
        snprintf(out, out_len, "no reason given");
    } else if (len >= 4 && !memcmp(data, error_sel, 4) && abi_string(data + 4, len - 4, 0, 0, &msg, NULL) == 0) {
        gtee_err_escape(msg, strlen(msg), out, out_len);
        free(msg);
    } else if (len == 36 && !memcmp(data, panic_sel, 4) && abi_word_u64(data + 4, 32, 0, &code, NULL) == 0) {
        snprintf(out, out_len, "panic 0x%02llx", (unsigned long long)code);
    } else {
        snprintf(out, out_len, "undecoded revert data of %zu bytes", len);
    }
}
