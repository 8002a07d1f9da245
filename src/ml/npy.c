/* NumPy .npy reader (format versions 1.0, 2.0, 3.0, as numpy/lib/format.py documents
 * them): magic "\x93NUMPY", version, header length, then a Python dict literal with
 * exactly the keys 'descr', 'fortran_order' and 'shape', parsed strictly; then the data
 * in C order. Layout and what is refused: docs/datasets.md. */
#include <stdbool.h>
#include <stdlib.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "base/span.h"
#include "ml/dataio.h"

static const uint8_t npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

/* The header being parsed: a span over the dict text (offsets are file offsets). */
struct hdr {
    struct span s;
    const char *name;
    struct gtee_err *err;
};

/* What the dict said. */
struct npy_desc {
    bool have_descr, have_order, have_shape;
    enum dio_elem type;
    bool big_endian;
    size_t ndim;
    size_t dims[GTEE_ARRAY_MAX_DIMS];
    size_t count;
};

/* Data types we read: little-endian numbers ('|' for one byte, as numpy writes them). */
static const struct {
    const char *descr;
    enum dio_elem type;
} npy_types[] = {
    { "|u1", DIO_U8 },  { "|i1", DIO_I8 },  { "<u2", DIO_U16 }, { "<i2", DIO_I16 }, { "<u4", DIO_U32 },
    { "<i4", DIO_I32 }, { "<u8", DIO_U64 }, { "<i8", DIO_I64 }, { "<f4", DIO_F32 }, { "<f8", DIO_F64 },
};

static int peek(const struct hdr *h)
{
    return h->s.len ? h->s.p[0] : -1;
}

static void skip_spaces(struct hdr *h)
{
    while (peek(h) == ' ')
        (void)span_take(&h->s, 1);
}

static int fail_at(struct hdr *h, int code, const char *what)
{
    return GTEE_FAIL(h->err, code, "npy: %s: %s (offset %zu)", h->name, what, h->s.off);
}

/* Consumes the character c (after spaces) or fails naming what was expected. */
static int expect(struct hdr *h, char c, const char *what)
{
    skip_spaces(h);
    if (peek(h) != (unsigned char)c)
        return fail_at(h, GTEE_EFORMAT, what);
    (void)span_take(&h->s, 1);
    return 0;
}

/* A quoted Python string without escapes, as repr() writes simple keys and type codes. */
static int read_string(struct hdr *h, char *buf, size_t cap)
{
    int q, c;
    size_t n = 0;

    skip_spaces(h);
    q = peek(h);
    if (q != '\'' && q != '"')
        return fail_at(h, GTEE_EFORMAT, "expected a quoted string");
    (void)span_take(&h->s, 1);
    while ((c = peek(h)) != q) {
        if (c < 0 || c == '\\' || c == '\n')
            return fail_at(h, GTEE_EFORMAT, "unterminated or escaped string");
        if (n + 1 >= cap)
            return fail_at(h, GTEE_EFORMAT, "string too long");
        buf[n++] = (char)c;
        (void)span_take(&h->s, 1);
    }
    (void)span_take(&h->s, 1);
    buf[n] = '\0';
    return 0;
}

static bool take_word(struct hdr *h, const char *w)
{
    size_t n = strlen(w);

    if (h->s.len < n || memcmp(h->s.p, w, n) != 0)
        return false;
    (void)span_take(&h->s, n);
    return true;
}

static int read_descr(struct hdr *h, struct npy_desc *d)
{
    char s[16];
    size_t off;
    int rc;

    skip_spaces(h);
    off = h->s.off;
    if ((rc = read_string(h, s, sizeof(s))) < 0)
        return rc;
    for (size_t i = 0; i < GTEE_ARRAY_LEN(npy_types); i++) {
        if (strcmp(s, npy_types[i].descr) == 0) {
            d->type = npy_types[i].type;
            d->big_endian = false;
            return 0;
        }
    }
    return GTEE_FAIL(h->err, GTEE_EUNSUPPORTED, "npy: %s: data type '%s' is not supported (offset %zu)", h->name, s,
                     off);
}

static int read_order(struct hdr *h)
{
    skip_spaces(h);
    if (take_word(h, "False"))
        return 0;
    if (take_word(h, "True"))
        return GTEE_FAIL(h->err, GTEE_EUNSUPPORTED, "npy: %s: fortran_order True is not supported (offset %zu)",
                         h->name, h->s.off - 4);
    return fail_at(h, GTEE_EFORMAT, "fortran_order is neither True nor False");
}

