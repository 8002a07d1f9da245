/* NumPy .npy writer for float32 arrays: format version 1.0, descr '<f4', C order, the
 * header padded with spaces so the data starts on a 64-byte boundary (as numpy does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "base/span.h"
#include "gtee/dataset.h"
#include "gtee/file.h"

#define NPY_PREFIX_LEN 10 /* magic (6), version (2), header length (2) */
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21

int gtee_npy_encode_f32(const float *data, const size_t *dims, size_t ndim, uint8_t **out, size_t *out_len,
                        struct gtee_err *err)
{
    char dict[96 + GTEE_ARRAY_MAX_DIMS * 24];
    size_t count = 1, pos, hlen, data_len, total;
    uint8_t *buf = NULL;
    int rc = GTEE_EINVAL;

    *out = NULL;
    *out_len = 0;
    ENSURE(ndim <= GTEE_ARRAY_MAX_DIMS, err, GTEE_EINVAL, "npy: %zu dimensions, at most %d supported", ndim,
           GTEE_ARRAY_MAX_DIMS);
    ENSURE(ndim == 0 || dims, err, GTEE_EINVAL, "npy: no dimensions given");
    pos = (size_t)snprintf(dict, sizeof(dict), "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (size_t i = 0; i < ndim; i++) {
        ENSURE(dims[i] > 0 && size_mul(count, dims[i], &count) && count <= GTEE_ARRAY_MAX_ELEMS, err, GTEE_EINVAL,
               "npy: dimension %zu is 0 or the shape exceeds %zu elements", i, GTEE_ARRAY_MAX_ELEMS);
        pos += (size_t)snprintf(dict + pos, sizeof(dict) - pos, i ? " %zu," : "%zu,", dims[i]);
    }
    if (ndim > 1)
        pos--; /* numpy writes (2, 3) but (5,) */
    pos += (size_t)snprintf(dict + pos, sizeof(dict) - pos, "), }");
    ENSURE(count == 0 || data, err, GTEE_EINVAL, "npy: no data given");
    /* NumPy leaves room for the first dimension to grow to 21 digits; doing the same
     * makes our files byte-identical to np.save's */
    if (ndim > 0) {
        char digits[24];
        size_t used = (size_t)snprintf(digits, sizeof(digits), "%zu", dims[0]);

        while (used++ < NPY_GROWTH_DIGITS)
            dict[pos++] = ' ';
    }
    hlen = pos + 1; /* the newline */
    hlen += (NPY_ALIGN - (NPY_PREFIX_LEN + hlen) % NPY_ALIGN) % NPY_ALIGN;
    data_len = count * sizeof(float);
    total = NPY_PREFIX_LEN + hlen + data_len;
    buf = malloc(total);
    ENSURE(buf, err, GTEE_ENOMEM, "npy: no memory for %zu bytes", total);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    put_u16le(buf + 8, (uint16_t)hlen);
    memcpy(buf + NPY_PREFIX_LEN, dict, pos);
    memset(buf + NPY_PREFIX_LEN + pos, ' ', hlen - pos - 1);
    buf[NPY_PREFIX_LEN + hlen - 1] = '\n';
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;

        memcpy(&bits, &data[i], sizeof(bits));
        put_u32le(buf + NPY_PREFIX_LEN + hlen + 4 * i, bits);
    }
    *out = buf;
    *out_len = total;
    rc = 0;
out:
    return rc;
}

/* Through the output helper, replacing a regular file (the library's contract; the CLI
 * passes its own --force rule to gtee_file_write instead). */
int gtee_npy_save_f32(const char *path, const float *data, const size_t *dims, size_t ndim, struct gtee_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    ENSURE(path && *path, err, GTEE_EINVAL, "npy: no output file name");
    TRY(gtee_npy_encode_f32(data, dims, ndim, &buf, &len, err));
    TRY(gtee_file_write(path, buf, len, 0600, GTEE_FILE_REPLACE, err));
out:
    ml_free(buf);
    return rc;
}
