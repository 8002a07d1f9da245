/* libFuzzer target: the .npy reader on arbitrary bytes. Whatever it accepts as float32
 * must survive our writer and reader unchanged (shape and bits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_array a, b;
    struct gtee_err err = { 0 };
    uint8_t *enc = NULL;
    size_t enc_len = 0;

    if (gtee_npy_parse(data, size, "fuzz", GTEE_ARRAY_I64, GTEE_NORM_NONE, &a, &err) == 0)
        gtee_array_free(&a);
    else if (a.i64 || !err.msg[0])
        abort();
    if (gtee_npy_parse(data, size, "fuzz", GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err) < 0) {
        if (a.f32 || !err.msg[0])
            abort();
        return 0;
    }
    if (gtee_npy_encode_f32(a.f32, a.dims, a.ndim, &enc, &enc_len, &err) < 0)
        abort();
    if (enc_len % 4 != 0 || (enc_len - a.count * 4) % 64 != 0)
        abort(); /* data starts on a 64-byte boundary */
    if (gtee_npy_parse(enc, enc_len, "re", GTEE_ARRAY_F32, GTEE_NORM_NONE, &b, &err) < 0)
        abort();
    if (b.ndim != a.ndim || b.count != a.count || memcmp(b.dims, a.dims, sizeof(a.dims)) != 0 ||
        memcmp(b.f32, a.f32, a.count * sizeof(float)) != 0)
        abort();
    gtee_array_free(&a);
    gtee_array_free(&b);
    free(enc);
    return 0;
}
