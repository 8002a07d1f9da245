/* Keeping the blob store whole and bounded: the check at every start (rows and files agree,
 * no half-written file is left) and the retention rule that deletes blobs unused for a
 * configured number of days (docs/node.md, "Blob store"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "node/blobs.h"

/* The temporaries of the safe file helper: ".<name>.gtee-tmp.<16 hex>" beside the target. */
static int is_temporary(const char *name)
{
    return name[0] == '.' && strstr(name, ".gtee-tmp.") != NULL;
}

static int is_hex(const char *name, size_t len)
{
    if (strlen(name) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

static int by_blob_id(const void *a, const void *b)
{
    return strcmp(((const struct gtee_node_blob_row *)a)->id, ((const struct gtee_node_blob_row *)b)->id);
}

static int by_upload_id(const void *a, const void *b)
{
    return strcmp(((const struct gtee_node_upload *)a)->id, ((const struct gtee_node_upload *)b)->id);
}

/* Calls fn for each entry of the directory dir_fd (other than . and ..). */
static int each_entry(int dir_fd, const char *what, int (*fn)(const char *name, void *arg), void *arg,
                      struct gtee_err *err)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    DIR *d;
    struct dirent *e;

    if (fd < 0)
        return GTEE_FAIL(err, GTEE_EIO, "%s: %s", what, strerror(errno));
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return GTEE_FAIL(err, GTEE_EIO, "%s: %s", what, strerror(errno));
    }
    /* Removing entries while reading is allowed (readdir may or may not return them again;
     * a second visit finds nothing to do). */
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rc = fn(e->d_name, arg);
    if (rc == 0 && errno)
        rc = GTEE_FAIL(err, GTEE_EIO, "%s: %s", what, strerror(errno));
    closedir(d);
    return rc;
}

struct scan {
    struct gtee_node_blobs *b;
    struct gtee_node_blobs_fix *fix;
    struct gtee_node_blob_row *rows;
    size_t n_rows;
    struct gtee_node_upload *ups;
    size_t n_ups;
};

static int scan_blob(const char *name, void *arg)
{
    struct scan *s = arg;
    struct gtee_node_blob_row key;

    if (is_temporary(name)) {
        if (unlinkat(s->b->blobs_fd, name, 0) == 0)
            s->fix->temporaries++;
        return 0;
    }
    if (!is_hex(name, GTEE_NODE_ID_HEX))
        return 0; /* not the store's: left alone */
    memcpy(key.id, name, sizeof(key.id));
    if ((!s->n_rows || !bsearch(&key, s->rows, s->n_rows, sizeof(*s->rows), by_blob_id)) &&
        unlinkat(s->b->blobs_fd, name, 0) == 0)
        s->fix->orphans++;
    return 0;
}

static int scan_upload(const char *name, void *arg)
{
    struct scan *s = arg;
    struct gtee_node_upload key;

    if (is_temporary(name)) {
        if (unlinkat(s->b->uploads_fd, name, 0) == 0)
            s->fix->temporaries++;
        return 0;
    }
    if (!is_hex(name, GTEE_NODE_UPLOAD_ID_HEX))
        return 0;
    memcpy(key.id, name, sizeof(key.id));
    if ((!s->n_ups || !bsearch(&key, s->ups, s->n_ups, sizeof(*s->ups), by_upload_id)) &&
        unlinkat(s->b->uploads_fd, name, 0) == 0)
        s->fix->staging++;
    return 0;
}

