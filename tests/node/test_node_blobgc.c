/* The blob store kept whole and bounded (src/node/blobgc.c): the start's check cleans every
 * trace a kill can leave (a half-written temporary, a file without its row after a kill
 * mid-delete or mid-promote, a row without its file or of the wrong size, staging files and
 * sessions without each other); the quota refuses an upload before a byte is written; the
 * retention rule deletes only blobs unused for its days, never one a queued or running job
 * names, a result only after its own retention, row before file. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gtee/crypto.h"
#include "node/blobs.h"
#include "node/store.h"

static char dir[256];

static int setup(void **state)
{
    char p[300];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gtee-test-blobgc.XXXXXX");
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

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void cid_of(const void *p, size_t n, char hex[65])
{
    uint8_t d[32];

    assert_int_equal(gtee_sha256(p, n, d), 0);
    gtee_hex_encode(d, 32, hex);
}

static void put_file(const char *sub, const char *name, const void *p, size_t n)
{
    char path[400];
    int fd;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static int has_file(const char *sub, const char *name)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    return access(path, F_OK) == 0;
}

/* A whole blob, stored as an upload stores it: file and row. */
static void store_blob(struct gtee_node_blobs *b, uint8_t fill, size_t n, char cid[65])
{
    struct gtee_node_upload u;
    struct gtee_node_upload_put p;
    struct gtee_err err = { 0 };
    uint8_t *data = malloc(n);
    int done = 0;

    assert_non_null(data);
    memset(data, fill, n);
    cid_of(data, n, cid);
    assert_int_equal(gtee_node_upload_new(b, n, cid, &u, &err), 0);
    assert_int_equal(gtee_node_upload_begin(b, u.id, 0, &p, &err), 0);
    assert_int_equal(gtee_node_upload_write(&p, data, n, &err), 0);
    assert_int_equal(gtee_node_upload_end(b, &p, &done, &err), 0);
    assert_int_equal(done, 1);
    free(data);
}

static void test_check_cleans_crash_traces(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_node_blobs b;
    struct gtee_node_blobs_fix f;
    struct gtee_node_upload u;
    struct gtee_err err = { 0 };
    char good[65], gone[65], shrunk[65], orphan[65], tmp[200];
    uint8_t bytes[300];
    uint64_t size;
    int fd;

    (void)state;
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    store_blob(&b, 1, 1000, good);
    store_blob(&b, 2, 1000, gone);
    store_blob(&b, 3, 1000, shrunk);
    /* A kill mid-delete (row gone, file not yet): the retention pass deletes row first. */
    store_blob(&b, 4, 1000, orphan);
    assert_int_equal(gtee_node_store_blob_forget(s, orphan, -1, &err), 1);
    /* A row whose file is gone, and one whose file lost bytes (a disk's fault, not ours). */
    {
        char p[400];

        snprintf(p, sizeof(p), "%s/blobs/%s", dir, gone);
        assert_int_equal(unlink(p), 0);
        snprintf(p, sizeof(p), "%s/blobs/%s", dir, shrunk);
        assert_int_equal(truncate(p, 10), 0);
    }
    /* A kill mid-write into blobs/ (promote, a job's result): the helper's temporary. */
    memset(bytes, 5, sizeof(bytes));
    snprintf(tmp, sizeof(tmp), ".%s.gtee-tmp.0011223344556677", good);
    put_file("blobs", tmp, bytes, 100);
    /* A file of someone else's is left alone. */
    put_file("blobs", "README", "x", 1);
    /* A staging file without its session, and a session without its staging file. */
    put_file("uploads", "00112233445566778899aabbccddeeff", bytes, 10);
    assert_int_equal(gtee_node_upload_new(&b, 300, good, &u, &err), 0);
    {
        char p[400];

        snprintf(p, sizeof(p), "%s/uploads/%s", dir, u.id);
        assert_int_equal(unlink(p), 0);
    }

    assert_int_equal(gtee_node_blobs_check(&b, &f, &err), 0);
    assert_int_equal(f.temporaries, 1);
    assert_int_equal(f.orphans, 1);
    assert_int_equal(f.missing, 1);
    assert_int_equal(f.wrong_size, 1);
    assert_int_equal(f.staging, 1);
    assert_int_equal(f.sessions, 1);
    assert_false(has_file("blobs", tmp));
    assert_false(has_file("blobs", orphan));
    assert_false(has_file("blobs", shrunk));
    assert_true(has_file("blobs", "README"));
    assert_false(has_file("uploads", "00112233445566778899aabbccddeeff"));
    assert_int_equal(gtee_node_store_upload_get(s, u.id, &u, &err), 0);
    assert_int_equal(gtee_node_store_blob_get(s, gone, &size, &err), 0);
    assert_int_equal(gtee_node_store_blob_get(s, shrunk, &size, &err), 0);
    /* The whole blob is untouched. */
    assert_int_equal(gtee_node_blob_open(&b, good, &fd, &size, &err), 0);
    assert_int_equal(size, 1000);
    close(fd);
    /* A second check finds nothing more. */
    assert_int_equal(gtee_node_blobs_check(&b, &f, &err), 0);
    assert_int_equal(f.temporaries + f.orphans + f.missing + f.wrong_size + f.staging + f.sessions, 0);
    gtee_node_blobs_close(&b);
    gtee_node_store_close(s);
}

