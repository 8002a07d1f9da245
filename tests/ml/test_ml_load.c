/* The loader's checks on small models built here with the generated protobuf-c API: what
 * it refuses (with the node, operator and reason in the message), what it repairs (node
 * order), the size limits applied before allocation, and inference on a hand-made graph
 * (Gemm + Relu, a dynamic batch, buffers shared by the memory plan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ml_cases.h"
#include "onnx.pb-c.h"

/* A model under construction: fixed-size pools, enough for these tests. */
struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto nodes[8], *node_ptrs[8];
    Onnx__AttributeProto attrs[8], *attr_ptrs[8];
    Onnx__TensorProto inits[4], *init_ptrs[4];
    Onnx__ValueInfoProto vis[4], *in_ptrs[2], *out_ptrs[2];
    Onnx__TypeProto types[4];
    Onnx__TypeProto__Tensor ttypes[4];
    Onnx__TensorShapeProto shapes[4];
    Onnx__TensorShapeProto__Dimension dims[4][4], *dim_ptrs[4][4];
    char *names[8][4];
    size_t n_attr;
    int n_vi;
};

static void mb_init(struct mb *b, int64_t opset)
{
    memset(b, 0, sizeof(*b));
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.graph = &b->graph;
    b->graph.node = b->node_ptrs;
    b->graph.initializer = b->init_ptrs;
    b->graph.input = b->in_ptrs;
    b->graph.output = b->out_ptrs;
}

/* dims: -1 for a symbolic "batch". */
static Onnx__ValueInfoProto *mb_vi(struct mb *b, const char *name, int rank, const int64_t *dims)
{
    int i = b->n_vi++;
    Onnx__ValueInfoProto *vi = &b->vis[i];

    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(&b->types[i]);
    onnx__type_proto__tensor__init(&b->ttypes[i]);
    onnx__tensor_shape_proto__init(&b->shapes[i]);
    vi->name = (char *)name;
    vi->type = &b->types[i];
    b->types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->types[i].tensor_type = &b->ttypes[i];
    b->ttypes[i].has_elem_type = 1;
    b->ttypes[i].elem_type = GTEE_ML_FLOAT;
    b->ttypes[i].shape = &b->shapes[i];
    b->shapes[i].n_dim = (size_t)rank;
    b->shapes[i].dim = b->dim_ptrs[i];
    for (int d = 0; d < rank; d++) {
        Onnx__TensorShapeProto__Dimension *dm = &b->dims[i][d];
        onnx__tensor_shape_proto__dimension__init(dm);
        if (dims[d] < 0) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = "batch";
        } else {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = dims[d];
        }
        b->dim_ptrs[i][d] = dm;
    }
    return vi;
}

static void mb_input(struct mb *b, const char *name, int rank, const int64_t *dims)
{
    b->in_ptrs[b->graph.n_input++] = mb_vi(b, name, rank, dims);
}

static void mb_output(struct mb *b, const char *name)
{
    int64_t none[1] = { 0 };
    b->out_ptrs[b->graph.n_output++] = mb_vi(b, name, 0, none);
    b->out_ptrs[b->graph.n_output - 1]->type = NULL;
}

static void mb_init_f32(struct mb *b, const char *name, int rank, int64_t *dims, float *data, size_t n)
{
    Onnx__TensorProto *t = &b->inits[b->graph.n_initializer];

    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = GTEE_ML_FLOAT;
    t->n_dims = (size_t)rank;
    t->dims = dims;
    t->n_float_data = n;
    t->float_data = data;
    b->init_ptrs[b->graph.n_initializer++] = t;
}

static Onnx__NodeProto *mb_node(struct mb *b, const char *op, const char *name, const char *in0, const char *in1,
                                const char *in2, const char *out)
{
    size_t i = b->graph.n_node++;
    Onnx__NodeProto *n = &b->nodes[i];

    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    b->names[i][0] = (char *)in0;
    b->names[i][1] = (char *)in1;
    b->names[i][2] = (char *)in2;
    n->input = b->names[i];
    n->n_input = in2 ? 3 : in1 ? 2 : in0 ? 1 : 0;
    b->names[i][3] = (char *)out;
    n->output = &b->names[i][3];
    n->n_output = 1;
    b->node_ptrs[i] = n;
    return n;
}