int gtee_node_blobs_check(struct gtee_node_blobs *b, struct gtee_node_blobs_fix *fix, struct gtee_err *err)
{
    struct scan s = { .b = b, .fix = fix };
    struct stat st;
    size_t keep = 0;
    int rc;

    memset(fix, 0, sizeof(*fix));
    pthread_mutex_lock(&b->mu);
    /* Rows first: each must name a regular file of its recorded size. */
    TRY(gtee_node_store_blob_rows(b->store, -1, &s.rows, &s.n_rows, err));
    for (size_t i = 0; i < s.n_rows; i++) {
        int have = fstatat(b->blobs_fd, s.rows[i].id, &st, AT_SYMLINK_NOFOLLOW) == 0;

        ENSURE(have || errno == ENOENT, err, GTEE_EIO, "blob store: %s: %s", s.rows[i].id, strerror(errno));
        if (have && S_ISREG(st.st_mode) && (uint64_t)st.st_size == s.rows[i].size) {
            s.rows[keep++] = s.rows[i];
            continue;
        }
        rc = gtee_node_store_blob_forget(b->store, s.rows[i].id, -1, err);
        TRY(rc < 0 ? rc : 0);
        if (have) {
            (void)unlinkat(b->blobs_fd, s.rows[i].id, 0);
            fix->wrong_size++;
        } else {
            fix->missing++;
        }
    }
    s.n_rows = keep;
    if (s.n_rows) /* qsort and bsearch take no NULL array, even empty */
        qsort(s.rows, s.n_rows, sizeof(*s.rows), by_blob_id);
    TRY(each_entry(b->blobs_fd, "blob store", scan_blob, &s, err));
    /* Upload sessions: each needs its staging file; a staging file needs its session. */
    TRY(gtee_node_store_upload_ids(b->store, -1, &s.ups, &s.n_ups, err));
    keep = 0;
    for (size_t i = 0; i < s.n_ups; i++) {
        if (fstatat(b->uploads_fd, s.ups[i].id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            s.ups[keep++] = s.ups[i];
            continue;
        }
        TRY(gtee_node_store_upload_drop(b->store, s.ups[i].id, err));
        fix->sessions++;
    }
    s.n_ups = keep;
    if (s.n_ups)
        qsort(s.ups, s.n_ups, sizeof(*s.ups), by_upload_id);
    TRY(each_entry(b->uploads_fd, "upload store", scan_upload, &s, err));
    if (fix->temporaries || fix->orphans || fix->wrong_size || fix->staging) {
        (void)fsync(b->blobs_fd);
        (void)fsync(b->uploads_fd);
    }
    rc = 0;
out:
    pthread_mutex_unlock(&b->mu);
    free(s.rows);
    free(s.ups);
    return rc;
}

int gtee_node_blobs_retain(struct gtee_node_blobs *b, int64_t cutoff, int dry_run, struct gtee_node_blob_row **gone,
                           size_t *n, int *sessions, struct gtee_err *err)
{
    struct gtee_node_blob_row *rows = NULL;
    struct gtee_node_upload *ups = NULL;
    size_t n_rows = 0, n_ups = 0, kept = 0;
    int rc = 0;

    *gone = NULL;
    *n = 0;
    *sessions = 0;
    pthread_mutex_lock(&b->mu);
    TRY(gtee_node_store_blob_rows(b->store, cutoff, &rows, &n_rows, err));
    for (size_t i = 0; i < n_rows; i++) {
        int r = dry_run ? 1 : gtee_node_store_blob_forget(b->store, rows[i].id, cutoff, err);

        TRY(r < 0 ? r : 0);
        if (r == 0)
            continue; /* named by a job since the listing: kept */
        /* The row is gone first: a kill here leaves a file without a row, which the
         * start's check removes; never a row without its file. */
        if (!dry_run && unlinkat(b->blobs_fd, rows[i].id, 0) != 0 && errno != ENOENT)
            TRY(GTEE_FAIL(err, GTEE_EIO, "blob store: deleting %s: %s", rows[i].id, strerror(errno)));
        rows[kept++] = rows[i];
    }
    TRY(gtee_node_store_upload_ids(b->store, cutoff, &ups, &n_ups, err));
    for (size_t i = 0; i < n_ups; i++) {
        if (!dry_run) {
            TRY(gtee_node_store_upload_drop(b->store, ups[i].id, err));
            (void)unlinkat(b->uploads_fd, ups[i].id, 0);
        }
        (*sessions)++;
    }
    if (!dry_run && (kept || n_ups)) {
        (void)fsync(b->blobs_fd);
        (void)fsync(b->uploads_fd);
    }
    rc = 0;
out:
    pthread_mutex_unlock(&b->mu);
    free(ups);
    if (rc < 0 && kept == 0) {
        free(rows);
        return rc;
    }
    *gone = rows;
    *n = kept;
    return rc;
}
