/* The node's SQLite state store: schema, versioning and every query the daemon makes. One
 * connection, serialised by a mutex; WAL with synchronous=FULL makes each committed change
 * durable before the caller acknowledges it (SQLite's "WAL mode" and "PRAGMA synchronous"). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "base/guard.h"
#include "gtee/file.h"
#include "node/store.h"

struct gtee_node_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    void (*on_job)(void *arg, const char *id); /* a job changed (gtee_node_store_on_job) */
    void *on_job_arg;
};

/* After a job's change is committed: the API's long polls wake (watch.c). Called under mu,
 * so that the API can unhook and free its watch with no call still on its way. */
static void job_changed(struct gtee_node_store *s, const char *id)
{
    pthread_mutex_lock(&s->mu);
    if (s->on_job)
        s->on_job(s->on_job_arg, id);
    pthread_mutex_unlock(&s->mu);
}

void gtee_node_store_on_job(struct gtee_node_store *s, void (*fn)(void *arg, const char *id), void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->on_job = fn;
    s->on_job_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

/* Version 1. A later version adds its migration here and bumps GTEE_NODE_SCHEMA_VERSION. */
static const char schema[] =
    "CREATE TABLE blobs(id TEXT PRIMARY KEY, size INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE uploads(id TEXT PRIMARY KEY, content_id TEXT NOT NULL, size INTEGER NOT NULL,"
    " received INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, stage TEXT NOT NULL,"
    " epoch INTEGER NOT NULL DEFAULT 0, epochs INTEGER NOT NULL DEFAULT 0, percent REAL NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX jobs_by_created ON jobs(created);"
    /* Sealed grants and other blobs the enclave seals for the host to keep: opaque here. */
    "CREATE TABLE sealed(seq INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL, created INTEGER NOT NULL);"
    /* Results (ciphertext blobs encrypted to the requester) and work proofs, per job: filled by
     * the enclave runtime's jobs and the Work Proof part; their schema is fixed here. */
    "CREATE TABLE results(job_id TEXT PRIMARY KEY REFERENCES jobs(id), blob_id TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE proofs(job_id TEXT PRIMARY KEY REFERENCES jobs(id), record BLOB NOT NULL,"
    " submitted INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, level TEXT NOT NULL,"
    " text TEXT NOT NULL);";

/* Version 2: what a job submitted to POST /api/v1/jobs carries (the content ids of its blobs
 * and the requester's sealed box) and the enclave's answer box for the requester, so a
 * queued job survives a restart and its record waits for its requester. */
static const char schema_v2[] =
    "CREATE TABLE job_io(job_id TEXT PRIMARY KEY REFERENCES jobs(id), model TEXT NOT NULL,"
    " input TEXT NOT NULL, labels TEXT NOT NULL, channel TEXT NOT NULL, request BLOB NOT NULL, response BLOB,"
    " refused INTEGER NOT NULL DEFAULT 0);";

/* Version 3: Work Proofs (docs/proofs.md "The node's proofs"): each proof's sequence number
 * beside its record, for the submitter's order, and the enclave's proof counter, sealed by it
 * after its last proof, which it is handed back at every start. */
static const char schema_v3[] =
    "ALTER TABLE proofs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX proofs_by_seq ON proofs(submitted, seq);"
    "CREATE TABLE proof_counter(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, blob BLOB NOT NULL,"
    " updated INTEGER NOT NULL);";

/* Version 4: key-release receipts (docs/chain.md "Key-release receipts"), as the enclave
 * signed them, kept until the ledger records them. */
static const char schema_v4[] =
    "CREATE TABLE key_releases(seq INTEGER PRIMARY KEY AUTOINCREMENT, enclave BLOB NOT NULL, blob BLOB NOT NULL,"
    " grant_id BLOB NOT NULL, time INTEGER NOT NULL, sig BLOB NOT NULL, recorded INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, UNIQUE (enclave, blob, grant_id, time));";

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int db_fail(struct gtee_node_store *s, struct gtee_err *err, const char *what)
{
    return GTEE_FAIL(err, GTEE_EIO, "node state: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(struct gtee_node_store *s, const char *sql, struct gtee_err *err)
{
    char *msg = NULL;
    int rc = 0;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        rc = GTEE_FAIL(err, GTEE_EIO, "node state: %s", msg ? msg : "error");
    sqlite3_free(msg);
    return rc;
}

int gtee_node_store_open(const char *dir, int create, struct gtee_node_store **out, struct gtee_err *err)
{
    struct gtee_node_store *s = calloc(1, sizeof(*s));
    char path[GTEE_FILE_PATH_MAX];
    sqlite3_stmt *st = NULL;
    int rc = 0, version;

    *out = NULL;
    ENSURE(s, err, GTEE_ENOMEM, "node state: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    ENSURE((size_t)snprintf(path, sizeof(path), "%s/%s", dir, GTEE_NODE_DB) < sizeof(path), err, GTEE_EINVAL,
           "node state: path too long");
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
                            (create ? SQLITE_OPEN_CREATE : 0),
                        NULL) != SQLITE_OK) {
        rc = GTEE_FAIL(err, GTEE_EIO, "node state: cannot open %s: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    /* The state names no secret, but it is the operator's: not for other users. */
    if (create)
        (void)chmod(path, 0600);
    /* A lock held by another process (a reader such as a backup) is waited for, bounded. */
    sqlite3_busy_timeout(s->db, 5000);
    TRY(exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err));
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(s, err, path);
        goto out;
    }
    version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (version == 0 && create) {
        char sql[64];

        TRY(exec(s, "BEGIN IMMEDIATE", err));
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", GTEE_NODE_SCHEMA_VERSION);
        if ((rc = exec(s, schema, err)) < 0 || (rc = exec(s, schema_v2, err)) < 0 ||
            (rc = exec(s, schema_v3, err)) < 0 || (rc = exec(s, schema_v4, err)) < 0 || (rc = exec(s, sql, err)) < 0 ||
            (rc = exec(s, "COMMIT", err)) < 0) {
            (void)exec(s, "ROLLBACK", NULL);
            goto out;
        }
        version = GTEE_NODE_SCHEMA_VERSION;
    } else if (version == 1) {
        /* A data directory made before jobs were submitted through the node: migrated in
         * place, in one transaction. */
        TRY(exec(s, "BEGIN IMMEDIATE", err));
        if ((rc = exec(s, schema_v2, err)) < 0 || (rc = exec(s, "PRAGMA user_version=2", err)) < 0 ||
            (rc = exec(s, "COMMIT", err)) < 0) {
            (void)exec(s, "ROLLBACK", NULL);
            goto out;
        }
        version = 2;
    }
    if (version == 2) {
        /* One made before Work Proofs: migrated in place, in one transaction. */
        TRY(exec(s, "BEGIN IMMEDIATE", err));
        if ((rc = exec(s, schema_v3, err)) < 0 || (rc = exec(s, "PRAGMA user_version=3", err)) < 0 ||
            (rc = exec(s, "COMMIT", err)) < 0) {
            (void)exec(s, "ROLLBACK", NULL);
            goto out;
        }
        version = 3;
    }
    if (version == 3) {
        /* One made before key-release receipts: migrated in place, in one transaction. */
        TRY(exec(s, "BEGIN IMMEDIATE", err));
        if ((rc = exec(s, schema_v4, err)) < 0 || (rc = exec(s, "PRAGMA user_version=4", err)) < 0 ||
            (rc = exec(s, "COMMIT", err)) < 0) {
            (void)exec(s, "ROLLBACK", NULL);
            goto out;
        }
        version = 4;
    }
    ENSURE(version == GTEE_NODE_SCHEMA_VERSION, err, GTEE_EUNSUPPORTED,
           "node state: %s has schema version %d; this gtee reads version %d", path, version,
           GTEE_NODE_SCHEMA_VERSION);
    *out = s;
    s = NULL;
out:
    sqlite3_finalize(st);
    gtee_node_store_close(s);
    return rc;
}

void gtee_node_store_close(struct gtee_node_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* One statement, bound from a format: 's' text, 'i' int64, 'd' double, 'b' blob (ptr, len). */
static int run(struct gtee_node_store *s, sqlite3_stmt **out, const char *sql, const char *fmt, va_list ap,
               struct gtee_err *err)
{
    sqlite3_stmt *st = NULL;
    int i = 1;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare");
    for (const char *f = fmt; *f; f++, i++) {
        int r = SQLITE_OK;

        if (*f == 's') {
            r = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        } else if (*f == 'i') {
            r = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
        } else if (*f == 'd') {
            r = sqlite3_bind_double(st, i, va_arg(ap, double));
        } else {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);

            r = sqlite3_bind_blob64(st, i, p, n, SQLITE_TRANSIENT);
        }
        if (r != SQLITE_OK) {
            sqlite3_finalize(st);
            return db_fail(s, err, "bind");
        }
    }
    *out = st;
    return 0;
}

/* A statement that returns no rows; the number of rows it changed. */
static int change(struct gtee_node_store *s, struct gtee_err *err, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = run(s, &st, sql, fmt, ap, err);
    va_end(ap);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(s->db) : db_fail(s, err, "write");
    sqlite3_finalize(st);
    return rc;
}

/* The end of a transaction begun with BEGIN IMMEDIATE: committed when rc is 0 and rolled
 * back otherwise (a failed COMMIT too); returns the result. */
static int tx_end(struct gtee_node_store *s, int rc, struct gtee_err *err)
{
    if (rc == 0)
        rc = exec(s, "COMMIT", err);
    if (rc < 0)
        (void)exec(s, "ROLLBACK", NULL);
    return rc;
}

static sqlite3_stmt *query(struct gtee_node_store *s, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (run(s, &st, sql, fmt, ap, NULL) < 0)
        st = NULL;
    va_end(ap);
    return st;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? (const char *)t : "";
}

void gtee_node_store_event(struct gtee_node_store *s, const char *level, const char *fmt, ...)
{
    char text[512], when[32];
    time_t t = time(NULL);
    struct tm tm;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    fprintf(stderr, "%s gtee node: %s: %s\n", when, level, text);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    (void)change(s, NULL, "INSERT INTO events(at, level, text) VALUES(?, ?, ?)", "iss", now_s(), level, text);
    /* The history is bounded: the newest 1000 events are kept. */
    (void)change(s, NULL, "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - 1000", "");
    pthread_mutex_unlock(&s->mu);
}

json_t *gtee_node_store_events(struct gtee_node_store *s, int n, const char *level)
{
    json_t *a = json_array();
    sqlite3_stmt *st;

    pthread_mutex_lock(&s->mu);
    st = level ? query(s, "SELECT at, level, text FROM events WHERE level = ? ORDER BY seq DESC LIMIT ?", "si", level,
                       (int64_t)n)
               : query(s, "SELECT at, level, text FROM events ORDER BY seq DESC LIMIT ?", "i", (int64_t)n);
    while (a && st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:I,s:s,s:s}", "at", (json_int_t)sqlite3_column_int64(st, 0), "level",
                                           col_text(st, 1), "text", col_text(st, 2)));
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return a;
}