static void mb_attr_int(struct mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = &b->attrs[b->n_attr];

    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
    b->attr_ptrs[b->n_attr] = a;
    if (!n->attribute)
        n->attribute = &b->attr_ptrs[b->n_attr];
    n->n_attribute++;
    b->n_attr++;
}

static void mb_attr_str(struct mb *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = &b->attrs[b->n_attr];

    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.data = (uint8_t *)v;
    a->s.len = strlen(v);
    b->attr_ptrs[b->n_attr] = a;
    if (!n->attribute)
        n->attribute = &b->attr_ptrs[b->n_attr];
    n->n_attribute++;
    b->n_attr++;
}

/* Packs and loads; returns the load's result, with the model in *m when it succeeds. */
static int mb_load(struct mb *b, const struct gtee_ml_limits *lim, struct gtee_ml_model **m, struct gtee_err *err)
{
    size_t len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(len + 1);
    int rc;

    assert_non_null(buf);
    assert_int_equal(onnx__model_proto__pack(&b->model, buf), len);
    rc = gtee_ml_model_load(buf, len, lim, m, err);
    free(buf);
    return rc;
}

static int64_t w_dims[2] = { 3, 2 }, b_dims[1] = { 2 };
static float w_data[6] = { 1, -1, 2, 0.5f, -3, 1 }, b_data[2] = { 0.5f, -0.25f };

/* x[batch, 3] -> Gemm(W[3, 2], B[2]) -> Relu -> y */
static void mlp_model(struct mb *b)
{
    int64_t xd[2] = { -1, 3 };

    mb_init(b, 13);
    mb_input(b, "x", 2, xd);
    mb_init_f32(b, "W", 2, w_dims, w_data, 6);
    mb_init_f32(b, "B", 1, b_dims, b_data, 2);
    mb_node(b, "Gemm", "fc", "x", "W", "B", "h");
    mb_node(b, "Relu", "act", "h", NULL, NULL, "y");
    mb_output(b, "y");
}

static void test_runs_hand_made_gemm_relu_at_two_batch_sizes(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_err err = { 0 };
    float x[4 * 3] = { 1, 2, 3, -1, 0, 1, 0, 0, 0, 2, -2, 0.5f };
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 2, { 4, 3 }, x }, out;

    (void)state;
    mlp_model(&b);
    assert_int_equal(mb_load(&b, NULL, &m, &err), 0);
    assert_int_equal(gtee_ml_session_new(m, NULL, &s, &err), 0);
    for (int64_t batch = 4; batch >= 1; batch -= 3) {
        in.dim[0] = batch;
        assert_int_equal(gtee_ml_run(s, &in, 1, &out, 1, &err), 0);
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dim[0], batch);
        for (int64_t i = 0; i < batch; i++)
            for (int j = 0; j < 2; j++) {
                float ref = b_data[j];
                for (int k = 0; k < 3; k++)
                    ref += x[i * 3 + k] * w_data[k * 2 + j];
                ref = ref > 0 ? ref : 0;
                assert_float_equal(((float *)out.data)[i * 2 + j], ref, 1e-6);
            }
    }
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

/* h = Gemm(x); y = Relu(h) + h: Relu may not write over h, which Add still reads; z =
 * Flatten(x) is a view of the caller's x, and follows a new x on the next run. */
