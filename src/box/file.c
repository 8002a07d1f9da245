/* File-level container operations: outputs go through the one output helper, so an
 * output appears under its name only once it is complete and authenticated; on any failure
 * no output file remains. */
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
#include "gtee/file.h"

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

typedef int (*stream_fn)(const struct gtee_box_key *, const struct gtee_box_opts *, int, int,
                         struct gtee_box_stats *, struct gtee_err *);

static int run_file(stream_fn fn, const struct gtee_box_key *key, const struct gtee_box_opts *opts,
                    const char *in_path, const char *out_path, int overwrite, struct gtee_box_stats *stats,
                    struct gtee_err *err)
{
    /* overwrite (the CLI's --force) also accepts an existing FIFO or character device, fed
     * from an unnamed staging copy only once the whole output is complete and verified. */
    unsigned flags = overwrite ? GTEE_FILE_REPLACE | GTEE_FILE_SPECIAL : 0;
    struct gtee_file_out of;
    int in_fd = -1, rc;

    TRY(open_input(in_path, &in_fd, err));
    if (strcmp(out_path, "-") == 0) {
        TRY(fn(key, opts, in_fd, STDOUT_FILENO, stats, err));
        goto out;
    }
    TRY(gtee_file_out_begin(&of, out_path, 0600, flags, err));
    rc = fn(key, opts, in_fd, of.fd, stats, err);
    if (rc < 0) {
        gtee_file_out_abort(&of);
        goto out;
    }
    TRY(gtee_file_out_commit(&of, err));
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
