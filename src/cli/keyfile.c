/* Key files: one line `gtee-box-key-v1:<64 hex digits>\n`, mode 0600. Written through a
 * temporary file and a rename; read only when no group/other permission bit is set. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "cli/cli.h"

#define PREFIX_LEN (sizeof(CLI_BOX_KEY_PREFIX) - 1)
#define HEX_LEN (2 * GTEE_BOX_KEY_LEN)
#define LINE_LEN (PREFIX_LEN + HEX_LEN + 1)
#define READ_MAX 512 /* a key file is LINE_LEN bytes; more is malformed */

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Moves tmp to path; without overwrite, fails with EEXIST rather than replace a file. */
static int move_into_place(const char *tmp, const char *path, int overwrite)
{
    if (overwrite)
        return rename(tmp, path);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* File systems without RENAME_NOREPLACE: link() also refuses an existing name. */
    if (link(tmp, path) != 0)
        return -1;
    unlink(tmp);
    return 0;
}

int cli_keyfile_write(const char *path, const struct gtee_box_key *key, int overwrite, struct gtee_err *err)
{
    char line[LINE_LEN + 1];
    char tmp[4096];
    uint8_t rnd[8];
    char rnd_hex[2 * sizeof(rnd) + 1];
    struct stat st;
    int fd = -1, made_tmp = 0, rc = GTEE_EIO;

    ENSURE(overwrite || lstat(path, &st) != 0, err, GTEE_EEXIST,
           "refusing to overwrite %s (use --force)", path);
    TRY(gtee_random(rnd, sizeof(rnd)));
    gtee_hex_encode(rnd, sizeof(rnd), rnd_hex);
    ENSURE((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rnd_hex) < sizeof(tmp), err,
           GTEE_EINVAL, "key file path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    ENSURE(fd >= 0, err, GTEE_EIO, "cannot create %s: %s", tmp, strerror(errno));
    made_tmp = 1;
    ENSURE(fchmod(fd, 0600) == 0, err, GTEE_EIO, "cannot set mode 0600 on %s: %s", tmp, strerror(errno));
    memcpy(line, CLI_BOX_KEY_PREFIX, PREFIX_LEN);
    gtee_hex_encode(key->bytes, GTEE_BOX_KEY_LEN, line + PREFIX_LEN);
    line[LINE_LEN - 1] = '\n';
    line[LINE_LEN] = '\0';
    ENSURE(write_all(fd, line, LINE_LEN) == 0 && fsync(fd) == 0, err, GTEE_EIO, "cannot write %s: %s", tmp,
           strerror(errno));
    ENSURE(close(fd) == 0, err, GTEE_EIO, "cannot write %s: %s", tmp, strerror(errno));
    fd = -1;
    if (move_into_place(tmp, path, overwrite) != 0) {
        int e = errno;

        ENSURE(e != EEXIST, err, GTEE_EEXIST, "refusing to overwrite %s (use --force)", path);
        ENSURE(0, err, GTEE_EIO, "cannot move key file into place at %s: %s", path, strerror(e));
    }
    made_tmp = 0;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (made_tmp)
        unlink(tmp);
    gtee_wipe(line, sizeof(line));
    return rc;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses the bytes of a key file through the bounded reader; messages give line and column
 * (1-based), never key digits. */
int cli_keyfile_parse(const char *path, const uint8_t *buf, size_t len, struct gtee_box_key *key,
                      struct gtee_err *err)
{
    struct span s = span_init(buf, len), scan = s;
    const uint8_t *c = NULL, *prefix;
    size_t colon;
    int rc = GTEE_EFORMAT;

    ENSURE(len > 0, err, GTEE_EFORMAT, "key file %s is empty", path);
    while ((c = span_take(&scan, 1)) && *c != ':' && *c != '\n')
        ;
    ENSURE(c && *c == ':', err, GTEE_EFORMAT, "key file %s, line 1: no type prefix (expected '%s')", path,
           CLI_BOX_KEY_PREFIX);
    colon = scan.off - 1;
    prefix = span_take(&s, PREFIX_LEN);
    if (colon != PREFIX_LEN - 1 || !prefix || memcmp(prefix, CLI_BOX_KEY_PREFIX, PREFIX_LEN) != 0) {
        int printable = colon <= 40;

        for (size_t i = 0; i < colon && printable; i++)
            printable = buf[i] >= 0x21 && buf[i] < 0x7f;
        ENSURE(!printable, err, GTEE_EFORMAT, "key file %s, line 1, column 1: wrong key type '%.*s' (expected '%.*s')",
               path, (int)colon, (const char *)buf, (int)(PREFIX_LEN - 1), CLI_BOX_KEY_PREFIX);
        ENSURE(0, err, GTEE_EFORMAT, "key file %s, line 1, column 1: unrecognised key type (expected '%.*s')", path,
               (int)(PREFIX_LEN - 1), CLI_BOX_KEY_PREFIX);
    }
    for (size_t i = 0; i < HEX_LEN; i++) {
        int v;

        c = span_take(&s, 1);
        ENSURE(c && *c != '\n' && *c != '\r', err, GTEE_EFORMAT,
               "key file %s, line 1, column %zu: key has %zu hex digits, expected %d", path, PREFIX_LEN + i + 1, i,
               HEX_LEN);
        v = hexval(*c);
        ENSURE(v >= 0, err, GTEE_EFORMAT, "key file %s, line 1, column %zu: expected a hex digit", path, s.off);
        if (i % 2 == 0)
            key->bytes[i / 2] = (uint8_t)(v << 4);
        else
            key->bytes[i / 2] |= (uint8_t)v;
    }
    c = span_take(&s, 1);
    ENSURE(!c || *c == '\n', err, GTEE_EFORMAT,
           "key file %s, line 1, column %zu: expected end of line after %d hex digits", path, s.off, HEX_LEN);
    ENSURE(s.len == 0, err, GTEE_EFORMAT, "key file %s, line 2: unexpected content after the key line", path);
    rc = 0;
out:
    if (rc < 0)
        gtee_box_key_wipe(key);
    return rc;
}

int cli_keyfile_read(const char *path, struct gtee_box_key *key, struct gtee_err *err)
{
    uint8_t buf[READ_MAX + 1];
    size_t len = 0;
    struct stat st;
    int fd, rc = GTEE_EIO;

    /* O_NONBLOCK: a FIFO planted as the key file must not hang the open; it is refused below */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ENSURE(fd >= 0, err, GTEE_EIO, "cannot open key file %s: %s", path, strerror(errno));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "cannot stat key file %s: %s", path, strerror(errno));
    ENSURE(S_ISREG(st.st_mode), err, GTEE_EFORMAT, "key file %s is not a regular file", path);
    ENSURE((st.st_mode & 077) == 0, err, GTEE_EPERM,
           "key file %s is accessible by group or others (mode %04o); run: chmod 600 %s", path,
           (unsigned)(st.st_mode & 07777), path);
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);

        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "cannot read key file %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    ENSURE(len <= READ_MAX, err, GTEE_EFORMAT, "key file %s is too large (a box key file is one line of %zu bytes)",
           path, (size_t)LINE_LEN);
    TRY(cli_keyfile_parse(path, buf, len, key, err));
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    gtee_wipe(buf, sizeof(buf));
    return rc;
}
