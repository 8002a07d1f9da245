/* The content identifier of a container (docs/container.md §5): SHA-256 of its bytes. In an
 * object of its own, so that a program that seals and uploads containers (the host's `gtee
 * push`) can name them without linking container opening (scripts/check-never-rule.sh). */
#include <stdlib.h>

#include "base/guard.h"
#include "box/internal.h"

int gtee_box_content_id(int fd, uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size, struct gtee_err *err)
{
    struct gtee_sha256_ctx *h = NULL;
    const size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    uint64_t total = 0;
    ssize_t n;
    int rc = GTEE_ENOMEM;

    ENSURE(buf, err, GTEE_ENOMEM, "content id: out of memory");
    ENSURE(gtee_sha256_new(&h) == 0, err, GTEE_ECRYPTO, "content id: hash setup failed");
    while ((n = box_read_full(fd, buf, cap, err)) > 0) {
        ENSURE(gtee_sha256_update(h, buf, (size_t)n) == 0, err, GTEE_ECRYPTO, "content id: hash failed");
        total += (uint64_t)n;
    }
    TRY((int)n);
    ENSURE(gtee_sha256_final(h, id) == 0, err, GTEE_ECRYPTO, "content id: hash failed");
    if (size)
        *size = total;
    rc = 0;
out:
    gtee_sha256_free(h);
    free(buf);
    return rc;
}
