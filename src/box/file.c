/* File-level container operations: an output appears under its name only once it is
 * complete and authenticated; on any failure no output file remains. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "box/internal.h"

struct out_file {
    int fd;
    int direct;           /* a device or FIFO (e.g. /dev/null): written in place, nothing to link */
    int anonymous;        /* O_TMPFILE: nothing to unlink, nothing left behind on a crash */
    char tmp_path[4096];  /* named temporary file when O_TMPFILE is not supported */
};

static int open_input(const char *path, int *fd, struct gtee_err *err)
{
    struct stat st;

    if (strcmp(path, "-") == 0) {
        *fd = STDIN_FILENO;
        return 0;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "cannot open input %s: %s", path, strerror(errno));
    if (fstat(*fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return GTEE_FAIL(err, GTEE_EIO, "input %s is a directory", path);
    }
    return 0;
}

static int out_begin(const char *out_path, int overwrite, struct out_file *of, struct gtee_err *err)
{
    char dir_buf[4096], base_buf[4096];
    const char *dir, *base;
    struct stat st;

    of->fd = -1;
    of->direct = 0;
    of->anonymous = 0;
    of->tmp_path[0] = '\0';
    if (stat(out_path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* Never replace a device node or a pipe with a file: write into it. */
        of->fd = open(out_path, O_WRONLY | O_CLOEXEC);
        if (of->fd < 0)
            return GTEE_FAIL(err, GTEE_EIO, "cannot open output %s: %s", out_path, strerror(errno));
        of->direct = 1;
        return 0;
    }
    if (!overwrite && access(out_path, F_OK) == 0)
        return GTEE_FAIL(err, GTEE_EEXIST, "output %s already exists (refusing to overwrite)", out_path);
    if (strlen(out_path) >= sizeof(dir_buf))
        return GTEE_FAIL(err, GTEE_EINVAL, "output path too long");
    strcpy(dir_buf, out_path);
    strcpy(base_buf, out_path);
    dir = dirname(dir_buf);
    base = basename(base_buf);
    of->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (of->fd >= 0) {
        of->anonymous = 1;
        return 0;
    }
    if (snprintf(of->tmp_path, sizeof(of->tmp_path), "%s/.%s.gtee-tmp.XXXXXX", dir, base) >=
        (int)sizeof(of->tmp_path))
        return GTEE_FAIL(err, GTEE_EINVAL, "output path too long");
    of->fd = mkostemp(of->tmp_path, O_CLOEXEC);
    if (of->fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "cannot create a temporary file in %s: %s", dir, strerror(errno));
    return 0;
}

static void out_abort(struct out_file *of)
{
    if (of->fd >= 0)
        close(of->fd);
    if (of->tmp_path[0])
        unlink(of->tmp_path);
    of->fd = -1;
}

/* Names a random hidden path beside out_path (for the named-temporary fallbacks). */
static int hidden_name(const char *out_path, char *buf, size_t cap, struct gtee_err *err)
{
    char dir_buf[4096], base_buf[4096];
    uint8_t rnd[6];
    char hex[13];

    if (strlen(out_path) >= sizeof(dir_buf) || gtee_random(rnd, sizeof(rnd)) < 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "cannot name a temporary file for %s", out_path);
    strcpy(dir_buf, out_path);
    strcpy(base_buf, out_path);
    gtee_hex_encode(rnd, sizeof(rnd), hex);
    if (snprintf(buf, cap, "%s/.%s.gtee-tmp.%s", dirname(dir_buf), basename(base_buf), hex) >= (int)cap)
        return GTEE_FAIL(err, GTEE_EINVAL, "output path too long");
    return 0;
}

static int out_commit(struct out_file *of, const char *out_path, int overwrite, struct gtee_err *err)
{
    char proc[64];
    int rc = GTEE_EIO;

    if (of->direct) {
        rc = 0;
        goto out;
    }
    ENSURE(fsync(of->fd) == 0, err, GTEE_EIO, "cannot flush output %s: %s", out_path, strerror(errno));
    if (of->anonymous) {
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", of->fd);
        if (overwrite) {
            /* link under a hidden name, then rename over the target: atomic replacement */
            TRY(hidden_name(out_path, of->tmp_path, sizeof(of->tmp_path), err));
            ENSURE(linkat(AT_FDCWD, proc, AT_FDCWD, of->tmp_path, AT_SYMLINK_FOLLOW) == 0, err, GTEE_EIO,
                   "cannot create output %s: %s", out_path, strerror(errno));
            ENSURE(rename(of->tmp_path, out_path) == 0, err, GTEE_EIO, "cannot rename into %s: %s", out_path,
                   strerror(errno));
            of->tmp_path[0] = '\0';
        } else if (linkat(AT_FDCWD, proc, AT_FDCWD, out_path, AT_SYMLINK_FOLLOW) != 0) {
            rc = GTEE_FAIL(err, errno == EEXIST ? GTEE_EEXIST : GTEE_EIO, "cannot create output %s: %s",
                           out_path, strerror(errno));
            goto out;
        }
    } else if (overwrite) {
        ENSURE(rename(of->tmp_path, out_path) == 0, err, GTEE_EIO, "cannot rename into %s: %s", out_path,
               strerror(errno));
        of->tmp_path[0] = '\0';
    } else {
        if (renameat2(AT_FDCWD, of->tmp_path, AT_FDCWD, out_path, RENAME_NOREPLACE) != 0) {
            rc = GTEE_FAIL(err, errno == EEXIST ? GTEE_EEXIST : GTEE_EIO, "cannot rename into %s: %s", out_path,
                           strerror(errno));
            goto out;
        }
        of->tmp_path[0] = '\0';
    }
    rc = 0;
out:
    out_abort(of);
    return rc;
}

typedef int (*stream_fn)(const struct gtee_box_key *, const struct gtee_box_opts *, int, int,
                         struct gtee_box_stats *, struct gtee_err *);

static int run_file(stream_fn fn, const struct gtee_box_key *key, const struct gtee_box_opts *opts,
                    const char *in_path, const char *out_path, int overwrite, struct gtee_box_stats *stats,
                    struct gtee_err *err)
{
    struct out_file of = { .fd = -1 };
    int in_fd = -1, rc;

    TRY(open_input(in_path, &in_fd, err));
    if (strcmp(out_path, "-") == 0) {
        TRY(fn(key, opts, in_fd, STDOUT_FILENO, stats, err));
        goto out;
    }
    TRY(out_begin(out_path, overwrite, &of, err));
    rc = fn(key, opts, in_fd, of.fd, stats, err);
    if (rc < 0) {
        out_abort(&of);
        goto out;
    }
    TRY(out_commit(&of, out_path, overwrite, err));
out:
    if (in_fd > STDIN_FILENO)
        close(in_fd);
    return rc;
}

int gtee_box_seal_file(const struct gtee_box_key *key, const struct gtee_box_opts *opts, const char *in_path,
                       const char *out_path, int overwrite, struct gtee_box_stats *stats, struct gtee_err *err)
{
    return run_file(gtee_box_seal, key, opts, in_path, out_path, overwrite, stats, err);
}

int gtee_box_open_file(const struct gtee_box_key *key, const struct gtee_box_opts *opts, const char *in_path,
                       const char *out_path, int overwrite, struct gtee_box_stats *stats, struct gtee_err *err)
{
    return run_file(gtee_box_open, key, opts, in_path, out_path, overwrite, stats, err);
}

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