int gtee_node_store_blob_add(struct gtee_node_store *s, const char *id, uint64_t size, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "INSERT OR IGNORE INTO blobs(id, size, created) VALUES(?, ?, ?)", "sii", id, (int64_t)size,
                now_s());
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_blob_get(struct gtee_node_store *s, const char *id, uint64_t *size, struct gtee_err *err)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT size FROM blobs WHERE id = ?", "s", id);
    if (!st) {
        rc = db_fail(s, err, "blob lookup");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *size = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : db_fail(s, err, "blob lookup");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

json_t *gtee_node_store_blobs(struct gtee_node_store *s)
{
    json_t *a = json_array();
    sqlite3_stmt *st;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT id, size, created FROM blobs ORDER BY created DESC, id LIMIT 1000", "");
    while (a && st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:s,s:I,s:I}", "id", col_text(st, 0), "size",
                                           (json_int_t)sqlite3_column_int64(st, 1), "created",
                                           (json_int_t)sqlite3_column_int64(st, 2)));
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return a;
}

/* When a blob was last used (see store.h), and whether a job still waiting or running
 * names it; b is the blobs table's alias. */
#define LAST_USED                                                                                                    \
    "MAX(b.created, COALESCE((SELECT MAX(j.updated) FROM jobs j JOIN job_io i ON i.job_id = j.id"                    \
    " WHERE b.id IN (i.model, i.input, i.labels)), 0), COALESCE((SELECT MAX(j.updated) FROM jobs j"                   \
    " JOIN results r ON r.job_id = j.id WHERE r.blob_id = b.id), 0))"
