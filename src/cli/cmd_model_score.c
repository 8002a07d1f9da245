/* `gtee model score PRED.npy LABELS`: the accuracy of class scores against labels, for a
 * data provider who keeps its labels and receives predictions (docs/cli.md). The argmax of
 * each row of PRED (float32 [n, classes]) is compared with the label (integer .npy or IDX,
 * gzip-compressed or not). It lives in gtee-model because it reads arrays with the ML
 * engine's dataset readers, which the host's gtee never holds (the never-rule). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "gtee/dataset.h"
#include "cli/cli.h"
#include "cli/model.h"

static const char usage[] =
    "Usage: gtee model score PRED.npy LABELS [--json]\n"
    "\n"
    "Prints the accuracy of the predictions PRED.npy (float32 class scores, one row per item)\n"
    "against LABELS (integer .npy, or IDX when its name has -idx as MNIST's files do; either\n"
    "optionally gzip-compressed): the share of rows whose\n"
    "highest score is at the label's index.\n"
    "\n"
    "Options:\n"
    "      --json              print {\"accuracy\",\"correct\",\"items\",\"classes\"}\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 scored; 3 a file could not be read; 5 a file is malformed or the two do\n"
    "not match (counts, label range).\n";

static int is_idx(const char *path)
{
    size_t n = strlen(path);

    return strstr(path, "-idx") != NULL && !(n >= 4 && !strcmp(path + n - 4, ".npy"));
}

int model_score(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_array p = { 0 }, y = { 0 };
    struct gtee_err err = { 0 };
    size_t n, k, correct = 0;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("expected two arguments: PRED.npy LABELS");
    if ((rc = gtee_npy_load(argv[optind], GTEE_ARRAY_F32, GTEE_NORM_NONE, &p, &err)) < 0)
        return cli_fail_err(rc, &err);
    rc = is_idx(argv[optind + 1]) ? gtee_idx_load(argv[optind + 1], GTEE_ARRAY_I64, GTEE_NORM_NONE, &y, &err)
                                  : gtee_npy_load(argv[optind + 1], GTEE_ARRAY_I64, GTEE_NORM_NONE, &y, &err);
    if (rc < 0)
        goto out;
    n = p.ndim ? p.dims[0] : 0;
    if (p.ndim != 2 || n == 0 || y.count != n) {
        rc = GTEE_FAIL(&err, GTEE_EFORMAT, "%s holds %zu dimensions and %zu rows; %s holds %zu labels: expected [n, "
                       "classes] scores for n labels",
                       argv[optind], p.ndim, n, argv[optind + 1], y.count);
        goto out;
    }
    k = p.dims[1];
    for (size_t i = 0; i < n; i++) {
        const float *row = p.f32 + i * k;
        size_t best = 0;

        if (y.i64[i] < 0 || (uint64_t)y.i64[i] >= k) {
            rc = GTEE_FAIL(&err, GTEE_EFORMAT, "%s: label %zu is %lld, outside the %zu classes of %s", argv[optind + 1],
                           i, (long long)y.i64[i], k, argv[optind]);
            goto out;
        }
        for (size_t j = 1; j < k; j++)
            if (row[j] > row[best])
                best = j;
        correct += best == (size_t)y.i64[i];
    }
    if (cli_json())
        rc = cli_json_emit(json_pack("{s:f,s:I,s:I,s:I}", "accuracy", (double)correct / (double)n, "correct",
                                     (json_int_t)correct, "items", (json_int_t)n, "classes", (json_int_t)k))
                 ? CLI_EXIT_IO
                 : 0;
    else
        printf("accuracy %.4f (%zu of %zu)\n", (double)correct / (double)n, correct, n);
out:
    gtee_array_free(&p);
    gtee_array_free(&y);
    return rc < 0 ? cli_fail_err(rc, &err) : rc;
}
