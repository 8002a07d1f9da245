/* The one bounds-checked reader for untrusted bytes (STYLE.md): a cursor over pointer +
 * remaining length. Every read checks the length first; a short read sets `bad` and
 * leaves the cursor unchanged, so a parser can read a whole structure and test once. */
#ifndef GTEE_BASE_SPAN_H
#define GTEE_BASE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct span {
    const uint8_t *p;
    size_t len;
    size_t off;   /* bytes consumed since span_init, for error messages */
    bool bad;     /* a read ran past the end */
};

static inline struct span span_init(const void *p, size_t len)
{
    struct span s = { (const uint8_t *)p, len, 0, false };
    return s;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets bad). */
static inline const uint8_t *span_take(struct span *s, size_t n)
{
    const uint8_t *p;

    if (s->bad || n > s->len) {
        s->bad = true;
        return NULL;
    }
    p = s->p;
    s->p += n;
    s->len -= n;
    s->off += n;
    return p;
}

/* A sub-span of the next n bytes; the parent advances past them. */
static inline struct span span_sub(struct span *s, size_t n)
{
    size_t off = s->off;
    const uint8_t *p = span_take(s, n);
    struct span sub = span_init(p, p ? n : 0);

    sub.off = off;
    sub.bad = (p == NULL);
    return sub;
}

static inline bool span_copy(struct span *s, void *dst, size_t n)
{
    const uint8_t *p = span_take(s, n);

    if (!p)
        return false;
    memcpy(dst, p, n);
    return true;
}

static inline uint8_t span_u8(struct span *s)
{
    const uint8_t *p = span_take(s, 1);
    return p ? p[0] : 0;
}

static inline uint16_t span_u16le(struct span *s)
{
    const uint8_t *p = span_take(s, 2);
    return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

static inline uint32_t span_u32le(struct span *s)
{
    const uint8_t *p = span_take(s, 4);
    return p ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24) : 0;
}

static inline uint64_t span_u64le(struct span *s)
{
    uint64_t lo = span_u32le(s);
    uint64_t hi = span_u32le(s);
    return lo | (hi << 32);
}

static inline uint16_t span_u16be(struct span *s)
{
    const uint8_t *p = span_take(s, 2);
    return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t span_u32be(struct span *s)
{
    const uint8_t *p = span_take(s, 4);
    return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3] : 0;
}

static inline uint64_t span_u64be(struct span *s)
{
    uint64_t hi = span_u32be(s);
    uint64_t lo = span_u32be(s);
    return (hi << 32) | lo;
}

/* Big-endian writers for building fixed layouts. */
static inline void put_u16be(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void put_u64be(uint8_t *p, uint64_t v) { put_u32be(p, (uint32_t)(v >> 32)); put_u32be(p + 4, (uint32_t)v); }
static inline void put_u16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* Checked size arithmetic: false on overflow. */
static inline bool size_add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool size_mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }

#endif