static void test_quota(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_node_blobs b;
    struct gtee_node_upload u, u2;
    struct gtee_err err = { 0 };
    char cid[65];
    uint8_t one = 1;
    uint64_t held = 0;
    int after = 0;

    (void)state;
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    b.quota = 5000;
    store_blob(&b, 7, 3000, cid);
    /* A session reserves its declared size: 1500 fits, a second 1500 would not. */
    cid_of(&one, 1, cid);
    assert_int_equal(gtee_node_upload_new(&b, 1500, cid, &u, &err), 0);
    assert_int_equal(gtee_node_store_bytes_held(s, &held, &err), 0);
    assert_int_equal(held, 4500);
    assert_int_equal(gtee_node_upload_new(&b, 1500, cid, &u2, &err), GTEE_ELIMIT);
    /* Both sizes named. */
    assert_non_null(strstr(err.msg, "1500 bytes"));
    assert_non_null(strstr(err.msg, "4500 of its 5000 bytes"));
    /* Nothing written for the refused one: still one session, one staging file. */
    {
        struct gtee_node_upload *ids = NULL;
        size_t n = 0;

        assert_int_equal(gtee_node_store_upload_ids(s, -1, &ids, &n, &err), 0);
        assert_int_equal(n, 1);
        free(ids);
    }
    {
        char cmd[400];
        FILE *p;

        snprintf(cmd, sizeof(cmd), "ls -A '%s/uploads' | wc -l", dir);
        p = popen(cmd, "r");
        assert_non_null(p);
        assert_int_equal(fscanf(p, "%d", &after), 1);
        pclose(p);
    }
    assert_int_equal(after, 1);
    /* Exactly at the quota is allowed. */
    assert_int_equal(gtee_node_upload_new(&b, 500, cid, &u2, &err), 0);
    gtee_node_blobs_close(&b);
    gtee_node_store_close(s);
}

static void submit(struct gtee_node_store *s, const char *id, const char *model, const char *input)
{
    struct gtee_node_job_io io;
    struct gtee_err err = { 0 };
    uint8_t box[4] = { 1, 2, 3, 4 };

    memset(&io, 0, sizeof(io));
    snprintf(io.id, sizeof(io.id), "%s", id);
    snprintf(io.kind, sizeof(io.kind), "infer");
    snprintf(io.model, sizeof(io.model), "%s", model);
    snprintf(io.input, sizeof(io.input), "%s", input);
    io.request = box;
    io.request_len = sizeof(box);
    assert_int_equal(gtee_node_store_job_submit(s, &io, &err), 0);
}

static int listed(const struct gtee_node_blob_row *rows, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].id, id))
            return 1;
    return 0;
}