#define IN_USE                                                                                                       \
    "EXISTS(SELECT 1 FROM jobs j JOIN job_io i ON i.job_id = j.id WHERE j.state IN ('queued', 'running')"            \
    " AND b.id IN (i.model, i.input, i.labels))"

int gtee_node_store_blob_rows(struct gtee_node_store *s, int64_t unused_before, struct gtee_node_blob_row **rows,
                              size_t *n, struct gtee_err *err)
{
    struct gtee_node_blob_row *a = NULL;
    size_t cap = 0;
    sqlite3_stmt *st;
    int rc = 0, r;

    *rows = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    st = unused_before < 0
             ? query(s, "SELECT b.id, b.size, " LAST_USED " FROM blobs b ORDER BY b.id", "")
             : query(s,
                     "SELECT b.id, b.size, " LAST_USED " AS last FROM blobs b WHERE last < ? AND NOT " IN_USE
                     " ORDER BY last, b.id",
                     "i", unused_before);
    if (!st) {
        rc = db_fail(s, err, "blob listing");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            struct gtee_node_blob_row *g = realloc(a, (cap = cap ? 2 * cap : 64) * sizeof(*a));

            if (!g) {
                rc = GTEE_FAIL(err, GTEE_ENOMEM, "node state: out of memory");
                goto out;
            }
            a = g;
        }
        snprintf(a[*n].id, sizeof(a[*n].id), "%s", col_text(st, 0));
        a[*n].size = (uint64_t)sqlite3_column_int64(st, 1);
        a[*n].last_used = sqlite3_column_int64(st, 2);
        (*n)++;
    }
    if (r != SQLITE_DONE)
        rc = db_fail(s, err, "blob listing");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        free(a);
        a = NULL;
        *n = 0;
    }
    *rows = a;
    return rc;
}

