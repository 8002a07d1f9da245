/* ONNX ModelProto -> the engine's graph (onnx.proto, IR version 3 and later). The file is
 * untrusted: its size is bounded before decoding, every tensor's size is checked before its
 * buffer is allocated, names must resolve, and the nodes end up in topological order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "ml/names.h"
#include "onnx.pb-c.h"

struct loader {
    struct gtee_ml_model *m;
    const Onnx__GraphProto *g;
    struct ml_names names;
    gtee_ml_issue_fn cb;
    void *arg;
    size_t issues;
    uint64_t total_elems;
    struct gtee_err *err;
};

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static bool default_domain(const char *d)
{
    return !d || !*d || !strcmp(d, "ai.onnx");
}

static int read_opset(struct loader *L, const Onnx__ModelProto *mp)
{
    int64_t v = -1;

    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (default_domain(mp->opset_import[i]->domain) && mp->opset_import[i]->has_version)
            v = mp->opset_import[i]->version;
    if (v < 0)
        return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: the model imports no ai.onnx opset");
    if (v < ML_MIN_OPSET || v > ML_MAX_OPSET)
        return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: opset %lld is outside the supported range %d..%d",
                         (long long)v, ML_MIN_OPSET, ML_MAX_OPSET);
    L->m->opset = v;
    return 0;
}

static int add_value(struct loader *L, const char *name, int kind, int producer, int32_t *id)
{
    struct gtee_ml_model *m = L->m;
    struct ml_value *v = &m->values[m->n_values];

    if (!*name)
        return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: a value has an empty name");
    v->name = dup_str(name);
    if (!v->name)
        return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
    v->kind = kind;
    v->producer = producer;
    *id = (int32_t)m->n_values++;
    if (ml_names_put(&L->names, v->name, *id) < 0)
        return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: value '%s' is defined twice", name);
    return 0;
}

static int read_initializers(struct loader *L)
{
    int rc = 0;

    for (size_t i = 0; i < L->g->n_initializer; i++) {
        const Onnx__TensorProto *tp = L->g->initializer[i];
        struct ml_value *v;
        uint64_t n;
        int32_t id;

        TRY(add_value(L, tp->name ? tp->name : "", ML_VAL_INIT, -1, &id));
        v = &L->m->values[id];
        TRY(ml_tensor_from_proto(tp, &L->m->lim, &v->decl, L->err));
        n = ml_elems(&v->decl);
        if (__builtin_add_overflow(L->total_elems, n, &L->total_elems) || L->total_elems > L->m->lim.max_total_elems)
            return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: initializers exceed %llu elements in all (at '%s')",
                             (unsigned long long)L->m->lim.max_total_elems, v->name);
        if (v->decl.dtype == GTEE_ML_FLOAT)
            L->m->n_params += n;
    }
out:
    return rc;
}

static int read_type(struct loader *L, const Onnx__ValueInfoProto *vi, struct ml_value *v)
{
    const Onnx__TypeProto *tp = vi->type;
    const Onnx__TensorShapeProto *sh;

    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: graph input '%s' is not a tensor", v->name);
    v->decl.dtype = tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
    if (!gtee_ml_dtype_size(v->decl.dtype))
        return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: graph input '%s' has element type %s (not supported)",
                         v->name, gtee_ml_dtype_name(v->decl.dtype));
    sh = tp->tensor_type->shape;
    if (!sh)
        return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: graph input '%s' has no shape", v->name);
    if (sh->n_dim > GTEE_ML_MAX_RANK)
        return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: graph input '%s' has rank %zu (at most %d)", v->name,
                         sh->n_dim, GTEE_ML_MAX_RANK);
    v->decl.rank = (int)sh->n_dim;
    for (size_t i = 0; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];

        v->decl.dim[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0 || (uint64_t)d->dim_value > L->m->lim.max_tensor_elems)
                return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: graph input '%s' dimension %zu is out of range", v->name, i);
            v->decl.dim[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
            v->dim_param[i] = dup_str(d->dim_param);
            if (!v->dim_param[i])
                return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
        }
    }
    return 0;
}

static int read_inputs(struct loader *L)
{
    struct gtee_ml_model *m = L->m;
    int rc = 0;

    m->inputs = calloc(L->g->n_input + 1, sizeof(*m->inputs));
    ENSURE(m->inputs, L->err, GTEE_ENOMEM, "ml: out of memory");
    for (size_t i = 0; i < L->g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = L->g->input[i];
        int32_t id;

        /* IR < 4 lists initializers among the inputs too: those stay constants. */
        if (ml_names_get(&L->names, vi->name ? vi->name : "") >= 0 &&
            m->values[ml_names_get(&L->names, vi->name)].kind == ML_VAL_INIT)
            continue;
        TRY(add_value(L, vi->name ? vi->name : "", ML_VAL_INPUT, -1, &id));
        TRY(read_type(L, vi, &m->values[id]));
        m->inputs[m->n_inputs++] = id;
    }