/* A decimal integer without sign or leading zeros, at most GTEE_ARRAY_MAX_ELEMS. */
static int read_dim(struct hdr *h, size_t i, size_t *v)
{
    size_t off = h->s.off, n = 0, digits = 0;
    int c;

    while ((c = peek(h)) >= '0' && c <= '9') {
        if (digits == 1 && n == 0)
            return fail_at(h, GTEE_EFORMAT, "shape dimension has a leading zero");
        n = n * 10 + (size_t)(c - '0');
        if (n > GTEE_ARRAY_MAX_ELEMS)
            return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: shape dimension %zu exceeds the limit of %zu (offset %zu)",
                             h->name, i, GTEE_ARRAY_MAX_ELEMS, off);
        digits++;
        (void)span_take(&h->s, 1);
    }
    if (!digits)
        return fail_at(h, GTEE_EFORMAT, "expected a shape dimension");
    if (n == 0)
        return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: shape dimension %zu is 0 (offset %zu)", h->name, i, off);
    *v = n;
    return 0;
}

/* A Python tuple of ints: (), (n,), (a, b), (a, b,). "(n)" is an int, not a tuple. */
static int read_shape(struct hdr *h, struct npy_desc *d)
{
    bool comma = false;
    int rc;

    if ((rc = expect(h, '(', "shape is not a tuple")) < 0)
        return rc;
    d->ndim = 0;
    d->count = 1;
    for (;;) {
        skip_spaces(h);
        if (peek(h) == ')')
            break;
        if (d->ndim > 0 && !comma)
            return fail_at(h, GTEE_EFORMAT, "expected ',' or ')' in shape");
        if (d->ndim == GTEE_ARRAY_MAX_DIMS)
            return GTEE_FAIL(h->err, GTEE_EUNSUPPORTED, "npy: %s: shape has more than %d dimensions (offset %zu)",
                             h->name, GTEE_ARRAY_MAX_DIMS, h->s.off);
        if ((rc = read_dim(h, d->ndim, &d->dims[d->ndim])) < 0)
            return rc;
        if (!size_mul(d->count, d->dims[d->ndim], &d->count) || d->count > GTEE_ARRAY_MAX_ELEMS)
            return fail_at(h, GTEE_EFORMAT, "shape exceeds the element limit");
        d->ndim++;
        skip_spaces(h);
        comma = (peek(h) == ',');
        if (comma)
            (void)span_take(&h->s, 1);
    }
    if (d->ndim == 1 && !comma)
        return fail_at(h, GTEE_EFORMAT, "shape (n) lacks the comma that makes it a tuple");
    (void)span_take(&h->s, 1);
    return 0;
}

static int read_entry(struct hdr *h, struct npy_desc *d)
{
    char key[32];
    size_t off;
    bool *seen;
    int rc;

    skip_spaces(h);
    off = h->s.off;
    if ((rc = read_string(h, key, sizeof(key))) < 0)
        return rc;
    if (strcmp(key, "descr") == 0)
        seen = &d->have_descr;
    else if (strcmp(key, "fortran_order") == 0)
        seen = &d->have_order;
    else if (strcmp(key, "shape") == 0)
        seen = &d->have_shape;
    else
        return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: header dict has unknown key '%s' (offset %zu)", h->name, key,
                         off);
    if (*seen)
        return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: header dict repeats '%s' (offset %zu)", h->name, key, off);
    *seen = true;
    if ((rc = expect(h, ':', "expected ':' after a key")) < 0)
        return rc;
    skip_spaces(h);
    if (seen == &d->have_descr)
        return read_descr(h, d);
    if (seen == &d->have_order)
        return read_order(h);
    return read_shape(h, d);
}

static int parse_dict(struct hdr *h, struct npy_desc *d)
{
    bool comma = true;
    int rc;

    if ((rc = expect(h, '{', "header is not a dict")) < 0)
        return rc;
    for (;;) {
        skip_spaces(h);
        if (peek(h) == '}')
            break;
        if (!comma)
            return fail_at(h, GTEE_EFORMAT, "expected ',' or '}' in header dict");
        if ((rc = read_entry(h, d)) < 0)
            return rc;
        skip_spaces(h);
        comma = (peek(h) == ',');
        if (comma)
            (void)span_take(&h->s, 1);
    }
    (void)span_take(&h->s, 1);
    skip_spaces(h);
    if (peek(h) != '\n' || h->s.len != 1)
        return fail_at(h, GTEE_EFORMAT, "header must end with spaces and one newline after the dict");
    if (!d->have_descr)
        return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: header dict lacks 'descr'", h->name);
    if (!d->have_order)
        return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: header dict lacks 'fortran_order'", h->name);
    if (!d->have_shape)
        return GTEE_FAIL(h->err, GTEE_EFORMAT, "npy: %s: header dict lacks 'shape'", h->name);
    return 0;
}

