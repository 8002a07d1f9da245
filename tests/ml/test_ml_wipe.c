/* The engine's wipe (src/ml/wipe.c): every byte written before is zero after, at any offset
 * and length, and the pages of a large block that were never written stay out of memory
 * (wiping them would only fault them in: docs/performance.md, "Confidential overhead"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "ml/ml.h"

#define BIG ((size_t)64 << 20)

static size_t resident(const uint8_t *p, size_t n, size_t page)
{
    size_t np = n / page, r = 0;
    unsigned char *v = malloc(np);

    assert_non_null(v);
    assert_int_equal(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < np; i++)
        r += v[i] & 1;
    free(v);
    return r;
}

/* A mapping of its own, so that what is resident is only what the test wrote. */
static void test_skips_pages_never_written(void **state)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* an unaligned block inside it, as malloc hands out */
    uint8_t *p = m + 48;
    size_t n = BIG - 48 - 100, written[] = { 0, 5 * page + 7, 100 * page, n - 3 * page, n - 1 };

    (void)state;
    assert_true(m != MAP_FAILED);
    /* small pages, so that a byte written brings in one page, whatever the kernel's
     * transparent huge page setting (with "always", a touch could bring in 2 MiB) */
    assert_int_equal(madvise(m, BIG, MADV_NOHUGEPAGE), 0);
    for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
        memset(p + written[i], 0xA5, written[i] + 3000 < n ? 3000 : n - written[i]);
    assert_true(resident(m, BIG, page) <= 12);
    ml_wipe(p, n);
    for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
        for (size_t k = written[i]; k < written[i] + 3000 && k < n; k++)
            if (p[k])
                fail_msg("byte %zu is %#x after the wipe", k, p[k]);
    /* the wipe faulted in nothing it did not have to: still a handful of pages of 16384 */
    assert_true(resident(m, BIG, page) <= 12);
    munmap(m, BIG);
}

/* Every page written, at sizes either side of the threshold and odd offsets. */
static void test_wipes_every_written_byte(void **state)
{
    static const size_t sizes[] = { 1, 4095, 4096, 65537, ((size_t)4 << 20) - 1, (size_t)4 << 20, ((size_t)9 << 20) + 5 };

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *b = malloc(sizes[i] + 64);

        assert_non_null(b);
        for (size_t off = 0; off < 64; off += 21) {
            memset(b, 0x5A, sizes[i] + 64);
            ml_wipe(b + off, sizes[i]);
            for (size_t k = 0; k < sizes[i] + 64; k++) {
                uint8_t want = k >= off && k < off + sizes[i] ? 0 : 0x5A;

                if (b[k] != want)
                    fail_msg("size %zu offset %zu: byte %zu is %#x, expected %#x", sizes[i], off, k, b[k], want);
            }
        }
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skips_pages_never_written),
        cmocka_unit_test(test_wipes_every_written_byte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