out:
    return rc;
}

static int copy_attr(struct loader *L, const Onnx__AttributeProto *ap, struct ml_attr *a, const char **bad)
{
    a->name = dup_str(ap->name);
    if (!a->name)
        return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
    a->type = ap->has_type ? (int)ap->type : 0;
    switch (a->type) {
    case ML_ATTR_FLOAT: a->f = ap->f; break;
    case ML_ATTR_INT: a->i = ap->i; break;
    case ML_ATTR_STRING:
        a->s = calloc(1, ap->s.len + 1);
        if (!a->s)
            return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        break;
    case ML_ATTR_INTS:
        a->n = ap->n_ints;
        a->ints = malloc((a->n ? a->n : 1) * sizeof(int64_t));
        if (!a->ints)
            return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
        if (a->n)
            memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
        break;
    case ML_ATTR_FLOATS:
        a->n = ap->n_floats;
        a->floats = malloc((a->n ? a->n : 1) * sizeof(float));
        if (!a->floats)
            return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
        if (a->n)
            memcpy(a->floats, ap->floats, a->n * sizeof(float));
        break;
    case ML_ATTR_TENSOR: {
        int rc;

        if (!ap->t)
            return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: attribute '%s' has no tensor", a->name);
        a->t = calloc(1, sizeof(*a->t));
        if (!a->t)
            return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
        rc = ml_tensor_from_proto(ap->t, &L->m->lim, a->t, L->err);
        if (rc == GTEE_EUNSUPPORTED) {
            *bad = "a tensor attribute of an unsupported element type or layout";
            return 0;
        }
        return rc;
    }
    default:
        *bad = "an attribute of an unsupported kind (graph, strings, tensors or sparse)";
        a->type = 0;
    }
    return 0;
}

/* Records a node the engine cannot run: reported via cb, or the load's error. */
static int issue(struct loader *L, size_t idx, const struct ml_node *n, const char *why)
{
    L->issues++;
    if (L->cb) {
        L->cb(idx, n->name, n->op_type, why, L->arg);
        return 0;
    }
    return GTEE_FAIL(L->err, GTEE_EUNSUPPORTED, "ml: node '%s' (#%zu, %s): %s", n->name, idx, n->op_type, why);
}

