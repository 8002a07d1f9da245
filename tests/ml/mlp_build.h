/* An MLP built here as ONNX from a seed, with the generated protobuf-c API, for tests that
 * need a model larger than any file worth committing (a few MiB of weights): input x[batch,
 * widths[0]], then per layer Gemm (transB = 1, as PyTorch exports Linear) and Relu between
 * layers, output y; weights uniform in +-1/sqrt(fan-in), biases zero. Header-only. */
#ifndef GTEE_TEST_MLP_BUILD_H
#define GTEE_TEST_MLP_BUILD_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/dataset.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "onnx.pb-c.h"

#define MLP_BUILD_MAX_LAYERS 4

static float mlp_build_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(*s >> 40) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* NULL when out of memory or more than MLP_BUILD_MAX_LAYERS layers; *len the bytes. */
static uint8_t *mlp_build(const int64_t *widths, int layers, uint64_t seed, size_t *len)
{
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = { &opset };
    Onnx__NodeProto nodes[2 * MLP_BUILD_MAX_LAYERS], *node_ptrs[2 * MLP_BUILD_MAX_LAYERS];
    Onnx__AttributeProto trans_b = ONNX__ATTRIBUTE_PROTO__INIT, *attrs[1] = { &trans_b };
    Onnx__TensorProto inits[2 * MLP_BUILD_MAX_LAYERS], *init_ptrs[2 * MLP_BUILD_MAX_LAYERS];
    Onnx__ValueInfoProto vis[2], *in_ptrs[1] = { &vis[0] }, *out_ptrs[1] = { &vis[1] };
    Onnx__TypeProto types[2];
    Onnx__TypeProto__Tensor ttypes[2];
    Onnx__TensorShapeProto shapes[2];
    Onnx__TensorShapeProto__Dimension dims[2][2], *dim_ptrs[2][2];
    char names[6 * MLP_BUILD_MAX_LAYERS][16], *ins[2 * MLP_BUILD_MAX_LAYERS][3], *outs[2 * MLP_BUILD_MAX_LAYERS][1];
    int64_t wdims[MLP_BUILD_MAX_LAYERS][2], bdims[MLP_BUILD_MAX_LAYERS][1];
    float *data[2 * MLP_BUILD_MAX_LAYERS] = { 0 };
    uint8_t *buf = NULL;
    size_t n_nodes = 0;
    const char *prev = "x";

    if (layers < 1 || layers > MLP_BUILD_MAX_LAYERS)
        return NULL;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.graph = &graph;
    graph.name = "mlp";
    trans_b.name = "transB";
    trans_b.has_type = 1;
    trans_b.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    trans_b.has_i = 1;
    trans_b.i = 1;
    for (int v = 0; v < 2; v++) {
        onnx__value_info_proto__init(&vis[v]);
        onnx__type_proto__init(&types[v]);
        onnx__type_proto__tensor__init(&ttypes[v]);
        onnx__tensor_shape_proto__init(&shapes[v]);
        vis[v].name = v ? "y" : "x";
        vis[v].type = &types[v];
        types[v].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        types[v].tensor_type = &ttypes[v];
        ttypes[v].has_elem_type = 1;
        ttypes[v].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        ttypes[v].shape = &shapes[v];
        shapes[v].n_dim = 2;
        shapes[v].dim = dim_ptrs[v];
        for (int d = 0; d < 2; d++) {
            onnx__tensor_shape_proto__dimension__init(&dims[v][d]);
            if (d == 0) {
                dims[v][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dims[v][d].dim_param = "batch";
            } else {
                dims[v][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dims[v][d].dim_value = v ? widths[layers] : widths[0];
            }
            dim_ptrs[v][d] = &dims[v][d];
        }
    }
    graph.n_input = graph.n_output = 1;
    graph.input = in_ptrs;
    graph.output = out_ptrs;
    graph.node = node_ptrs;
    graph.initializer = init_ptrs;
    for (int l = 0; l < layers; l++) {
        int64_t fan_in = widths[l], fan_out = widths[l + 1];
        float scale = 1.0f / sqrtf((float)fan_in);
        char *w = names[6 * l], *b = names[6 * l + 1], *g = names[6 * l + 2], *r = names[6 * l + 3];

        snprintf(w, 16, "w%d", l);
        snprintf(b, 16, "b%d", l);
        snprintf(g, 16, l == layers - 1 ? "y" : "g%d", l);
        snprintf(r, 16, "r%d", l);
        data[2 * l] = malloc((size_t)(fan_in * fan_out) * sizeof(float));
        data[2 * l + 1] = calloc((size_t)fan_out, sizeof(float));
        if (!data[2 * l] || !data[2 * l + 1])
            goto out;
        for (int64_t i = 0; i < fan_in * fan_out; i++)
            data[2 * l][i] = mlp_build_rand(&seed) * scale;
        wdims[l][0] = fan_out;
        wdims[l][1] = fan_in;
        bdims[l][0] = fan_out;
        for (int k = 0; k < 2; k++) {
            Onnx__TensorProto *t = &inits[2 * l + k];

            onnx__tensor_proto__init(t);
            t->name = k ? b : w;
            t->has_data_type = 1;
            t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
            t->n_dims = k ? 1 : 2;
            t->dims = k ? bdims[l] : wdims[l];
            t->n_float_data = (size_t)(k ? fan_out : fan_in * fan_out);
            t->float_data = data[2 * l + k];
            init_ptrs[graph.n_initializer++] = t;
        }
        onnx__node_proto__init(&nodes[n_nodes]);
        nodes[n_nodes].op_type = "Gemm";
        nodes[n_nodes].name = g;
        ins[n_nodes][0] = (char *)prev;
        ins[n_nodes][1] = w;
        ins[n_nodes][2] = b;
        outs[n_nodes][0] = g;
        nodes[n_nodes].n_input = 3;
        nodes[n_nodes].input = ins[n_nodes];
        nodes[n_nodes].n_output = 1;
        nodes[n_nodes].output = outs[n_nodes];
        nodes[n_nodes].n_attribute = 1;
        nodes[n_nodes].attribute = attrs;
        node_ptrs[n_nodes] = &nodes[n_nodes];
        n_nodes++;
        prev = g;
        if (l == layers - 1)
            break;
        onnx__node_proto__init(&nodes[n_nodes]);
        nodes[n_nodes].op_type = "Relu";
        nodes[n_nodes].name = r;
        ins[n_nodes][0] = g;
        outs[n_nodes][0] = r;
        nodes[n_nodes].n_input = 1;
        nodes[n_nodes].input = ins[n_nodes];
        nodes[n_nodes].n_output = 1;
        nodes[n_nodes].output = outs[n_nodes];
        node_ptrs[n_nodes] = &nodes[n_nodes];
        n_nodes++;
        prev = r;
    }
    graph.n_node = n_nodes;
    *len = onnx__model_proto__get_packed_size(&model);
    buf = malloc(*len + 1);
    if (buf)
        onnx__model_proto__pack(&model, buf);
out:
    for (int i = 0; i < 2 * MLP_BUILD_MAX_LAYERS; i++)
        free(data[i]);
    return buf;
}

/* What the plaintext engine gives on the provider's own machine, to compare a job's result
 * with: a run on x[rows, cols] (*out malloc'd, *count floats), and one epoch of Adam (lr
 * 0.001, batch 32, shuffle seed 7, one thread) on x[rows, 784] and labels y, saved as ONNX.
 * 0, or -1 on any failure. */
static int mlp_run_local(const uint8_t *model, size_t model_len, const float *x, size_t rows, int64_t cols,
                         float **out, size_t *count)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options mo = { .threads = 1 };
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 2, { (int64_t)rows, cols }, (void *)x }, y = { 0 };
    uint64_t c = 0;
    int rc = -1;

    if (gtee_ml_model_load(model, model_len, NULL, &m, NULL) == 0 && gtee_ml_session_new(m, &mo, &s, NULL) == 0 &&
        gtee_ml_run(s, &in, 1, &y, 1, NULL) == 0 && gtee_ml_tensor_elems(&y, 1u << 24, &c) == 0 &&
        (*out = malloc(c * sizeof(float))) != NULL) {
        memcpy(*out, y.data, c * sizeof(float));
        *count = (size_t)c;
        rc = 0;
    }
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
    return rc;
}

