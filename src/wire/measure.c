/* The enclave measurement (wire/measure.h): the hash of an executable file (the enclave reads
 * it through a descriptor of /proc/self/exe, the very inode the kernel executed; the host,
 * through the file it is about to start) and of its configuration. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "wire/measure.h"
#include "gtee/crypto.h"

int gtee_enclave_hash_fd(int fd, uint8_t out[32], struct gtee_err *err)
{
    struct gtee_sha256_ctx *h = NULL;
    uint8_t buf[65536];
    off_t off = 0;
    int rc = GTEE_ECRYPTO;

    ENSURE(gtee_sha256_new(&h) == 0, err, GTEE_ECRYPTO, "measure: hash init failed");
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof(buf), off); /* pread: the offset is ours, not shared */

        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "measure: read of the executable failed (%s)", strerror(errno));
        if (n == 0)
            break;
        ENSURE(gtee_sha256_update(h, buf, (size_t)n) == 0, err, GTEE_ECRYPTO, "measure: hash failed");
        off += n;
    }
    ENSURE(gtee_sha256_final(h, out) == 0, err, GTEE_ECRYPTO, "measure: hash failed");
    rc = 0;
out:
    gtee_sha256_free(h);
    return rc;
}

int gtee_enclave_measurement(const uint8_t exe_sha256[32], const void *config, size_t config_len, uint8_t out[32],
                             struct gtee_err *err)
{
    static const char tag[] = "gtee enclave measurement v1";
    uint8_t buf[sizeof(tag) + 64];
    int rc = GTEE_ECRYPTO;

    memcpy(buf, tag, sizeof(tag)); /* with its NUL separator */
    memcpy(buf + sizeof(tag), exe_sha256, 32);
    ENSURE(gtee_sha256(config, config_len, buf + sizeof(tag) + 32) == 0, err, GTEE_ECRYPTO, "measure: hash failed");
    ENSURE(gtee_sha256(buf, sizeof(buf), out) == 0, err, GTEE_ECRYPTO, "measure: hash failed");
    rc = 0;
out:
    return rc;
}
