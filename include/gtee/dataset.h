/* Glacier TEE Node ML engine: datasets and arrays from files. Reads the IDX format
 * (MNIST, Fashion-MNIST; optionally gzip-compressed) and NumPy's .npy format into
 * float32 features and int64 labels, and writes float32 .npy files. Every file is
 * untrusted input: sizes are checked before allocation. Formats, limits and errors:
 * docs/datasets.md. */
#ifndef GTEE_DATASET_H
#define GTEE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

#define GTEE_ARRAY_MAX_DIMS 8
/* Largest decoded file (after gunzip) and largest element count we accept. */
#define GTEE_ARRAY_MAX_BYTES ((size_t)1 << 30)
#define GTEE_ARRAY_MAX_ELEMS ((size_t)1 << 28)
/* Largest .npy header (the dict) we parse. */
#define GTEE_NPY_MAX_HEADER 65536u

/* What an array is converted to on load. */
enum gtee_array_kind {
    GTEE_ARRAY_F32 = 1, /* any numeric source; value * scale + bias */
    GTEE_ARRAY_I64 = 2, /* integer sources only (labels, token ids) */
};

/* How features are normalized: x = v * scale + bias (e.g. scale 1/255, bias 0). */
struct gtee_norm {
    float scale;
    float bias;
};

#define GTEE_NORM_NONE ((struct gtee_norm){ 1.0f, 0.0f })
#define GTEE_NORM_UNIT_U8 ((struct gtee_norm){ 1.0f / 255.0f, 0.0f })

/* An n-dimensional array held in memory, C (row-major) order. Exactly one of f32/i64
 * is set, as kind says. ndim may be 0 for a .npy scalar (count is then 1). */
struct gtee_array {
    enum gtee_array_kind kind;
    size_t ndim;
    size_t dims[GTEE_ARRAY_MAX_DIMS];
    size_t count; /* product of dims */
    float *f32;
    int64_t *i64;
};

void gtee_array_free(struct gtee_array *a);

/* Parses IDX bytes (not compressed). name is the file name used in error messages. */
int gtee_idx_parse(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                   struct gtee_norm norm, struct gtee_array *out, struct gtee_err *err) GTEE_MUST_USE;
/* The same, refusing before it allocates anything an array whose converted elements would
 * take more than max_bytes (GTEE_ELIMIT, naming both sizes), as gtee_npy_parse_bounded. */
int gtee_idx_parse_bounded(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                           struct gtee_norm norm, uint64_t max_bytes, struct gtee_array *out,
                           struct gtee_err *err) GTEE_MUST_USE;
/* Reads an IDX file; a gzip stream (magic 1f 8b) is decompressed first. */
int gtee_idx_load(const char *path, enum gtee_array_kind kind, struct gtee_norm norm,
                  struct gtee_array *out, struct gtee_err *err) GTEE_MUST_USE;

/* Parses .npy bytes (format versions 1.0, 2.0, 3.0; C order only). */
int gtee_npy_parse(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                   struct gtee_norm norm, struct gtee_array *out, struct gtee_err *err) GTEE_MUST_USE;
/* The same, refusing before it allocates anything an array whose converted elements
 * (float32 or int64, as kind says) would take more than max_bytes: GTEE_ELIMIT, naming both
 * sizes. */
int gtee_npy_parse_bounded(const uint8_t *buf, size_t len, const char *name, enum gtee_array_kind kind,
                           struct gtee_norm norm, uint64_t max_bytes, struct gtee_array *out,
                           struct gtee_err *err) GTEE_MUST_USE;
/* Reads a .npy file; a gzip stream is decompressed first. */
int gtee_npy_load(const char *path, enum gtee_array_kind kind, struct gtee_norm norm,
                  struct gtee_array *out, struct gtee_err *err) GTEE_MUST_USE;

/* Encodes a float32 array as .npy version 1.0 ('<f4', C order) into a new buffer the
 * caller frees with free(). ndim 0 writes a scalar. */
int gtee_npy_encode_f32(const float *data, const size_t *dims, size_t ndim, uint8_t **out,
                        size_t *out_len, struct gtee_err *err) GTEE_MUST_USE;
/* Writes that encoding to path (created or truncated; a temporary file renamed into
 * place, so a failure leaves no partial file). */
int gtee_npy_save_f32(const char *path, const float *data, const size_t *dims, size_t ndim,
                      struct gtee_err *err) GTEE_MUST_USE;

/* A labelled dataset: n items of item_len float32 features each (item shape in
 * item_dims), and one int64 label per item in 0 .. num_classes - 1. */
struct gtee_dataset {
    size_t n;
    size_t item_ndim;
    size_t item_dims[GTEE_ARRAY_MAX_DIMS - 1];
    size_t item_len;
    int64_t num_classes; /* largest label + 1 */
    float *x;            /* [n, item_dims...] */
    int64_t *y;          /* [n] */
};

void gtee_dataset_free(struct gtee_dataset *ds);

/* Joins a features array [N, ...] and a labels array [N] (taking ownership of their
 * buffers on success; both are freed either way). Names are for error messages. */
int gtee_dataset_from_arrays(struct gtee_array *x, const char *x_name, struct gtee_array *y,
                             const char *y_name, struct gtee_dataset *ds,
                             struct gtee_err *err) GTEE_MUST_USE;

/* Loads features and labels from two IDX files (images and labels). */
int gtee_dataset_load_idx(const char *images_path, const char *labels_path, struct gtee_norm norm,
                          struct gtee_dataset *ds, struct gtee_err *err) GTEE_MUST_USE;
/* Loads features and labels from two .npy files. */
int gtee_dataset_load_npy(const char *x_path, const char *y_path, struct gtee_norm norm,
                          struct gtee_dataset *ds, struct gtee_err *err) GTEE_MUST_USE;
/* Loads one split ("train" or "t10k") of a directory laid out as the MNIST family
 * distributes it: <split>-images-idx3-ubyte[.gz] and <split>-labels-idx1-ubyte[.gz]
 * (Debian's dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist). */
int gtee_dataset_load_mnist_dir(const char *dir, const char *split, struct gtee_norm norm,
                                struct gtee_dataset *ds, struct gtee_err *err) GTEE_MUST_USE;

/* The order of the items in one epoch: a permutation of 0 .. n-1 that depends only on
 * (seed, epoch), the same on every machine and thread count (Fisher-Yates driven by
 * SplitMix64 over seed and epoch, unbiased bounded draws). n >= 1. */
int gtee_dataset_shuffle(size_t *order, size_t n, uint64_t seed, uint64_t epoch,
                         struct gtee_err *err) GTEE_MUST_USE;

/* Copies the items order[0 .. count) of ds into x [count, item_len] and y [count]
 * (a mini-batch); fails if an index is out of range. */
int gtee_dataset_gather(const struct gtee_dataset *ds, const size_t *order, size_t count, float *x,
                        int64_t *y, struct gtee_err *err) GTEE_MUST_USE;

#endif