static int mlp_train_local(const uint8_t *model, size_t model_len, const float *x, const int64_t *y, size_t rows,
                           uint8_t **saved, size_t *saved_len)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_ADAM };
    struct gtee_array ax = { GTEE_ARRAY_F32, 2, { rows, 784 }, rows * 784, NULL, NULL };
    struct gtee_array ay = { GTEE_ARRAY_I64, 1, { rows }, rows, NULL, NULL };
    struct gtee_dataset ds = { 0 };
    struct gtee_ml_epoch_stats st;
    int rc = -1;

    ax.f32 = malloc(rows * 784 * sizeof(float));
    ay.i64 = malloc(rows * sizeof(int64_t));
    if (!ax.f32 || !ay.i64) {
        free(ax.f32);
        free(ay.i64);
        return -1;
    }
    memcpy(ax.f32, x, rows * 784 * sizeof(float));
    memcpy(ay.i64, y, rows * sizeof(int64_t));
    o.adam = (struct gtee_ml_adam){ 0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0 };
    if (gtee_ml_model_load(model, model_len, NULL, &m, NULL) == 0 &&
        gtee_dataset_from_arrays(&ax, "x", &ay, "y", &ds, NULL) == 0 && gtee_ml_trainer_new(m, &o, &tr, NULL) == 0 &&
        gtee_ml_train_epoch(tr, &ds, 0, 32, 7, NULL, NULL, &st, NULL) == 0 &&
        gtee_ml_model_save(m, model, model_len, saved, saved_len, NULL) == 0)
        rc = 0;
    gtee_ml_trainer_free(tr);
    gtee_dataset_free(&ds);
    gtee_ml_model_free(m);
    return rc;
}

#endif
