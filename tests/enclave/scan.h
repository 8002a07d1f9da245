/* The canary scanner of the enclave tests (docs/tee.md §9): finds a needle in files and in
 * this process's own readable memory. A needle is held as two masks whose XOR it is, and
 * compared byte by byte against the XOR, so the scanning process (the host) never builds
 * the needle in its own memory. Include after cmocka.h and tests/tee/fake_fifo.c. */
#ifndef GTEE_TESTS_SCAN_H
#define GTEE_TESTS_SCAN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct needle {
    const volatile uint8_t *a, *b; /* needle = a XOR b */
    size_t len;
};

static inline int needle_at(const struct needle *n, const uint8_t *p)
{
    for (size_t i = 0; i < n->len; i++)
        if (p[i] != (uint8_t)(n->a[i] ^ n->b[i]))
            return 0;
    return 1;
}

static inline size_t needle_count(const struct needle *n, const uint8_t *buf, size_t len)
{
    uint8_t first = (uint8_t)(n->a[0] ^ n->b[0]);
    size_t hits = 0;

    for (size_t i = 0; i + n->len <= len; i++)
        if (buf[i] == first && needle_at(n, buf + i))
            hits++;
    return hits;
}

static inline size_t needle_scan_file(const struct needle *n, const char *path)
{
    size_t len = 0, hits;
    struct stat st;
    uint8_t *b;

    assert_int_equal(stat(path, &st), 0);
    if (st.st_size == 0)
        return 0; /* exists, and holds nothing */
    b = fake_load(path, &len);
    assert_non_null(b);
    hits = needle_count(n, b, len);
    free(b);
    return hits;
}

/* Every readable mapping of this process, through /proc/self/mem (as a debugger or a
 * compromised host process would read it). Huge reservations (sanitizer shadow) are
 * skipped; *scanned says how much was read. */
static inline size_t needle_scan_memory(const struct needle *n, size_t *scanned)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    int mem = open("/proc/self/mem", O_RDONLY);
    size_t chunk = 1 << 20, hits = 0;
    uint8_t *buf = malloc(chunk + n->len);
    char line[512];

    assert_non_null(maps);
    assert_true(mem >= 0);
    assert_non_null(buf);
    *scanned = 0;
    while (fgets(line, sizeof(line), maps)) {
        unsigned long lo, hi;
        char perms[8];

        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
            continue;
        if (strstr(line, "[vvar") || strstr(line, "[vsyscall]") || hi - lo > (1ul << 30))
            continue;
        for (unsigned long off = lo; off < hi; off += chunk) {
            size_t want = hi - off < chunk + n->len ? hi - off : chunk + n->len;
            ssize_t got = pread(mem, buf, want, (off_t)off);

            if (got <= 0)
                break; /* an unreadable guard mapping */
            /* the scan buffer itself is in this memory: it holds what it read, which is
             * only a match if the needle was already there */
            hits += needle_count(n, buf, (size_t)got);
            *scanned += (size_t)got > chunk ? chunk : (size_t)got;
        }
    }
    fclose(maps);
    close(mem);
    free(buf);
    return hits;
}

#endif
