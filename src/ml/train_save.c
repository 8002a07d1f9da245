/* Writes a trained model back as ONNX: the ModelProto it was loaded from, re-read and
 * packed again with protobuf-c, every float initializer's data replaced by the model's
 * current values in raw_data (little-endian float32, onnx.proto TensorProto.raw_data).
 * Everything else (graph, opset, metadata) is kept as it was. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/ml_train.h"
#include "ml/ml.h"
#include "onnx.pb-c.h"

/* What a replaced initializer held, put back before protobuf-c frees the message. */
struct saved {
    size_t n_float_data;
    float *float_data;
    protobuf_c_boolean has_raw_data;
    ProtobufCBinaryData raw_data;
};

static const struct ml_value *find_init(const struct gtee_ml_model *m, const char *name)
{
    for (size_t v = 0; v < m->n_values; v++)
        if (m->values[v].kind == ML_VAL_INIT && !strcmp(m->values[v].name, name))
            return &m->values[v];
    return NULL;
}

int gtee_ml_model_save(const struct gtee_ml_model *m, const uint8_t *orig, size_t orig_len, uint8_t **out,
                       size_t *out_len, struct gtee_err *err)
{
    Onnx__ModelProto *mp = NULL;
    struct saved *sv = NULL;
    size_t n_init = 0, n_saved = 0, len;
    uint8_t *buf = NULL;
    int rc = 0;

    ENSURE(m && orig && out && out_len, err, GTEE_EINVAL, "ml save: bad arguments");
    ENSURE(orig_len <= m->lim.max_model_bytes, err, GTEE_EFORMAT, "ml save: model too large");
    mp = onnx__model_proto__unpack(&ml_pb_allocator, orig_len, orig);
    ENSURE(mp && mp->graph, err, GTEE_EFORMAT, "ml save: the original bytes are not an ONNX model");
    n_init = mp->graph->n_initializer;
    sv = calloc(n_init + 1, sizeof(*sv));
    ENSURE(sv, err, GTEE_ENOMEM, "ml save: out of memory");
    for (size_t i = 0; i < n_init; i++) {
        Onnx__TensorProto *tp = mp->graph->initializer[i];
        const struct ml_value *v;

        sv[i] = (struct saved){ tp->n_float_data, tp->float_data, tp->has_raw_data, tp->raw_data };
        n_saved = i + 1;
        if (tp->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || !tp->name)
            continue;
        v = find_init(m, tp->name);
        ENSURE(v && v->decl.dtype == GTEE_ML_FLOAT, err, GTEE_EFORMAT,
               "ml save: initializer '%s' is not in the loaded model", tp->name);
        tp->n_float_data = 0;
        tp->float_data = NULL;
        tp->has_raw_data = 1;
        tp->raw_data.len = (size_t)ml_elems(&v->decl) * sizeof(float);
        tp->raw_data.data = v->decl.data; /* x86 and ARM hosts are little-endian, as ONNX stores */
    }
    len = onnx__model_proto__get_packed_size(mp);
    buf = malloc(len + 1);
    ENSURE(buf, err, GTEE_ENOMEM, "ml save: out of memory for %zu bytes", len);
    ENSURE(onnx__model_proto__pack(mp, buf) == len, err, GTEE_EFORMAT, "ml save: protobuf packing failed");
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    for (size_t i = 0; i < n_saved; i++) {
        Onnx__TensorProto *tp = mp->graph->initializer[i];
        tp->n_float_data = sv[i].n_float_data;
        tp->float_data = sv[i].float_data;
        tp->has_raw_data = sv[i].has_raw_data;
        tp->raw_data = sv[i].raw_data;
    }
    if (mp)
        onnx__model_proto__free_unpacked(mp, &ml_pb_allocator);
    ml_free(sv);
    ml_free(buf);
    return rc;
}