static void test_memory_plan_keeps_live_inputs_and_views_graph_inputs(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_err err = { 0 };
    float x1[2 * 3] = { 1, 2, 3, -1, 0, 1 }, x2[2 * 3] = { -2, 0.5f, 4, 3, -3, 0 };
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 2, { 2, 3 }, x1 }, out[2];

    (void)state;
    mlp_model(&b);
    b.nodes[1].op_type = "Relu";
    b.names[1][3] = "r";
    mb_node(&b, "Add", "sum", "r", "h", NULL, "y");
    mb_node(&b, "Flatten", "flat", "x", NULL, NULL, "z");
    b.graph.n_output = 0;
    b.n_vi = 1;
    mb_output(&b, "y");
    mb_output(&b, "z");
    assert_int_equal(mb_load(&b, NULL, &m, &err), 0);
    assert_int_equal(gtee_ml_session_new(m, NULL, &s, &err), 0);
    for (int run = 0; run < 2; run++) {
        const float *x = run ? x2 : x1;
        in.data = (void *)x;
        assert_int_equal(gtee_ml_run(s, &in, 1, out, 2, &err), 0);
        assert_ptr_equal(out[1].data, x); /* a view, not a copy */
        assert_int_equal(out[1].dim[1], 3);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                float h = b_data[j];
                for (int k = 0; k < 3; k++)
                    h += x[i * 3 + k] * w_data[k * 2 + j];
                assert_float_equal(((float *)out[0].data)[i * 2 + j], (h > 0 ? h : 0) + h, 1e-6);
            }
    }
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

static void test_refuses_unknown_operator_naming_node(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };

    (void)state;
    mlp_model(&b);
    b.nodes[1].op_type = "Selu";
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EUNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(err.msg, "node 'act' (#1, Selu)"));
    assert_non_null(strstr(err.msg, "not supported"));
}

/* An empty name omits an optional output only: a node whose one output has none is
 * refused with its name, not run into a missing tensor (found by fuzz_onnx_load on a
 * Resize; any operator's inference wrote through the missing output). */
static void test_refuses_unnamed_required_output(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    int64_t xd[2] = { -1, 3 };

    (void)state;
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_init_f32(&b, "W", 2, w_dims, w_data, 6);
    mb_init_f32(&b, "B", 1, b_dims, b_data, 2);
    mb_node(&b, "Gemm", "fc", "x", "W", "B", "h");
    mb_node(&b, "Relu", "act", "h", NULL, NULL, "");
    mb_output(&b, "h");
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EFORMAT);
    assert_null(m);
    assert_non_null(strstr(err.msg, "node 'act' (#1, Relu): output 0 is required but has no name"));
}

/* An input named "" is absent; an operator without optional inputs refuses it by position
 * (found by fuzz_onnx_load: Einsum read its absent second operand). */
static void test_refuses_absent_required_input(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    int64_t xd[2] = { 2, 3 };

    (void)state;
    mb_init(&b, 17);
    mb_input(&b, "x", 2, xd);
    mb_attr_str(&b, mb_node(&b, "Einsum", "prod", "x", "", NULL, "y"), "equation", "ij,jk->ik");
    mb_output(&b, "y");
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EFORMAT);
    assert_null(m);
    assert_non_null(strstr(err.msg, "node 'prod' (#0, Einsum): input 1 is required"));
}

static void test_refuses_unsupported_attribute_naming_node(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };

    (void)state;
    mlp_model(&b);
    mb_attr_int(&b, &b.nodes[1], "alpha", 2);
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "node 'act' (#1, Relu): attribute 'alpha' is not supported"));
}

static void test_refuses_mismatched_shapes_naming_node(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    int64_t bad[2] = { 4, 2 };

    (void)state;
    mlp_model(&b);
    b.inits[0].dims = bad;
    b.inits[0].n_float_data = 8;
    float data[8] = { 0 };
    b.inits[0].float_data = data;
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "node 'fc' (#0, Gemm): inner dimensions differ (3 vs 4)"));
}

static void test_refuses_opset_out_of_range(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };

    (void)state;
    mlp_model(&b);
    b.opset.version = 19;
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "opset 19"));
}

static void test_refuses_undefined_input_and_cycle(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };

    (void)state;
    mlp_model(&b);
    b.names[1][0] = "nowhere";
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "input 'nowhere' is not defined"));

    mlp_model(&b);
    b.names[0][0] = "y"; /* fc reads act's output, act reads fc's */
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "cycle"));
}

