/* Helpers shared by the container tests: containers sealed into memory through memfds, a
 * plaintext pattern, keys from a seed. Include after cmocka.h (they assert). */
#ifndef GTEE_TESTS_BOXTEST_H
#define GTEE_TESTS_BOXTEST_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gtee/box.h"

#define SMALL_CHUNK 1024u

struct buf {
    uint8_t *p;
    size_t len;
};

static inline int memfd_with(const void *p, size_t len)
{
    int fd = memfd_create("box-test", 0);

    assert_true(fd >= 0);
    if (len)
        assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static inline struct buf drain(int fd)
{
    struct buf b = {0};
    off_t end = lseek(fd, 0, SEEK_END);

    assert_true(end >= 0);
    b.len = (size_t)end;
    b.p = malloc(b.len + 1);
    assert_non_null(b.p);
    assert_int_equal(pread(fd, b.p, b.len, 0), (ssize_t)b.len);
    return b;
}

static inline struct buf seal(const struct gtee_box_key *key, enum gtee_aead_alg alg, uint32_t chunk, const uint8_t *pt,
                       size_t len)
{
    struct gtee_box_opts opts = { .alg = alg, .chunk_size = chunk };
    struct gtee_box_stats st;
    struct gtee_err err = {0};
    int in = memfd_with(pt, len), out = memfd_with(NULL, 0);
    uint8_t id[32];
    uint64_t size = 0;
    struct buf b;

    assert_int_equal(gtee_box_seal(key, &opts, in, out, &st, &err), 0);
    b = drain(out);
    /* the content id the writer hashed as it wrote is the one read back from the bytes */
    assert_int_equal(lseek(out, 0, SEEK_SET), 0);
    assert_int_equal(gtee_box_content_id(out, id, &size, &err), 0);
    assert_memory_equal(st.content_id, id, 32);
    assert_int_equal(st.container_bytes, b.len);
    assert_int_equal(size, b.len);
    /* the size a caller computes before sealing (to upload while it seals) */
    assert_int_equal(gtee_box_sealed_size(len, chunk), b.len);
    close(in);
    close(out);
    return b;
}

static inline uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len + 1);

    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 131 + (i >> 8));
    return p;
}

static inline void key_from(struct gtee_box_key *k, uint8_t seed)
{
    for (size_t i = 0; i < sizeof(k->bytes); i++)
        k->bytes[i] = (uint8_t)(seed + i);
}

#endif
