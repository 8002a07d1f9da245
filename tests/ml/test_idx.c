/* IDX reader and datasets: real Fashion-MNIST files (Debian's dataset-fashion-mnist, and
 * cuts of it in fuzz/corpus/fuzz_idx), every IDX data type, gzip streams, and every malformed
 * header, body or stream refused with its message. */
#include <unistd.h>
#include <zlib.h>

#include "ml/dataio.h"
#include "ml/dstest.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static int parse(const uint8_t *buf, size_t len, enum gtee_array_kind kind, struct gtee_array *a,
                 struct gtee_err *err)
{
    return gtee_idx_parse(buf, len, "t.idx", kind, GTEE_NORM_NONE, a, err);
}

/* Writes bytes to a fresh temporary file whose name ends in suffix. */
static void write_temp(char *path, const char *suffix, const void *data, size_t len)
{
    int fd = mkstemps(path, (int)strlen(suffix));

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* gzip-compresses (RFC 1952) into a new buffer. */
static uint8_t *gzip_bytes(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = len + 1024;
    uint8_t *out = malloc(cap);

    assert_non_null(out);
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void test_idx_reads_fashion_mnist_cut(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file("fuzz/corpus/fuzz_idx/fmnist5-images-idx3-ubyte", &len);

    assert_int_equal(gtee_idx_parse(buf, len, "img", GTEE_ARRAY_F32, GTEE_NORM_UNIT_U8, &a, &err), 0);
    assert_int_equal(a.ndim, 3);
    assert_true(a.dims[0] == 5 && a.dims[1] == 28 && a.dims[2] == 28);
    for (size_t i = 0; i < a.count; i++)
        assert_true(a.f32[i] == (float)((double)buf[16 + i] * (1.0f / 255.0f)));
    gtee_array_free(&a);
    free(buf);
    buf = read_source_file("fuzz/corpus/fuzz_idx/fmnist5-labels-idx1-ubyte", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_true(a.ndim == 1 && a.count == 5);
    /* Fashion-MNIST test labels begin 9 (ankle boot), 2, 1, 1, 6 */
    assert_true(a.i64[0] == 9 && a.i64[1] == 2 && a.i64[2] == 1 && a.i64[3] == 1 && a.i64[4] == 6);
    gtee_array_free(&a);
    free(buf);
}

/* The enclave's bound: refused before anything is allocated when the converted elements
 * would exceed it, both sizes named; accepted at exactly the bound. */
static void test_idx_bounded_refuses_over_the_limit(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file("fuzz/corpus/fuzz_idx/fmnist5-images-idx3-ubyte", &len);

    (void)state;
    assert_int_equal(gtee_idx_parse_bounded(buf, len, "img", GTEE_ARRAY_F32, GTEE_NORM_UNIT_U8, 5 * 784 * 4 - 1, &a,
                                            &err),
                     GTEE_ELIMIT);
    assert_non_null(strstr(err.msg, "3920 elements take 15680 bytes as float32, over the limit of 15679"));
    assert_null(a.f32);
    assert_int_equal(gtee_idx_parse_bounded(buf, len, "img", GTEE_ARRAY_F32, GTEE_NORM_UNIT_U8, 5 * 784 * 4, &a, &err),
                     0);
    assert_int_equal(a.count, 5 * 784);
    gtee_array_free(&a);
    free(buf);
    buf = read_source_file("fuzz/corpus/fuzz_idx/fmnist5-labels-idx1-ubyte", &len);
    assert_int_equal(gtee_idx_parse_bounded(buf, len, "lab", GTEE_ARRAY_I64, GTEE_NORM_NONE, 39, &a, &err),
                     GTEE_ELIMIT);
    assert_non_null(strstr(err.msg, "as int64"));
    free(buf);
}

static void test_idx_reads_every_data_type_big_endian(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf;

    buf = read_source_file("fuzz/corpus/fuzz_idx/int8-2x3.idx", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_true(a.ndim == 2 && a.dims[0] == 2 && a.dims[1] == 3);
    assert_true(a.i64[0] == -128 && a.i64[1] == -1 && a.i64[2] == 0 && a.i64[5] == 127);
    gtee_array_free(&a);
    free(buf);
    buf = read_source_file("fuzz/corpus/fuzz_idx/int16-4.idx", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_true(a.i64[0] == -32768 && a.i64[1] == -2 && a.i64[2] == 300 && a.i64[3] == 32767);
    gtee_array_free(&a);
    free(buf);
    buf = read_source_file("fuzz/corpus/fuzz_idx/int32-3.idx", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_true(a.i64[0] == INT32_MIN && a.i64[1] == 7 && a.i64[2] == INT32_MAX);
    gtee_array_free(&a);
    free(buf);
    buf = read_source_file("fuzz/corpus/fuzz_idx/float32-2x2.idx", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
    assert_true(a.f32[0] == 0.5f && a.f32[1] == -1.25f && a.f32[2] == 3.0f && a.f32[3] == 1e-3f);
    gtee_array_free(&a);
    free(buf);
    buf = read_source_file("fuzz/corpus/fuzz_idx/float64-3.idx", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
    assert_true(a.f32[0] == 0.1f && a.f32[1] == -2.5f && a.f32[2] == 1e30f);
    gtee_array_free(&a);
    free(buf);
}

static void test_idx_rejects_malformed_headers(void **state)
{
    uint8_t b[32] = { 0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0 };
    struct gtee_array a;
    struct gtee_err err = { 0 };

    assert_failed_with(parse(b, 3, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "idx: t.idx: file is 3 bytes, shorter than the 4-byte magic (offset 0)");
    assert_failed_with(parse(b, 16, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "idx: t.idx: dimension 2 is 0 (offset 12)");
    assert_failed_with(parse(b, 14, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "truncated in dimension 2 (offset 12)");
    b[15] = 3;
    b[1] = 1;
    assert_failed_with(parse(b, 22, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "magic does not start with two zero bytes (offset 0)");
    b[1] = 0;
    b[2] = 0x0A;
    assert_failed_with(parse(b, 22, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT, "unknown data type 0x0a (offset 2)");
    b[2] = 0x08;
    b[3] = 0;
    assert_failed_with(parse(b, 22, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "number of dimensions is 0 (offset 3)");
    b[3] = 9;
    assert_failed_with(parse(b, 22, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EUNSUPPORTED,
                       "9 dimensions, at most 8 supported (offset 3)");
    b[3] = 3;
    /* 2 x 1 x 3 bytes of data: one short, one over */
    assert_int_equal(parse(b, 22, GTEE_ARRAY_F32, &a, &err), 0);
    gtee_array_free(&a);
    assert_failed_with(parse(b, 21, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "data truncated: the dimensions need 6 bytes of uint8, 5 remain (offset 16)");
    assert_failed_with(parse(b, 24, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT, "2 bytes after the data (offset 22)");
    /* 65536 x 65536 elements: over the limit before anything is allocated */
    {
        uint8_t big[12] = { 0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0 };

        assert_failed_with(parse(big, sizeof(big), GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                           "dimensions up to 1 exceed the limit of 268435456 elements (offset 8)");
    }
}

static void test_idx_rejects_bad_elements(void **state)
{
    /* float32 NaN (7fc00000) as element 1; float64 1e300 does not fit float32 */
    uint8_t f[16] = { 0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0x7f, 0xc0, 0, 0 };
    uint8_t d[16] = { 0, 0, 0x0E, 1, 0, 0, 0, 1, 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c };
    struct gtee_array a;
    struct gtee_err err = { 0 };

    assert_failed_with(parse(f, sizeof(f), GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "element 1 is not a finite float32 (offset 12)");
    assert_failed_with(parse(f, sizeof(f), GTEE_ARRAY_I64, &a, &err), &err, GTEE_EFORMAT,
                       "integer data expected, the file holds float32 (offset 8)");
    assert_failed_with(parse(d, sizeof(d), GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "element 0 is not a finite float32");
}

static void test_idx_load_reads_gzip_and_rejects_broken_streams(void **state)
{
    char path[] = "/tmp/gtee-idx-XXXXXX.gz";
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len, gz_len;
    uint8_t *buf = read_source_file("fuzz/corpus/fuzz_idx/fmnist5-images-idx3-ubyte", &len);
    uint8_t *gz = gzip_bytes(buf, len, &gz_len);

    write_temp(path, ".gz", gz, gz_len);
    assert_int_equal(gtee_idx_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err), 0);
    assert_int_equal(a.count, 5 * 28 * 28);
    for (size_t i = 0; i < a.count; i++)
        assert_true(a.f32[i] == (float)buf[16 + i]);
    gtee_array_free(&a);
    unlink(path);

    /* truncated: the last 8 bytes (CRC-32 and ISIZE) missing */
    memcpy(path + strlen(path) - 9, "XXXXXX.gz", 9);
    write_temp(path, ".gz", gz, gz_len - 8);
    assert_failed_with(gtee_idx_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err), &err, GTEE_EFORMAT,
                       "truncated gzip stream");
    assert_non_null(strstr(err.msg, path));
    unlink(path);

    /* a flipped bit in the compressed data fails the stream's CRC or its structure */
    gz[gz_len / 2] ^= 0x10;
    memcpy(path + strlen(path) - 9, "XXXXXX.gz", 9);
    write_temp(path, ".gz", gz, gz_len);
    assert_failed_with(gtee_idx_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err), &err, GTEE_EFORMAT,
                       "corrupt gzip stream");
    unlink(path);
    gz[gz_len / 2] ^= 0x10;

    /* bytes after the end of the stream */
    gz = realloc(gz, gz_len + 3);
    memcpy(gz + gz_len, "abc", 3);
    memcpy(path + strlen(path) - 9, "XXXXXX.gz", 9);
    write_temp(path, ".gz", gz, gz_len + 3);
    assert_failed_with(gtee_idx_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err), &err, GTEE_EFORMAT,
                       "3 bytes after the end of the gzip stream");
    unlink(path);
    free(gz);
    free(buf);
}

static void test_gzip_output_is_capped(void **state)
{
    /* a stream that inflates past the cap is refused while inflating, not allocated in
     * full; the file loader uses the same code with the cap GTEE_ARRAY_MAX_BYTES */
    uint8_t zeros[20000] = { 0 }, *gz, *out;
    size_t gz_len, out_len;
    struct gtee_err err = { 0 };

    gz = gzip_bytes(zeros, sizeof(zeros), &gz_len);
    assert_true(gz_len < 200);
    assert_failed_with(dio_gunzip(gz, gz_len, sizeof(zeros) - 1, "idx", "bomb", &out, &out_len, &err), &err,
                       GTEE_EFORMAT, "idx: bomb: decompressed size exceeds the limit of 19999 bytes");
    assert_null(out);
    /* exactly at the cap is fine */
    assert_int_equal(dio_gunzip(gz, gz_len, sizeof(zeros), "idx", "bomb", &out, &out_len, &err), 0);
    assert_int_equal(out_len, sizeof(zeros));
    assert_memory_equal(out, zeros, sizeof(zeros));
    free(out);
    free(gz);
}

static void test_dataset_rejects_count_mismatch_and_bad_labels(void **state)
{
    char images[4096], labels[4096], lab_path[] = "/tmp/gtee-lab-XXXXXX.idx";
    uint8_t lab[8 + 4] = { 0, 0, 0x08, 1, 0, 0, 0, 4, 1, 2, 3, 4 };
    uint8_t neg[8 + 5] = { 0, 0, 0x09, 1, 0, 0, 0, 5, 1, 2, 0xff, 4, 5 };
    struct gtee_dataset ds;
    struct gtee_err err = { 0 };

    source_path("fuzz/corpus/fuzz_idx/fmnist5-images-idx3-ubyte", images, sizeof(images));
    source_path("fuzz/corpus/fuzz_idx/fmnist5-labels-idx1-ubyte.gz", labels, sizeof(labels));
    assert_int_equal(gtee_dataset_load_idx(images, labels, GTEE_NORM_UNIT_U8, &ds, &err), 0);
    assert_true(ds.n == 5 && ds.item_ndim == 2 && ds.item_len == 784 && ds.num_classes == 10);
    gtee_dataset_free(&ds);

    write_temp(lab_path, ".idx", lab, sizeof(lab));
    assert_failed_with(gtee_dataset_load_idx(images, lab_path, GTEE_NORM_UNIT_U8, &ds, &err), &err, GTEE_EFORMAT,
                       "items but");
    assert_non_null(strstr(err.msg, "has 5 items"));
    assert_non_null(strstr(err.msg, "has 4 labels"));
    assert_null(ds.x);
    unlink(lab_path);
    memcpy(lab_path + strlen(lab_path) - 10, "XXXXXX.idx", 10);
    write_temp(lab_path, ".idx", neg, sizeof(neg));
    assert_failed_with(gtee_dataset_load_idx(images, lab_path, GTEE_NORM_UNIT_U8, &ds, &err), &err, GTEE_EFORMAT,
                       "label -1 of item 2 is outside 0..65535");
    unlink(lab_path);
    /* labels must be one-dimensional */
    assert_failed_with(gtee_dataset_load_idx(images, images, GTEE_NORM_UNIT_U8, &ds, &err), &err, GTEE_EFORMAT,
                       "labels must have one dimension, not 3");
}

static void test_dataset_loads_debian_fashion_mnist(void **state)
{
    static const char *const splits[] = { "train", "t10k" };
    static const size_t counts[] = { 60000, 10000 };

    if (access(FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", R_OK) != 0) {
        print_message("skipped: " FMNIST_DIR " not installed (Debian package dataset-fashion-mnist)\n");
        skip();
    }
    for (size_t s = 0; s < 2; s++) {
        struct gtee_dataset ds;
        struct gtee_err err = { 0 };
        size_t per_class[10] = { 0 };
        float lo = 1, hi = 0;

        assert_int_equal(gtee_dataset_load_mnist_dir(FMNIST_DIR, splits[s], GTEE_NORM_UNIT_U8, &ds, &err), 0);
        assert_int_equal(ds.n, counts[s]);
        assert_true(ds.item_ndim == 2 && ds.item_dims[0] == 28 && ds.item_dims[1] == 28 && ds.item_len == 784);
        assert_int_equal(ds.num_classes, 10);
        for (size_t i = 0; i < ds.n; i++) {
            assert_true(ds.y[i] >= 0 && ds.y[i] <= 9);
            per_class[ds.y[i]]++;
        }
        /* Fashion-MNIST is balanced: 6000 training and 1000 test images per class */
        for (size_t c = 0; c < 10; c++)
            assert_int_equal(per_class[c], counts[s] / 10);
        for (size_t i = 0; i < ds.n * ds.item_len; i++) {
            lo = ds.x[i] < lo ? ds.x[i] : lo;
            hi = ds.x[i] > hi ? ds.x[i] : hi;
        }
        assert_true(lo == 0.0f && hi == 1.0f);
        gtee_dataset_free(&ds);
    }
}

static void test_dataset_mnist_dir_names_missing_files(void **state)
{
    struct gtee_dataset ds;
    struct gtee_err err = { 0 };

    assert_failed_with(gtee_dataset_load_mnist_dir("/nonexistent", "train", GTEE_NORM_UNIT_U8, &ds, &err), &err,
                       GTEE_ENOTFOUND, "idx: /nonexistent/train-images-idx3-ubyte: cannot open");
    assert_failed_with(gtee_dataset_load_mnist_dir("/tmp", "../etc", GTEE_NORM_UNIT_U8, &ds, &err), &err,
                       GTEE_EINVAL, "split name must be");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_reads_fashion_mnist_cut),
        cmocka_unit_test(test_idx_bounded_refuses_over_the_limit),
        cmocka_unit_test(test_idx_reads_every_data_type_big_endian),
        cmocka_unit_test(test_idx_rejects_malformed_headers),
        cmocka_unit_test(test_idx_rejects_bad_elements),
        cmocka_unit_test(test_idx_load_reads_gzip_and_rejects_broken_streams),
        cmocka_unit_test(test_gzip_output_is_capped),
        cmocka_unit_test(test_dataset_rejects_count_mismatch_and_bad_labels),
        cmocka_unit_test(test_dataset_loads_debian_fashion_mnist),
        cmocka_unit_test(test_dataset_mnist_dir_names_missing_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
