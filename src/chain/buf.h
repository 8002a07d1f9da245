/* Internal: the growing byte buffer the RLP and ABI encoders write into. An allocation
 * failure is sticky (oom), so a caller checks once after a whole encoding. */
#ifndef GTEE_CHAIN_BUF_H
#define GTEE_CHAIN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct chain_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

/* Room for more bytes at the end; -1 (and oom set) when there is none. */
int chain_buf_reserve(struct chain_buf *b, size_t more);
void chain_buf_put(struct chain_buf *b, const void *p, size_t n);
void chain_buf_free(struct chain_buf *b);

#endif