int gtee_npy_parse(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                   struct gtee_norm norm, struct gtee_array *out, struct gtee_err *err)
{
    return gtee_npy_parse_bounded(buf, len, name, kind, norm, UINT64_MAX, out, err);
}

int gtee_npy_parse_bounded(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                           struct gtee_norm norm, uint64_t max_bytes, struct gtee_array *out, struct gtee_err *err)
{
    struct span s = span_init(buf, len);
    struct npy_desc d = { 0 };
    struct gtee_array a = { .kind = kind };
    struct hdr h;
    const uint8_t *magic;
    uint8_t major, minor;
    size_t hlen, data_len;
    int rc = GTEE_EFORMAT;

    memset(out, 0, sizeof(*out));
    if (!name)
        name = "(buffer)";
    magic = span_take(&s, sizeof(npy_magic));
    ENSURE(magic && memcmp(magic, npy_magic, sizeof(npy_magic)) == 0, err, GTEE_EFORMAT,
           "npy: %s: not a .npy file: magic \\x93NUMPY missing (offset 0)", name);
    major = span_u8(&s);
    minor = span_u8(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "npy: %s: truncated before the format version (offset 6)", name);
    ENSURE((major == 1 || major == 2 || major == 3) && minor == 0, err, GTEE_EUNSUPPORTED,
           "npy: %s: format version %u.%u is not supported (offset 6)", name, major, minor);
    hlen = major == 1 ? span_u16le(&s) : span_u32le(&s);
    ENSURE(!s.bad, err, GTEE_EFORMAT, "npy: %s: truncated in the header length (offset 8)", name);
    ENSURE(hlen <= GTEE_NPY_MAX_HEADER, err, GTEE_EFORMAT,
           "npy: %s: header length %zu exceeds the limit of %u (offset 8)", name, hlen, GTEE_NPY_MAX_HEADER);
    ENSURE(hlen <= s.len, err, GTEE_EFORMAT, "npy: %s: header truncated: %zu bytes declared, %zu remain (offset %zu)",
           name, hlen, s.len, s.off);
    h.s = span_sub(&s, hlen);
    h.name = name;
    h.err = err;
    /* versions 1 and 2 are latin-1, 3 is UTF-8; every valid header we accept is ASCII */
    for (size_t i = 0; i < hlen; i++)
        ENSURE(h.s.p[i] == '\n' || (h.s.p[i] >= 0x20 && h.s.p[i] < 0x7f), err, GTEE_EFORMAT,
               "npy: %s: header has a control or non-ASCII byte (offset %zu)", name, h.s.off + i);
    TRY(parse_dict(&h, &d));
    memcpy(a.dims, d.dims, sizeof(a.dims));
    a.ndim = d.ndim;
    a.count = d.count;
    data_len = d.count * dio_elem_size(d.type); /* no overflow: count <= 2^28 */
    ENSURE(s.len >= data_len, err, GTEE_EFORMAT,
           "npy: %s: data truncated: the shape needs %zu bytes of %s, %zu remain (offset %zu)", name, data_len,
           dio_elem_name(d.type), s.len, s.off);
    ENSURE(s.len == data_len, err, GTEE_EFORMAT, "npy: %s: %zu bytes after the data (offset %zu)", name,
           s.len - data_len, s.off + data_len);
    ENSURE((uint64_t)d.count * (kind == GTEE_ARRAY_I64 ? 8 : 4) <= max_bytes, err, GTEE_ELIMIT,
           "npy: %s: %zu elements take %zu bytes as %s, over the limit of %llu", name, d.count,
           d.count * (kind == GTEE_ARRAY_I64 ? 8 : 4), kind == GTEE_ARRAY_I64 ? "int64" : "float32",
           (unsigned long long)max_bytes);
    TRY(dio_convert(s.p, d.type, d.big_endian, norm, s.off, "npy", name, &a, err));
    *out = a;
    rc = 0;
out:
    return rc;
}

int gtee_npy_load(const char *path, enum gtee_array_kind kind, struct gtee_norm norm, struct gtee_array *out,
                  struct gtee_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = GTEE_EIO;

    memset(out, 0, sizeof(*out));
    ENSURE(path, err, GTEE_EINVAL, "npy: no file name");
    TRY(dio_read_file(path, "npy", &buf, &len, err));
    TRY(gtee_npy_parse(buf, len, path, kind, norm, out, err));
out:
    ml_free(buf);
    return rc;
}
