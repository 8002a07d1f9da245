/* libFuzzer target: the canonical-only RLP decoder (src/chain/rlp.c), walked recursively
 * (bounded depth); whatever decodes whole must encode back to the same bytes. Seeds: the
 * Ethereum wiki's examples and a signed EIP-1559 transaction's payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/buf.h"
#include "chain/rlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes [p, end) as a sequence of items into out (re-encoded); 0 if all of it decodes. */
static int walk(const uint8_t *base, const uint8_t *p, const uint8_t *end, struct chain_buf *out, int depth)
{
    while (p < end) {
        struct rlp_item it;

        if (rlp_next(base, &p, end, &it, NULL) != 0)
            return -1;
        if (it.list) {
            size_t start = out->len;

            if (depth >= 64 || walk(base, it.p, it.p + it.len, out, depth + 1) != 0)
                return -1;
            rlp_list_close(out, start);
        } else {
            rlp_bytes(out, it.p, it.len);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chain_buf out = {0};

    if (walk(data, data, data + size, &out, 0) == 0 && !out.oom &&
        (out.len != size || (size && memcmp(out.p, data, size) != 0)))
        abort(); /* canonical input: one encoding */
    chain_buf_free(&out);
    return 0;
}
