/* IDX reader (the MNIST file format, LeCun et al.; also Fashion-MNIST's): a 4-byte magic
 * (two zero bytes, a data type code, the number of dimensions), one big-endian uint32 per
 * dimension, then the elements, big-endian, in row-major order. Layout: docs/datasets.md. */
#include <stdlib.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "base/span.h"
#include "ml/dataio.h"

/* Data type codes of the IDX format (third magic byte). */
static int idx_type(uint8_t code, enum dio_elem *t)
{
    switch (code) {
    case 0x08: *t = DIO_U8; return 0;
    case 0x09: *t = DIO_I8; return 0;
    case 0x0B: *t = DIO_I16; return 0;
    case 0x0C: *t = DIO_I32; return 0;
    case 0x0D: *t = DIO_F32; return 0;
    case 0x0E: *t = DIO_F64; return 0;
    default: return -1;
    }
}

int gtee_idx_parse(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                   struct gtee_norm norm, struct gtee_array *out, struct gtee_err *err)
{
    return gtee_idx_parse_bounded(buf, len, name, kind, norm, UINT64_MAX, out, err);
}

int gtee_idx_parse_bounded(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                           struct gtee_norm norm, uint64_t max_bytes, struct gtee_array *out, struct gtee_err *err)
{
    struct span s = span_init(buf, len);
    struct gtee_array a = { .kind = kind, .count = 1 };
    enum dio_elem t = DIO_U8;
    uint8_t zero0, zero1, code;
    size_t data_len;
    int rc = GTEE_EFORMAT;

    memset(out, 0, sizeof(*out));
    if (!name)
        name = "(buffer)";
    zero0 = span_u8(&s);
    zero1 = span_u8(&s);
    code = span_u8(&s);
    a.ndim = span_u8(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "idx: %s: file is %zu bytes, shorter than the 4-byte magic (offset 0)", name,
           len);
    ENSURE(zero0 == 0 && zero1 == 0, err, GTEE_EFORMAT, "idx: %s: magic does not start with two zero bytes (offset 0)",
           name);
    ENSURE(idx_type(code, &t) == 0, err, GTEE_EFORMAT, "idx: %s: unknown data type 0x%02x (offset 2)", name, code);
    ENSURE(a.ndim > 0, err, GTEE_EFORMAT, "idx: %s: number of dimensions is 0 (offset 3)", name);
    ENSURE(a.ndim <= GTEE_ARRAY_MAX_DIMS, err, GTEE_EUNSUPPORTED,
           "idx: %s: %zu dimensions, at most %d supported (offset 3)", name, a.ndim, GTEE_ARRAY_MAX_DIMS);
    for (size_t i = 0; i < a.ndim; i++) {
        size_t off = s.off;
        uint32_t d = span_u32be(&s);

        ENSURE(!s.bad, err, GTEE_EFORMAT, "idx: %s: truncated in dimension %zu (offset %zu)", name, i, off);
        ENSURE(d > 0, err, GTEE_EFORMAT, "idx: %s: dimension %zu is 0 (offset %zu)", name, i, off);
        a.dims[i] = d;
        ENSURE(size_mul(a.count, d, &a.count) && a.count <= GTEE_ARRAY_MAX_ELEMS, err, GTEE_EFORMAT,
               "idx: %s: dimensions up to %zu exceed the limit of %zu elements (offset %zu)", name, i,
               GTEE_ARRAY_MAX_ELEMS, off);
    }
    data_len = a.count * dio_elem_size(t); /* no overflow: count <= 2^28, size <= 8 */
    ENSURE(s.len >= data_len, err, GTEE_EFORMAT,
           "idx: %s: data truncated: the dimensions need %zu bytes of %s, %zu remain (offset %zu)", name, data_len,
           dio_elem_name(t), s.len, s.off);
    ENSURE(s.len == data_len, err, GTEE_EFORMAT, "idx: %s: %zu bytes after the data (offset %zu)", name,
           s.len - data_len, s.off + data_len);
    ENSURE((uint64_t)a.count * (kind == GTEE_ARRAY_I64 ? 8 : 4) <= max_bytes, err, GTEE_ELIMIT,
           "idx: %s: %zu elements take %zu bytes as %s, over the limit of %llu", name, a.count,
           a.count * (kind == GTEE_ARRAY_I64 ? 8 : 4), kind == GTEE_ARRAY_I64 ? "int64" : "float32",
           (unsigned long long)max_bytes);
    TRY(dio_convert(s.p, t, true, norm, s.off, "idx", name, &a, err));
    *out = a;
    rc = 0;
out:
    return rc;
}

int gtee_idx_load(const char *path, enum gtee_array_kind kind, struct gtee_norm norm, struct gtee_array *out,
                  struct gtee_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = GTEE_EIO;

    memset(out, 0, sizeof(*out));
    ENSURE(path, err, GTEE_EINVAL, "idx: no file name");
    TRY(dio_read_file(path, "idx", &buf, &len, err));
    TRY(gtee_idx_parse(buf, len, path, kind, norm, out, err));
out:
    ml_free(buf);
    return rc;
}