static void test_sorts_nodes_listed_out_of_order(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_model_info info;
    struct gtee_err err = { 0 };
    Onnx__NodeProto *tmp;

    (void)state;
    mlp_model(&b);
    tmp = b.node_ptrs[0];
    b.node_ptrs[0] = b.node_ptrs[1];
    b.node_ptrs[1] = tmp;
    assert_int_equal(mb_load(&b, NULL, &m, &err), 0);
    gtee_ml_model_info(m, &info);
    assert_int_equal(info.sorted, 1);
    assert_string_equal(gtee_ml_model_node_op(m, 0), "Gemm");
    assert_string_equal(gtee_ml_model_node_op(m, 1), "Relu");
    gtee_ml_model_free(m);
}

static void test_refuses_oversized_initializer_before_allocating(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    int64_t huge[2] = { INT64_C(1) << 40, INT64_C(1) << 40 };
    struct gtee_ml_limits lim = { 0, 4, 0, 0 };

    (void)state;
    mlp_model(&b);
    b.inits[0].dims = huge; /* claims 2^80 elements, carries 6 */
    assert_int_equal(mb_load(&b, NULL, &m, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "tensor 'W' has more than"));

    mlp_model(&b); /* within the default limits, but not under a limit of 4 elements */
    assert_int_equal(mb_load(&b, &lim, &m, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "tensor 'W' has more than 4 elements"));
}

static void test_refuses_truncated_model_bytes(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf;

    (void)state;
    mlp_model(&b);
    len = onnx__model_proto__get_packed_size(&b.model);
    buf = malloc(len);
    assert_non_null(buf);
    onnx__model_proto__pack(&b.model, buf);
    assert_int_equal(gtee_ml_model_load(buf, len - 7, NULL, &m, &err), GTEE_EFORMAT);
    assert_null(m);
    free(buf);
}

static void on_issue_check(size_t node, const char *reason)
{
    check_expected(node);
    assert_non_null(strstr(reason, "is not supported"));
}

static void on_issue(size_t node, const char *name, const char *op, const char *reason, void *arg)
{
    (void)name;
    (void)op;
    (void)arg;
    on_issue_check(node, reason);
}

static void test_survey_lists_every_unsupported_node(void **state)
{
    struct mb b;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf;

    (void)state;
    mlp_model(&b);
    b.nodes[0].op_type = "QLinearMatMul";
    b.nodes[1].op_type = "Selu";
    len = onnx__model_proto__get_packed_size(&b.model);
    buf = malloc(len);
    assert_non_null(buf);
    onnx__model_proto__pack(&b.model, buf);
    expect_value(on_issue_check, node, 0);
    expect_value(on_issue_check, node, 1);
    assert_int_equal(gtee_ml_model_survey(buf, len, NULL, on_issue, NULL, &m, &err), 2);
    assert_non_null(m);
    gtee_ml_model_free(m);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_hand_made_gemm_relu_at_two_batch_sizes),
        cmocka_unit_test(test_memory_plan_keeps_live_inputs_and_views_graph_inputs),
        cmocka_unit_test(test_refuses_unknown_operator_naming_node),
        cmocka_unit_test(test_refuses_absent_required_input),
        cmocka_unit_test(test_refuses_unsupported_attribute_naming_node),
        cmocka_unit_test(test_refuses_unnamed_required_output),
        cmocka_unit_test(test_refuses_mismatched_shapes_naming_node),
        cmocka_unit_test(test_refuses_opset_out_of_range),
        cmocka_unit_test(test_refuses_undefined_input_and_cycle),
        cmocka_unit_test(test_sorts_nodes_listed_out_of_order),
        cmocka_unit_test(test_refuses_oversized_initializer_before_allocating),
        cmocka_unit_test(test_refuses_truncated_model_bytes),
        cmocka_unit_test(test_survey_lists_every_unsupported_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
