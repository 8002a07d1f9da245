/* The one way files are written (temporary beside the target, then rename) and the one way
 * named inputs are opened (regular files only, never blocking on a FIFO). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/file.h"

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

static int split_path(const char *path, char dir[GTEE_FILE_PATH_MAX], char base[GTEE_FILE_PATH_MAX],
                      struct gtee_err *err)
{
    char a[GTEE_FILE_PATH_MAX], b[GTEE_FILE_PATH_MAX];

    if (!path || !*path)
        return GTEE_FAIL(err, GTEE_EINVAL, "no output file name");
    if (strlen(path) >= sizeof(a))
        return GTEE_FAIL(err, GTEE_EINVAL, "output path too long (%zu bytes)", strlen(path));
    strcpy(a, path);
    strcpy(b, path);
    snprintf(dir, GTEE_FILE_PATH_MAX, "%s", dirname(a));
    snprintf(base, GTEE_FILE_PATH_MAX, "%s", basename(b));
    return 0;
}

/* A random name beside the target; getrandom rather than the crypto part, so the base part
 * depends on nothing. */
static int open_beside(struct gtee_file_out *o, struct gtee_err *err)
{
    char dir[GTEE_FILE_PATH_MAX], base[GTEE_FILE_PATH_MAX];
    uint8_t rnd[8];
    int rc, tries;

    TRY(split_path(o->path, dir, base, err));
    for (tries = 0; tries < 8; tries++) {
        ENSURE(getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd), err, GTEE_EIO,
               "cannot name a temporary for %s: getrandom: %s", o->path, strerror(errno));
        ENSURE((size_t)snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.gtee-tmp.%02x%02x%02x%02x%02x%02x%02x%02x", dir,
                                base, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
                                rnd[7]) < sizeof(o->tmp),
               err, GTEE_EINVAL, "output path too long: %s", o->path);
        o->fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (o->fd >= 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    rc = GTEE_FAIL(err, GTEE_EIO, "cannot create a temporary file in %s for %s: %s", dir, o->path, strerror(errno));
out:
    o->tmp[0] = '\0';
    return rc;
}

/* Staging for an existing FIFO or device: an unlinked temporary, so nothing of the output
 * has a name on disk and nothing is left after a crash. */
static int open_staging(struct gtee_file_out *o, struct gtee_err *err)
{
    const char *dir = getenv("TMPDIR");

    if (!dir || !*dir)
        dir = "/tmp";
    o->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (o->fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "cannot stage output for %s in %s: %s", o->path, dir, strerror(errno));
    o->special = 1;
    return 0;
}

int gtee_file_out_begin(struct gtee_file_out *o, const char *path, mode_t mode, unsigned flags,
                        struct gtee_err *err)
{
    return gtee_file_out_beginat(o, AT_FDCWD, path, mode, flags, err);
}

int gtee_file_out_beginat(struct gtee_file_out *o, int dirfd, const char *path, mode_t mode, unsigned flags,
                          struct gtee_err *err)
{
    struct stat st;
    int rc;

    memset(o, 0, sizeof(*o));
    o->fd = -1;
    o->dirfd = dirfd;
    o->flags = flags;
    o->mode = mode;
    ENSURE(path && *path, err, GTEE_EINVAL, "no output file name");
    ENSURE(strlen(path) < sizeof(o->path), err, GTEE_EINVAL, "output path too long (%zu bytes)", strlen(path));
    strcpy(o->path, path);
    if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        ENSURE((flags & GTEE_FILE_REPLACE) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode), err, GTEE_EEXIST,
               "output %s exists and is %s (refusing to write into it)", path, kind_of(st.st_mode));
        ENSURE(flags & GTEE_FILE_REPLACE, err, GTEE_EEXIST, "output %s already exists (refusing to overwrite; --force replaces it)",
               path);
        if ((S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) && (flags & GTEE_FILE_SPECIAL))
            return open_staging(o, err);
        ENSURE(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode), err, GTEE_EEXIST,
               "output %s exists and is %s (refusing to replace it)", path, kind_of(st.st_mode));
    } else {
        ENSURE(errno == ENOENT, err, GTEE_EIO, "cannot check output %s: %s", path, strerror(errno));
    }
    return open_beside(o, err);
