/* .npy reader and writer: files written by NumPy itself (fuzz/corpus/fuzz_npy, made by
 * tests/ml/gen_dataset_seeds.py) load with their values, our writer's bytes equal
 * np.save's, and every malformed header or body is refused with its message. */
#include <math.h>
#include <unistd.h>

#include "ml/dstest.h"

static int parse(const uint8_t *buf, size_t len, enum gtee_array_kind kind, struct gtee_array *a,
                 struct gtee_err *err)
{
    return gtee_npy_parse(buf, len, "t.npy", kind, GTEE_NORM_NONE, a, err);
}

/* A version 1.0 file with the given header dict text and data bytes. */
static uint8_t *make_npy(const char *dict, const void *data, size_t data_len, size_t *len)
{
    size_t dl = strlen(dict), hlen = dl + 1;
    uint8_t *buf;

    hlen += (64 - (10 + hlen) % 64) % 64;
    *len = 10 + hlen + data_len;
    buf = malloc(*len);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', hlen - dl - 1);
    buf[10 + hlen - 1] = '\n';
    if (data_len)
        memcpy(buf + 10 + hlen, data, data_len);
    return buf;
}

static void expect_dict_fails(const char *dict, const void *data, size_t data_len, int code, const char *want)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = make_npy(dict, data, data_len, &len);
    int rc = parse(buf, len, GTEE_ARRAY_F32, &a, &err);

    assert_failed_with(rc, &err, code, want);
    assert_null(a.f32);
    free(buf);
}

static void test_npy_reads_numpy_float32_file(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file("fuzz/corpus/fuzz_npy/f4-2x3.npy", &len);

    assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.dims[0], 2);
    assert_int_equal(a.dims[1], 3);
    assert_int_equal(a.count, 6);
    for (int i = 0; i < 6; i++) /* np.arange(6) * 0.5 - 1 */
        assert_true(a.f32[i] == (float)i * 0.5f - 1.0f);
    gtee_array_free(&a);
    free(buf);
}

