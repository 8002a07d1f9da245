/* `gtee node gc DIR`: the retention rule by the operator's hand, and the start's check of
 * the blob store, under the data directory's lock (the one the daemon holds), so it never
 * deletes under a running node; a dry run only reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/guard.h"
#include "node/blobs.h"
#include "node/gc.h"
#include "node/node.h"

int gtee_node_gc(const struct gtee_node_gc_opts *o, json_t **report, struct gtee_err *err)
{
    struct gtee_node_config cfg;
    struct gtee_node_store *store = NULL;
    struct gtee_node_blobs blobs = { .blobs_fd = -1, .uploads_fd = -1 };
    struct gtee_node_blobs_fix fix = { 0 };
    struct gtee_node_blob_row *gone = NULL;
    json_t *r = NULL, *list;
    uint64_t bytes = 0;
    size_t n = 0;
    long days;
    int dir_fd = -1, running, sessions = 0, rc;

    *report = NULL;
    TRY(gtee_node_config_load(o->dir, &cfg, err));
    days = o->days >= 0 ? o->days : (long)cfg.blob_retention_days;
    dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(dir_fd >= 0, err, GTEE_EIO, "data directory %s: %s", o->dir, strerror(errno));
    running = flock(dir_fd, LOCK_EX | LOCK_NB) != 0;
    ENSURE(!running || errno == EWOULDBLOCK, err, GTEE_EIO, "data directory %s: lock: %s", o->dir, strerror(errno));
    ENSURE(!running || o->dry_run, err, GTEE_ESTATE,
           "data directory %s is in use by its running node, which applies the retention rule itself (at start "
           "and every hour): nothing deleted. Stop the node to collect by hand, or add --dry-run to see what "
           "the rule would delete",
           o->dir);
    TRY(gtee_node_store_open(o->dir, 0, &store, err));
    TRY(gtee_node_blobs_open(&blobs, o->dir, store, cfg.max_blob_bytes, err));
    /* The check writes: only with the lock, as at the node's start. */
    if (!running && !o->dry_run)
        TRY(gtee_node_blobs_check(&blobs, &fix, err));
    if (days > 0 || o->days == 0)
        TRY(gtee_node_blobs_retain(&blobs, (int64_t)time(NULL) - (int64_t)days * 86400, o->dry_run, &gone, &n,
                                   &sessions, err));
    list = json_array();
    ENSURE(list, err, GTEE_ENOMEM, "gc: out of memory");
    for (size_t i = 0; i < n; i++) {
        bytes += gone[i].size;
        json_array_append_new(list, json_pack("{s:s,s:I,s:I}", "id", gone[i].id, "size", (json_int_t)gone[i].size,
                                              "last_used", (json_int_t)gone[i].last_used));
    }
    r = json_pack("{s:b,s:b,s:b,s:I,s:o,s:I,s:i,s:{s:i,s:i,s:i,s:i,s:i,s:i}}", "dry_run", o->dry_run, "node_running",
                  running, "rule", days > 0 || o->days == 0, "retention_days", (json_int_t)days, "blobs", list,
                  "bytes", (json_int_t)bytes, "upload_sessions", sessions, "repaired", "temporaries",
                  fix.temporaries, "orphans", fix.orphans, "missing", fix.missing, "wrong_size", fix.wrong_size,
                  "staging", fix.staging, "sessions", fix.sessions);
    ENSURE(r, err, GTEE_ENOMEM, "gc: out of memory");
    *report = r;
    rc = 0;
out:
    free(gone);
    gtee_node_blobs_close(&blobs);
    gtee_node_store_close(store);
    if (dir_fd >= 0)
        close(dir_fd);
    return rc;
}