out:
    return rc;
}

int gtee_file_out_write(struct gtee_file_out *o, const void *buf, size_t len, struct gtee_err *err)
{
    const uint8_t *p = buf;

    if (o->fd < 0)
        return GTEE_FAIL(err, GTEE_ESTATE, "output %s is not open", o->path);
    while (len > 0) {
        ssize_t n = write(o->fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return GTEE_FAIL(err, GTEE_EIO, "cannot write %s: %s", o->path, n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void gtee_file_out_abort(struct gtee_file_out *o)
{
    /* path is set before anything is opened: a zeroed o (fd 0) closes nothing */
    if (o->fd >= 0 && o->path[0])
        close(o->fd);
    o->fd = -1;
    if (o->tmp[0])
        unlinkat(o->dirfd, o->tmp, 0);
    o->tmp[0] = '\0';
}

/* Copies the staged output into the FIFO or device. O_NONBLOCK at open: a FIFO with no
 * reader fails (ENXIO) instead of waiting forever; writes then block as a pipe does. */
static int copy_to_special(struct gtee_file_out *o, struct gtee_err *err)
{
    uint8_t buf[65536];
    struct stat st;
    int fd = -1, rc = GTEE_EIO;
    ssize_t n;

    ENSURE(lseek(o->fd, 0, SEEK_SET) == 0, err, GTEE_EIO, "cannot rewind staged output for %s: %s", o->path,
           strerror(errno));
    fd = openat(o->dirfd, o->path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    ENSURE(fd >= 0, err, GTEE_EIO, "cannot open output %s: %s", o->path,
           errno == ENXIO ? "no process is reading the FIFO" : strerror(errno));
    ENSURE(fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)), err, GTEE_EIO,
           "output %s changed while it was written", o->path);
    ENSURE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0, err, GTEE_EIO, "cannot use output %s: %s",
           o->path, strerror(errno));
    while ((n = read(o->fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n > 0, err, GTEE_EIO, "cannot read staged output for %s: %s", o->path, strerror(errno));
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));

            if (w < 0 && errno == EINTR)
                continue;
            ENSURE(w > 0, err, GTEE_EIO, "cannot write %s: %s", o->path, w < 0 ? strerror(errno) : "short write");
            done += w;
        }
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    explicit_bzero(buf, sizeof(buf)); /* the output may be plaintext */
    return rc;
}

static int sync_dir(int dirfd, const char *path, struct gtee_err *err)
{
    char dir[GTEE_FILE_PATH_MAX], base[GTEE_FILE_PATH_MAX];
    int fd, rc;

    TRY(split_path(path, dir, base, err));
    fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(fd >= 0, err, GTEE_EIO, "%s written, but its directory cannot be opened to flush: %s", path,
           strerror(errno));
    rc = fsync(fd) == 0 || errno == EINVAL ? 0 : GTEE_FAIL(err, GTEE_EIO, "%s written, but its directory was not flushed: %s", path, strerror(errno));
    close(fd);
out:
    return rc;
}

/* Without GTEE_FILE_REPLACE the rename must not replace: RENAME_NOREPLACE, or link() on file
 * systems without it (both refuse an existing name). */
static int move_into_place(struct gtee_file_out *o, struct gtee_err *err)
{
    if (o->flags & GTEE_FILE_REPLACE) {
        if (renameat(o->dirfd, o->tmp, o->dirfd, o->path) == 0)
            return 0;
    } else if (renameat2(o->dirfd, o->tmp, o->dirfd, o->path, RENAME_NOREPLACE) == 0) {
        return 0;
    } else if ((errno == EINVAL || errno == ENOSYS) && linkat(o->dirfd, o->tmp, o->dirfd, o->path, 0) == 0) {
        unlinkat(o->dirfd, o->tmp, 0);
        return 0;
    }
    if (errno == EEXIST)
        return GTEE_FAIL(err, GTEE_EEXIST, "output %s already exists (refusing to overwrite; --force replaces it)",
                         o->path);
    return GTEE_FAIL(err, GTEE_EIO, "cannot move output into place at %s: %s", o->path, strerror(errno));
}

int gtee_file_out_commit(struct gtee_file_out *o, struct gtee_err *err)
{
    int rc;

    ENSURE(o->fd >= 0, err, GTEE_ESTATE, "output %s is not open", o->path);
    if (o->special) {
        TRY(copy_to_special(o, err));
        goto out;
    }
    ENSURE(fchmod(o->fd, o->mode) == 0, err, GTEE_EIO, "cannot set mode %04o on %s: %s", (unsigned)o->mode, o->path,
           strerror(errno));
    ENSURE(fsync(o->fd) == 0, err, GTEE_EIO, "cannot flush %s: %s", o->path, strerror(errno));
    ENSURE(close(o->fd) == 0, err, GTEE_EIO, "cannot write %s: %s", o->path, strerror(errno));
    o->fd = -1;
    TRY(move_into_place(o, err));
    o->tmp[0] = '\0';
    TRY(sync_dir(o->dirfd, o->path, err));
out:
    gtee_file_out_abort(o);
    return rc;
}

int gtee_file_write(const char *path, const void *buf, size_t len, mode_t mode, unsigned flags,
                    struct gtee_err *err)
{
    return gtee_file_writeat(AT_FDCWD, path, buf, len, mode, flags, err);
}

int gtee_file_writeat(int dirfd, const char *path, const void *buf, size_t len, mode_t mode, unsigned flags,
                      struct gtee_err *err)
{
    struct gtee_file_out o;
    int rc;

    TRY(gtee_file_out_beginat(&o, dirfd, path, mode, flags, err));
    rc = gtee_file_out_write(&o, buf, len, err);
    if (rc < 0) {
        gtee_file_out_abort(&o);
        goto out;
    }
    rc = gtee_file_out_commit(&o, err);
out:
    return rc;
}

int gtee_file_open_read(const char *path, int *fd, struct gtee_err *err)
{
    struct stat st;
    int rc;

    *fd = -1;
    ENSURE(path && *path, err, GTEE_EINVAL, "no input file name");
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    ENSURE(*fd >= 0, err, GTEE_EIO, "cannot open %s: %s", path, strerror(errno));
    ENSURE(fstat(*fd, &st) == 0, err, GTEE_EIO, "cannot stat %s: %s", path, strerror(errno));
    ENSURE(S_ISREG(st.st_mode), err, GTEE_EIO, "%s is %s, not a regular file", path, kind_of(st.st_mode));
    ENSURE(fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK) == 0, err, GTEE_EIO, "cannot use %s: %s", path,
           strerror(errno));
    return 0;
out:
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return rc;
}

