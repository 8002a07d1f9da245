/* The memory plan's cost on long graphs: a chain of 100k Adds whose first input is the
 * graph input (so no output can take its input's slice in place: 100k slots to place) is
 * laid out examining a few placed slots per slot, not every placed one (the layout was
 * quadratic: 10 s and more per plan), into two alternating slices, and runs to the right
 * sum. Counted, not timed, so the check holds on any CPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "gtee/ml.h"
#include "ml/ml.h"
#include "onnx.pb-c.h"

#define CHAIN 100000

/* y0 = x + x, y_i = x + y_(i-1): x is read by every node, each y_i only by the next. */
static uint8_t *chain_model(size_t n, size_t *len)
{
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = { &opset };
    Onnx__ValueInfoProto vin = ONNX__VALUE_INFO_PROTO__INIT, vout = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__ValueInfoProto *ins[1] = { &vin }, *outs[1] = { &vout };
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    Onnx__TensorShapeProto__Dimension dim = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, *dims[1] = { &dim };
    Onnx__NodeProto *nodes = calloc(n, sizeof(*nodes)), **node_ptrs = calloc(n, sizeof(*node_ptrs));
    char (*names)[16] = calloc(n, sizeof(*names)), **io = calloc(3 * n, sizeof(*io));
    uint8_t *buf;

    assert_non_null(nodes);
    assert_non_null(node_ptrs);
    assert_non_null(names);
    assert_non_null(io);
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 13;
    dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dim.dim_value = 4;
    shape.n_dim = 1;
    shape.dim = dims;
    tt.has_elem_type = 1;
    tt.elem_type = GTEE_ML_FLOAT;
    tt.shape = &shape;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    vin.name = "x";
    vin.type = &type;
    for (size_t i = 0; i < n; i++) {
        onnx__node_proto__init(&nodes[i]);
        snprintf(names[i], sizeof(names[i]), "y%zu", i);
        io[3 * i] = "x";
        io[3 * i + 1] = i ? names[i - 1] : "x";
        io[3 * i + 2] = names[i];
        nodes[i].op_type = "Add";
        nodes[i].name = names[i];
        nodes[i].n_input = 2;
        nodes[i].input = &io[3 * i];
        nodes[i].n_output = 1;
        nodes[i].output = &io[3 * i + 2];
        node_ptrs[i] = &nodes[i];
    }
    vout.name = names[n - 1];
    graph.n_node = n;
    graph.node = node_ptrs;
    graph.n_input = 1;
    graph.input = ins;
    graph.n_output = 1;
    graph.output = outs;
    model.has_ir_version = 1;
    model.ir_version = 8;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.graph = &graph;
    *len = onnx__model_proto__get_packed_size(&model);
    buf = malloc(*len);
    assert_non_null(buf);
    onnx__model_proto__pack(&model, buf);
    free(nodes);
    free(node_ptrs);
    free(names);
    free(io);
    return buf;
}

static void test_chain_of_adds_plans_in_few_steps_per_node(void **state)
{
    float x[4] = { 1, 2, -3, 0.5f };
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 1, { 4 }, x }, out;
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_err err = { 0 };
    struct ml_plan p;
    size_t len, arena, unplanned;
    uint8_t *buf = chain_model(CHAIN, &len);

    (void)state;
    assert_int_equal(gtee_ml_model_load(buf, len, NULL, &m, &err), 0);
    free(buf);
    assert_int_equal(ml_plan_build(m, &in, true, 1, &p, &err), 0);
    /* Each slot meets its producer's and its reader's neighbours: a handful, not 10^5. */
    assert_true(p.layout_steps <= 8 * (size_t)CHAIN);
    assert_int_equal(p.arena_size, 2 * ML_ALIGN);
    ml_plan_free(&p);

    assert_int_equal(gtee_ml_session_new(m, NULL, &s, &err), 0);
    assert_int_equal(gtee_ml_run(s, &in, 1, &out, 1, &err), 0);
    for (int i = 0; i < 4; i++) /* (CHAIN + 1) x, exact in float for these x */
        assert_true(((float *)out.data)[i] == (float)(CHAIN + 1) * x[i]);
    gtee_ml_session_memory(s, &arena, &unplanned);
    assert_int_equal(arena, 2 * ML_ALIGN);
    assert_int_equal(unplanned, (size_t)CHAIN * ML_ALIGN);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_of_adds_plans_in_few_steps_per_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
