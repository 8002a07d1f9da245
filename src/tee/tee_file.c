/* File helpers for the backends' interface files: Gramine's /dev/attestation pseudo-files
 * and configfs-tsm attributes are read and written with ordinary system calls. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "tee/tee_int.h"

int tee_path(char *out, size_t out_len, const char *root, const char *rel, struct gtee_err *err)
{
    size_t rl = strlen(root);
    int n;

    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    n = snprintf(out, out_len, "%.*s%s%s", (int)rl, root, (rl == 1 && root[0] == '/') ? "" : "/", rel);
    if (n < 0 || (size_t)n >= out_len)
        return GTEE_FAIL(err, GTEE_EINVAL, "tee: path too long (%s under the TEE root)", rel);
    return 0;
}

int tee_file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

int tee_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, struct gtee_err *err)
{
    uint8_t *b = NULL;
    size_t used = 0, cap = 4096;
    int fd, rc = GTEE_EIO;

    *buf = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return GTEE_FAIL(err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO, "tee: cannot open %s (%s)",
                         path, strerror(errno));
    b = malloc(cap);
    ENSURE(b, err, GTEE_ENOMEM, "tee: out of memory reading %s", path);
    for (;;) {
        ssize_t got;

        if (used == cap) {
            uint8_t *nb;

            ENSURE(cap <= max, err, GTEE_EFORMAT, "tee: %s is larger than %zu bytes", path, max);
            cap *= 2;
            nb = realloc(b, cap);
            ENSURE(nb, err, GTEE_ENOMEM, "tee: out of memory reading %s", path);
            b = nb;
        }
        got = read(fd, b + used, cap - used);
        if (got < 0 && errno == EINTR)
            continue;
        ENSURE(got >= 0, err, GTEE_EIO, "tee: read of %s failed (%s)", path, strerror(errno));
        if (got == 0)
            break;
        used += (size_t)got;
    }
    ENSURE(used <= max, err, GTEE_EFORMAT, "tee: %s is larger than %zu bytes", path, max);
    *buf = b;
    *len = used;
    b = NULL;
    rc = 0;
out:
    free(b);
    close(fd);
    return rc;
}

int tee_read_text(const char *path, char *out, size_t out_len, struct gtee_err *err)
{
    uint8_t *b = NULL;
    size_t n = 0;
    int rc;

    TRY(tee_read_file(path, out_len - 1, &b, &n, err));
    TRY(tee_text_parse(b, n, out, out_len, path, err));
out:
    free(b);
    return rc;
}

int tee_text_parse(const uint8_t *b, size_t n, char *out, size_t out_len, const char *what, struct gtee_err *err)
{
    int rc = GTEE_EFORMAT;

    ENSURE(out_len > 0 && n < out_len, err, GTEE_EFORMAT, "tee: %s is longer than %zu bytes", what,
           out_len ? out_len - 1 : 0);
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' ' || b[n - 1] == '\0'))
        n--;
    ENSURE(n == 0 || memchr(b, '\0', n) == NULL, err, GTEE_EFORMAT, "tee: %s holds a NUL byte", what);
    if (n > 0)
        memcpy(out, b, n);
    out[n] = '\0';
    rc = 0;
out:
    return rc;
}

int tee_write_file(const char *path, const void *buf, size_t len, struct gtee_err *err)
{
    const uint8_t *p = buf;
    int fd, rc = GTEE_EIO;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return GTEE_FAIL(err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO, "tee: cannot open %s for writing (%s)",
                         path, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        ENSURE(w > 0, err, GTEE_EIO, "tee: write to %s failed (%s)", path, w < 0 ? strerror(errno) : "short write");
        p += w;
        len -= (size_t)w;
    }
    rc = 0;
out:
    if (close(fd) != 0 && rc == 0)
        rc = GTEE_FAIL(err, GTEE_EIO, "tee: close of %s failed (%s)", path, strerror(errno));
    return rc;
}
