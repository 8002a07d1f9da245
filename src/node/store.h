/* The node's state store: one SQLite database, DIR/state.db, in WAL mode with
 * synchronous=FULL, so a change is on disk before the API acknowledges it and a crash at
 * any instant loses nothing acknowledged (docs/node.md, "State"). Internal to src/node/. */
#ifndef GTEE_NODE_STORE_H
#define GTEE_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gtee/err.h"

#define GTEE_NODE_DB "state.db"
#define GTEE_NODE_SCHEMA_VERSION 4
#define GTEE_NODE_ID_HEX 64        /* content ids: SHA-256 in hex */
#define GTEE_NODE_UPLOAD_ID_HEX 32 /* upload sessions: 16 random bytes in hex */
#define GTEE_NODE_SEALED_BATCH 256 /* sealed blobs read from the store at a time to restore them */

struct gtee_node_store;

/* Opens (create: makes it, with the schema) DIR/state.db. An existing database of another
 * schema version is GTEE_EUNSUPPORTED. */
int gtee_node_store_open(const char *dir, int create, struct gtee_node_store **out,
                         struct gtee_err *err) GTEE_MUST_USE;
void gtee_node_store_close(struct gtee_node_store *s);
/* fn(arg, id) runs after each committed change of job id (NULL: of every running job), on
 * the changing thread, under the store's lock: fn must not call the store. NULL unhooks;
 * once this returns, no call of the old fn is running. */
void gtee_node_store_on_job(struct gtee_node_store *s, void (*fn)(void *arg, const char *id), void *arg);

