/* Sealed container v1: round trips and every tampering the format must resist. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>

#include "box/internal.h"
#include "gtee/box.h"

#include "box/boxtest.h"

/* Returns the library's result; on success *pt holds the plaintext. */
static int open_buf(const struct gtee_box_key *key, const struct buf *c, struct buf *pt, struct gtee_err *err)
{
    int in = memfd_with(c->p, c->len), out = memfd_with(NULL, 0);
    int rc = gtee_box_open(key, NULL, in, out, NULL, err);

    *pt = drain(out);
    close(in);
    close(out);
    return rc;
}

static void test_box_round_trips_all_sizes_both_algorithms(void **state)
{
    static const size_t sizes[] = { 0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK,
                                    3 * SMALL_CHUNK + 17 };
    static const enum gtee_aead_alg algs[] = { GTEE_AEAD_AES_256_GCM, GTEE_AEAD_CHACHA20_POLY1305 };
    struct gtee_box_key key;

    (void)state;
    key_from(&key, 1);
    for (size_t a = 0; a < 2; a++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            uint8_t *pt = pattern(sizes[i]);
            struct buf c = seal(&key, algs[a], SMALL_CHUNK, pt, sizes[i]), out;
            size_t chunks = sizes[i] / SMALL_CHUNK + (sizes[i] % SMALL_CHUNK || sizes[i] == 0 ? 1 : 0);
            struct gtee_err err = {0};

            assert_int_equal(c.len, GTEE_BOX_HEADER_LEN + sizes[i] + chunks * GTEE_BOX_TAG_LEN);
            assert_int_equal(open_buf(&key, &c, &out, &err), 0);
            assert_int_equal(out.len, sizes[i]);
            assert_memory_equal(out.p, pt, sizes[i]);
            free(pt);
            free(c.p);
            free(out.p);
        }
    }
}

static void test_box_header_names_version_algorithm_chunk_and_key_id(void **state)
{
    struct gtee_box_key key;
    struct gtee_box_header hdr;
    uint8_t id[GTEE_BOX_KEY_ID_LEN];
    struct buf c;

    (void)state;
    key_from(&key, 2);
    c = seal(&key, GTEE_AEAD_CHACHA20_POLY1305, 4096, (const uint8_t *)"x", 1);
    assert_int_equal(gtee_box_header_parse(c.p, c.len, &hdr, NULL), 0);
    assert_int_equal(hdr.version, 1);
    assert_int_equal(hdr.alg, GTEE_AEAD_CHACHA20_POLY1305);
    assert_int_equal(hdr.chunk_size, 4096);
    assert_int_equal(gtee_box_key_id(&key, id), 0);
    assert_memory_equal(hdr.key_id, id, sizeof(id));
    assert_memory_equal(c.p, "GTEE-BOX", 8);
    free(c.p);
}

static void test_box_rejects_a_bit_flip_anywhere(void **state)
{
    struct gtee_box_key key;
    size_t len = 2 * SMALL_CHUNK + 100;
    uint8_t *pt = pattern(len);
    struct buf c;

    (void)state;
    key_from(&key, 3);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, pt, len);
    for (size_t i = 0; i < c.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            struct gtee_err err = {0};
            struct buf out;
            int rc;

            c.p[i] ^= (uint8_t)(1u << bit);
            rc = open_buf(&key, &c, &out, &err);
            c.p[i] ^= (uint8_t)(1u << bit);
            if (rc == 0)
                fail_msg("flip of bit %d at offset %zu was accepted", bit, i);
            /* nothing of the chunk holding the flip was released */
            if (i >= GTEE_BOX_HEADER_LEN)
                assert_true(out.len <= ((i - GTEE_BOX_HEADER_LEN) / (SMALL_CHUNK + 16)) * SMALL_CHUNK);
            else
                assert_int_equal(out.len, 0);
            free(out.p);
        }
    }
    free(pt);
    free(c.p);
}

static void test_box_rejects_truncation_at_every_length(void **state)
{
    struct gtee_box_key key;
    size_t len = 3 * SMALL_CHUNK;
    uint8_t *pt = pattern(len);
    struct buf c;

    (void)state;
    key_from(&key, 4);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, pt, len);
    for (size_t cut = 0; cut < c.len; cut++) {
        struct buf t = { c.p, cut }, out;
        struct gtee_err err = {0};

        if (open_buf(&key, &t, &out, &err) == 0)
            fail_msg("container truncated to %zu of %zu bytes was accepted", cut, c.len);
        free(out.p);
    }
    free(pt);
    free(c.p);
}