static int read_node(struct loader *L, size_t idx)
{
    const Onnx__NodeProto *np = L->g->node[idx];
    struct ml_node *n = &L->m->nodes[idx];
    const char *bad = NULL;
    char why[160];
    int rc = 0;

    n->file_index = idx;
    n->name = dup_str(np->name);
    n->op_type = dup_str(np->op_type);
    ENSURE(n->name && n->op_type, L->err, GTEE_ENOMEM, "ml: out of memory");
    ENSURE(np->n_input <= ML_MAX_NODE_IO && np->n_output <= ML_MAX_NODE_IO && np->n_output > 0, L->err,
           GTEE_EFORMAT, "ml: node '%s' (#%zu, %s): %zu inputs, %zu outputs (out of range)", n->name, idx,
           n->op_type, np->n_input, np->n_output);
    n->in = calloc(np->n_input + 1, sizeof(int32_t));
    n->out = calloc(np->n_output, sizeof(int32_t));
    n->attr = calloc(np->n_attribute + 1, sizeof(*n->attr));
    ENSURE(n->in && n->out && n->attr, L->err, GTEE_ENOMEM, "ml: out of memory");
    n->n_in = np->n_input;
    n->n_out = np->n_output;
    for (size_t i = 0; i < np->n_output; i++) {
        n->out[i] = -1;
        if (np->output[i] && *np->output[i])
            TRY(add_value(L, np->output[i], ML_VAL_NODE, (int)idx, &n->out[i]));
    }
    for (size_t i = 0; i < np->n_attribute; i++) {
        n->n_attr++; /* counted first: a partial attribute is freed with the node */
        TRY(copy_attr(L, np->attribute[i], &n->attr[i], &bad));
    }
    n->op = default_domain(np->domain) ? ml_op_find(n->op_type) : NULL;
    if (!n->op) {
        snprintf(why, sizeof(why), "operator %s%s%s is not supported", np->domain && *np->domain ? np->domain : "",
                 np->domain && *np->domain ? "." : "", n->op_type);
        bad = why;
    } else if (L->m->opset < n->op->min_opset || L->m->opset > n->op->max_opset) {
        snprintf(why, sizeof(why), "opset %lld: supported for opsets %d..%d", (long long)L->m->opset,
                 n->op->min_opset, n->op->max_opset);
        bad = why;
    } else if (n->n_in < n->op->min_in || n->n_in > n->op->max_in || n->n_out < n->op->min_out ||
               n->n_out > n->op->max_out) {
        snprintf(why, sizeof(why), "%zu inputs and %zu outputs (expected %u..%u and %u..%u)", n->n_in, n->n_out,
                 n->op->min_in, n->op->max_in, n->op->min_out, n->op->max_out);
        bad = why;
    }
    if (bad) {
        n->op = NULL;
        TRY(issue(L, idx, n, bad));
    }
out:
    return rc;
}

static int resolve_inputs(struct loader *L)
{
    for (size_t idx = 0; idx < L->g->n_node; idx++) {
        const Onnx__NodeProto *np = L->g->node[idx];
        struct ml_node *n = &L->m->nodes[idx];

        for (size_t i = 0; i < np->n_input; i++) {
            n->in[i] = -1;
            if (!np->input[i] || !*np->input[i])
                continue;
            n->in[i] = ml_names_get(&L->names, np->input[i]);
            if (n->in[i] < 0)
                return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: node '%s' (#%zu, %s): input '%s' is not defined", n->name,
                                 idx, n->op_type, np->input[i]);
        }
    }
    return 0;
}

/* The names a graph output declares for its symbolic dims ("batch"), for inspection only:
 * shapes are always inferred. */
static int output_dim_names(struct loader *L, const Onnx__ValueInfoProto *vi, struct ml_value *v)
{
    const Onnx__TensorShapeProto *sh;

    (void)L;
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type ||
        !(sh = vi->type->tensor_type->shape) || sh->n_dim > GTEE_ML_MAX_RANK)
        return 0;
    for (size_t d = 0; d < sh->n_dim; d++)
        if (sh->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && !v->dim_param[d] &&
            !(v->dim_param[d] = dup_str(sh->dim[d]->dim_param)))
            return GTEE_ENOMEM;
    return 0;
}