/* ---- events: what the operator sees as the node's recent history ---- */
/* level: "info", "warn", "error". Also printed on stderr with the time. */
void gtee_node_store_event(struct gtee_node_store *s, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The last n events, newest first: [{"at":unix,"level":..,"text":..}]. */
json_t *gtee_node_store_events(struct gtee_node_store *s, int n, const char *level);

/* ---- blobs ---- */
int gtee_node_store_blob_add(struct gtee_node_store *s, const char *id, uint64_t size,
                             struct gtee_err *err) GTEE_MUST_USE;
/* 1 and its size if known, 0 if not, < 0 on error. */
int gtee_node_store_blob_get(struct gtee_node_store *s, const char *id, uint64_t *size, struct gtee_err *err);
json_t *gtee_node_store_blobs(struct gtee_node_store *s);
/* A blob row and when it was last used: the latest of its upload and the last change of a
 * job that names it (as model, input, labels or result). */
struct gtee_node_blob_row {
    char id[GTEE_NODE_ID_HEX + 1];
    uint64_t size;
    int64_t last_used;
};
/* The blob rows (a malloc'd array of *n): all of them with unused_before < 0, else those the
 * retention rule would delete: last used before unused_before (unix seconds) and named by
 * no queued or running job. */
int gtee_node_store_blob_rows(struct gtee_node_store *s, int64_t unused_before, struct gtee_node_blob_row **rows,
                              size_t *n, struct gtee_err *err) GTEE_MUST_USE;
/* Deletes blob id's row if, checked in the same transaction, the retention rule still
 * allows it (unused_before as above; < 0: unconditionally, for a row whose file is gone).
 * 1 deleted, 0 kept, < 0 error. The caller removes the file after (docs/node.md, "Blob
 * store": a row never names a missing file; a file without a row is cleaned at start). */
int gtee_node_store_blob_forget(struct gtee_node_store *s, const char *id, int64_t unused_before,
                                struct gtee_err *err) GTEE_MUST_USE;
/* Bytes held: the stored blobs and the declared sizes of upload sessions, together. */
int gtee_node_store_bytes_held(struct gtee_node_store *s, uint64_t *bytes, struct gtee_err *err) GTEE_MUST_USE;

/* ---- upload sessions ---- */
struct gtee_node_upload {
    char id[GTEE_NODE_UPLOAD_ID_HEX + 1];
    char content_id[GTEE_NODE_ID_HEX + 1];
    uint64_t size;       /* declared */
    uint64_t received;   /* bytes on disk and synced */
};
int gtee_node_store_upload_add(struct gtee_node_store *s, const struct gtee_node_upload *u,
                               struct gtee_err *err) GTEE_MUST_USE;
/* 1 found, 0 not, < 0 error. */
int gtee_node_store_upload_get(struct gtee_node_store *s, const char *id, struct gtee_node_upload *u,
                               struct gtee_err *err);
int gtee_node_store_upload_set(struct gtee_node_store *s, const char *id, uint64_t received,
                               struct gtee_err *err) GTEE_MUST_USE;
/* Removes the session; with blob_size set also records blob content_id, in one transaction. */
int gtee_node_store_upload_finish(struct gtee_node_store *s, const struct gtee_node_upload *u, int add_blob,
                                  struct gtee_err *err) GTEE_MUST_USE;
/* The ids of upload sessions (a malloc'd array of *n): all with idle_before < 0, else those
 * not written to since idle_before (unix seconds). */
int gtee_node_store_upload_ids(struct gtee_node_store *s, int64_t idle_before, struct gtee_node_upload **ids,
                               size_t *n, struct gtee_err *err) GTEE_MUST_USE;
/* Removes an upload session's row (the caller removes its staging file after). */
int gtee_node_store_upload_drop(struct gtee_node_store *s, const char *id, struct gtee_err *err) GTEE_MUST_USE;

/* ---- jobs: status only, never anything secret ---- */
struct gtee_node_job {
    char id[65];
    char kind[16];      /* infer, train */
    char state[16];     /* queued, running, done, failed */
    char stage[32];     /* what the job is doing: waiting, loading, training, ... */
    int epoch, epochs;
    double percent;
    char error[256];
};
int gtee_node_store_job_put(struct gtee_node_store *s, const struct gtee_node_job *j,
                            struct gtee_err *err) GTEE_MUST_USE;
/* Progress of a running job (stage, epoch of epochs, percent). */
int gtee_node_store_job_progress(struct gtee_node_store *s, const char *id, const char *stage, int epoch,
                                 int epochs, double percent, struct gtee_err *err) GTEE_MUST_USE;

/* A job submitted to the node (POST /api/v1/jobs): the content ids of the blobs it puts in
 * the enclave's slots ("" for none), the requester's sealed relay box, and the channel key
 * it was sealed to (a restarted enclave cannot open it). */
struct gtee_node_job_io {
    char id[GTEE_NODE_ID_HEX + 1];
    char kind[16];
    char model[GTEE_NODE_ID_HEX + 1], input[GTEE_NODE_ID_HEX + 1], labels[GTEE_NODE_ID_HEX + 1];
    char channel[131];  /* the channel key (hex) of the enclave running when the job came */
    uint8_t *request;   /* job_next: malloc'd */
    size_t request_len;
};
/* Records a queued job with what it carries, in one transaction; GTEE_EEXIST if that id
 * (the same box) is already a job. */
int gtee_node_store_job_submit(struct gtee_node_store *s, const struct gtee_node_job_io *io,
                               struct gtee_err *err) GTEE_MUST_USE;
/* The oldest queued job: 1 and io filled (free io->request), 0 if none, < 0 on error. */
int gtee_node_store_job_next(struct gtee_node_store *s, struct gtee_node_job_io *io, struct gtee_err *err);
int gtee_node_store_job_start(struct gtee_node_store *s, const char *id, struct gtee_err *err) GTEE_MUST_USE;
/* A job's Work Proof as the node keeps it (docs/proofs.md "The node's proofs"): its record
 * (the proof file format, one object), its seq, and the counter the enclave sealed after it. */
struct gtee_node_proof_rec {
    char *record;             /* NUL-terminated JSON */
    size_t record_len;
    uint64_t seq;
    int submitted;            /* the ledger holds it */
    int64_t created;          /* when it was stored (unix seconds) */
    const uint8_t *counter;   /* job_done only */
    size_t counter_len;
};
/* Done: the result blob (hex, "" if none), the enclave's answer box for the requester and,
 * when the enclave signed one, the job's proof and the proof counter, in one transaction. */
int gtee_node_store_job_done(struct gtee_node_store *s, const char *id, const char *result, const uint8_t *response,
                             size_t len, const struct gtee_node_proof_rec *proof, struct gtee_err *err) GTEE_MUST_USE;
/* Failed with reason; refused: the enclave refused it (the requester's), else the node's
 * or the enclave's trouble (submit it again). */
int gtee_node_store_job_fail(struct gtee_node_store *s, const char *id, int refused, const char *reason,
                             struct gtee_err *err) GTEE_MUST_USE;
/* The answer box of a done job: 1 and *box (malloc'd), 0 if there is none. */
int gtee_node_store_job_record(struct gtee_node_store *s, const char *id, uint8_t **box, size_t *len,
                               struct gtee_err *err);
/* Every job still running is marked failed with reason: at start (the node stopped while
 * they ran) and when the enclave dies under them. Returns how many, or < 0. */
int gtee_node_store_jobs_fail_running(struct gtee_node_store *s, const char *reason, struct gtee_err *err);
json_t *gtee_node_store_job(struct gtee_node_store *s, const char *id);
json_t *gtee_node_store_jobs(struct gtee_node_store *s, int limit);
/* Jobs by state for /metrics: counts[0..3] = queued, running, done, failed. */
int gtee_node_store_job_counts(struct gtee_node_store *s, long long counts[4]);

/* ---- what the enclave hands the host to keep (sealed blobs of RELAY answers) ---- */
int gtee_node_store_sealed_add(struct gtee_node_store *s, const uint8_t *blob, size_t len,
                               struct gtee_err *err) GTEE_MUST_USE;
/* Calls fn for each stored sealed blob with its row number, oldest first, every one (read
 * in batches of GTEE_NODE_SEALED_BATCH); returns how many, or < 0. */
int gtee_node_store_sealed_each(struct gtee_node_store *s,
                                void (*fn)(int64_t seq, const uint8_t *blob, size_t len, void *arg), void *arg);
/* Deletes the rows seqs[0..n) in one transaction: all of them or none. */
int gtee_node_store_sealed_drop(struct gtee_node_store *s, const int64_t *seqs, size_t n,
                                struct gtee_err *err) GTEE_MUST_USE;

/* ---- Work Proofs ---- */
/* The enclave's last sealed proof counter: 1 and *blob malloc'd, 0 if none yet, < 0 error. */
int gtee_node_store_proof_counter(struct gtee_node_store *s, uint8_t **blob, size_t *len, uint64_t *seq,
                                  struct gtee_err *err);
/* Up to max proofs in seq order (pending_only: those the ledger does not hold yet); free
 * with gtee_node_proof_recs_free. */
int gtee_node_store_proofs(struct gtee_node_store *s, int pending_only, size_t max, struct gtee_node_proof_rec **out,
                           size_t *n, struct gtee_err *err) GTEE_MUST_USE;
void gtee_node_proof_recs_free(struct gtee_node_proof_rec *r, size_t n);
/* Marks the proofs up to seq as held by the ledger. */
int gtee_node_store_proofs_submitted(struct gtee_node_store *s, uint64_t upto_seq, struct gtee_err *err);
int gtee_node_store_proof_counts(struct gtee_node_store *s, long long *pending, long long *submitted);

/* A key-release receipt the enclave signed (RELEASE_TAKE, gtee/msg.h), kept until the ledger
 * records it (docs/node.md, "Ledger"). */
struct gtee_node_release {
    int64_t seq;                /* the store's order */
    uint8_t enclave_id[20], blob[32], grant_id[32];
    uint64_t time;
    uint8_t sig[65];
};
/* Keeps a receipt (the same one again is kept once). */
int gtee_node_store_release_add(struct gtee_node_store *s, const struct gtee_node_release *r,
                                struct gtee_err *err) GTEE_MUST_USE;
/* Up to max receipts the ledger has not recorded yet, oldest first (*out malloc'ed). */
int gtee_node_store_releases(struct gtee_node_store *s, size_t max, struct gtee_node_release **out, size_t *n,
                             struct gtee_err *err) GTEE_MUST_USE;
int gtee_node_store_release_recorded(struct gtee_node_store *s, int64_t seq, struct gtee_err *err) GTEE_MUST_USE;
int gtee_node_store_release_counts(struct gtee_node_store *s, long long *pending, long long *recorded);
#endif