static void test_box_reports_truncation_at_a_chunk_boundary(void **state)
{
    struct gtee_box_key key;
    size_t len = 3 * SMALL_CHUNK;
    uint8_t *pt = pattern(len);
    struct gtee_err err = {0};
    struct buf c, t, out;

    (void)state;
    key_from(&key, 5);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, pt, len);
    t.p = c.p;
    t.len = GTEE_BOX_HEADER_LEN + 2 * (SMALL_CHUNK + GTEE_BOX_TAG_LEN); /* drop the whole last chunk */
    assert_int_equal(open_buf(&key, &t, &out, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_non_null(strstr(err.msg, "chunk 1"));
    free(out.p);
    t.len = GTEE_BOX_HEADER_LEN; /* header only */
    assert_int_equal(open_buf(&key, &t, &out, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "truncated"));
    free(out.p);
    free(pt);
    free(c.p);
}

static void test_box_rejects_appended_data(void **state)
{
    struct gtee_box_key key;
    uint8_t *pt = pattern(SMALL_CHUNK * 2);
    struct gtee_err err = {0};
    struct buf c, longer, out;

    (void)state;
    key_from(&key, 6);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, pt, SMALL_CHUNK * 2);
    longer.len = c.len + SMALL_CHUNK + GTEE_BOX_TAG_LEN;
    longer.p = calloc(1, longer.len);
    memcpy(longer.p, c.p, c.len);
    assert_int_equal(open_buf(&key, &longer, &out, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "marked final but data follows"));
    free(out.p);
    free(longer.p);
    free(pt);
    free(c.p);
}

static void test_box_rejects_reordered_chunks(void **state)
{
    struct gtee_box_key key;
    size_t blk = SMALL_CHUNK + GTEE_BOX_TAG_LEN, len = 3 * SMALL_CHUNK + 5;
    uint8_t *pt = pattern(len), *tmp = malloc(blk);
    struct gtee_err err = {0};
    struct buf c, out;

    (void)state;
    key_from(&key, 7);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, pt, len);
    memcpy(tmp, c.p + GTEE_BOX_HEADER_LEN, blk);
    memmove(c.p + GTEE_BOX_HEADER_LEN, c.p + GTEE_BOX_HEADER_LEN + blk, blk);
    memcpy(c.p + GTEE_BOX_HEADER_LEN + blk, tmp, blk);
    assert_int_equal(open_buf(&key, &c, &out, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "chunk 0"));
    assert_int_equal(out.len, 0);
    free(out.p);
    free(tmp);
    free(pt);
    free(c.p);
}

static void test_box_rejects_duplicated_chunk(void **state)
{
    struct gtee_box_key key;
    size_t blk = SMALL_CHUNK + GTEE_BOX_TAG_LEN, len = 3 * SMALL_CHUNK + 5;
    uint8_t *pt = pattern(len);
    struct gtee_err err = {0};
    struct buf c, dup, out;

    (void)state;
    key_from(&key, 8);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, pt, len);
    dup.len = c.len + blk;
    dup.p = malloc(dup.len);
    /* header, chunk 0, chunk 0 again, then the rest */
    memcpy(dup.p, c.p, GTEE_BOX_HEADER_LEN + blk);
    memcpy(dup.p + GTEE_BOX_HEADER_LEN + blk, c.p + GTEE_BOX_HEADER_LEN, c.len - GTEE_BOX_HEADER_LEN);
    assert_int_equal(open_buf(&key, &dup, &out, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "chunk 1"));
    assert_int_equal(out.len, SMALL_CHUNK); /* only the authentic chunk 0 was released */
    free(out.p);
    free(dup.p);
    free(pt);
    free(c.p);
}