int gtee_node_store_blob_forget(struct gtee_node_store *s, const char *id, int64_t unused_before,
                                struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    /* One statement: the check and the delete are one transaction, so a job submitted in
     * between either is seen (the row stays) or comes after (and finds the blob gone). */
    rc = unused_before < 0 ? change(s, err, "DELETE FROM blobs WHERE id = ?", "s", id)
                           : change(s, err,
                                    "DELETE FROM blobs WHERE id = ? AND id IN (SELECT b.id FROM blobs b WHERE b.id = ?"
                                    " AND " LAST_USED " < ? AND NOT " IN_USE ")",
                                    "ssi", id, id, unused_before);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gtee_node_store_bytes_held(struct gtee_node_store *s, uint64_t *bytes, struct gtee_err *err)
{
    sqlite3_stmt *st;
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT (SELECT COALESCE(SUM(size), 0) FROM blobs) + (SELECT COALESCE(SUM(size), 0) FROM uploads)",
               "");
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        rc = db_fail(s, err, "blob store size");
    else
        *bytes = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gtee_node_store_upload_ids(struct gtee_node_store *s, int64_t idle_before, struct gtee_node_upload **ids,
                               size_t *n, struct gtee_err *err)
{
    struct gtee_node_upload *a = NULL;
    size_t cap = 0;
    sqlite3_stmt *st;
    int rc = 0, r;

    *ids = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT id, content_id, size, received FROM uploads WHERE ? < 0 OR updated < ? ORDER BY id", "ii",
               idle_before, idle_before);
    if (!st) {
        rc = db_fail(s, err, "upload listing");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            struct gtee_node_upload *g = realloc(a, (cap = cap ? 2 * cap : 16) * sizeof(*a));

            if (!g) {
                rc = GTEE_FAIL(err, GTEE_ENOMEM, "node state: out of memory");
                goto out;
            }
            a = g;
        }
        memset(&a[*n], 0, sizeof(a[*n]));
        snprintf(a[*n].id, sizeof(a[*n].id), "%s", col_text(st, 0));
        snprintf(a[*n].content_id, sizeof(a[*n].content_id), "%s", col_text(st, 1));
        a[*n].size = (uint64_t)sqlite3_column_int64(st, 2);
        a[*n].received = (uint64_t)sqlite3_column_int64(st, 3);
        (*n)++;
    }
    if (r != SQLITE_DONE)
        rc = db_fail(s, err, "upload listing");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        free(a);
        a = NULL;
        *n = 0;
    }
    *ids = a;
    return rc;
}

