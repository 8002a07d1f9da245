/* Key files: one line `gtee-box-key-v1:<64 hex digits>\n`, mode 0600. Written through the
 * output helper; read only when no group/other permission bit is set. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "cli/cli.h"

#define PREFIX_LEN (sizeof(CLI_BOX_KEY_PREFIX) - 1)
#define HEX_LEN (2 * GTEE_BOX_KEY_LEN)
#define LINE_LEN (PREFIX_LEN + HEX_LEN + 1)
#define READ_MAX 512 /* a key file is LINE_LEN bytes; more is malformed */

/* Through the output helper: a temporary beside the target, 0600, fsync, rename (never
 * replacing without overwrite, and never a FIFO or device even with it). */
int cli_keyfile_write(const char *path, const struct gtee_box_key *key, int overwrite, struct gtee_err *err)
{
    char line[LINE_LEN + 1];
    int rc;

    memcpy(line, CLI_BOX_KEY_PREFIX, PREFIX_LEN);
    gtee_hex_encode(key->bytes, GTEE_BOX_KEY_LEN, line + PREFIX_LEN);
    line[LINE_LEN - 1] = '\n';
    line[LINE_LEN] = '\0';
    rc = gtee_file_write(path, line, LINE_LEN, 0600, overwrite ? GTEE_FILE_REPLACE : 0, err);
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
    /* The bytes before the colon are never echoed: a foreign file (another tool's key) may
     * hold secret material there. Say what was expected and where. */
    ENSURE(colon == PREFIX_LEN - 1 && prefix && memcmp(prefix, CLI_BOX_KEY_PREFIX, PREFIX_LEN) == 0, err,
           GTEE_EFORMAT, "key file %s, line 1, column 1: wrong key type (a %zu-byte type before the colon at column %zu; expected '%.*s')",
           path, colon, colon + 1, (int)(PREFIX_LEN - 1), CLI_BOX_KEY_PREFIX);
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