static void test_box_rejects_header_tampering_naming_the_field(void **state)
{
    static const struct {
        size_t off;
        uint8_t val;
        int code;
        const char *msg;
    } cases[] = {
        { 0, 'X', GTEE_EFORMAT, "bad magic" },
        { 8, 2, GTEE_EUNSUPPORTED, "version 2" },
        { 9, 9, GTEE_EUNSUPPORTED, "unknown algorithm" },
        { 9, GTEE_AEAD_CHACHA20_POLY1305, GTEE_EAUTH, "key commitment" },
        { 11, 1, GTEE_EFORMAT, "reserved" },
        { 12, 0x7f, GTEE_EFORMAT, "chunk size" },
        { 14, 0x08, GTEE_EAUTH, "key commitment" }, /* 1024 -> 2048: still in range */
        { 40, 0, GTEE_EAUTH, "key commitment" },    /* salt (random: flipped, not set) */
        { 70, 0, GTEE_EAUTH, "key commitment" },    /* commitment itself (random too) */
        { 20, 0x55, GTEE_EKEY, "wrong key" },       /* key id */
    };
    struct gtee_box_key key;
    struct buf c;

    (void)state;
    key_from(&key, 9);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, (const uint8_t *)"payload", 7);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gtee_err err = {0};
        uint8_t saved = c.p[cases[i].off];
        struct buf out;

        /* val 0 flips the byte, so a random field is changed whatever it holds */
        c.p[cases[i].off] = cases[i].val ? cases[i].val : (uint8_t)(saved ^ 0x55);
        assert_int_equal(open_buf(&key, &c, &out, &err), cases[i].code);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("offset %zu: message '%s' lacks '%s'", cases[i].off, err.msg, cases[i].msg);
        assert_int_equal(out.len, 0);
        c.p[cases[i].off] = saved;
        free(out.p);
    }
    free(c.p);
}

static void test_box_rejects_wrong_key(void **state)
{
    struct gtee_box_key key, other;
    struct gtee_err err = {0};
    struct buf c, out;

    (void)state;
    key_from(&key, 10);
    key_from(&other, 11);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, (const uint8_t *)"secret", 6);
    assert_int_equal(open_buf(&other, &c, &out, &err), GTEE_EKEY);
    assert_non_null(strstr(err.msg, "wrong key"));
    assert_int_equal(out.len, 0);
    free(out.p);
    free(c.p);
}

/* An attacker who knows two keys rewrites the header's key id so that the second key
 * is tried: the header commitment, an HMAC under a key derived from the container key,
 * binds the container to exactly one key. */
static void test_box_commits_to_one_key(void **state)
{
    struct gtee_box_key k1, k2;
    uint8_t id2[GTEE_BOX_KEY_ID_LEN];
    struct gtee_err err = {0};
    struct buf c, out;

    (void)state;
    key_from(&k1, 12);
    key_from(&k2, 13);
    c = seal(&k1, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, (const uint8_t *)"one key only", 12);
    assert_int_equal(gtee_box_key_id(&k2, id2), 0);
    memcpy(c.p + 16, id2, sizeof(id2));
    assert_int_equal(open_buf(&k2, &c, &out, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "key commitment"));
    assert_int_equal(out.len, 0);
    free(out.p);
    free(c.p);
}

