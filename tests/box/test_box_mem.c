/* Opening a container into memory, fed in pieces (gtee_box_mem_*): the same plaintext and
 * content id as the descriptor reader and gtee_box_content_id for every size and every way
 * of cutting the bytes, and each failure named as the descriptor reader names it: wrong
 * key, a modified chunk, a declared length too short or too long, bytes past the declared
 * length, a container over the limit refused before anything is allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "box/boxtest.h"

/* Feeds c[0..declared) (or all of c when declared is 0) in pieces of `step` bytes. */
static int open_mem(const struct gtee_box_key *key, const struct buf *c, uint64_t declared, size_t step,
                    uint64_t limit, struct buf *pt, uint8_t id[32], struct gtee_err *err)
{
    struct gtee_box_mem *m = NULL;
    size_t n = declared && declared < c->len ? (size_t)declared : c->len;
    int rc = gtee_box_mem_begin(key, declared ? declared : c->len, limit, &m, err);

    pt->p = NULL;
    pt->len = 0;
    for (size_t off = 0; rc == 0 && off < n; off += step)
        rc = gtee_box_mem_feed(m, c->p + off, n - off < step ? n - off : step, err);
    if (rc == 0)
        rc = gtee_box_mem_finish(m, &pt->p, &pt->len, id, err);
    gtee_box_mem_free(m);
    return rc;
}

static void test_round_trips_every_size_and_cut(void **state)
{
    static const size_t sizes[] = { 0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK + 17 };
    static const size_t steps[] = { 1, 7, 96, 1040, 1 << 20 };
    struct gtee_box_key k;
    struct gtee_err err = {0};

    (void)state;
    key_from(&k, 3);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = pattern(sizes[i]), id[32], want[32];
        struct buf c = seal(&k, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, p, sizes[i]);
        int fd = memfd_with(c.p, c.len);
        uint64_t size = 0;

        assert_int_equal(gtee_box_content_id(fd, want, &size, &err), 0);
        close(fd);
        assert_true(gtee_box_mem_bound(c.len) >= sizes[i]);
        for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
            struct buf pt;

            if (open_mem(&k, &c, 0, steps[j], c.len, &pt, id, &err) != 0)
                fail_msg("size %zu step %zu: %s", sizes[i], steps[j], err.msg);
            assert_int_equal(pt.len, sizes[i]);
            if (sizes[i])
                assert_memory_equal(pt.p, p, sizes[i]);
            assert_memory_equal(id, want, 32);
            gtee_box_plaintext_free(pt.p, pt.len);
        }
        free(c.p);
        free(p);
    }
}

static void test_failures_are_named(void **state)
{
    struct gtee_box_key k, other;
    struct gtee_err err = {0};
    uint8_t *p = pattern(3 * SMALL_CHUNK), id[32];
    struct buf c, pt;
    struct gtee_box_mem *m = NULL;

    (void)state;
    key_from(&k, 3);
    key_from(&other, 4);
    c = seal(&k, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, p, 3 * SMALL_CHUNK);

    assert_int_equal(open_mem(&other, &c, 0, 100, c.len, &pt, id, &err), GTEE_EKEY);
    assert_non_null(strstr(err.msg, "wrong key"));

    c.p[96 + 1040 + 5] ^= 1; /* chunk 1 */
    assert_int_equal(open_mem(&k, &c, 0, 100, c.len, &pt, id, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "chunk 1 (offset 1136"));
    c.p[96 + 1040 + 5] ^= 1;

    /* declared shorter (the host cut it): the last chunk present is not the final one */
    assert_int_equal(open_mem(&k, &c, c.len - 1040, 100, c.len, &pt, id, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "truncated"));
    /* declared longer: the real final chunk arrives where the length promises more */
    assert_int_equal(open_mem(&k, &c, c.len + 1040, 100, c.len + 1040, &pt, id, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "marked final but data follows"));
    /* the bytes stop before the declared length: finish refuses */
    assert_int_equal(gtee_box_mem_begin(&k, c.len, c.len, &m, &err), 0);
    assert_int_equal(gtee_box_mem_feed(m, c.p, c.len - 1, &err), 0);
    assert_int_equal(gtee_box_mem_finish(m, &pt.p, &pt.len, id, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_null(pt.p);
    gtee_box_mem_free(m);
    /* a length that leaves a last chunk shorter than its tag */
    assert_int_equal(open_mem(&k, &c, c.len + 5, 100, c.len + 5, &pt, id, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "fewer than its 16-byte tag"));

    /* over the limit: refused at begin, nothing allocated, with both sizes named */
    assert_int_equal(gtee_box_mem_begin(&k, c.len, 100, &m, &err), GTEE_ELIMIT);
    assert_null(m);
    assert_non_null(strstr(err.msg, "over the limit of 100"));

    /* bytes past the declared length, and every call after a failure */
    assert_int_equal(gtee_box_mem_begin(&k, c.len, c.len, &m, &err), 0);
    assert_int_equal(gtee_box_mem_feed(m, c.p, c.len, &err), 0);
    assert_int_equal(gtee_box_mem_feed(m, c.p, 1, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "past the container's declared length"));
    assert_int_equal(gtee_box_mem_finish(m, &pt.p, &pt.len, id, &err), GTEE_ESTATE);
    assert_null(pt.p);
    gtee_box_mem_free(m);

    assert_int_equal(gtee_box_mem_begin(&k, 50, 1000, &m, &err), GTEE_EFORMAT);
    free(c.p);
    free(p);
}

/* After each progress report, the container's bytes written are gtee_box_sealed_size of the
 * plaintext reported: what an uploader may send while the sealer goes on. */
struct written_check {
    int out;
    uint32_t chunk;
    int calls;
};

static void on_progress(uint64_t done, void *arg)
{
    struct written_check *w = arg;

    w->calls++;
    assert_int_equal(lseek(w->out, 0, SEEK_CUR), (off_t)gtee_box_sealed_size(done, w->chunk));
}

static void test_sealed_size_follows_progress(void **state)
{
    static const size_t sizes[] = { 0, 1, SMALL_CHUNK, 2 * SMALL_CHUNK + 5, 5 * SMALL_CHUNK };
    struct gtee_box_key k;
    struct gtee_err err = {0};

    (void)state;
    key_from(&k, 9);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = pattern(sizes[i]);
        int in = memfd_with(p, sizes[i]), out = memfd_with(NULL, 0);
        struct written_check w = { .out = out, .chunk = SMALL_CHUNK };
        struct gtee_box_opts opts = { .chunk_size = SMALL_CHUNK, .progress = on_progress, .progress_arg = &w };
        struct gtee_box_stats st;

        assert_int_equal(gtee_box_seal(&k, &opts, in, out, &st, &err), 0);
        assert_int_equal(w.calls, sizes[i] ? (int)((sizes[i] + SMALL_CHUNK - 1) / SMALL_CHUNK) : 1);
        assert_int_equal(st.container_bytes, gtee_box_sealed_size(sizes[i], SMALL_CHUNK));
        close(in);
        close(out);
        free(p);
    }
    /* the default chunk: 31,360,128 bytes (10,000 Fashion-MNIST images as float32) */
    assert_int_equal(gtee_box_sealed_size(31360128, 0), 96 + 31360128 + 479 * 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips_every_size_and_cut),
        cmocka_unit_test(test_failures_are_named),
        cmocka_unit_test(test_sealed_size_follows_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
