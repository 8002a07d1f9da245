/* libFuzzer target: the IDX reader on arbitrary bytes, as float32 features and as int64
 * labels, and the gzip path (with a small output cap) in front of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/dataset.h"
#include "ml/dataio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size)
{
    static const enum gtee_array_kind kinds[] = { GTEE_ARRAY_F32, GTEE_ARRAY_I64 };

    for (size_t k = 0; k < 2; k++) {
        struct gtee_array a;
        struct gtee_err err = { 0 };
        int rc = gtee_idx_parse(data, size, "fuzz", kinds[k], GTEE_NORM_UNIT_U8, &a, &err);

        if (rc < 0) {
            if (a.f32 || a.i64 || !err.msg[0])
                abort(); /* a refusal leaves nothing allocated and says why */
            continue;
        }
        /* an accepted file is exactly header + count elements */
        if (a.count == 0 || a.ndim == 0 || size < 4 + 4 * a.ndim + a.count)
            abort();
        if (kinds[k] == GTEE_ARRAY_F32) {
            for (size_t i = 0; i < a.count; i++)
                if (!(a.f32[i] == a.f32[i])) /* NaN is refused */
                    abort();
        }
        gtee_array_free(&a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    struct gtee_err err = { 0 };

    check(data, size);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        if (dio_gunzip(data, size, 1 << 20, "idx", "fuzz", &plain, &plain_len, &err) == 0) {
            if (plain_len > (1 << 20))
                abort();
            check(plain, plain_len);
            free(plain);
        } else if (plain || !err.msg[0]) {
            abort();
        }
    }
    return 0;
}
