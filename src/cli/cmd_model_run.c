/* `gtee model run`: one inference on inputs read from .npy files, outputs written as .npy
 * (float32; int64 and bool outputs are converted to float32). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/model.h"

#include "gtee/dataset.h"
#include "gtee/file.h"

#define MAX_IO 16
/* room for --verbose's report: a few lines on the machine, one per matrix product */
#define KERNELS_TEXT (64u << 10)

static const char run_usage[] =
    "Usage: gtee model run [--threads N] [--force] [--json] [--verbose] MODEL.onnx --input FILE.npy...\n"
    "                      --out FILE.npy...\n"
    "\n"
    "Loads and checks MODEL.onnx, reads one .npy file per graph input (in the model's input\n"
    "order; float inputs take any numeric array, int64 inputs integer arrays), runs the model\n"
    "once and writes its outputs, in order, to the --out files as float32 .npy. Symbolic\n"
    "dimensions (such as the batch) take the input files' sizes. An existing --out file is\n"
    "refused (exit 3) unless --force; outputs are written mode 0600, each complete or not at all.\n"
    "\n"
    "Options:\n"
    "  -i, --input FILE    a graph input (repeat for each input)\n"
    "  -o, --out FILE      where to write a graph output (repeat; extra outputs are not written)\n"
    "  -t, --threads N     threads for OpenBLAS, oneDNN and the engine's loops (default 1)\n"
    "  -f, --force         replace existing --out files (a FIFO or device gets the complete file)\n"
    "      --json          print the outputs' names, shapes, files and the time as JSON\n"
    "  -v, --verbose       also print the CPU, the matrix-product kernels chosen for it and why,\n"
    "                      and the kernel of each MatMul, Gemm and Conv (docs/ml.md, \"Kernels\")\n"
    "  -h, --help          show this help\n"
    "\n"
    "Example:\n"
    "  gtee model run mlp.onnx --input batch.npy --out logits.npy\n";

static int load_input(const char *path, int dtype, struct gtee_ml_tensor *t, struct gtee_array *a,
                      struct gtee_err *err)
{
    int rc = gtee_npy_load(path, dtype == GTEE_ML_INT64 ? GTEE_ARRAY_I64 : GTEE_ARRAY_F32, GTEE_NORM_NONE, a, err);

    if (rc < 0)
        return rc;
    if (dtype != GTEE_ML_FLOAT && dtype != GTEE_ML_INT64)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "%s: the model input is %s; only float and int64 inputs are read",
                         path, gtee_ml_dtype_name(dtype));
    memset(t, 0, sizeof(*t));
    t->dtype = dtype;
    t->rank = (int)a->ndim;
    for (size_t d = 0; d < a->ndim; d++)
        t->dim[d] = (int64_t)a->dims[d];
    t->data = dtype == GTEE_ML_INT64 ? (void *)a->i64 : (void *)a->f32;
    return 0;
}

