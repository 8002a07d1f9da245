/* The checked graph: topological order, the load/survey entry points (parse, then infer
 * types and shapes through the graph with the declared input shapes), accessors, free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/file.h"
#include "ml/ml.h"

int ml_graph_sort(struct gtee_ml_model *m, struct gtee_err *err);

static bool in_order(const struct gtee_ml_model *m)
{
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t j = 0; j < m->nodes[i].n_in; j++) {
            int32_t v = m->nodes[i].in[j];
            if (v >= 0 && m->values[v].kind == ML_VAL_NODE && (size_t)m->values[v].producer >= i)
                return false;
        }
    return true;
}

/* Kahn's algorithm, taking ready nodes in file order; ONNX requires files to be sorted
 * (onnx.proto, GraphProto.node), but some writers are not, so we sort and say so. */
int ml_graph_sort(struct gtee_ml_model *m, struct gtee_err *err)
{
    size_t n = m->n_nodes, head = 0, tail = 0, edges = 0;
    size_t *indeg = NULL, *start = NULL, *adj = NULL, *queue = NULL, *fill = NULL;
    struct ml_node *sorted = NULL;
    int rc = GTEE_ENOMEM;

    if (in_order(m))
        return 0;
    for (size_t i = 0; i < n; i++)
        edges += m->nodes[i].n_in;
    indeg = calloc(n + 1, sizeof(*indeg));
    start = calloc(n + 2, sizeof(*start));
    fill = calloc(n + 1, sizeof(*fill));
    adj = calloc(edges + 1, sizeof(*adj));
    queue = calloc(n + 1, sizeof(*queue));
    sorted = calloc(n + 1, sizeof(*sorted));
    ENSURE(indeg && start && fill && adj && queue && sorted, err, GTEE_ENOMEM, "ml: out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m->nodes[i].n_in; j++) {
            int32_t v = m->nodes[i].in[j];
            if (v >= 0 && m->values[v].kind == ML_VAL_NODE) {
                start[m->values[v].producer + 1]++;
                indeg[i]++;
            }
        }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m->nodes[i].n_in; j++) {
            int32_t v = m->nodes[i].in[j];
            if (v >= 0 && m->values[v].kind == ML_VAL_NODE) {
                size_t p = (size_t)m->values[v].producer;
                adj[start[p] + fill[p]++] = i;
            }
        }
    for (size_t i = 0; i < n; i++)
        if (!indeg[i])
            queue[tail++] = i;
    while (head < tail) {
        size_t u = queue[head++];
        for (size_t e = start[u]; e < start[u + 1]; e++)
            if (--indeg[adj[e]] == 0)
                queue[tail++] = adj[e];
    }
    if (tail < n) {
        for (size_t i = 0; i < n; i++)
            if (indeg[i]) {
                rc = GTEE_FAIL(err, GTEE_EFORMAT, "ml: node '%s' (#%zu, %s) is part of a cycle", m->nodes[i].name,
                               m->nodes[i].file_index, m->nodes[i].op_type);
                break;
            }
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = m->nodes[queue[i]];
    memcpy(m->nodes, sorted, n * sizeof(*sorted));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m->nodes[i].n_out; j++)
            if (m->nodes[i].out[j] >= 0)
                m->values[m->nodes[i].out[j]].producer = (int)i;
    m->sorted = true;
    rc = 0;
out:
    ml_free(indeg);
    ml_free(start);
    ml_free(fill);
    ml_free(adj);
    ml_free(queue);
    ml_free(sorted);
    return rc;
}

/* Infers through the graph with the declared input shapes and keeps the result as each
 * value's declared type (what `gtee model inspect` shows). *fatal: the failure is not the
 * node's own (a limit of the model, or memory), which a survey must not list as one. */
static int check_graph(struct gtee_ml_model *m, bool *fatal, struct gtee_err *err)
{
    struct gtee_ml_tensor *in = calloc(m->n_inputs + 1, sizeof(*in));
    struct ml_plan p = { 0 };
    int rc;

    if (!in)
        return GTEE_FAIL(err, GTEE_ENOMEM, "ml: out of memory");
    for (size_t i = 0; i < m->n_inputs; i++)
        in[i] = m->values[m->inputs[i]].decl;
    rc = ml_plan_build(m, in, false, 1, &p, err);
    *fatal = p.over_limit || rc == GTEE_ENOMEM;
    if (rc == 0)
        for (size_t v = 0; v < m->n_values; v++)
            if (m->values[v].kind == ML_VAL_NODE)
                ml_set_like(&m->values[v].decl, &p.vals[v], p.vals[v].dtype);
    ml_plan_free(&p);
    ml_free(in);
    return rc;
}

