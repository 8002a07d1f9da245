/* Container geometry from its size alone (docs/container.md): a header, then chunks of
 * chunk_size plaintext bytes plus a tag each, the last one shorter. */
#include "cli/cli.h"

int cli_box_layout(uint64_t container_size, uint32_t chunk_size, uint64_t *chunks, uint64_t *plaintext)
{
    uint64_t body, per, n;

    if (chunk_size == 0 || container_size < GTEE_BOX_HEADER_LEN + GTEE_BOX_TAG_LEN)
        return GTEE_EFORMAT;
    body = container_size - GTEE_BOX_HEADER_LEN;
    per = (uint64_t)chunk_size + GTEE_BOX_TAG_LEN;
    n = (body + per - 1) / per; /* the last chunk may be short, down to a bare tag */
    if (body - (n - 1) * per < GTEE_BOX_TAG_LEN)
        return GTEE_EFORMAT;
    *chunks = n;
    *plaintext = body - n * GTEE_BOX_TAG_LEN;
    return 0;
}
