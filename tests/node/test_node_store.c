/* The node's state store (SQLite: schema version, jobs, events) and blob store (upload
 * sessions: offsets, one writer, size limit, the content id check, promotion into blobs/). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "gtee/crypto.h"
#include "node/blobs.h"
#include "node/node.h"
#include "node/store.h"

static char dir[256];

static int setup(void **state)
{
    char p[300];

    snprintf(dir, sizeof(dir), "/tmp/gtee-test-node.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(p, sizeof(p), "%s/blobs", dir);
    if (mkdir(p, 0700))
        return -1;
    snprintf(p, sizeof(p), "%s/uploads", dir);
    return mkdir(p, 0700);
}

static int teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_schema_version(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_err err = { 0 };
    char p[300];
    sqlite3 *db;

    assert_int_equal(gtee_node_store_open(dir, 0, &s, &err), GTEE_EIO); /* absent, not created */
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    gtee_node_store_close(s);
    assert_int_equal(gtee_node_store_open(dir, 0, &s, &err), 0);
    gtee_node_store_close(s);
    /* A version 1 database (before jobs were submitted through the node) is migrated. */
    snprintf(p, sizeof(p), "%s/state.db", dir);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE job_io; DROP TABLE proof_counter; DROP INDEX proofs_by_seq;"
                                  " ALTER TABLE proofs DROP COLUMN seq; PRAGMA user_version=1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(gtee_node_store_open(dir, 0, &s, &err), 0);
    gtee_node_store_close(s);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "SELECT job_id, model, input, labels, channel, request, response, refused FROM job_io",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    /* and on to version 3 (Work Proofs): each proof's seq, the enclave's sealed counter */
    assert_int_equal(sqlite3_exec(db, "SELECT job_id, record, submitted, seq FROM proofs; SELECT seq, blob FROM proof_counter",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    /* A database of another version is refused, not guessed at. */
    snprintf(p, sizeof(p), "%s/state.db", dir);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(gtee_node_store_open(dir, 0, &s, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "schema version 7"));
}

static void test_wal_full(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_err err = { 0 };
    char p[300];
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    snprintf(p, sizeof(p), "%s/state.db", dir);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    gtee_node_store_close(s);
}

static void test_jobs(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_err err = { 0 };
    struct gtee_node_job j = { .id = "aa", .kind = "train", .state = "running", .stage = "training", .epochs = 5 };
    long long counts[4];
    json_t *o;

    memset(j.id, 'a', 64);
    j.id[64] = '\0';
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_store_job_put(s, &j, &err), 0);
    assert_int_equal(gtee_node_store_job_progress(s, j.id, "training", 2, 5, 40.0, &err), 0);
    assert_int_equal(gtee_node_store_job_progress(s, "nope", "x", 0, 0, 0, &err), GTEE_ENOTFOUND);
    o = gtee_node_store_job(s, j.id);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "epoch")), 2);
    assert_true(json_real_value(json_object_get(o, "percent")) == 40.0);
    json_decref(o);
    /* A restart (or an enclave death) reports what was running as failed, with the reason. */
    assert_int_equal(gtee_node_store_jobs_fail_running(s, "the node stopped", &err), 1);
    assert_int_equal(gtee_node_store_jobs_fail_running(s, "the node stopped", &err), 0);
    o = gtee_node_store_job(s, j.id);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(o, "error")), "the node stopped");
    json_decref(o);
    assert_int_equal(gtee_node_store_job_counts(s, counts), 0);
    assert_int_equal(counts[3], 1);
    o = gtee_node_store_jobs(s, 10);
    assert_int_equal(json_array_size(o), 1);
    json_decref(o);
    gtee_node_store_event(s, "error", "something %d", 42);
    o = gtee_node_store_events(s, 5, "error");
    assert_int_equal(json_array_size(o), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "text")), "something 42");
    json_decref(o);
    gtee_node_store_close(s);
}

static void cid_of(const uint8_t *p, size_t n, char hex[65])
{
    uint8_t d[32];

    assert_int_equal(gtee_sha256(p, n, d), 0);
    gtee_hex_encode(d, 32, hex);
}

