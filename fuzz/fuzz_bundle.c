/* Fuzz target for the composite evidence bundle parser: a bundle that parses writes back to
 * exactly the same bytes, and its parts lie inside the input; the GPU evidence hash reads
 * exactly the bundles that parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_bundle b;
    uint8_t *out = NULL, h[32];
    size_t n = 0;
    int hashed = gtee_bundle_gpu_hash(data, size, h, NULL);

    if (gtee_bundle_parse(data, size, &b, NULL) != 0) {
        if (hashed == 0 && gtee_bundle_detect(data, size))
            __builtin_trap(); /* hashed a bundle that does not parse */
        return 0;
    }
    if (hashed != 0)
        __builtin_trap();
    if (!gtee_bundle_detect(data, size) || b.n_gpu > GTEE_BUNDLE_GPU_MAX || b.cvm < data ||
        b.cvm + b.cvm_len > data + size)
        __builtin_trap();
    if (gtee_bundle_write(&b, &out, &n, NULL) != 0 || n != size || memcmp(out, data, size) != 0)
        __builtin_trap();
    free(out);
    return 0;
}