static void test_npy_reads_every_supported_type(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf;

    buf = read_source_file("fuzz/corpus/fuzz_npy/f8-3.npy", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
    assert_true(a.f32[0] == 0.1f && a.f32[1] == -2.5f && a.f32[2] == 1e30f);
    gtee_array_free(&a);
    free(buf);

    buf = read_source_file("fuzz/corpus/fuzz_npy/i8-5.npy", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_int_equal(a.count, 5);
    assert_true(a.i64[0] == 0 && a.i64[1] == 9 && a.i64[2] == 3 && a.i64[3] == -4 && a.i64[4] == (int64_t)1 << 40);
    gtee_array_free(&a);
    free(buf);

    buf = read_source_file("fuzz/corpus/fuzz_npy/i4-2x2.npy", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_true(a.i64[0] == 1 && a.i64[1] == -2 && a.i64[2] == 3 && a.i64[3] == 2147483647);
    gtee_array_free(&a);
    free(buf);

    buf = read_source_file("fuzz/corpus/fuzz_npy/i2-3.npy", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
    assert_true(a.f32[0] == -7.0f && a.f32[1] == 0.0f && a.f32[2] == 300.0f);
    gtee_array_free(&a);
    free(buf);

    /* the first five Fashion-MNIST test labels: 9 2 1 1 6 */
    buf = read_source_file("fuzz/corpus/fuzz_npy/u1-5.npy", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_I64, &a, &err), 0);
    assert_true(a.i64[0] == 9 && a.i64[1] == 2 && a.i64[2] == 1 && a.i64[3] == 1 && a.i64[4] == 6);
    gtee_array_free(&a);
    free(buf);

    buf = read_source_file("fuzz/corpus/fuzz_npy/f4-scalar.npy", &len);
    assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.count, 1);
    assert_true(a.f32[0] == 2.5f);
    gtee_array_free(&a);
    free(buf);
}

static void test_npy_reads_versions_2_and_3(void **state)
{
    static const char *const files[] = { "fuzz/corpus/fuzz_npy/f4-2-v2.npy", "fuzz/corpus/fuzz_npy/f4-2-v3.npy" };

    for (size_t i = 0; i < 2; i++) {
        struct gtee_array a;
        struct gtee_err err = { 0 };
        size_t len;
        uint8_t *buf = read_source_file(files[i], &len);

        assert_int_equal(buf[6], 2 + i);
        assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
        assert_int_equal(a.count, 2);
        assert_true(a.f32[0] == 1.5f && a.f32[1] == -3.0f);
        gtee_array_free(&a);
        free(buf);
    }
}

static void test_npy_normalizes_as_asked(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file("fuzz/corpus/fuzz_npy/u1-fmnist2.npy", &len);
    struct gtee_norm norm = { 2.0f / 255.0f, -1.0f };
    const uint8_t *raw;

    assert_int_equal(gtee_npy_parse(buf, len, "u1", GTEE_ARRAY_F32, norm, &a, &err), 0);
    assert_int_equal(a.count, 2 * 28 * 28);
    raw = buf + len - a.count; /* the file's uint8 pixels */
    for (size_t i = 0; i < a.count; i++)
        assert_true(a.f32[i] == (float)((double)raw[i] * norm.scale + norm.bias));
    assert_true(a.f32[0] == -1.0f); /* the corner pixel of the first image is 0 */
    gtee_array_free(&a);
    free(buf);
}

static void test_npy_writer_matches_numpy_bytes(void **state)
{
    static const char *const files[] = { "fuzz/corpus/fuzz_npy/f4-2x3.npy", "fuzz/corpus/fuzz_npy/f4-scalar.npy",
                                         "fuzz/corpus/fuzz_npy/f4-1x1x4x4.npy" };

    for (size_t i = 0; i < GTEE_ARRAY_LEN(files); i++) {
        struct gtee_array a;
        struct gtee_err err = { 0 };
        size_t len, enc_len;
        uint8_t *buf = read_source_file(files[i], &len), *enc;

        assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
        assert_int_equal(gtee_npy_encode_f32(a.f32, a.dims, a.ndim, &enc, &enc_len, &err), 0);
        assert_int_equal(enc_len, len);
        assert_memory_equal(enc, buf, len);
        free(enc);
        gtee_array_free(&a);
        free(buf);
    }
}

static void test_npy_save_then_load_round_trips(void **state)
{
    char path[] = "/tmp/gtee-npy-XXXXXX";
    size_t dims[3] = { 3, 1, 5 };
    float data[15];
    struct gtee_array a;
    struct gtee_err err = { 0 };
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    for (int i = 0; i < 15; i++)
        data[i] = (float)i / 7.0f - 0.75f;
    assert_int_equal(gtee_npy_save_f32(path, data, dims, 3, &err), 0);
    assert_int_equal(gtee_npy_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err), 0);
    assert_int_equal(a.ndim, 3);
    assert_memory_equal(a.dims, dims, sizeof(dims));
    assert_memory_equal(a.f32, data, sizeof(data));
    gtee_array_free(&a);
    unlink(path);
    /* a shape with a zero dimension is refused, and nothing is written */
    dims[1] = 0;
    assert_failed_with(gtee_npy_save_f32(path, data, dims, 3, &err), &err, GTEE_EINVAL, "dimension 1 is 0");
    assert_int_equal(access(path, F_OK), -1);
}

static void test_npy_rejects_bad_prefix(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file("fuzz/corpus/fuzz_npy/f4-2x3.npy", &len);

    assert_failed_with(parse(buf, 5, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT, "magic \\x93NUMPY missing");
    buf[1] = 'n';
    assert_failed_with(parse(buf, len, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT, "t.npy: not a .npy file");
    buf[1] = 'N';
    assert_failed_with(parse(buf, 7, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "truncated before the format version (offset 6)");
    buf[6] = 4;
    assert_failed_with(parse(buf, len, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EUNSUPPORTED,
                       "format version 4.0 is not supported (offset 6)");
    buf[6] = 1;
    buf[7] = 1;
    assert_failed_with(parse(buf, len, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EUNSUPPORTED, "format version 1.1");
    buf[7] = 0;
    assert_failed_with(parse(buf, 9, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "truncated in the header length (offset 8)");
    assert_failed_with(parse(buf, 100, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "header truncated: 118 bytes declared, 90 remain (offset 10)");
    /* version 2 with a 4-byte length over the limit */
    buf[6] = 2;
    buf[8] = 0x01;
    buf[9] = 0x00;
    buf[10] = 0x01;
    buf[11] = 0x00;
    assert_failed_with(parse(buf, len, GTEE_ARRAY_F32, &a, &err), &err, GTEE_EFORMAT,
                       "header length 65537 exceeds the limit of 65536 (offset 8)");
    free(buf);
}

static void test_npy_rejects_malformed_header_dicts(void **state)
{
    float two[2] = { 1, 2 };

    expect_dict_fails("{'descr': '<f4', 'fortran_order': False}", two, 8, GTEE_EFORMAT, "header dict lacks 'shape'");
    expect_dict_fails("{'fortran_order': False, 'shape': (2,)}", two, 8, GTEE_EFORMAT, "header dict lacks 'descr'");
    expect_dict_fails("{'descr': '<f4', 'shape': (2,)}", two, 8, GTEE_EFORMAT, "header dict lacks 'fortran_order'");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", two, 8, GTEE_EFORMAT,
                      "header dict has unknown key 'x' (offset 66)");
    expect_dict_fails("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", two, 8,
                      GTEE_EFORMAT, "header dict repeats 'descr' (offset 27)");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", two, 8, GTEE_EUNSUPPORTED,
                      "fortran_order True is not supported (offset 44)");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", two, 8, GTEE_EFORMAT,
                      "fortran_order is neither True nor False (offset 44)");
    expect_dict_fails("{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", two, 8, GTEE_EUNSUPPORTED,
                      "data type '>f4' is not supported (offset 20)");
    expect_dict_fails("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", two, 8, GTEE_EUNSUPPORTED,
                      "data type '<c8' is not supported");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", two, 8, GTEE_EFORMAT,
                      "lacks the comma that makes it a tuple");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", two, 8, GTEE_EFORMAT,
                      "shape is not a tuple (offset 60)");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0)}", two, 8, GTEE_EFORMAT,
                      "shape dimension 1 is 0 (offset 64)");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}", two, 8, GTEE_EFORMAT,
                      "leading zero");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", two, 8, GTEE_EFORMAT,
                      "expected a shape dimension");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 2)}", two, 8,
                      GTEE_EUNSUPPORTED, "shape has more than 8 dimensions");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (268435457,)}", two, 8, GTEE_EFORMAT,
                      "shape dimension 0 exceeds the limit of 268435456");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536)}", two, 8, GTEE_EFORMAT,
                      "shape exceeds the element limit");
    expect_dict_fails("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", two, 8, GTEE_EFORMAT,
                      "expected ',' or '}' in header dict");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2 2)}", two, 8, GTEE_EFORMAT,
                      "expected ',' or ')' in shape");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", two, 8, GTEE_EFORMAT,
                      "header must end with spaces and one newline");
    expect_dict_fails("['descr', '<f4']", two, 8, GTEE_EFORMAT, "header is not a dict (offset 10)");
    expect_dict_fails("{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", two, 8, GTEE_EFORMAT,
                      "expected ':' after a key");
    expect_dict_fails("{'descr': '<f\\4', 'fortran_order': False, 'shape': (2,)}", two, 8, GTEE_EFORMAT,
                      "unterminated or escaped string");
    expect_dict_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'descr\xe9': 1}", two, 8,
                      GTEE_EFORMAT, "header has a control or non-ASCII byte (offset 72)");
    /* accepted variants: double quotes, any key order, no trailing comma, spaces */
    {
        struct gtee_array a;
        struct gtee_err err = { 0 };
        size_t len;
        uint8_t *buf = make_npy("{ \"shape\" : ( 2 , ) ,\"fortran_order\":False,'descr':'<f4'}", two, 8, &len);

        assert_int_equal(parse(buf, len, GTEE_ARRAY_F32, &a, &err), 0);
        assert_true(a.ndim == 1 && a.dims[0] == 2 && a.f32[1] == 2.0f);
        gtee_array_free(&a);
        free(buf);
    }
}