static void test_retention(void **state)
{
    struct gtee_node_store *s = NULL;
    struct gtee_node_blobs b;
    struct gtee_node_blob_row *gone = NULL;
    struct gtee_node_upload u;
    struct gtee_err err = { 0 };
    char idle[65], model[65], input[65], result[65], job[65], job2[65];
    uint8_t res[100];
    size_t n = 0;
    int sessions = 0;
    int64_t now = (int64_t)time(NULL), later = now + 3 * 86400;

    (void)state;
    assert_int_equal(gtee_node_store_open(dir, 1, &s, &err), 0);
    assert_int_equal(gtee_node_blobs_open(&b, dir, s, 1 << 20, &err), 0);
    store_blob(&b, 1, 100, idle);
    store_blob(&b, 2, 100, model);
    store_blob(&b, 3, 100, input);
    memset(job, 'a', 64);
    job[64] = '\0';
    memset(job2, 'b', 64);
    job2[64] = '\0';
    /* A queued job names model and input; an idle upload session. */
    submit(s, job, model, input);
    assert_int_equal(gtee_node_upload_new(&b, 50, idle, &u, &err), 0);

    /* Not yet old enough: nothing. */
    assert_int_equal(gtee_node_blobs_retain(&b, later - 7 * 86400, 1, &gone, &n, &sessions, &err), 0);
    assert_int_equal(n, 0);
    free(gone);
    /* Dry run: lists the idle blob (never those the queued job names), deletes nothing. */
    assert_int_equal(gtee_node_blobs_retain(&b, later - 2 * 86400, 1, &gone, &n, &sessions, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(gone[0].id, idle);
    assert_int_equal(sessions, 1);
    free(gone);
    assert_true(has_file("blobs", idle));
    assert_true(has_file("uploads", u.id));
    /* For real: row and file gone, the session too. */
    assert_int_equal(gtee_node_blobs_retain(&b, later - 2 * 86400, 0, &gone, &n, &sessions, &err), 0);
    assert_int_equal(n, 1);
    free(gone);
    assert_false(has_file("blobs", idle));
    assert_false(has_file("uploads", u.id));
    assert_int_equal(gtee_node_store_blob_get(s, idle, &(uint64_t){ 0 }, &err), 0);
    assert_true(has_file("blobs", model));

    /* The job runs and is done with a result: model, input and result were used now, so
     * all three wait out their retention from the job's end. */
    assert_int_equal(gtee_node_store_job_start(s, job, &err), 0);
    assert_int_equal(gtee_node_blobs_retain(&b, later - 2 * 86400, 1, &gone, &n, &sessions, &err), 0);
    assert_int_equal(n, 0); /* running: kept whatever its age */
    memcpy(res, "GTEE-RES", 8);
    memset(res + 8, 9, sizeof(res) - 8);
    assert_int_equal(gtee_node_keep_host_part(&b, res, sizeof(res), result, &err), 0);
    assert_int_equal(gtee_node_store_job_done(s, job, result, res, 4, NULL, &err), 0);
    assert_int_equal(gtee_node_blobs_retain(&b, now - 86400, 1, &gone, &n, &sessions, &err), 0);
    assert_int_equal(n, 0);
    free(gone);
    assert_int_equal(gtee_node_blobs_retain(&b, later - 2 * 86400, 0, &gone, &n, &sessions, &err), 0);
    assert_int_equal(n, 3);
    assert_true(listed(gone, n, model) && listed(gone, n, input) && listed(gone, n, result));
    free(gone);
    assert_false(has_file("blobs", result));

    /* A job queued on a blob past its retention keeps it. */
    store_blob(&b, 4, 100, model);
    submit(s, job2, model, model);
    assert_int_equal(gtee_node_blobs_retain(&b, later - 1 * 86400, 0, &gone, &n, &sessions, &err), 0);
    assert_false(listed(gone, n, model));
    free(gone);
    assert_true(has_file("blobs", model));
    gtee_node_blobs_close(&b);
    gtee_node_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_cleans_crash_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