/* Encodes an output as float32 .npy into o, the helper's temporary opened before the run. */
static int save_output(struct gtee_file_out *o, const struct gtee_ml_tensor *t, struct gtee_err *err)
{
    size_t dims[GTEE_ML_MAX_RANK], n = 1, len = 0;
    uint8_t *buf = NULL;
    float *tmp = NULL;
    int rc;

    for (int d = 0; d < t->rank; d++) {
        dims[d] = (size_t)t->dim[d];
        n *= dims[d];
    }
    if (t->dtype != GTEE_ML_FLOAT) {
        tmp = malloc(n * sizeof(float) + 1);
        if (!tmp)
            return GTEE_FAIL(err, GTEE_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            tmp[i] = t->dtype == GTEE_ML_INT64 ? (float)((const int64_t *)t->data)[i]
                                               : (float)((const uint8_t *)t->data)[i];
    }
    rc = gtee_npy_encode_f32(tmp ? tmp : t->data, dims, (size_t)t->rank, &buf, &len, err);
    if (rc == 0)
        rc = gtee_file_out_write(o, buf, len, err);
    free(buf);
    free(tmp);
    return rc;
}

int model_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "input", required_argument, NULL, 'i' }, { "out", required_argument, NULL, 'o' },
        { "threads", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
        { "force", no_argument, NULL, 'f' },        { "help", no_argument, NULL, 'h' },
        { "verbose", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 },
    };
    const char *in_path[MAX_IO], *out_path[MAX_IO];
    size_t n_in = 0, n_out = 0;
    long threads = 1;
    unsigned out_flags = 0;
    bool verbose = false;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "i:o:t:fhv", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (n_in == MAX_IO)
                return cli_usage_error("at most %d --input files", MAX_IO);
            in_path[n_in++] = optarg;
            break;
        case 'o':
            if (n_out == MAX_IO)
                return cli_usage_error("at most %d --out files", MAX_IO);
            out_path[n_out++] = optarg;
            break;
        case 't':
            threads = strtol(optarg, &end, 10);
            if (*end || threads < 1 || threads > 64)
                return cli_usage_error("--threads takes a number from 1 to 64");
            break;
        case 'j': cli_set_json(1); break;
        case 'f': out_flags = GTEE_FILE_REPLACE | GTEE_FILE_SPECIAL; break;
        case 'v': verbose = true; break;
        case 'h': return cli_help(run_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument MODEL.onnx");
    if (!n_in || !n_out)
        return cli_usage_error("--input and --out are required");
    struct gtee_ml_tensor in[MAX_IO], out[MAX_IO];
    struct gtee_array arr[MAX_IO];
    struct gtee_ml_options opt = { (int)threads };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_model_info info;
    struct gtee_err err = { 0 };
    struct gtee_ml_io io;
    struct gtee_file_out fo[MAX_IO];
    size_t n_open = 0;
    json_t *outs = NULL, *kern = NULL;
    char *machine = NULL, *products = NULL;
    double t0 = 0, ms = 0;
    int rc = 0;

    memset(arr, 0, sizeof(arr));
    /* Every output is begun before anything runs: an existing file is refused at once,
     * not after the model ran, and none is written unless all can be. */
    for (; n_open < n_out; n_open++)
        TRY(gtee_file_out_begin(&fo[n_open], out_path[n_open], 0600, out_flags, &err));
    TRY(gtee_ml_model_load_file(argv[optind], NULL, &m, &err));
    gtee_ml_model_info(m, &info);
    ENSURE(info.n_inputs == n_in, &err, GTEE_EINVAL, "the model has %zu inputs, %zu --input files given",
           info.n_inputs, n_in);
    ENSURE(info.n_outputs <= MAX_IO, &err, GTEE_EUNSUPPORTED, "the model has more than %d outputs", MAX_IO);
    ENSURE(n_out <= info.n_outputs, &err, GTEE_EINVAL, "the model has %zu outputs, %zu --out files given",
           info.n_outputs, n_out);
    for (size_t i = 0; i < n_in; i++) {
        (void)gtee_ml_model_io(m, 0, i, &io);
        TRY(load_input(in_path[i], io.type.dtype, &in[i], &arr[i], &err));
    }
    TRY(gtee_ml_session_new(m, &opt, &s, &err));
    t0 = cli_now();
    TRY(gtee_ml_run(s, in, n_in, out, info.n_outputs, &err));
    ms = (cli_now() - t0) * 1e3;
    if (verbose) {
        ENSURE((machine = malloc(KERNELS_TEXT)) && (products = malloc(KERNELS_TEXT)), &err, GTEE_ENOMEM,
               "out of memory");
        TRY(gtee_ml_kernels_describe(machine, KERNELS_TEXT, &err));
        TRY(gtee_ml_session_kernels(s, products, KERNELS_TEXT, &err));
        kern = json_pack("{s:s,s:s}", "machine", machine, "products", products);
    }
    outs = json_array();
    for (size_t i = 0; i < n_out; i++) {
        (void)gtee_ml_model_io(m, 1, i, &io);
        TRY(save_output(&fo[i], &out[i], &err));
        json_array_append_new(outs, json_pack("{s:s,s:s,s:o,s:s}", "name", io.name, "dtype",
                                              gtee_ml_dtype_name(out[i].dtype), "shape",
                                              model_shape_json(&out[i], NULL), "file", out_path[i]));
    }
    for (size_t i = 0; i < n_out; i++)
        TRY(gtee_file_out_commit(&fo[i], &err));
    if (cli_json()) {
        size_t arena, unplanned;
        gtee_ml_session_memory(s, &arena, &unplanned);
        json_t *o = json_pack("{s:s,s:O,s:i,s:f,s:I,s:I}", "model", argv[optind], "outputs", outs, "threads",
                              (int)threads, "ms", ms, "arena_bytes", (json_int_t)arena, "unplanned_bytes",
                              (json_int_t)unplanned);
        if (o && kern)
            json_object_set(o, "kernels", kern);
        rc = cli_json_emit(o) ? CLI_EXIT_IO : 0;
    } else {
        for (size_t i = 0; i < json_array_size(outs); i++) {
            char shape[256];
            (void)gtee_ml_model_io(m, 1, i, &io);
            model_shape_text(&out[i], NULL, shape, sizeof(shape));
            printf("%s  %s -> %s\n", io.name, shape, out_path[i]);
        }
        printf("ran in %.3f ms with %ld thread%s\n", ms, threads, threads > 1 ? "s" : "");
        if (verbose)
            printf("%s%s", machine, products);
    }
out:
    for (size_t i = 0; i < n_open; i++)
        gtee_file_out_abort(&fo[i]);
    json_decref(outs);
    json_decref(kern);
    free(machine);
    free(products);
    for (size_t i = 0; i < MAX_IO; i++)
        gtee_array_free(&arr[i]);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
    return rc < 0 ? cli_fail_err(rc, &err) : rc;
}
