/* Internal helpers shared by the dataset readers (IDX, .npy): whole-file reads with
 * optional gzip decompression, and element conversion to float32 / int64. */
#ifndef GTEE_ML_DATAIO_H
#define GTEE_ML_DATAIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtee/dataset.h"

/* Element types found in the files. */
enum dio_elem {
    DIO_U8, DIO_I8, DIO_U16, DIO_I16, DIO_U32, DIO_I32, DIO_U64, DIO_I64, DIO_F32, DIO_F64,
};

size_t dio_elem_size(enum dio_elem t);
const char *dio_elem_name(enum dio_elem t);

/* Decompresses a whole gzip stream (one member, nothing after it) into a new buffer of
 * at most max bytes. fmt ("idx", "npy") and name prefix error messages. */
int dio_gunzip(const uint8_t *in, size_t in_len, size_t max, const char *fmt, const char *name,
               uint8_t **out, size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;

/* Reads a regular file of at most GTEE_ARRAY_MAX_BYTES into a new buffer; gunzips it
 * (to at most GTEE_ARRAY_MAX_BYTES) when it starts with the gzip magic. */
int dio_read_file(const char *path, const char *fmt, uint8_t **out, size_t *out_len,
                  struct gtee_err *err) GTEE_MUST_USE;

/* Converts out->count elements of type t at src (data_off: their file offset, for
 * messages) into a new out->f32 or out->i64 buffer, as out->kind says. */
int dio_convert(const uint8_t *src, enum dio_elem t, bool big_endian, struct gtee_norm norm,
                size_t data_off, const char *fmt, const char *name, struct gtee_array *out,
                struct gtee_err *err) GTEE_MUST_USE;

#endif