static void test_npy_rejects_bad_data(void **state)
{
    const char *f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    float two[3] = { 1, NAN, 3 };
    uint64_t big = (uint64_t)1 << 63;
    double huge = 1e300;
    struct gtee_array a;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf;

    expect_dict_fails(f4, two, 7, GTEE_EFORMAT, "data truncated: the shape needs 8 bytes of float32, 7 remain (offset 128)");
    expect_dict_fails(f4, two, 12, GTEE_EFORMAT, "4 bytes after the data (offset 136)");
    expect_dict_fails(f4, two, 8, GTEE_EFORMAT, "element 1 is not a finite float32 (offset 132)");
    expect_dict_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", &huge, 8, GTEE_EFORMAT,
                      "element 0 is not a finite float32");
    /* labels must be integers and fit int64 */
    buf = make_npy(f4, two, 8, &len);
    assert_failed_with(parse(buf, len, GTEE_ARRAY_I64, &a, &err), &err, GTEE_EFORMAT,
                       "integer data expected, the file holds float32 (offset 128)");
    free(buf);
    buf = make_npy("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", &big, 8, &len);
    assert_failed_with(parse(buf, len, GTEE_ARRAY_I64, &a, &err), &err, GTEE_EFORMAT,
                       "element 0 does not fit int64 (offset 128)");
    free(buf);
}