/* Same plaintext, same key: fresh salt gives unrelated containers (no nonce reuse). */
static void test_box_containers_differ_for_same_input(void **state)
{
    struct gtee_box_key key;
    struct buf a, b;

    (void)state;
    key_from(&key, 14);
    a = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, (const uint8_t *)"same", 4);
    b = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, (const uint8_t *)"same", 4);
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.p + 32, b.p + 32, a.len - 32);
    free(a.p);
    free(b.p);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_box_failed_decrypt_leaves_no_output_file(void **state)
{
    char dir[] = "/tmp/gtee-box-test-XXXXXX", in[256], sealed[256], plain[256];
    struct gtee_box_key key;
    struct gtee_err err = {0};
    uint8_t *pt = pattern(5000);
    struct buf c;
    int fd;

    (void)state;
    key_from(&key, 15);
    assert_non_null(mkdtemp(dir));
    snprintf(in, sizeof(in), "%s/in", dir);
    snprintf(sealed, sizeof(sealed), "%s/in.box", dir);
    snprintf(plain, sizeof(plain), "%s/out", dir);
    fd = open(in, O_CREAT | O_WRONLY, 0600);
    assert_int_equal(write(fd, pt, 5000), 5000);
    close(fd);
    assert_int_equal(gtee_box_seal_file(&key, &(struct gtee_box_opts){ .chunk_size = SMALL_CHUNK }, in, sealed, 0,
                                        NULL, &err), 0);
    /* refuses to overwrite */
    assert_int_equal(gtee_box_seal_file(&key, NULL, in, sealed, 0, NULL, &err), GTEE_EEXIST);
    /* tamper with the last chunk: the first four chunks would decrypt, but nothing may remain */
    fd = open(sealed, O_RDWR);
    c = drain(fd);
    c.p[c.len - 3] ^= 1;
    assert_int_equal(pwrite(fd, c.p, c.len, 0), (ssize_t)c.len);
    close(fd);
    assert_int_equal(gtee_box_open_file(&key, NULL, sealed, plain, 0, NULL, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "chunk 4"));
    assert_int_equal(access(plain, F_OK), -1);
    assert_int_equal(count_entries(dir), 2); /* in, in.box: no temporary left */
    /* untampered: decrypts to the original */
    c.p[c.len - 3] ^= 1;
    fd = open(sealed, O_WRONLY);
    assert_int_equal(pwrite(fd, c.p, c.len, 0), (ssize_t)c.len);
    close(fd);
    assert_int_equal(gtee_box_open_file(&key, NULL, sealed, plain, 0, NULL, &err), 0);
    fd = open(plain, O_RDONLY);
    free(c.p);
    c = drain(fd);
    close(fd);
    assert_int_equal(c.len, 5000);
    assert_memory_equal(c.p, pt, 5000);
    unlink(in);
    unlink(sealed);
    unlink(plain);
    rmdir(dir);
    free(c.p);
    free(pt);
}

/* Output to a FIFO or device is written into, never replaced by a regular file. */
static void test_box_writes_into_a_fifo_without_replacing_it(void **state)
{
    char dir[] = "/tmp/gtee-box-fifo-XXXXXX", fifo[256], in[256];
    struct gtee_box_key key;
    struct gtee_err err = {0};
    struct stat st;
    pid_t reader;
    int fd, status;

    (void)state;
    key_from(&key, 18);
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof(fifo), "%s/pipe", dir);
    snprintf(in, sizeof(in), "%s/in", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fd = open(in, O_CREAT | O_WRONLY, 0600);
    assert_int_equal(write(fd, "fifo payload", 12), 12);
    close(fd);
    /* The reader is there before the output is committed (a FIFO without one is refused). */
    fd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(fd >= 0);
    reader = fork();
    if (reader == 0) {
        char buf[512];
        ssize_t n, total = 0;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        /* No writer yet reads as end of file: wait for the data, then read to the real end. */
        while (poll(&pfd, 1, 30000) == 1 && (n = read(fd, buf, sizeof(buf))) > 0) {
            total += n;
            if (total == GTEE_BOX_HEADER_LEN + 12 + GTEE_BOX_TAG_LEN)
                break;
        }
        _exit(total == GTEE_BOX_HEADER_LEN + 12 + GTEE_BOX_TAG_LEN ? 0 : 1);
    }
    close(fd);
    assert_int_equal(gtee_box_seal_file(&key, NULL, in, fifo, 1, NULL, &err), 0);
    assert_int_equal(waitpid(reader, &status, 0), reader);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    unlink(fifo);
    unlink(in);
    rmdir(dir);
}

static void test_box_content_id_is_sha256_of_the_container(void **state)
{
    struct gtee_box_key key;
    uint8_t id[32], want[32];
    uint64_t size = 0;
    struct buf c;
    int fd;

    (void)state;
    key_from(&key, 16);
    c = seal(&key, GTEE_AEAD_AES_256_GCM, SMALL_CHUNK, (const uint8_t *)"content", 7);
    fd = memfd_with(c.p, c.len);
    assert_int_equal(gtee_box_content_id(fd, id, &size, NULL), 0);
    assert_int_equal(gtee_sha256(c.p, c.len, want), 0);
    assert_memory_equal(id, want, 32);
    assert_int_equal(size, c.len);
    close(fd);
    free(c.p);
}

