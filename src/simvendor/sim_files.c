/* File handling of a simulated device directory: writing files with exact modes through the
 * output helper (and undoing a half-made device), reading them back with a permission
 * check for secrets. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "simvendor/sim_files.h"

/* Through the one output helper, under the device's directory descriptor: never
 * replacing, never following a link, the mode exact whatever the umask. */
int sim_writer_put(struct sim_writer *w, const char *rel, const void *data, size_t len, mode_t mode,
                   struct gtee_err *err)
{
    int rc = GTEE_EIO;

    ENSURE(w->n < SIM_WRITER_MAX && strlen(rel) < sizeof(w->names[0]), err, GTEE_EINVAL,
           "sim: too many files or name too long (%s)", rel);
    TRY(gtee_file_writeat(w->dirfd, rel, data, len, mode, 0, err));
    strcpy(w->names[w->n], rel);
    w->is_dir[w->n++] = 0;
out:
    return rc;
}

int sim_writer_mkdir(struct sim_writer *w, const char *rel, mode_t mode, struct gtee_err *err)
{
    int rc = GTEE_EIO;

    ENSURE(w->n < SIM_WRITER_MAX && strlen(rel) < sizeof(w->names[0]), err, GTEE_EINVAL,
           "sim: too many files or name too long (%s)", rel);
    ENSURE(mkdirat(w->dirfd, rel, mode) == 0, err, GTEE_EIO, "sim: cannot create directory %s (%s)", rel,
           strerror(errno));
    strcpy(w->names[w->n], rel);
    w->is_dir[w->n++] = 1;
    ENSURE(fchmodat(w->dirfd, rel, mode, 0) == 0, err, GTEE_EIO, "sim: cannot set the mode of %s (%s)", rel,
           strerror(errno));
    rc = 0;
out:
    return rc;
}

void sim_writer_undo(struct sim_writer *w)
{
    while (w->n > 0) {
        w->n--;
        (void)unlinkat(w->dirfd, w->names[w->n], w->is_dir[w->n] ? AT_REMOVEDIR : 0);
    }
}

int sim_read_file(int dirfd, const char *rel, int secret, size_t max, uint8_t **out, size_t *out_len,
                  struct gtee_err *err)
{
    struct stat st = { 0 };
    uint8_t *buf = NULL;
    size_t got = 0;
    int fd, rc = GTEE_EIO;

    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: a FIFO planted as a device file fails the check below at once instead of
     * blocking the open (and the enclave, and its host) until a writer appears. This is
     * gtee_file_open_read's rule, relative to the device directory and without following
     * a symlink. A regular file ignores the flag. */
    fd = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    ENSURE(fd >= 0, err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO, "sim: cannot open %s (%s)", rel,
           strerror(errno));
    ENSURE(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), err, GTEE_EIO, "sim: %s is not a regular file", rel);
    /* A secret readable by group or others would be a misconfigured device. */
    ENSURE(!secret || (st.st_mode & 077) == 0, err, GTEE_EPERM,
           "sim: %s may be accessed by group or others (mode %03o; want 0600)", rel,
           (unsigned)(st.st_mode & 0777));
    ENSURE((size_t)st.st_size <= max, err, GTEE_EFORMAT, "sim: %s is larger than %zu bytes", rel, max);
    buf = malloc((size_t)st.st_size + 1);
    ENSURE(buf, err, GTEE_ENOMEM, "sim: out of memory reading %s", rel);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n > 0, err, GTEE_EIO, "sim: cannot read %s (at byte %zu)", rel, got);
        got += (size_t)n;
    }
    buf[got] = 0;
    *out = buf;
    *out_len = got;
    buf = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (buf) {
        gtee_wipe(buf, (size_t)st.st_size + 1);
        free(buf);
    }
    return rc;
}
