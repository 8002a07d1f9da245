/* `gtee model train`: trains a model's initializers on a labelled dataset (an IDX
 * directory laid out as Fashion-MNIST's, or .npy files) with softmax cross-entropy, prints
 * progress per epoch and writes the trained model as ONNX (docs/ml-training.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/model.h"
#include "gtee/dataset.h"
#include "gtee/file.h"
#include "gtee/ml_train.h"

static const char train_usage[] =
    "Usage: gtee model train MODEL.onnx --data DIR --epochs N --out TRAINED.onnx [options]\n"
    "\n"
    "Trains the float initializers of MODEL.onnx (one float input [batch, ...], output 0 the\n"
    "class logits [batch, classes], or log-probabilities when the graph ends in LogSoftmax)\n"
    "with softmax cross-entropy (or negative log-likelihood) on the training split of DIR,\n"
    "reports loss, training accuracy, test accuracy and samples per second after each epoch,\n"
    "and writes the same graph with the trained initializers to TRAINED.onnx (mode 0600; an\n"
    "existing file is refused, exit 3, unless --force; it is checked before training starts).\n"
    "\n"
    "DIR holds either the MNIST-family IDX files (train-images-idx3-ubyte[.gz],\n"
    "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz];\n"
    "pixels scaled to 0..1) or NumPy files x_train.npy, y_train.npy, x_test.npy, y_test.npy\n"
    "(features used as stored, labels integers). The test split is optional.\n"
    "\n"
    "Options:\n"
    "  -d, --data DIR          the dataset directory (required)\n"
    "  -e, --epochs N          passes over the training split (required)\n"
    "  -o, --out FILE          where to write the trained model (required)\n"
    "  -f, --force             replace an existing --out file (a FIFO or device gets the whole model)\n"
    "  -b, --batch B           mini-batch size (default 64; the last batch may be smaller)\n"
    "      --optimizer NAME    sgd or adam (default adam)\n"
    "      --lr X              learning rate (default 0.001 for adam, 0.01 for sgd)\n"
    "      --momentum M        SGD momentum (default 0)\n"
    "      --weight-decay W    L2 penalty added to the gradient (default 0)\n"
    "      --loss NAME         xent (softmax cross-entropy on logits), nll (negative\n"
    "                          log-likelihood of log-probabilities) or auto (the default:\n"
    "                          nll when output 0 is a LogSoftmax's output, xent otherwise)\n"
    "      --batchnorm MODE    BatchNormalization: frozen (running statistics fixed, the\n"
    "                          default), train (batch statistics, running statistics moved\n"
    "                          as ONNX training_mode does) or torch (as train, with the\n"
    "                          unbiased variance in the running update, as PyTorch)\n"
    "      --seed S            shuffling seed (default 0): same seed and threads, same result\n"
    "  -t, --threads T         threads for OpenBLAS, oneDNN and the engine's loops (default 1)\n"
    "      --limit N           train on the first N training items only\n"
    "      --json              one JSON object per epoch on stdout\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  gtee model train mlp.onnx --data /usr/share/datasets/fashion-mnist --epochs 5 --out mlp.trained.onnx\n";

struct train_args {
    const char *model, *data, *out;
    long epochs, batch, threads;
    int adam, batchnorm, loss;
    double lr, momentum, wd;
    unsigned long long seed, limit;
    unsigned out_flags;
    int help; /* --help was printed: nothing to run */
};

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (!*s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct train_args *a)
{
    enum { O_OPT = 256, O_LR, O_MOM, O_WD, O_SEED, O_LIMIT, O_BN, O_LOSS };
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'd' },     { "epochs", required_argument, NULL, 'e' },
        { "out", required_argument, NULL, 'o' },      { "batch", required_argument, NULL, 'b' },
        { "optimizer", required_argument, NULL, O_OPT }, { "lr", required_argument, NULL, O_LR },
        { "momentum", required_argument, NULL, O_MOM }, { "weight-decay", required_argument, NULL, O_WD },
        { "seed", required_argument, NULL, O_SEED },  { "threads", required_argument, NULL, 't' },
        { "limit", required_argument, NULL, O_LIMIT }, { "json", no_argument, NULL, 'j' },
        { "batchnorm", required_argument, NULL, O_BN }, { "help", no_argument, NULL, 'h' },
        { "force", no_argument, NULL, 'f' },          { "loss", required_argument, NULL, O_LOSS },
        { NULL, 0, NULL, 0 },
    };
    double v;
    int c;

    memset(a, 0, sizeof(*a));
    a->batch = 64;
    a->threads = 1;
    a->adam = 1;
    a->loss = GTEE_ML_LOSS_AUTO;
    a->lr = -1;
    while ((c = getopt_long(argc, argv, "d:e:o:b:t:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->data = optarg; break;
        case 'o': a->out = optarg; break;
        case 'f': a->out_flags = GTEE_FILE_REPLACE | GTEE_FILE_SPECIAL; break;
        case 'e':
            if (parse_num(optarg, 1, 100000, &v) < 0 || v != (long)v)
                return cli_usage_error("--epochs takes a whole number from 1 to 100000");
            a->epochs = (long)v;
            break;
        case 'b':
            if (parse_num(optarg, 1, 65536, &v) < 0 || v != (long)v)
                return cli_usage_error("--batch takes a whole number from 1 to 65536");
            a->batch = (long)v;
            break;
        case 't':
            if (parse_num(optarg, 1, 64, &v) < 0 || v != (long)v)
                return cli_usage_error("--threads takes a number from 1 to 64");
            a->threads = (long)v;
            break;
        case O_OPT:
            if (strcmp(optarg, "sgd") && strcmp(optarg, "adam"))
                return cli_usage_error("--optimizer is sgd or adam");
            a->adam = !strcmp(optarg, "adam");
            break;
        case O_LOSS:
            if (!strcmp(optarg, "auto"))
                a->loss = GTEE_ML_LOSS_AUTO;
            else if (!strcmp(optarg, "xent"))
                a->loss = GTEE_ML_LOSS_XENT;
            else if (!strcmp(optarg, "nll"))
                a->loss = GTEE_ML_LOSS_NLL;
            else
                return cli_usage_error("--loss is auto, xent or nll");
            break;
        case O_BN:
            if (!strcmp(optarg, "frozen"))
                a->batchnorm = GTEE_ML_BN_FROZEN;
            else if (!strcmp(optarg, "train"))
                a->batchnorm = GTEE_ML_BN_TRAIN;
            else if (!strcmp(optarg, "torch"))
                a->batchnorm = GTEE_ML_BN_TRAIN_UNBIASED;
            else
                return cli_usage_error("--batchnorm is frozen, train or torch");
            break;
        case O_LR:
            if (parse_num(optarg, 1e-12, 1e3, &a->lr) < 0)
                return cli_usage_error("--lr takes a positive number");
            break;
        case O_MOM:
            if (parse_num(optarg, 0, 0.999999, &a->momentum) < 0)
                return cli_usage_error("--momentum takes a number in [0, 1)");
            break;
        case O_WD:
            if (parse_num(optarg, 0, 1, &a->wd) < 0)
                return cli_usage_error("--weight-decay takes a number in [0, 1]");
            break;
        case O_SEED:
        case O_LIMIT: {
            char *end;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-')
                return cli_usage_error("--%s takes a whole number", c == O_SEED ? "seed" : "limit");
            if (c == O_SEED)
                a->seed = n;
            else
                a->limit = n;
            break;
        }
        case 'j': cli_set_json(1); break;
        case 'h':
            a->help = 1;
            return cli_help(train_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument MODEL.onnx");
    if (!a->data || !a->epochs || !a->out)
        return cli_usage_error("--data, --epochs and --out are required");
    a->model = argv[optind];
    if (a->lr < 0)
        a->lr = a->adam ? 1e-3 : 1e-2;
    return 0;
}

static int exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return 0;
    return stat(path, &st) == 0;
}

/* split "train" or "t10k"; *found 0 when the directory has no test split. */
static int load_split(const char *dir, int train, struct gtee_dataset *ds, int *found, struct gtee_err *err)
{
    const char *split = train ? "train" : "t10k";
    char name[64], xp[4096], yp[4096];

    *found = 1;
    snprintf(name, sizeof(name), "%s-images-idx3-ubyte", split);
    if (exists(dir, name) || (strcat(name, ".gz"), exists(dir, name)))
        return gtee_dataset_load_mnist_dir(dir, split, GTEE_NORM_UNIT_U8, ds, err);
    snprintf(xp, sizeof(xp), "%s/x_%s.npy", dir, train ? "train" : "test");
    snprintf(yp, sizeof(yp), "%s/y_%s.npy", dir, train ? "train" : "test");
    if (!exists(dir, train ? "x_train.npy" : "x_test.npy")) {
        *found = 0;
        if (!train)
            return 0;
        return GTEE_FAIL(err, GTEE_ENOTFOUND,
                         "%s: neither train-images-idx3-ubyte[.gz] nor x_train.npy is in the directory", dir);
    }
    return gtee_dataset_load_npy(xp, yp, GTEE_NORM_NONE, ds, err);
}

static int report_epoch(const struct train_args *a, long e, const struct gtee_ml_epoch_stats *st, int have_test,
                        size_t test_correct, size_t test_n, double test_loss, uint64_t step_macs)
{
    double sps = st->seconds > 0 ? (double)st->samples / st->seconds : 0;
    double tr_acc = st->samples ? (double)st->correct / (double)st->samples : 0;
    double te_acc = have_test && test_n ? (double)test_correct / (double)test_n : 0;

    if (cli_json()) {
        json_t *o = json_pack("{s:I,s:I,s:f,s:f,s:I,s:f,s:f}", "epoch", (json_int_t)(e + 1), "epochs",
                              (json_int_t)a->epochs, "loss", st->loss, "train_accuracy", tr_acc, "samples",
                              (json_int_t)st->samples, "seconds", st->seconds, "samples_per_s", sps);
        if (o && have_test) {
            json_object_set_new(o, "test_accuracy", json_real(te_acc));
            json_object_set_new(o, "test_loss", json_real(test_loss));
        }
        if (o) {
            json_object_set_new(o, "cpu_seconds", json_real(st->cpu_seconds));
            /* the last step's multiply-adds (its batch), for a benchmark's FLOP count */
            json_object_set_new(o, "step_macs", json_integer((json_int_t)step_macs));
        }
        return cli_json_emit(o) ? CLI_EXIT_IO : 0;
    }
    printf("epoch %ld/%ld  loss %.4f  train acc %.2f%%", e + 1, a->epochs, st->loss, 100 * tr_acc);
    if (have_test)
        printf("  test acc %.2f%%", 100 * te_acc);
    printf("  %.0f samples/s\n", sps);
    fflush(stdout);
    return 0;
}

int model_train(int argc, char **argv)
{
    struct train_args a;
    struct gtee_dataset train = { 0 }, test = { 0 };
    struct gtee_ml_train_options o = { 0 };
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    struct gtee_file_out fo = { .fd = -1 };
    uint8_t *buf = NULL, *outb = NULL;
    size_t len = 0, out_len = 0;
    int rc, have_test = 0, found;

    if ((rc = parse_args(argc, argv, &a)) != 0 || a.help)
        return rc;
    /* Begun before training: an existing output is refused at once, not after hours. */
    TRY(gtee_file_out_begin(&fo, a.out, 0600, a.out_flags, &err));
    TRY(model_read_file(a.model, &buf, &len, &err));
    TRY(gtee_ml_model_load(buf, len, NULL, &m, &err));
    TRY(load_split(a.data, 1, &train, &found, &err));
    TRY(load_split(a.data, 0, &test, &have_test, &err));
    if (a.limit && a.limit < train.n)
        train.n = (size_t)a.limit;
    o.threads = (int)a.threads;
    o.loss = a.loss;
    o.batchnorm = a.batchnorm;
    o.optimizer = a.adam ? GTEE_ML_OPTIM_ADAM : GTEE_ML_OPTIM_SGD;
    o.sgd = (struct gtee_ml_sgd){ (float)a.lr, (float)a.momentum, 0.0f, (float)a.wd, 0 };
    o.adam = (struct gtee_ml_adam){ (float)a.lr, 0.9f, 0.999f, 1e-8f, (float)a.wd, 0 };
    TRY(gtee_ml_trainer_new(m, &o, &tr, &err));
    for (long e = 0; e < a.epochs; e++) {
        struct gtee_ml_epoch_stats st;
        size_t tc = 0;
        double tl = 0;

        TRY(gtee_ml_train_epoch(tr, &train, (uint64_t)e, (size_t)a.batch, a.seed, NULL, NULL, &st, &err));
        if (have_test)
            TRY(gtee_ml_evaluate(m, &test, 1000, (int)a.threads, &tc, &tl, &err));
        rc = report_epoch(&a, e, &st, have_test, tc, test.n, tl, gtee_ml_trainer_step_macs(tr));
        if (rc)
            goto out;
    }
    TRY(gtee_ml_model_save(m, buf, len, &outb, &out_len, &err));
    TRY(gtee_file_out_write(&fo, outb, out_len, &err));
    TRY(gtee_file_out_commit(&fo, &err));
    if (!cli_json())
        printf("wrote %s (%zu bytes)\n", a.out, out_len);
out:
    gtee_file_out_abort(&fo);
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    gtee_dataset_free(&train);
    gtee_dataset_free(&test);
    free(buf);
    free(outb);
    return rc < 0 ? cli_fail_err(rc, &err) : rc;
}