/* A producer that writes `total` bytes of a pattern into a pipe. */
static pid_t spawn_producer(int fd, size_t total)
{
    pid_t pid = fork();

    if (pid == 0) {
        uint8_t chunk[65536];

        memset(chunk, 0xa5, sizeof(chunk));
        for (size_t done = 0; done < total; done += sizeof(chunk))
            if (write(fd, chunk, sizeof(chunk)) < 0)
                _exit(1);
        _exit(0);
    }
    return pid;
}

/* Runs fn in a child reading in_fd and writing out_fd; the child exits 0 only if the call
 * succeeded on exactly `total` plaintext bytes with a peak resident set under 16 MiB. */
static pid_t spawn_bounded(int (*fn)(const struct gtee_box_key *, const struct gtee_box_opts *, int, int,
                                     struct gtee_box_stats *, struct gtee_err *),
                           int in_fd, int out_fd, uint64_t total, int close_a, int close_b)
{
    pid_t pid = fork();

    if (pid == 0) {
        struct gtee_box_key key;
        struct gtee_box_opts opts = { .chunk_size = GTEE_BOX_CHUNK_MAX };
        struct gtee_box_stats st;
        struct rusage ru;

        if (close_a >= 0)
            close(close_a);
        if (close_b >= 0)
            close(close_b);
        key_from(&key, 17);
        if (fn(&key, &opts, in_fd, out_fd, &st, NULL) != 0 || st.plaintext_bytes != total)
            _exit(2);
        getrusage(RUSAGE_SELF, &ru);
        _exit(ru.ru_maxrss < 16 * 1024 ? 0 : 3); /* KiB */
    }
    return pid;
}

/* Memory stays bounded by the chunk size whatever the input length: 512 MiB go from a
 * producer through a sealing process and an opening process, all joined by pipes, with the
 * largest chunk size; each of the two reports its own peak resident set. */
static void test_box_seals_and_opens_in_constant_memory(void **state)
{
    const uint64_t total = (uint64_t)512 << 20;
    int p1[2], p2[2], devnull, st_seal, st_open;
    pid_t prod, sealer, opener;

    (void)state;
#ifdef GTEE_SANITIZED
    skip(); /* the sanitizer's shadow memory makes RSS meaningless */
#endif
    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);
    devnull = open("/dev/null", O_WRONLY);
    prod = spawn_producer(p1[1], (size_t)total);
    close(p1[1]);
    sealer = spawn_bounded(gtee_box_seal, p1[0], p2[1], total, p2[0], -1);
    close(p1[0]);
    close(p2[1]);
    opener = spawn_bounded(gtee_box_open, p2[0], devnull, total, -1, -1);
    close(p2[0]);
    close(devnull);
    assert_int_equal(waitpid(sealer, &st_seal, 0), sealer);
    assert_int_equal(waitpid(opener, &st_open, 0), opener);
    waitpid(prod, NULL, 0);
    assert_true(WIFEXITED(st_seal) && WIFEXITED(st_open));
    assert_int_equal(WEXITSTATUS(st_seal), 0);
    assert_int_equal(WEXITSTATUS(st_open), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_round_trips_all_sizes_both_algorithms),
        cmocka_unit_test(test_box_header_names_version_algorithm_chunk_and_key_id),
        cmocka_unit_test(test_box_rejects_a_bit_flip_anywhere),
        cmocka_unit_test(test_box_rejects_truncation_at_every_length),
        cmocka_unit_test(test_box_reports_truncation_at_a_chunk_boundary),
        cmocka_unit_test(test_box_rejects_appended_data),
        cmocka_unit_test(test_box_rejects_reordered_chunks),
        cmocka_unit_test(test_box_rejects_duplicated_chunk),
        cmocka_unit_test(test_box_rejects_header_tampering_naming_the_field),
        cmocka_unit_test(test_box_rejects_wrong_key),
        cmocka_unit_test(test_box_commits_to_one_key),
        cmocka_unit_test(test_box_containers_differ_for_same_input),
        cmocka_unit_test(test_box_failed_decrypt_leaves_no_output_file),
        cmocka_unit_test(test_box_writes_into_a_fifo_without_replacing_it),
        cmocka_unit_test(test_box_content_id_is_sha256_of_the_container),
        cmocka_unit_test(test_box_seals_and_opens_in_constant_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