int gtee_node_store_upload_drop(struct gtee_node_store *s, const char *id, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "DELETE FROM uploads WHERE id = ?", "s", id);
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_upload_add(struct gtee_node_store *s, const struct gtee_node_upload *u, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "INSERT INTO uploads(id, content_id, size, received, created, updated) VALUES(?,?,?,?,?,?)",
                "ssiiii", u->id, u->content_id, (int64_t)u->size, (int64_t)u->received, now_s(), now_s());
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_upload_get(struct gtee_node_store *s, const char *id, struct gtee_node_upload *u,
                               struct gtee_err *err)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT id, content_id, size, received FROM uploads WHERE id = ?", "s", id);
    if (!st) {
        rc = db_fail(s, err, "upload lookup");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(u, 0, sizeof(*u));
        snprintf(u->id, sizeof(u->id), "%s", col_text(st, 0));
        snprintf(u->content_id, sizeof(u->content_id), "%s", col_text(st, 1));
        u->size = (uint64_t)sqlite3_column_int64(st, 2);
        u->received = (uint64_t)sqlite3_column_int64(st, 3);
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : db_fail(s, err, "upload lookup");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gtee_node_store_upload_set(struct gtee_node_store *s, const char *id, uint64_t received, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "UPDATE uploads SET received = ?, updated = ? WHERE id = ?", "iis", (int64_t)received,
                now_s(), id);
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_upload_finish(struct gtee_node_store *s, const struct gtee_node_upload *u, int add_blob,
                                  struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    TRY(exec(s, "BEGIN IMMEDIATE", err));
    rc = add_blob ? change(s, err, "INSERT OR IGNORE INTO blobs(id, size, created) VALUES(?, ?, ?)", "sii",
                           u->content_id, (int64_t)u->size, now_s())
                  : 0;
    if (rc >= 0)
        rc = change(s, err, "DELETE FROM uploads WHERE id = ?", "s", u->id);
    rc = tx_end(s, rc < 0 ? rc : 0, err);
out:
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_job_put(struct gtee_node_store *s, const struct gtee_node_job *j, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err,
                "INSERT INTO jobs(id, kind, state, stage, epoch, epochs, percent, error, created, updated)"
                " VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
                " stage = excluded.stage, epoch = excluded.epoch, epochs = excluded.epochs,"
                " percent = excluded.percent, error = excluded.error, updated = excluded.updated",
                "ssssiidsii", j->id, j->kind, j->state, j->stage, (int64_t)j->epoch, (int64_t)j->epochs, j->percent,
                j->error, now_s(), now_s());
    pthread_mutex_unlock(&s->mu);
    if (rc >= 0)
        job_changed(s, j->id);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_job_progress(struct gtee_node_store *s, const char *id, const char *stage, int epoch,
                                 int epochs, double percent, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    /* Progress is advisory (a job running when the node stops is failed at the next start,
     * whatever its stage): it is committed without waiting for the disk, which a training
     * job's report per epoch would otherwise do each time. The next synced commit syncs it
     * too (one write-ahead log); a crash may lose it, never the database's consistency. */
    (void)exec(s, "PRAGMA synchronous=NORMAL", NULL);
    rc = change(s, err, "UPDATE jobs SET stage = ?, epoch = ?, epochs = ?, percent = ?, updated = ? WHERE id = ?",
                "siidis", stage, (int64_t)epoch, (int64_t)epochs, percent, now_s(), id);
    if (exec(s, "PRAGMA synchronous=FULL", err) < 0 && rc >= 0)
        rc = GTEE_EIO; /* never left undurable for what follows */
    pthread_mutex_unlock(&s->mu);
    if (rc >= 0)
        job_changed(s, id);
    if (rc == 0)
        rc = GTEE_FAIL(err, GTEE_ENOTFOUND, "node state: no job %s", id);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_jobs_fail_running(struct gtee_node_store *s, const char *reason, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "UPDATE jobs SET state = 'failed', error = ?, updated = ? WHERE state = 'running'", "si",
                reason, now_s());
    pthread_mutex_unlock(&s->mu);
    if (rc >= 0)
        job_changed(s, NULL);
    return rc;
}

/* The columns of job_row: the job and, once it is done, its result blob. */
#define JOB_COLS "j.id, j.kind, j.state, j.stage, j.epoch, j.epochs, j.percent, j.error, j.created, j.updated, r.blob_id"
#define JOB_FROM " FROM jobs j LEFT JOIN results r ON r.job_id = j.id"

static json_t *job_row(sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:f,s:I,s:I}", "id", col_text(st, 0), "kind", col_text(st, 1),
                          "state", col_text(st, 2), "stage", col_text(st, 3), "epoch", sqlite3_column_int(st, 4),
                          "epochs", sqlite3_column_int(st, 5), "percent", sqlite3_column_double(st, 6), "created",
                          (json_int_t)sqlite3_column_int64(st, 8), "updated", (json_int_t)sqlite3_column_int64(st, 9));

    if (o && col_text(st, 7)[0])
        json_object_set_new(o, "error", json_string(col_text(st, 7)));
    if (o && col_text(st, 10)[0])
        json_object_set_new(o, "result", json_string(col_text(st, 10)));
    return o;
}

json_t *gtee_node_store_job(struct gtee_node_store *s, const char *id)
{
    json_t *o = NULL;
    sqlite3_stmt *st;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT " JOB_COLS JOB_FROM " WHERE j.id = ?", "s", id);
    if (st && sqlite3_step(st) == SQLITE_ROW)
        o = job_row(st);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return o;
}

json_t *gtee_node_store_jobs(struct gtee_node_store *s, int limit)
{
    json_t *a = json_array();
    sqlite3_stmt *st;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT " JOB_COLS JOB_FROM " ORDER BY j.created DESC, j.id LIMIT ?", "i", (int64_t)limit);
    while (a && st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, job_row(st));
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return a;
}