static void test_upload(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_node_blobs b;
    struct gtee_node_upload u;
    struct gtee_node_upload_put p, p2;
    struct gtee_err err = { 0 };
    uint8_t data[5000], back[5000];
    char cid[65], path[400];
    uint64_t size = 0;
    int done = 0, fd;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    cid_of(data, sizeof(data), cid);
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    assert_int_equal(gtee_node_upload_new(&b, sizeof(data), cid, &u, &err), 0);

    /* The first part, then an offset that is not the node's is refused with the right one. */
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 0, &p, &err), 0);
    /* One writer at a time. */
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 0, &p2, &err), GTEE_ESTATE);
    assert_int_equal(gtee_node_upload_write(&p, data, 2000, &err), 0);
    assert_int_equal(gtee_node_upload_end(&b, &p, &done, &err), 0);
    assert_int_equal(done, 0);
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 0, &p, &err), GTEE_ESTATE);
    assert_non_null(strstr(err.msg, "holds 2000 bytes"));
    assert_int_equal(gtee_node_store_upload_get(s, u.id, &u, &err), 1);
    assert_int_equal(u.received, 2000);

    /* Bytes past the recorded offset (a crash after write, before record) are dropped. */
    snprintf(path, sizeof(path), "%s/uploads/%s", dir, u.id);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 2000, &p, &err), 0);
    /* More than declared is refused. */
    assert_int_equal(gtee_node_upload_write(&p, data, sizeof(data), &err), GTEE_EPOLICY);
    assert_int_equal(gtee_node_upload_write(&p, data + 2000, 3000, &err), 0);
    assert_int_equal(gtee_node_upload_end(&b, &p, &done, &err), 0);
    assert_int_equal(done, 1);
    /* The session is gone; the blob is stored under its content id with the same bytes. */
    assert_int_equal(gtee_node_store_upload_get(s, u.id, &u, &err), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(gtee_node_blob_open(&b, cid, &fd, &size, &err), 0);
    assert_int_equal(size, sizeof(data));
    assert_int_equal(read(fd, back, sizeof(back)), (ssize_t)sizeof(back));
    assert_memory_equal(back, data, sizeof(data));
    close(fd);
    gtee_node_blobs_close(&b);
    gtee_node_store_close(s);
}

/* A node restarted between two parts of an upload has lost the hash it carried from one PUT
 * to the next: the complete upload is then hashed from its file, which still tells the
 * declared content from other bytes. (Reopening the blob store is the restart.) */
static void test_upload_hashed_from_file_after_restart(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_node_blobs b;
    struct gtee_node_upload u, v;
    struct gtee_node_upload_put p;
    struct gtee_err err = { 0 };
    uint8_t data[3000];
    char cid[65];
    int done = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 11 + 3);
    cid_of(data, sizeof(data), cid);
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    assert_int_equal(gtee_node_upload_new(&b, sizeof(data), cid, &u, &err), 0);
    assert_int_equal(gtee_node_upload_new(&b, sizeof(data), cid, &v, &err), 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(gtee_node_upload_begin(&b, k ? v.id : u.id, 0, &p, &err), 0);
        assert_int_equal(gtee_node_upload_write(&p, data, 1000, &err), 0);
        assert_int_equal(gtee_node_upload_end(&b, &p, &done, &err), 0);
    }
    gtee_node_blobs_close(&b);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    /* u: the right rest; v: one byte changed */
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 1000, &p, &err), 0);
    assert_null(p.h);
    assert_int_equal(gtee_node_upload_write(&p, data + 1000, 2000, &err), 0);
    assert_int_equal(gtee_node_upload_end(&b, &p, &done, &err), 0);
    assert_int_equal(done, 1);
    data[2999] ^= 1;
    assert_int_equal(gtee_node_upload_begin(&b, v.id, 1000, &p, &err), 0);
    assert_int_equal(gtee_node_upload_write(&p, data + 1000, 2000, &err), 0);
    assert_int_equal(gtee_node_upload_end(&b, &p, &done, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "not the declared"));
    gtee_node_blobs_close(&b);
    gtee_node_store_close(s);
}

static void test_upload_wrong_content(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_node_blobs b;
    struct gtee_node_upload u;
    struct gtee_node_upload_put p;
    struct gtee_err err = { 0 };
    uint8_t data[100] = { 1 };
    char cid[65], path[400];
    uint64_t size;
    int done = 0, fd;

    cid_of(data, sizeof(data), cid);
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    assert_int_equal(gtee_node_upload_new(&b, sizeof(data), cid, &u, &err), 0);
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 0, &p, &err), 0);
    data[50] ^= 1; /* not the bytes the content id names */
    assert_int_equal(gtee_node_upload_write(&p, data, sizeof(data), &err), 0);
    assert_int_equal(gtee_node_upload_end(&b, &p, &done, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "not the declared"));
    /* Nothing stored, the session ended. */
    assert_int_equal(gtee_node_blob_open(&b, cid, &fd, &size, &err), GTEE_ENOTFOUND);
    snprintf(path, sizeof(path), "%s/blobs/%s", dir, cid);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(gtee_node_store_upload_get(s, u.id, &u, &err), 0);
    assert_int_equal(gtee_node_upload_begin(&b, u.id, 0, &p, &err), GTEE_ENOTFOUND);
    gtee_node_blobs_close(&b);
    gtee_node_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_hashed_from_file_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_wrong_content, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
