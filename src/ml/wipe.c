/* Every buffer the engine frees is wiped first: model weights, activations, gradients,
 * optimizer state and datasets are the providers' plaintext, and freed memory is reused by
 * whatever allocates next (docs/ml.md, "Memory"). malloc_usable_size gives the size of any
 * block from malloc, calloc, realloc or aligned_alloc, so no call site has to carry one;
 * explicit_bzero is the C library's wipe the compiler may not drop (the engine sits below
 * the crypto part, whose gtee_wipe is OpenSSL's). The ONNX reader gets the same through its
 * allocator. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ml/ml.h"
#include "onnx.pb-c.h"

/* From this size a block's pages are asked whether they are resident before they are wiped. */
#define WIPE_ASK_MIN ((size_t)4 << 20)

/* Wipes [p, p + n), skipping the whole pages of a large block that are not resident: a page
 * never written holds nothing, and wiping it would only fault it in. A plan's arena reserves
 * upper bounds (oneDNN's layouts of the largest convolution), so the CNN's over 10,000
 * images writes 40 % of its 1.6 GB arena, and wiping all of it faulted in the other 60 %:
 * 0.7 s of a 2 s run (docs/performance.md, "Confidential overhead"). mincore(2) tells which
 * pages are resident; if it cannot, everything is wiped. (A page swapped out is not wiped
 * here; wiping it would not clear the swap device either.) */
void ml_wipe(void *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p, lo = (a + page - 1) & ~(uintptr_t)(page - 1),
              hi = (a + n) & ~(uintptr_t)(page - 1);
    unsigned char v[4096];

    if (!p || !n)
        return;
    if (n < WIPE_ASK_MIN || hi <= lo) {
        explicit_bzero(p, n);
        return;
    }
    explicit_bzero(p, lo - a);                     /* the partial pages at either end */
    explicit_bzero((void *)hi, a + n - hi);
    for (uintptr_t at = lo; at < hi;) {
        size_t len = hi - at < sizeof(v) * page ? hi - at : sizeof(v) * page, np = len / page;

        if (mincore((void *)at, len, v) != 0) {
            explicit_bzero((void *)at, hi - at);
            return;
        }
        for (size_t i = 0; i < np;) {
            size_t j = i;

            while (j < np && (v[j] & 1))
                j++;
            if (j > i)
                explicit_bzero((void *)(at + i * page), (j - i) * page);
            while (j < np && !(v[j] & 1))
                j++;
            i = j;
        }
        at += len;
    }
}

void ml_free(void *p)
{
    if (!p)
        return;
    ml_wipe(p, malloc_usable_size(p));
    free(p);
}

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return malloc(size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    ml_free(p);
}

ProtobufCAllocator ml_pb_allocator = { .alloc = pb_alloc, .free = pb_free, .allocator_data = NULL };