int gtee_node_store_job_submit(struct gtee_node_store *s, const struct gtee_node_job_io *io, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    TRY(exec(s, "BEGIN IMMEDIATE", err));
    rc = change(s, err,
                "INSERT OR IGNORE INTO jobs(id, kind, state, stage, created, updated) VALUES(?,?,'queued','queued',?,?)",
                "ssii", io->id, io->kind, now_s(), now_s());
    if (rc == 0) {
        rc = GTEE_EEXIST; /* the same box again: the job it made, never a second run */
        (void)exec(s, "ROLLBACK", NULL);
        goto out;
    }
    if (rc < 0 ||
        (rc = change(s, err,
                     "INSERT INTO job_io(job_id, model, input, labels, channel, request) VALUES(?,?,?,?,?,?)",
                     "sssssb", io->id, io->model, io->input, io->labels, io->channel, (const void *)io->request,
                     io->request_len)) < 0 ||
        (rc = exec(s, "COMMIT", err)) < 0) {
        (void)exec(s, "ROLLBACK", NULL);
        goto out;
    }
out:
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_job_next(struct gtee_node_store *s, struct gtee_node_job_io *io, struct gtee_err *err)
{
    sqlite3_stmt *st;
    int rc;

    memset(io, 0, sizeof(*io));
    pthread_mutex_lock(&s->mu);
    st = query(s,
               "SELECT j.id, j.kind, i.model, i.input, i.labels, i.request, i.channel FROM jobs j"
               " JOIN job_io i ON i.job_id = j.id"
               " WHERE j.state = 'queued' ORDER BY j.created, j.rowid LIMIT 1",
               "");
    if (!st) {
        rc = db_fail(s, err, "job lookup");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 5);

        snprintf(io->id, sizeof(io->id), "%s", col_text(st, 0));
        snprintf(io->kind, sizeof(io->kind), "%s", col_text(st, 1));
        snprintf(io->model, sizeof(io->model), "%s", col_text(st, 2));
        snprintf(io->input, sizeof(io->input), "%s", col_text(st, 3));
        snprintf(io->labels, sizeof(io->labels), "%s", col_text(st, 4));
        snprintf(io->channel, sizeof(io->channel), "%s", col_text(st, 6));
        io->request = malloc(n ? n : 1);
        if (!io->request) {
            rc = GTEE_FAIL(err, GTEE_ENOMEM, "node state: out of memory");
        } else {
            if (n)
                memcpy(io->request, sqlite3_column_blob(st, 5), n);
            io->request_len = n;
            rc = 1;
        }
    } else {
        rc = rc == SQLITE_DONE ? 0 : db_fail(s, err, "job lookup");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gtee_node_store_job_start(struct gtee_node_store *s, const char *id, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "UPDATE jobs SET state = 'running', stage = 'loading', updated = ? WHERE id = ?", "is", now_s(),
                id);
    pthread_mutex_unlock(&s->mu);
    if (rc >= 0)
        job_changed(s, id);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_job_done(struct gtee_node_store *s, const char *id, const char *result, const uint8_t *response,
                             size_t len, const struct gtee_node_proof_rec *proof, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    TRY(exec(s, "BEGIN IMMEDIATE", err));
    if ((result[0] && (rc = change(s, err, "INSERT OR REPLACE INTO results(job_id, blob_id, created) VALUES(?,?,?)",
                                   "ssi", id, result, now_s())) < 0) ||
        /* the proof and the counter sealed after it, with the job's end: durable together */
        (proof && (rc = change(s, err, "INSERT INTO proofs(job_id, record, seq, created) VALUES(?,?,?,?)", "sbii", id,
                               (const void *)proof->record, proof->record_len, (int64_t)proof->seq, now_s())) < 0) ||
        (proof && (rc = change(s, err, "INSERT OR REPLACE INTO proof_counter(id, seq, blob, updated) VALUES(1,?,?,?)",
                               "ibi", (int64_t)proof->seq, (const void *)proof->counter, proof->counter_len,
                               now_s())) < 0) ||
        (rc = change(s, err, "UPDATE job_io SET response = ? WHERE job_id = ?", "bs", (const void *)response, len,
                     id)) < 0 ||
        (rc = change(s, err,
                     "UPDATE jobs SET state = 'done', stage = 'done', percent = 100, error = '', updated = ?"
                     " WHERE id = ?",
                     "is", now_s(), id)) < 0 ||
        (rc = exec(s, "COMMIT", err)) < 0)
        (void)exec(s, "ROLLBACK", NULL);
out:
    pthread_mutex_unlock(&s->mu);
    if (rc >= 0)
        job_changed(s, id);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_job_fail(struct gtee_node_store *s, const char *id, int refused, const char *reason,
                             struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    TRY(exec(s, "BEGIN IMMEDIATE", err));
    if ((rc = change(s, err, "UPDATE job_io SET refused = ? WHERE job_id = ?", "is", (int64_t)(refused != 0), id)) < 0 ||
        (rc = change(s, err, "UPDATE jobs SET state = 'failed', stage = ?, error = ?, updated = ? WHERE id = ?",
                     "ssis", refused ? "refused" : "failed", reason, now_s(), id)) < 0 ||
        (rc = exec(s, "COMMIT", err)) < 0)
        (void)exec(s, "ROLLBACK", NULL);
out:
    pthread_mutex_unlock(&s->mu);
    if (rc >= 0)
        job_changed(s, id);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_job_record(struct gtee_node_store *s, const char *id, uint8_t **box, size_t *len,
                               struct gtee_err *err)
{
    sqlite3_stmt *st;
    int rc;

    *box = NULL;
    *len = 0;
    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT response FROM job_io WHERE job_id = ? AND response IS NOT NULL", "s", id);
    if (!st) {
        rc = db_fail(s, err, "job record lookup");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);

        *box = malloc(n ? n : 1);
        if (!*box) {
            rc = GTEE_FAIL(err, GTEE_ENOMEM, "node state: out of memory");
        } else {
            if (n)
                memcpy(*box, sqlite3_column_blob(st, 0), n);
            *len = n;
            rc = 1;
        }
    } else {
        rc = rc == SQLITE_DONE ? 0 : db_fail(s, err, "job record lookup");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gtee_node_store_job_counts(struct gtee_node_store *s, long long counts[4])
{
    static const char *const states[4] = { "queued", "running", "done", "failed" };
    sqlite3_stmt *st;

    memset(counts, 0, 4 * sizeof(counts[0]));
    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT state, COUNT(*) FROM jobs GROUP BY state", "");
    while (st && sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < 4; i++)
            if (!strcmp(col_text(st, 0), states[i]))
                counts[i] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return st ? 0 : GTEE_EIO;
}

int gtee_node_store_sealed_add(struct gtee_node_store *s, const uint8_t *blob, size_t len, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "INSERT INTO sealed(blob, created) VALUES(?, ?)", "bi", (const void *)blob, len, now_s());
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

struct sealed_copy {
    int64_t seq;
    uint8_t *p;
    size_t n;
};

/* One batch of sealed blobs after seq `after`, copied out (fn talks to the enclave, which
 * must not hold the store's lock); returns how many, with the last one's seq in *last. */
static int sealed_batch(struct gtee_node_store *s, int64_t after, struct sealed_copy *list, int max, int64_t *last)
{
    sqlite3_stmt *st;
    int n = 0;

    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT seq, blob FROM sealed WHERE seq > ? ORDER BY seq LIMIT ?", "ii", after, (int64_t)max);
    while (st && n < max && sqlite3_step(st) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);

        list[n].p = malloc(len ? len : 1);
        if (!list[n].p) { /* none skipped: the caller learns it could not read them all */
            while (n > 0)
                free(list[--n].p);
            n = GTEE_ENOMEM;
            break;
        }
        memcpy(list[n].p, sqlite3_column_blob(st, 1), len);
        list[n].n = len;
        list[n].seq = *last = sqlite3_column_int64(st, 0);
        n++;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return st ? n : GTEE_EIO;
}

int gtee_node_store_sealed_each(struct gtee_node_store *s,
                                void (*fn)(int64_t seq, const uint8_t *blob, size_t len, void *arg), void *arg)
{
    struct sealed_copy *list = calloc(GTEE_NODE_SEALED_BATCH, sizeof(*list));
    int64_t after = 0;
    int total = 0, n;

    if (!list)
        return GTEE_ENOMEM;
    /* every one, oldest first, however many: a newer grant replaces an older one in the
     * enclave, and one never handed back would be lost to its owner */
    do {
        n = sealed_batch(s, after, list, GTEE_NODE_SEALED_BATCH, &after);
        for (int i = 0; i < n; i++) {
            fn(list[i].seq, list[i].p, list[i].n, arg);
            free(list[i].p);
        }
        total += n > 0 ? n : 0;
    } while (n == GTEE_NODE_SEALED_BATCH);
    free(list);
    return n < 0 ? n : total;
}

int gtee_node_store_sealed_drop(struct gtee_node_store *s, const int64_t *seqs, size_t n, struct gtee_err *err)
{
    int rc = 0;

    if (!n)
        return 0;
    pthread_mutex_lock(&s->mu);
    TRY(exec(s, "BEGIN IMMEDIATE", err));
    for (size_t i = 0; i < n && rc >= 0; i++)
        rc = change(s, err, "DELETE FROM sealed WHERE seq = ?", "i", seqs[i]);
    rc = tx_end(s, rc < 0 ? rc : 0, err);
out:
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

/* ---- Work Proofs ---- */

int gtee_node_store_proof_counter(struct gtee_node_store *s, uint8_t **blob, size_t *len, uint64_t *seq,
                                  struct gtee_err *err)
{
    sqlite3_stmt *st;
    int rc = 0;

    *blob = NULL;
    *len = 0;
    *seq = 0;
    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT seq, blob FROM proof_counter WHERE id = 1", "");
    ENSURE(st, err, GTEE_EIO, "node state: proof counter: %s", sqlite3_errmsg(s->db));
    if (sqlite3_step(st) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 1);

        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        *blob = malloc(n ? n : 1);
        ENSURE(*blob, err, GTEE_ENOMEM, "node state: out of memory");
        memcpy(*blob, sqlite3_column_blob(st, 1), n);
        *len = n;
        rc = 1;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gtee_node_store_proofs(struct gtee_node_store *s, int pending_only, size_t max, struct gtee_node_proof_rec **out,
                           size_t *n, struct gtee_err *err)
{
    sqlite3_stmt *st;
    struct gtee_node_proof_rec *a = NULL;
    int rc = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    st = query(s,
               pending_only ? "SELECT record, seq, submitted, created FROM proofs WHERE submitted = 0 ORDER BY seq LIMIT ?"
                            : "SELECT record, seq, submitted, created FROM proofs ORDER BY seq LIMIT ?",
               "i", (int64_t)max);
    ENSURE(st, err, GTEE_EIO, "node state: proofs: %s", sqlite3_errmsg(s->db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct gtee_node_proof_rec *na = realloc(a, (*n + 1) * sizeof(*a));
        size_t len = (size_t)sqlite3_column_bytes(st, 0);

        ENSURE(na, err, GTEE_ENOMEM, "node state: out of memory");
        a = na;
        memset(&a[*n], 0, sizeof(a[*n]));
        a[*n].record = malloc(len + 1);
        ENSURE(a[*n].record, err, GTEE_ENOMEM, "node state: out of memory");
        memcpy(a[*n].record, sqlite3_column_blob(st, 0), len);
        a[*n].record[len] = 0;
        a[*n].record_len = len;
        a[*n].seq = (uint64_t)sqlite3_column_int64(st, 1);
        a[*n].submitted = sqlite3_column_int(st, 2);
        a[*n].created = sqlite3_column_int64(st, 3);
        (*n)++;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        gtee_node_proof_recs_free(a, *n);
        a = NULL;
        *n = 0;
    }
    *out = a;
    return rc;
}

void gtee_node_proof_recs_free(struct gtee_node_proof_rec *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].record);
    free(r);
}

int gtee_node_store_proofs_submitted(struct gtee_node_store *s, uint64_t upto_seq, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "UPDATE proofs SET submitted = 1 WHERE submitted = 0 AND seq <= ?", "i", (int64_t)upto_seq);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The rows of a query "SELECT flag, count(*) ... GROUP BY flag": how many with it 0 and 1. */
static int flag_counts(struct gtee_node_store *s, const char *sql, long long *zero, long long *one)
{
    sqlite3_stmt *st;

    *zero = *one = 0;
    pthread_mutex_lock(&s->mu);
    st = query(s, sql, "");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 0))
            *one = sqlite3_column_int64(st, 1);
        else
            *zero = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return st ? 0 : GTEE_EIO;
}

int gtee_node_store_proof_counts(struct gtee_node_store *s, long long *pending, long long *submitted)
{
    return flag_counts(s, "SELECT submitted, count(*) FROM proofs GROUP BY submitted", pending, submitted);
}

int gtee_node_store_release_add(struct gtee_node_store *s, const struct gtee_node_release *r, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err,
                "INSERT OR IGNORE INTO key_releases(enclave, blob, grant_id, time, sig, created) VALUES (?, ?, ?, ?, ?, ?)",
                "bbbibi", r->enclave_id, (size_t)20, r->blob, (size_t)32, r->grant_id, (size_t)32, (int64_t)r->time,
                r->sig, (size_t)65, now_s());
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_releases(struct gtee_node_store *s, size_t max, struct gtee_node_release **out, size_t *n,
                             struct gtee_err *err)
{
    struct gtee_node_release *a = NULL;
    sqlite3_stmt *st;
    int rc = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    st = query(s, "SELECT seq, enclave, blob, grant_id, time, sig FROM key_releases WHERE recorded = 0 ORDER BY seq LIMIT ?",
               "i", (int64_t)max);
    ENSURE(st, err, GTEE_EIO, "node state: key releases: %s", sqlite3_errmsg(s->db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct gtee_node_release *na = realloc(a, (*n + 1) * sizeof(*a)), *r;
        static const int col[] = { 1, 2, 3, 5 };
        static const size_t len[] = { 20, 32, 32, 65 };

        ENSURE(na, err, GTEE_ENOMEM, "node state: out of memory");
        a = na;
        r = &a[(*n)++];
        memset(r, 0, sizeof(*r));
        r->seq = sqlite3_column_int64(st, 0);
        r->time = (uint64_t)sqlite3_column_int64(st, 4);
        for (int i = 0; i < 4; i++)
            ENSURE((size_t)sqlite3_column_bytes(st, col[i]) == len[i], err, GTEE_EFORMAT,
                   "node state: key release %lld: a field of the wrong length", (long long)r->seq);
        memcpy(r->enclave_id, sqlite3_column_blob(st, 1), 20);
        memcpy(r->blob, sqlite3_column_blob(st, 2), 32);
        memcpy(r->grant_id, sqlite3_column_blob(st, 3), 32);
        memcpy(r->sig, sqlite3_column_blob(st, 5), 65);
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        free(a);
        a = NULL;
        *n = 0;
    }
    *out = a;
    return rc;
}

int gtee_node_store_release_recorded(struct gtee_node_store *s, int64_t seq, struct gtee_err *err)
{
    int rc;

    pthread_mutex_lock(&s->mu);
    rc = change(s, err, "UPDATE key_releases SET recorded = 1 WHERE seq = ?", "i", seq);
    pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

int gtee_node_store_release_counts(struct gtee_node_store *s, long long *pending, long long *recorded)
{
    return flag_counts(s, "SELECT recorded, count(*) FROM key_releases GROUP BY recorded", pending, recorded);
}
