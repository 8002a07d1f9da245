/* The growing byte buffer of the chain's encoders. */
#include <stdlib.h>
#include <string.h>

#include "chain/buf.h"

int chain_buf_reserve(struct chain_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    uint8_t *p;

    if (b->oom)
        return -1;
    if (more > SIZE_MAX / 4 - b->len) {
        b->oom = 1;
        return -1;
    }
    while (cap < b->len + more)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void chain_buf_put(struct chain_buf *b, const void *p, size_t n)
{
    if (n && chain_buf_reserve(b, n) == 0) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

void chain_buf_free(struct chain_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