static int read_outputs(struct loader *L)
{
    struct gtee_ml_model *m = L->m;

    m->outputs = calloc(L->g->n_output + 1, sizeof(*m->outputs));
    if (!m->outputs)
        return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
    if (!L->g->n_output)
        return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: the graph has no outputs");
    for (size_t i = 0; i < L->g->n_output; i++) {
        const char *name = L->g->output[i]->name ? L->g->output[i]->name : "";
        int32_t id = ml_names_get(&L->names, name);

        if (id < 0)
            return GTEE_FAIL(L->err, GTEE_EFORMAT, "ml: graph output '%s' is not produced by the graph", name);
        m->outputs[m->n_outputs++] = id;
        if (output_dim_names(L, L->g->output[i], &m->values[id]) < 0)
            return GTEE_FAIL(L->err, GTEE_ENOMEM, "ml: out of memory");
    }
    return 0;
}

int ml_graph_sort(struct gtee_ml_model *m, struct gtee_err *err);

static int load_graph(struct loader *L, const Onnx__ModelProto *mp)
{
    struct gtee_ml_model *m = L->m;
    size_t nv;
    int rc = 0;

    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->producer = dup_str(mp->producer_name);
    ENSURE(m->producer, L->err, GTEE_ENOMEM, "ml: out of memory");
    ENSURE(mp->graph, L->err, GTEE_EFORMAT, "ml: the model has no graph");
    L->g = mp->graph;
    TRY(read_opset(L, mp));
    ENSURE(L->g->n_node <= m->lim.max_nodes, L->err, GTEE_EFORMAT, "ml: %zu nodes exceed the limit of %u",
           L->g->n_node, m->lim.max_nodes);
    ENSURE(L->g->n_sparse_initializer == 0, L->err, GTEE_EUNSUPPORTED, "ml: sparse initializers are not supported");
    nv = L->g->n_initializer + L->g->n_input;
    for (size_t i = 0; i < L->g->n_node; i++)
        nv += L->g->node[i]->n_output; /* bounded: each costs bytes of the bounded file */
    m->values = calloc(nv + 1, sizeof(*m->values));
    m->nodes = calloc(L->g->n_node + 1, sizeof(*m->nodes));
    ENSURE(m->values && m->nodes && ml_names_init(&L->names, nv) == 0, L->err, GTEE_ENOMEM, "ml: out of memory");
    TRY(read_initializers(L));
    TRY(read_inputs(L));
    for (size_t i = 0; i < L->g->n_node; i++) {
        m->n_nodes = i + 1;
        TRY(read_node(L, i));
    }
    TRY(resolve_inputs(L));
    TRY(read_outputs(L));
    TRY(ml_graph_sort(m, L->err));
out:
    return rc;
}

int ml_onnx_parse(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim, gtee_ml_issue_fn cb,
                  void *arg, size_t *issues, struct gtee_ml_model **out, struct gtee_err *err)
{
    struct loader L = { .cb = cb, .arg = arg, .err = err };
    Onnx__ModelProto *mp = NULL;
    int rc = GTEE_ENOMEM;

    *out = NULL;
    L.m = calloc(1, sizeof(*L.m));
    ENSURE(L.m, err, GTEE_ENOMEM, "ml: out of memory");
    ml_limits_fill(lim, &L.m->lim);
    ENSURE(len <= L.m->lim.max_model_bytes, err, GTEE_EFORMAT, "ml: model of %zu bytes exceeds the limit of %llu",
           len, (unsigned long long)L.m->lim.max_model_bytes);
    mp = onnx__model_proto__unpack(&ml_pb_allocator, len, buf);
    ENSURE(mp, err, GTEE_EFORMAT, "ml: not an ONNX model (protobuf decoding failed)");
    TRY(load_graph(&L, mp));
    if (issues)
        *issues = L.issues;
    *out = L.m;
    L.m = NULL;
    rc = 0;
out:
    if (mp)
        onnx__model_proto__free_unpacked(mp, &ml_pb_allocator);
    ml_names_free(&L.names);
    gtee_ml_model_free(L.m);
    return rc;
}
