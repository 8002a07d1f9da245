/* libFuzzer target: the container reader into memory (gtee_box_mem_*) on arbitrary bytes,
 * under the fixed key of fuzz_box_reader (its seeds open here too), cut into pieces whose
 * size the first input byte chooses, with the declared length the input's own. */
#include <stdint.h>
#include <stdlib.h>

#include "gtee/box.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_box_key key;
    struct gtee_box_mem *m = NULL;
    struct gtee_err err;
    uint8_t *pt = NULL, id[32];
    size_t pt_len = 0, step = size ? (size_t)data[0] * 37 + 1 : 1;
    int rc;

    for (int i = 0; i < GTEE_BOX_KEY_LEN; i++)
        key.bytes[i] = (uint8_t)i;
    rc = gtee_box_mem_begin(&key, size, 1u << 24, &m, &err);
    for (size_t off = 0; rc == 0 && off < size; off += step)
        rc = gtee_box_mem_feed(m, data + off, size - off < step ? size - off : step, &err);
    if (rc == 0 && gtee_box_mem_finish(m, &pt, &pt_len, id, &err) == 0)
        gtee_box_plaintext_free(pt, pt_len);
    gtee_box_mem_free(m);
    return 0;
}