static void test_dataset_loads_npy_pairs(void **state)
{
    char x_path[] = "/tmp/gtee-x-XXXXXX", y_path[] = "/tmp/gtee-y-XXXXXX", img[4096], lab[4096];
    const int64_t labels[3] = { 2, 0, 7 };
    size_t dims[3] = { 3, 2, 2 }, len;
    float x[12];
    struct gtee_dataset ds;
    struct gtee_err err = { 0 };
    uint8_t *y = make_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", labels, sizeof(labels), &len);
    int fd;

    for (int i = 0; i < 12; i++)
        x[i] = (float)i * 0.25f;
    assert_true((fd = mkstemp(x_path)) >= 0);
    close(fd);
    assert_true((fd = mkstemp(y_path)) >= 0);
    assert_int_equal(write(fd, y, len), (ssize_t)len);
    close(fd);
    assert_int_equal(gtee_npy_save_f32(x_path, x, dims, 3, &err), 0);
    assert_int_equal(gtee_dataset_load_npy(x_path, y_path, GTEE_NORM_NONE, &ds, &err), 0);
    assert_true(ds.n == 3 && ds.item_ndim == 2 && ds.item_dims[0] == 2 && ds.item_len == 4);
    assert_int_equal(ds.num_classes, 8);
    assert_memory_equal(ds.x, x, sizeof(x));
    assert_memory_equal(ds.y, labels, sizeof(labels));
    gtee_dataset_free(&ds);
    /* float labels are refused; so are counts that disagree (2 NumPy images, 5 labels) */
    assert_failed_with(gtee_dataset_load_npy(x_path, x_path, GTEE_NORM_NONE, &ds, &err), &err, GTEE_EFORMAT,
                       "integer data expected, the file holds float32");
    source_path("fuzz/corpus/fuzz_npy/u1-fmnist2.npy", img, sizeof(img));
    source_path("fuzz/corpus/fuzz_npy/u1-5.npy", lab, sizeof(lab));
    assert_failed_with(gtee_dataset_load_npy(img, lab, GTEE_NORM_UNIT_U8, &ds, &err), &err, GTEE_EFORMAT,
                       "u1-fmnist2.npy has 2 items but");
    assert_non_null(strstr(err.msg, "u1-5.npy has 5 labels"));
    assert_null(ds.x);
    unlink(x_path);
    unlink(y_path);
    free(y);
}

static void test_npy_load_names_missing_file(void **state)
{
    struct gtee_array a;
    struct gtee_err err = { 0 };

    assert_failed_with(gtee_npy_load("/nonexistent/x.npy", GTEE_ARRAY_F32, GTEE_NORM_NONE, &a, &err), &err,
                       GTEE_ENOTFOUND, "npy: /nonexistent/x.npy: cannot open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_reads_numpy_float32_file),
        cmocka_unit_test(test_npy_reads_every_supported_type),
        cmocka_unit_test(test_npy_reads_versions_2_and_3),
        cmocka_unit_test(test_npy_normalizes_as_asked),
        cmocka_unit_test(test_npy_writer_matches_numpy_bytes),
        cmocka_unit_test(test_npy_save_then_load_round_trips),
        cmocka_unit_test(test_npy_rejects_bad_prefix),
        cmocka_unit_test(test_npy_rejects_malformed_header_dicts),
        cmocka_unit_test(test_npy_rejects_bad_data),
        cmocka_unit_test(test_dataset_loads_npy_pairs),
        cmocka_unit_test(test_npy_load_names_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
