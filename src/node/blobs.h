/* The ciphertext blob store: blobs/<content id> (the SHA-256 of the container's bytes, as
 * gtee_box_content_id computes it), written through the safe file helper, and restartable
 * upload sessions in uploads/ (docs/node-api.md, "Blobs"). The host never opens a blob.
 * Internal to src/node/. */
#ifndef GTEE_NODE_BLOBS_H
#define GTEE_NODE_BLOBS_H

#include <pthread.h>
#include <stdint.h>

#include "gtee/crypto.h"
#include "gtee/err.h"
#include "node/store.h"

struct gtee_node_blobs {
    int blobs_fd;     /* DIR/blobs */
    int uploads_fd;   /* DIR/uploads */
    uint64_t max_bytes;
    uint64_t quota;   /* blob_store_max_bytes; 0: none (set after open) */
    struct gtee_node_store *store;
    /* mu: a blob entering the store (promote, a job's result) and the retention pass's
     * deletions never interleave; quota_mu: the quota check and the session it admits
     * are one step. */
    pthread_mutex_t mu, quota_mu;
    int locks;
    /* The SHA-256 of each open session's synced prefix, carried from one PUT to the next so
     * that a complete upload is checked without reading it back; a session not here (the
     * node restarted, or more sessions than this) is hashed from its file. */
    pthread_mutex_t hash_mu;
    struct gtee_node_upload_hash {
        char id[GTEE_NODE_UPLOAD_ID_HEX + 1];
        struct gtee_sha256_ctx *h;
        uint64_t len;
    } hashes[32];
    size_t hash_next; /* the place a full table gives up next */
};

int gtee_node_blobs_open(struct gtee_node_blobs *b, const char *dir, struct gtee_node_store *store,
                         uint64_t max_bytes, struct gtee_err *err) GTEE_MUST_USE;
void gtee_node_blobs_close(struct gtee_node_blobs *b);

/* A new upload session for a container of size bytes and content id cid (hex; "": not
 * declared, the bytes' hash names the blob when complete). One that would take the store
 * past its quota is GTEE_ELIMIT, before anything is written. */
int gtee_node_upload_new(struct gtee_node_blobs *b, uint64_t size, const char *cid, struct gtee_node_upload *u,
                         struct gtee_err *err) GTEE_MUST_USE;

/* One PUT of bytes into a session, from offset u->received. */
struct gtee_node_upload_put {
    struct gtee_node_upload u;
    int fd;
    uint64_t at;        /* bytes on disk (not yet synced past u.received) */
    uint64_t flushed;   /* bytes whose writeback was started (sync_file_range) */
    struct gtee_sha256_ctx *h; /* the hash of bytes 0..at, or NULL: hashed from the file */
};
/* Opens the session's staging file at the offset the client names, which must be the
 * session's synced offset (GTEE_ESTATE otherwise: the client asks for it and resumes). */
int gtee_node_upload_begin(struct gtee_node_blobs *b, const char *id, uint64_t offset,
                           struct gtee_node_upload_put *p, struct gtee_err *err) GTEE_MUST_USE;
/* Appends bytes; more than the declared size is GTEE_EPOLICY. */
int gtee_node_upload_write(struct gtee_node_upload_put *p, const void *buf, size_t len,
                           struct gtee_err *err) GTEE_MUST_USE;
/* Syncs what was written and records the new offset (also after an interrupted request:
 * whatever arrived and is on disk counts). If the session is complete, checks the content
 * id (or, where none was declared, sets p->u.content_id to the bytes' hash) and moves the
 * blob into the store: *done then 1. A content id that does not match
 * ends the session (GTEE_EAUTH). Always closes the file. */
int gtee_node_upload_end(struct gtee_node_blobs *b, struct gtee_node_upload_put *p, int *done,
                         struct gtee_err *err) GTEE_MUST_USE;

/* Opens a stored blob for reading; GTEE_ENOTFOUND if the store has none of that id. */
int gtee_node_blob_open(struct gtee_node_blobs *b, const char *id, int *fd, uint64_t *size,
                        struct gtee_err *err) GTEE_MUST_USE;

/* What the enclave hands the host with a relay answer: a job's result (HPKE-sealed to its
 * recipient, "GTEE-RES" first; docs/tee.md §7.2) goes into the blob store under its
 * SHA-256, which the job record names, for the recipient to download (its id in result
 * when non-NULL); anything else is a sealed grant or secret, kept in the state store and
 * restored at every start (result then ""). */
int gtee_node_keep_host_part(struct gtee_node_blobs *b, const uint8_t *p, size_t n, char result[65],
                             struct gtee_err *err) GTEE_MUST_USE;

/* ---- keeping the store whole (blobgc.c) ---- */

/* What the start's check found and cleaned (docs/node.md, "Blob store"). */
struct gtee_node_blobs_fix {
    int temporaries;   /* half-written files of an interrupted write (never under a content id) */
    int orphans;       /* whole files that no row names: a kill between file and row, or mid-delete */
    int missing;       /* rows whose file is gone: dropped */
    int wrong_size;    /* rows whose file is not the recorded size: file and row dropped */
    int staging;       /* staging files of no session */
    int sessions;      /* sessions whose staging file is gone: dropped */
};
/* The check the node runs at every start, before it serves: after it, every row names a
 * whole file of its recorded size and every file is named by a row (a file appears under a
 * content id only by rename of a synced temporary). Run only while nothing else writes the
 * store (the daemon's start, or `gtee node gc` holding the data directory's lock). */
int gtee_node_blobs_check(struct gtee_node_blobs *b, struct gtee_node_blobs_fix *fix,
                          struct gtee_err *err) GTEE_MUST_USE;

/* The retention rule: blobs last used (store.h) before cutoff (unix seconds; now minus the
 * retention days), and named by no queued or running job, are deleted, row first and file
 * after (a kill in between leaves a file without a row, which the next check removes);
 * upload sessions idle since before cutoff go too. With dry_run nothing changes. *gone
 * (malloc'd, *n) lists the blobs deleted or to delete, oldest use first. */
int gtee_node_blobs_retain(struct gtee_node_blobs *b, int64_t cutoff, int dry_run, struct gtee_node_blob_row **gone,
                           size_t *n, int *sessions, struct gtee_err *err) GTEE_MUST_USE;

#endif
