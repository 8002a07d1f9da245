/* Whole-file reads for the dataset readers: size checks before allocation, gzip streams
 * (RFC 1952) inflated through zlib with a cap on the decoded size, and conversion of
 * file elements (either byte order) to float32 or int64. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "base/span.h"
#include "ml/dataio.h"

size_t dio_elem_size(enum dio_elem t)
{
    switch (t) {
    case DIO_U8: case DIO_I8: return 1;
    case DIO_U16: case DIO_I16: return 2;
    case DIO_U32: case DIO_I32: case DIO_F32: return 4;
    case DIO_U64: case DIO_I64: case DIO_F64: return 8;
    }
    return 0;
}

const char *dio_elem_name(enum dio_elem t)
{
    static const char *const names[] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64",
    };
    return (size_t)t < GTEE_ARRAY_LEN(names) ? names[t] : "?";
}

int dio_gunzip(const uint8_t *in, size_t in_len, size_t max, const char *fmt, const char *name,
               uint8_t **out, size_t *out_len, struct gtee_err *err)
{
    z_stream z;
    uint8_t *buf = NULL, *grown;
    size_t limit = max + 1; /* one spare byte tells "exactly max" from "more than max" */
    size_t cap, have = 0, used;
    int zrc, rc = GTEE_EFORMAT;
    bool open = false;

    *out = NULL;
    *out_len = 0;
    memset(&z, 0, sizeof(z));
    /* 16 + MAX_WBITS: gzip wrapper only (RFC 1952); zlib checks the CRC-32 and ISIZE trailer */
    ENSURE(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, err, GTEE_ENOMEM, "%s: %s: zlib init failed", fmt, name);
    open = true;
    cap = in_len < limit / 4 ? in_len * 4 + 4096 : limit;
    if (cap > limit)
        cap = limit;
    buf = malloc(cap);
    ENSURE(buf, err, GTEE_ENOMEM, "%s: %s: no memory for %zu decompressed bytes", fmt, name, cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        size_t in_left = in_len - (size_t)((const uint8_t *)z.next_in - in), room;

        if (have == cap) {
            ENSURE(cap < limit, err, GTEE_EFORMAT, "%s: %s: decompressed size exceeds the limit of %zu bytes",
                   fmt, name, max);
            cap = cap > limit / 2 ? limit : cap * 2;
            /* not realloc: the old block holds plaintext and must be wiped (ml_free) */
            grown = malloc(cap);
            ENSURE(grown, err, GTEE_ENOMEM, "%s: %s: no memory for %zu decompressed bytes", fmt, name, cap);
            memcpy(grown, buf, have);
            ml_free(buf);
            buf = grown;
        }
        room = cap - have;
        z.avail_in = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
        z.next_out = buf + have;
        z.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        zrc = inflate(&z, Z_NO_FLUSH);
        have = (size_t)(z.next_out - buf);
        used = (size_t)((const uint8_t *)z.next_in - in);
        if (zrc == Z_STREAM_END)
            break;
        if (zrc == Z_OK || (zrc == Z_BUF_ERROR && z.avail_out == 0))
            continue; /* progress made, or more room needed */
        ENSURE(zrc != Z_MEM_ERROR, err, GTEE_ENOMEM, "%s: %s: zlib out of memory", fmt, name);
        ENSURE(zrc != Z_BUF_ERROR, err, GTEE_EFORMAT, "%s: %s: truncated gzip stream (compressed offset %zu)",
               fmt, name, used);
        ENSURE(0, err, GTEE_EFORMAT, "%s: %s: corrupt gzip stream (compressed offset %zu)", fmt, name, used);
    }
    ENSURE(have <= max, err, GTEE_EFORMAT, "%s: %s: decompressed size exceeds the limit of %zu bytes", fmt, name,
           max);
    ENSURE(used == in_len, err, GTEE_EFORMAT,
           "%s: %s: %zu bytes after the end of the gzip stream (compressed offset %zu)", fmt, name, in_len - used,
           used);
    *out = buf;
    *out_len = have;
    buf = NULL;
    rc = 0;
out:
    if (open)
        inflateEnd(&z);
    ml_free(buf);
    return rc;
}

int dio_read_file(const char *path, const char *fmt, uint8_t **out, size_t *out_len, struct gtee_err *err)
{
    struct stat st;
    uint8_t *buf = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    int fd = -1, rc = GTEE_EIO;

    *out = NULL;
    *out_len = 0;
    /* O_NONBLOCK: a FIFO fails the regular-file check below instead of blocking the open
     * (it changes nothing for a regular file). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    ENSURE(fd >= 0, err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO, "%s: %s: cannot open: %s", fmt, path,
           strerror(errno));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "%s: %s: cannot stat: %s", fmt, path, strerror(errno));
    ENSURE(S_ISREG(st.st_mode), err, GTEE_EIO, "%s: %s: not a regular file", fmt, path);
    ENSURE((uint64_t)st.st_size <= GTEE_ARRAY_MAX_BYTES, err, GTEE_EFORMAT,
           "%s: %s: file is %lld bytes, over the limit of %zu", fmt, path, (long long)st.st_size,
           GTEE_ARRAY_MAX_BYTES);
    len = (size_t)st.st_size;
    buf = malloc(len ? len : 1);
    ENSURE(buf, err, GTEE_ENOMEM, "%s: %s: no memory for %zu bytes", fmt, path, len);
    for (size_t done = 0; done < len;) {
        ssize_t n = read(fd, buf + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        ENSURE(n >= 0, err, GTEE_EIO, "%s: %s: read failed at offset %zu: %s", fmt, path, done, strerror(errno));
        ENSURE(n > 0, err, GTEE_EIO, "%s: %s: file shrank while reading (offset %zu)", fmt, path, done);
        done += (size_t)n;
    }
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) { /* RFC 1952 §2.3.1 ID1 ID2 */
        TRY(dio_gunzip(buf, len, GTEE_ARRAY_MAX_BYTES, fmt, path, &plain, &plain_len, err));
        ml_free(buf);
        buf = plain;
        len = plain_len;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    ml_free(buf);
    return rc;
}

