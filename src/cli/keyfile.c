/* Key files: one line `PREFIX<64 hex digits>\n`, mode 0600: a sealed-container key
 * (`gtee-box-key-v1:`) or an X25519 identity (`gtee-identity-v1:`). Written through the
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

#define HEX_LEN (2 * CLI_SECRET_LEN)
#define PREFIX_MAX 32
#define READ_MAX 512 /* a key file is one line of under 100 bytes; more is malformed */

/* Through the output helper: a temporary beside the target, 0600, fsync, rename (never
 * replacing without overwrite, and never a FIFO or device even with it). */
int cli_secret_write(const char *path, const char *prefix, const uint8_t secret[CLI_SECRET_LEN], int overwrite,
                     struct gtee_err *err)
{
    char line[PREFIX_MAX + HEX_LEN + 2];
    size_t n = strlen(prefix);
    int rc;

    if (n > PREFIX_MAX)
        return GTEE_FAIL(err, GTEE_EINVAL, "key file %s: prefix too long", path);
    memcpy(line, prefix, n);
    gtee_hex_encode(secret, CLI_SECRET_LEN, line + n);
    line[n + HEX_LEN] = '\n';
    line[n + HEX_LEN + 1] = '\0';
    rc = gtee_file_write(path, line, n + HEX_LEN + 1, 0600, overwrite ? GTEE_FILE_REPLACE : 0, err);
    gtee_wipe(line, sizeof(line));
    return rc;
}

int cli_keyfile_write(const char *path, const struct gtee_box_key *key, int overwrite, struct gtee_err *err)
{
    return cli_secret_write(path, CLI_BOX_KEY_PREFIX, key->bytes, overwrite, err);
}

/* Parses the bytes of a key file through the bounded reader; messages give line and column
 * (1-based), never key digits. kind names the file in messages ("key", "identity"). */
int cli_secret_parse(const char *path, const char *kind, const char *want, const uint8_t *buf, size_t len,
                     uint8_t secret[CLI_SECRET_LEN], struct gtee_err *err)
{
    size_t want_len = strlen(want);
    struct span s = span_init(buf, len), scan = s;
    const uint8_t *c = NULL, *prefix;
    size_t colon;
    int rc = GTEE_EFORMAT;

    ENSURE(len > 0, err, GTEE_EFORMAT, "%s file %s is empty", kind, path);
    while ((c = span_take(&scan, 1)) && *c != ':' && *c != '\n')
        ;
    ENSURE(c && *c == ':', err, GTEE_EFORMAT, "%s file %s, line 1: no type prefix (expected '%s')", kind, path, want);
    colon = scan.off - 1;
    prefix = span_take(&s, want_len);
    /* The bytes before the colon are never echoed: a foreign file (another tool's key) may
     * hold secret material there. Say what was expected and where. */
    ENSURE(colon == want_len - 1 && prefix && memcmp(prefix, want, want_len) == 0, err, GTEE_EFORMAT,
           "%s file %s, line 1, column 1: wrong key type (a %zu-byte type before the colon at column %zu; expected "
           "'%.*s')",
           kind, path, colon, colon + 1, (int)(want_len - 1), want);
    for (size_t i = 0; i < HEX_LEN; i++) {
        int v;

        c = span_take(&s, 1);
        ENSURE(c && *c != '\n' && *c != '\r', err, GTEE_EFORMAT,
               "%s file %s, line 1, column %zu: key has %zu hex digits, expected %d", kind, path, want_len + i + 1, i,
               HEX_LEN);
        v = gtee_hex_digit(*c);
        ENSURE(v >= 0, err, GTEE_EFORMAT, "%s file %s, line 1, column %zu: expected a hex digit", kind, path, s.off);
        if (i % 2 == 0)
            secret[i / 2] = (uint8_t)(v << 4);
        else
            secret[i / 2] |= (uint8_t)v;
    }
    c = span_take(&s, 1);
    ENSURE(!c || *c == '\n', err, GTEE_EFORMAT,
           "%s file %s, line 1, column %zu: expected end of line after %d hex digits", kind, path, s.off, HEX_LEN);
    ENSURE(s.len == 0, err, GTEE_EFORMAT, "%s file %s, line 2: unexpected content after the key line", kind, path);
    rc = 0;
out:
    if (rc < 0)
        gtee_wipe(secret, CLI_SECRET_LEN);
    return rc;
}

int cli_keyfile_parse(const char *path, const uint8_t *buf, size_t len, struct gtee_box_key *key,
                      struct gtee_err *err)
{
    return cli_secret_parse(path, "key", CLI_BOX_KEY_PREFIX, buf, len, key->bytes, err);
}

int cli_secret_read(const char *path, const char *kind, const char *want, uint8_t secret[CLI_SECRET_LEN],
                    struct gtee_err *err)
{
    uint8_t buf[READ_MAX + 1];
    size_t len = 0;
    struct stat st;
    int fd, rc = GTEE_EIO;

    /* O_NONBLOCK: a FIFO planted as the key file must not hang the open; it is refused below */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ENSURE(fd >= 0, err, GTEE_EIO, "cannot open %s file %s: %s", kind, path, strerror(errno));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "cannot stat %s file %s: %s", kind, path, strerror(errno));
    ENSURE(S_ISREG(st.st_mode), err, GTEE_EFORMAT, "%s file %s is not a regular file", kind, path);
    ENSURE((st.st_mode & 077) == 0, err, GTEE_EPERM,
           "%s file %s is accessible by group or others (mode %04o); run: chmod 600 %s", kind, path,
           (unsigned)(st.st_mode & 07777), path);
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);

        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "cannot read %s file %s: %s", kind, path, strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    ENSURE(len <= READ_MAX, err, GTEE_EFORMAT, "%s file %s is too large (a %s file is one line of %zu bytes)", kind,
           path, kind, strlen(want) + HEX_LEN + 1);
    TRY(cli_secret_parse(path, kind, want, buf, len, secret, err));
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    gtee_wipe(buf, sizeof(buf));
    return rc;
}

int cli_keyfile_read(const char *path, struct gtee_box_key *key, struct gtee_err *err)
{
    return cli_secret_read(path, "key", CLI_BOX_KEY_PREFIX, key->bytes, err);
}
