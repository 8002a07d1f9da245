/* Files the project writes and reads, through one helper each. An output appears under its
 * name only once it is complete (a temporary beside the target, created O_EXCL|O_NOFOLLOW,
 * fsync'ed, then renamed); an input must be a regular file of bounded size, so a FIFO or a
 * device named as input fails at once instead of blocking. */
#ifndef GTEE_FILE_H
#define GTEE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gtee/err.h"

#define GTEE_FILE_PATH_MAX 4096

/* Flags of gtee_file_out_begin and gtee_file_write. */
enum {
    /* Replace an existing regular file (the CLI's --force). Without it an existing name,
     * whatever it is, fails with GTEE_EEXIST, checked again atomically at commit. */
    GTEE_FILE_REPLACE = 1u << 0,
    /* With GTEE_FILE_REPLACE: an existing FIFO or character device (the CLI's --force onto
     * /dev/stdout or a pipe) is written into at commit, from a staging copy in an unlinked
     * temporary, so it receives nothing unless the whole output is complete. Without this
     * flag such a target is refused (GTEE_EEXIST), --force or not. */
    GTEE_FILE_SPECIAL = 1u << 1,
};

/* One output being written. Fields are private; zero-initialize or call begin. */
struct gtee_file_out {
    int fd;
    int dirfd;                        /* AT_FDCWD, or the directory path is relative to */
    int special;                      /* staging for an existing FIFO or device */
    unsigned flags;
    mode_t mode;
    char path[GTEE_FILE_PATH_MAX];    /* the target */
    char tmp[GTEE_FILE_PATH_MAX + 32];/* the temporary beside it ("" when none is named) */
};

/* Creates the temporary for path: in path's directory, named ".<base>.gtee-tmp.<random>",
 * opened O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC with mode 0600. mode is applied with
 * fchmod at commit (umask does not change it). GTEE_EEXIST: path exists and flags do not
 * allow replacing it; GTEE_EIO naming the path and errno otherwise. On failure nothing is
 * left behind and o needs no abort. */
int gtee_file_out_begin(struct gtee_file_out *o, const char *path, mode_t mode, unsigned flags,
                        struct gtee_err *err) GTEE_MUST_USE;

/* As gtee_file_out_begin, with path relative to the directory dirfd (as openat): the
 * temporary, the rename and the directory flush all happen under dirfd, so a caller that
 * holds a directory it checked is not exposed to its path being swapped. dirfd must stay
 * open until commit or abort. */
int gtee_file_out_beginat(struct gtee_file_out *o, int dirfd, const char *path, mode_t mode, unsigned flags,
                          struct gtee_err *err) GTEE_MUST_USE;

/* Writes all of buf to the temporary (retrying short writes and EINTR). */
int gtee_file_out_write(struct gtee_file_out *o, const void *buf, size_t len, struct gtee_err *err) GTEE_MUST_USE;

/* fchmod to the mode, fsync, then rename onto the target (RENAME_NOREPLACE unless
 * GTEE_FILE_REPLACE), then fsync the directory. Always releases o: on failure the temporary
 * is removed and the target is untouched. */
int gtee_file_out_commit(struct gtee_file_out *o, struct gtee_err *err) GTEE_MUST_USE;

/* Drops the output: closes and removes the temporary. Safe on a zeroed, committed or
 * already aborted o. */
void gtee_file_out_abort(struct gtee_file_out *o);

/* begin + write + commit of one buffer. */
int gtee_file_write(const char *path, const void *buf, size_t len, mode_t mode, unsigned flags,
                    struct gtee_err *err) GTEE_MUST_USE;

/* gtee_file_write under a directory descriptor (see gtee_file_out_beginat). */
int gtee_file_writeat(int dirfd, const char *path, const void *buf, size_t len, mode_t mode, unsigned flags,
                      struct gtee_err *err) GTEE_MUST_USE;

/* Opens path for reading without blocking on a FIFO (O_NONBLOCK at open, cleared after) and
 * requires a regular file: a FIFO, socket, device or directory fails at once with GTEE_EIO
 * naming the path and what it is. *fd is a blocking, close-on-exec descriptor. */
int gtee_file_open_read(const char *path, int *fd, struct gtee_err *err) GTEE_MUST_USE;

/* Reads a whole regular file of at most max bytes (larger: GTEE_EFORMAT naming the size and
 * the limit). *buf is malloc'ed with a NUL after the last byte (so text parsers may use it
 * as a string); the caller frees it (wiping first if it held a secret). */
int gtee_file_read(const char *path, size_t max, uint8_t **buf, size_t *len, struct gtee_err *err) GTEE_MUST_USE;

#endif
