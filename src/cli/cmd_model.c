/* `gtee model`: developer tools for ONNX models before they go confidential (docs/ml.md).
 * This file holds the sub-table and `model inspect`; `model run` is in cmd_model_run.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/model.h"

static const char inspect_usage[] =
    "Usage: gtee model inspect [--json] MODEL.onnx\n"
    "\n"
    "Shows an ONNX model's IR version and opset, its inputs and outputs with their\n"
    "element types and shapes (symbolic dimensions such as the batch by name), its node\n"
    "count per operator and its parameter count (elements of float initializers), and\n"
    "lists every node the engine cannot run with the reason. Shapes of outputs are\n"
    "inferred through the graph when every node is supported.\n"
    "\n"
    "Options:\n"
    "      --json   print the result as one JSON object on stdout\n"
    "  -h, --help   show this help\n"
    "\n"
    "Example:\n"
    "  gtee model inspect mlp.onnx\n";

struct survey {
    json_t *issues;
};

static void on_issue(size_t node, const char *name, const char *op, const char *reason, void *arg)
{
    struct survey *s = arg;
    json_t *e = json_pack("{s:s,s:s,s:s}", "name", name, "op", op, "reason", reason);

    if (e && node != SIZE_MAX)
        json_object_set_new(e, "node", json_integer((json_int_t)node));
    json_array_append_new(s->issues, e);
}

static json_t *io_list(const struct gtee_ml_model *m, int is_output)
{
    json_t *a = json_array();
    struct gtee_ml_io io;

    for (size_t i = 0; a && gtee_ml_model_io(m, is_output, i, &io) == 0; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:o}", "name", io.name, "dtype",
                                           io.type.rank >= 0 && io.type.dtype ? gtee_ml_dtype_name(io.type.dtype)
                                                                               : "unknown",
                                           "shape", model_shape_json(&io.type, io.dim_param)));
    return a;
}

static json_t *op_counts(const struct gtee_ml_model *m)
{
    json_t *o = json_object();
    const char *op;

    for (size_t i = 0; o && (op = gtee_ml_model_node_op(m, i)); i++) {
        json_t *c = json_object_get(o, op);
        json_object_set_new(o, op, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    return o;
}

static void print_text(const char *path, const struct gtee_ml_model *m, json_t *issues)
{
    struct gtee_ml_model_info info;
    json_t *ops = op_counts(m);
    const char *key;
    json_t *val;
    char shape[256];
    struct gtee_ml_io io;

    gtee_ml_model_info(m, &info);
    printf("model %s\n", path);
    printf("  ir_version %lld, opset %lld, producer %s\n", (long long)info.ir_version, (long long)info.opset,
           *info.producer ? info.producer : "(none)");
    for (int out = 0; out < 2; out++) {
        printf("  %s:\n", out ? "outputs" : "inputs");
        for (size_t i = 0; gtee_ml_model_io(m, out, i, &io) == 0; i++) {
            if (io.type.dtype)
                model_shape_text(&io.type, io.dim_param, shape, sizeof(shape));
            else
                snprintf(shape, sizeof(shape), "(not inferred)");
            printf("    %s  %s\n", io.name, shape);
        }
    }
    printf("  nodes: %zu%s\n", info.n_nodes, info.sorted ? " (sorted into topological order)" : "");
    json_object_foreach(ops, key, val)
        printf("    %-22s %lld\n", key, (long long)json_integer_value(val));
    printf("  parameters: %llu\n", (unsigned long long)info.n_params);
    if (!json_array_size(issues)) {
        printf("  supported: yes\n");
    } else {
        printf("  supported: no\n");
        for (size_t i = 0; i < json_array_size(issues); i++) {
            json_t *e = json_array_get(issues, i);
            json_t *node = json_object_get(e, "node");
            if (node)
                printf("    node '%s' (#%lld, %s): %s\n", json_string_value(json_object_get(e, "name")),
                       (long long)json_integer_value(node), json_string_value(json_object_get(e, "op")),
                       json_string_value(json_object_get(e, "reason")));
            else
                printf("    %s\n", json_string_value(json_object_get(e, "reason")));
        }
    }
    json_decref(ops);
}

int model_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct survey s = { json_array() };
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_model_info info;
    struct gtee_err err = { 0 };
    uint8_t *buf = NULL;
    size_t len = 0;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': cli_set_json(1); break;
        case 'h': json_decref(s.issues); return cli_help(inspect_usage);
        default: json_decref(s.issues); return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1) {
        json_decref(s.issues);
        return cli_usage_error("expected one argument MODEL.onnx");
    }
    rc = model_read_file(argv[optind], &buf, &len, &err);
    if (rc == 0)
        rc = gtee_ml_model_survey(buf, len, NULL, on_issue, &s, &m, &err);
    free(buf);
    if (rc < 0) {
        json_decref(s.issues);
        return cli_fail_err(rc, &err);
    }
    rc = 0; /* the survey's count of unsupported nodes is reported, not an error */
    gtee_ml_model_info(m, &info);
    if (cli_json()) {
        rc = cli_json_emit(json_pack("{s:s,s:I,s:I,s:s,s:o,s:o,s:I,s:b,s:o,s:I,s:b,s:O}", "file", argv[optind],
                                     "ir_version", (json_int_t)info.ir_version, "opset", (json_int_t)info.opset,
                                     "producer", info.producer, "inputs", io_list(m, 0), "outputs", io_list(m, 1),
                                     "nodes", (json_int_t)info.n_nodes, "sorted", info.sorted, "ops", op_counts(m),
                                     "parameters", (json_int_t)info.n_params, "supported",
                                     json_array_size(s.issues) == 0, "unsupported", s.issues))
                 ? CLI_EXIT_IO
                 : 0;
    } else {
        print_text(argv[optind], m, s.issues);
    }
    json_decref(s.issues);
    gtee_ml_model_free(m);
    return rc;
}

/* Subcommands of `gtee model`. Training adds its line here:
 *   { "train", "Train a model's initializers on a dataset", model_train },
 * with model_train declared in cli/model.h and defined in cmd_model_train.c. */
static const struct cli_cmd model_commands[] = {
    { "inspect", "Show an ONNX model's opset, inputs, outputs, operators and what is unsupported", model_inspect },
    { "run", "Run an ONNX model on a .npy input and write its output as .npy", model_run },
    { "train", "Train a model's initializers on a dataset and write the trained ONNX model", model_train },
    { "score", "The accuracy of predictions (.npy class scores) against labels", model_score },
};

int cmd_model(int argc, char **argv)
{
    return cli_dispatch(model_commands, GTEE_ARRAY_LEN(model_commands), argc, argv);
}