/* One element as a double / as an integer (is_int tells which is exact). */
static uint64_t load_bits(const uint8_t *p, size_t size, bool big_endian)
{
    uint64_t v = 0;

    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[big_endian ? size - 1 - i : i] << (8 * i);
    return v;
}

static int64_t as_signed(uint64_t v, size_t size)
{
    if (size < 8 && (v >> (8 * size - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * size);
    return (int64_t)v;
}

static double load_double(uint64_t bits, enum dio_elem t)
{
    switch (t) {
    case DIO_F32: {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, sizeof(f));
        return f;
    }
    case DIO_F64: {
        double d;
        memcpy(&d, &bits, sizeof(d));
        return d;
    }
    case DIO_U8: case DIO_U16: case DIO_U32: case DIO_U64:
        return (double)bits;
    default:
        return (double)as_signed(bits, dio_elem_size(t));
    }
}

int dio_convert(const uint8_t *src, enum dio_elem t, bool big_endian, struct gtee_norm norm, size_t data_off,
                const char *fmt, const char *name, struct gtee_array *out, struct gtee_err *err)
{
    size_t size = dio_elem_size(t), n = out->count, bytes;
    bool is_float = (t == DIO_F32 || t == DIO_F64);
    bool is_unsigned = (t == DIO_U8 || t == DIO_U16 || t == DIO_U32 || t == DIO_U64);
    int rc = GTEE_EFORMAT;

    out->f32 = NULL;
    out->i64 = NULL;
    ENSURE(n <= GTEE_ARRAY_MAX_ELEMS, err, GTEE_EFORMAT, "%s: %s: %zu elements exceed the limit of %zu", fmt,
           name, n, GTEE_ARRAY_MAX_ELEMS);
    if (out->kind == GTEE_ARRAY_I64) {
        ENSURE(!is_float, err, GTEE_EFORMAT, "%s: %s: integer data expected, the file holds %s (offset %zu)", fmt,
               name, dio_elem_name(t), data_off);
        ENSURE(size_mul(n ? n : 1, sizeof(int64_t), &bytes), err, GTEE_EFORMAT, "%s: %s: size overflow", fmt, name);
        out->i64 = malloc(bytes);
        ENSURE(out->i64, err, GTEE_ENOMEM, "%s: %s: no memory for %zu labels", fmt, name, n);
        for (size_t i = 0; i < n; i++) {
            uint64_t bits = load_bits(src + i * size, size, big_endian);

            ENSURE(!is_unsigned || bits <= (uint64_t)INT64_MAX, err, GTEE_EFORMAT,
                   "%s: %s: element %zu does not fit int64 (offset %zu)", fmt, name, i, data_off + i * size);
            out->i64[i] = is_unsigned ? (int64_t)bits : as_signed(bits, size);
        }
    } else {
        ENSURE(out->kind == GTEE_ARRAY_F32, err, GTEE_EINVAL, "%s: %s: unknown array kind %d", fmt, name,
               (int)out->kind);
        ENSURE(isfinite(norm.scale) && isfinite(norm.bias), err, GTEE_EINVAL,
               "%s: %s: normalization scale and bias must be finite", fmt, name);
        ENSURE(size_mul(n ? n : 1, sizeof(float), &bytes), err, GTEE_EFORMAT, "%s: %s: size overflow", fmt, name);
        out->f32 = malloc(bytes);
        ENSURE(out->f32, err, GTEE_ENOMEM, "%s: %s: no memory for %zu elements", fmt, name, n);
        for (size_t i = 0; i < n; i++) {
            double v = load_double(load_bits(src + i * size, size, big_endian), t);
            float f;

            /* skip identity steps so GTEE_NORM_NONE is exact (x + 0.0 turns -0.0 into +0.0) */
            if (norm.scale != 1.0f)
                v *= norm.scale;
            if (norm.bias != 0.0f)
                v += norm.bias;
            f = (float)v;

            /* NaN and infinity poison training; a value beyond float32 range becomes one */
            ENSURE(isfinite(f), err, GTEE_EFORMAT, "%s: %s: element %zu is not a finite float32 (offset %zu)", fmt,
                   name, i, data_off + i * size);
            out->f32[i] = f;
        }
    }
    rc = 0;
out:
    if (rc < 0) {
        ml_free(out->f32);
        ml_free(out->i64);
        out->f32 = NULL;
        out->i64 = NULL;
    }
    return rc;
}