int gtee_ml_model_load(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim,
                       struct gtee_ml_model **out, struct gtee_err *err)
{
    struct gtee_ml_model *m = NULL;
    bool fatal;
    int rc;

    if (!out || (!buf && len))
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: bad arguments");
    *out = NULL;
    rc = ml_onnx_parse(buf, len, lim, NULL, NULL, NULL, &m, err);
    if (rc == 0)
        rc = check_graph(m, &fatal, err);
    if (rc < 0) {
        gtee_ml_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int gtee_ml_model_survey(const uint8_t *buf, size_t len, const struct gtee_ml_limits *lim,
                         gtee_ml_issue_fn cb, void *arg, struct gtee_ml_model **out, struct gtee_err *err)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_err e = { 0 };
    size_t issues = 0;
    bool fatal;
    int rc;

    if (!out || !cb || (!buf && len))
        return GTEE_FAIL(err, GTEE_EINVAL, "ml: bad arguments");
    *out = NULL;
    rc = ml_onnx_parse(buf, len, lim, cb, arg, &issues, &m, err);
    if (rc < 0)
        return rc;
    /* Shapes can only be followed through a graph whose every node is known. */
    if (!issues && (rc = check_graph(m, &fatal, &e)) < 0) {
        if (fatal) {
            if (err)
                *err = e;
            gtee_ml_model_free(m);
            return rc;
        }
        cb(SIZE_MAX, "", "", e.msg, arg);
        issues++;
    }
    *out = m;
    return (int)(issues > 0x7fffffff ? 0x7fffffff : issues);
}

int gtee_ml_model_load_file(const char *path, const struct gtee_ml_limits *lim, struct gtee_ml_model **out,
                            struct gtee_err *err)
{
    struct gtee_ml_limits l;
    uint8_t *buf = NULL;
    size_t size = 0;
    int rc;

    ml_limits_fill(lim, &l);
    /* A regular file within the model limit (a FIFO is refused, never waited on). */
    rc = gtee_file_read(path, l.max_model_bytes > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)l.max_model_bytes, &buf,
                        &size, err);
    if (rc < 0)
        return gtee_err_wrap(err, "ml: model file: ");
    rc = gtee_ml_model_load(buf, size, &l, out, err);
    ml_free(buf);
    return rc;
}

static void free_attr(struct ml_attr *a)
{
    ml_free(a->name);
    ml_free(a->s);
    ml_free(a->ints);
    ml_free(a->floats);
    if (a->t)
        ml_free(a->t->data);
    ml_free(a->t);
}

void gtee_ml_model_free(struct gtee_ml_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_values; i++) {
        ml_free(m->values[i].name);
        if (m->values[i].kind == ML_VAL_INIT)
            ml_free(m->values[i].decl.data);
        for (int d = 0; d < GTEE_ML_MAX_RANK; d++)
            ml_free(m->values[i].dim_param[d]);
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct ml_node *n = &m->nodes[i];
        ml_free(n->name);
        ml_free(n->op_type);
        ml_free(n->in);
        ml_free(n->out);
        for (size_t a = 0; a < n->n_attr; a++)
            free_attr(&n->attr[a]);
        ml_free(n->attr);
    }
    ml_free(m->values);
    ml_free(m->nodes);
    ml_free(m->inputs);
    ml_free(m->outputs);
    ml_free(m->producer);
    ml_free(m);
}

void gtee_ml_model_info(const struct gtee_ml_model *m, struct gtee_ml_model_info *info)
{
    memset(info, 0, sizeof(*info));
    info->ir_version = m->ir_version;
    info->opset = m->opset;
    info->producer = m->producer ? m->producer : "";
    info->n_nodes = m->n_nodes;
    info->n_inputs = m->n_inputs;
    info->n_outputs = m->n_outputs;
    info->n_params = m->n_params;
    info->sorted = m->sorted;
}

int gtee_ml_model_io(const struct gtee_ml_model *m, int is_output, size_t i, struct gtee_ml_io *io)
{
    const struct ml_value *v;

    if (i >= (is_output ? m->n_outputs : m->n_inputs))
        return GTEE_EINVAL;
    v = &m->values[is_output ? m->outputs[i] : m->inputs[i]];
    memset(io, 0, sizeof(*io));
    io->name = v->name;
    ml_set_like(&io->type, &v->decl, v->decl.dtype);
    for (int d = 0; d < GTEE_ML_MAX_RANK; d++)
        io->dim_param[d] = v->dim_param[d];
    return 0;
}

const char *gtee_ml_model_node_op(const struct gtee_ml_model *m, size_t i)
{
    return i < m->n_nodes ? m->nodes[i].op_type : NULL;
}
