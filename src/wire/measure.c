/* The enclave measurement (wire/measure.h): the hash of an executable file (the enclave reads
 * it through a descriptor of /proc/self/exe, the very inode the kernel executed; the host,
 * through the file it is about to start) and of its configuration. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

/* Appends to out[len] at *n; -1 once it no longer fits. */
__attribute__((format(printf, 4, 5))) static int append(char *out, size_t len, int *n, const char *fmt, ...)
{
    va_list ap;
    int m;

    if (*n < 0)
        return -1;
    va_start(ap, fmt);
    m = vsnprintf(out + *n, len - (size_t)*n, fmt, ap);
    va_end(ap);
    *n = (m < 0 || (size_t)m >= len - (size_t)*n) ? -1 : *n + m;
    return *n;
}

int gtee_enclave_config_text(const struct gtee_enclave_config *c, char *out, size_t len)
{
    int n = 0;

    append(out, len, &n, "tee=%s\nsim_quote_version=%d\nconfig=%s\n", c->tee ? c->tee : "", c->sim_quote_version,
           c->config ? c->config : "");
    if (c->gramine)
        append(out, len, &n, "gramine=1\n");
    if (c->allow)
        append(out, len, &n, "allow=0x%x\n", c->allow);
    if (c->memory_limit)
        append(out, len, &n, "memory_limit=%llu\n", (unsigned long long)c->memory_limit);
    return n < 0 ? GTEE_EINVAL : n;
}
