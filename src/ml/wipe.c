/* Every buffer the engine frees is wiped first: model weights, activations, gradients,
 * optimizer state and datasets are the providers' plaintext, and freed memory is reused by
 * whatever allocates next (docs/ml.md, "Memory"). malloc_usable_size gives the size of any
 * block from malloc, calloc, realloc or aligned_alloc, so no call site has to carry one;
 * explicit_bzero is the C library's wipe the compiler may not drop (the engine sits below
 * the crypto part, whose gtee_wipe is OpenSSL's). The ONNX reader gets the same through its
 * allocator. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "ml/ml.h"
#include "onnx.pb-c.h"

void ml_free(void *p)
{
    if (!p)
        return;
    explicit_bzero(p, malloc_usable_size(p));
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