int gtee_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, struct gtee_err *err)
{
    struct stat st;
    uint8_t *b = NULL;
    size_t got = 0;
    int fd = -1, rc;

    *buf = NULL;
    *len = 0;
    TRY(gtee_file_open_read(path, &fd, err));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "cannot stat %s: %s", path, strerror(errno));
    ENSURE((uint64_t)st.st_size <= max, err, GTEE_EFORMAT, "%s is %lld bytes, over the limit of %zu", path,
           (long long)st.st_size, max);
    b = malloc((size_t)st.st_size + 1);
    ENSURE(b, err, GTEE_ENOMEM, "out of memory reading %s", path);
    /* Read to EOF within the limit: the file may have grown since fstat. */
    for (;;) {
        ssize_t n;

        if (got == (size_t)st.st_size) {
            uint8_t extra;

            n = read(fd, &extra, 1);
            if (n < 0 && errno == EINTR)
                continue;
            ENSURE(n >= 0, err, GTEE_EIO, "cannot read %s: %s", path, strerror(errno));
            ENSURE(n == 0, err, GTEE_EIO, "%s changed while it was read", path);
            break;
        }
        n = read(fd, b + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "cannot read %s: %s", path, strerror(errno));
        ENSURE(n > 0, err, GTEE_EIO, "%s changed while it was read", path);
        got += (size_t)n;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    b = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(b);
    return rc;
}
