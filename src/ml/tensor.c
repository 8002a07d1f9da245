/* Tensor basics: element types, checked element counts, the limits' defaults and the
 * conversion of ONNX TensorProto messages (initializers, attributes, test data). */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "base/span.h"
#include "ml/ml.h"
#include "onnx.pb-c.h"

size_t gtee_ml_dtype_size(int dtype)
{
    switch (dtype) {
    case GTEE_ML_FLOAT: return 4;
    case GTEE_ML_INT64: return 8;
    case GTEE_ML_BOOL: return 1;
    default: return 0;
    }
}

const char *gtee_ml_dtype_name(int dtype)
{
    /* TensorProto.DataType names (onnx.proto), so refusals name the type the file uses. */
    static const char *const names[] = { "undefined", "float", "uint8", "int8", "uint16", "int16",
                                         "int32", "int64", "string", "bool", "float16", "double",
                                         "uint32", "uint64", "complex64", "complex128", "bfloat16" };

    if (dtype >= 0 && (size_t)dtype < GTEE_ARRAY_LEN(names))
        return names[dtype];
    return "unknown";
}

int gtee_ml_tensor_elems(const struct gtee_ml_tensor *t, uint64_t max, uint64_t *out)
{
    uint64_t n = 1;

    if (t->rank < 0 || t->rank > GTEE_ML_MAX_RANK)
        return GTEE_EINVAL;
    for (int i = 0; i < t->rank; i++) {
        if (t->dim[i] < 0 || __builtin_mul_overflow(n, (uint64_t)t->dim[i], &n) || n > max)
            return GTEE_EINVAL;
    }
    *out = n;
    return 0;
}

void ml_limits_fill(const struct gtee_ml_limits *in, struct gtee_ml_limits *out)
{
    struct gtee_ml_limits l = { 0 };

    if (in)
        l = *in;
    if (!l.max_model_bytes)
        l.max_model_bytes = GTEE_ML_DEFAULT_MAX_MODEL_BYTES;
    if (!l.max_tensor_elems)
        l.max_tensor_elems = GTEE_ML_DEFAULT_MAX_TENSOR_ELEMS;
    if (!l.max_total_elems)
        l.max_total_elems = GTEE_ML_DEFAULT_MAX_TOTAL_ELEMS;
    if (!l.max_nodes)
        l.max_nodes = GTEE_ML_DEFAULT_MAX_NODES;
    *out = l;
}

/* Little-endian raw_data (onnx.proto: "fixed-width, little-endian order"). */
static void copy_raw(const uint8_t *src, size_t n, int dtype, void *dst)
{
    struct span s = span_init(src, n * gtee_ml_dtype_size(dtype));

    for (size_t i = 0; i < n; i++) {
        if (dtype == GTEE_ML_FLOAT) {
            uint32_t u = span_u32le(&s);
            memcpy((float *)dst + i, &u, 4);
        } else if (dtype == GTEE_ML_INT64) {
            uint64_t u = span_u64le(&s);
            memcpy((int64_t *)dst + i, &u, 8);
        } else {
            ((uint8_t *)dst)[i] = span_u8(&s) != 0;
        }
    }
}

int ml_tensor_from_proto(const Onnx__TensorProto *tp, const struct gtee_ml_limits *lim,
                         struct gtee_ml_tensor *t, struct gtee_err *err)
{
    const char *name = tp->name ? tp->name : "";
    uint64_t n = 0;
    size_t esz, bytes, have;
    int rc = GTEE_EFORMAT;

    memset(t, 0, sizeof(*t));
    ENSURE(tp->n_dims <= GTEE_ML_MAX_RANK, err, GTEE_EUNSUPPORTED,
           "ml: tensor '%s' has rank %zu (at most %d supported)", name, tp->n_dims, GTEE_ML_MAX_RANK);
    t->dtype = tp->has_data_type ? tp->data_type : 0;
    esz = gtee_ml_dtype_size(t->dtype);
    ENSURE(esz, err, GTEE_EUNSUPPORTED, "ml: tensor '%s' has element type %s (float, int64 and bool supported)",
           name, gtee_ml_dtype_name(t->dtype));
    ENSURE(!(tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL), err,
           GTEE_EUNSUPPORTED,
           "ml: tensor '%s' stores its data outside the model file (external data); the engine reads only data "
           "embedded in the model (save it without external data)", name);
    ENSURE(!tp->segment, err, GTEE_EUNSUPPORTED, "ml: tensor '%s' is segmented (not supported)", name);
    t->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) {
        ENSURE(tp->dims[i] >= 0, err, GTEE_EFORMAT, "ml: tensor '%s' has a negative dimension (dims[%zu])", name, i);
        t->dim[i] = tp->dims[i];
    }
    ENSURE(gtee_ml_tensor_elems(t, lim->max_tensor_elems, &n) == 0, err, GTEE_EFORMAT,
           "ml: tensor '%s' has more than %llu elements", name, (unsigned long long)lim->max_tensor_elems);
    bytes = (size_t)n * esz;
    if (tp->has_raw_data) {
        have = tp->raw_data.len;
        ENSURE(have == bytes, err, GTEE_EFORMAT, "ml: tensor '%s': raw_data has %zu bytes, its shape needs %zu",
               name, have, bytes);
    } else {
        have = t->dtype == GTEE_ML_FLOAT ? tp->n_float_data
               : t->dtype == GTEE_ML_INT64 ? tp->n_int64_data : tp->n_int32_data;
        ENSURE(have == n, err, GTEE_EFORMAT, "ml: tensor '%s': %zu values given, its shape needs %llu", name, have,
               (unsigned long long)n);
    }
    t->data = malloc(bytes ? bytes : 1);
    ENSURE(t->data, err, GTEE_ENOMEM, "ml: tensor '%s': out of memory (%zu bytes)", name, bytes);
    if (tp->has_raw_data)
        copy_raw(tp->raw_data.data, (size_t)n, t->dtype, t->data);
    else if (!bytes)
        ; /* an empty tensor: its typed array may be absent (NULL), nothing to copy */
    else if (t->dtype == GTEE_ML_FLOAT)
        memcpy(t->data, tp->float_data, bytes);
    else if (t->dtype == GTEE_ML_INT64)
        memcpy(t->data, tp->int64_data, bytes);
    else
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)t->data)[i] = tp->int32_data[i] != 0;
    rc = 0;
out:
    return rc;
}

int ml_tensor_proto_read(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim,
                         struct gtee_ml_tensor *t, char **name, struct gtee_err *err)
{
    struct gtee_ml_limits l;
    Onnx__TensorProto *tp;
    int rc;

    ml_limits_fill(lim, &l);
    if (len > l.max_model_bytes)
        return GTEE_FAIL(err, GTEE_EFORMAT, "ml: tensor file of %zu bytes exceeds the limit", len);
    tp = onnx__tensor_proto__unpack(&ml_pb_allocator, len, buf);
    if (!tp)
        return GTEE_FAIL(err, GTEE_EFORMAT, "ml: not a TensorProto (protobuf decoding failed)");
    rc = ml_tensor_from_proto(tp, &l, t, err);
    if (rc == 0 && name) {
        *name = strdup(tp->name ? tp->name : "");
        if (!*name) {
            ml_free(t->data);
            t->data = NULL;
            rc = GTEE_FAIL(err, GTEE_ENOMEM, "ml: out of memory");
        }
    }
    onnx__tensor_proto__free_unpacked(tp, &ml_pb_allocator);
    return rc;
}
