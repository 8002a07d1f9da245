/* Inference benchmark of the ML engine (bench/bench_ml_infer.sh drives it): loads a model,
 * makes a random input of the given batch (other dims from the model; int64 inputs get
 * token ids below 50), writes it raw for ONNX Runtime's side, runs warm-up + timed runs, and
 * prints "best_ms median_ms peak_rss_kb arena_bytes" (best of the timed runs: the least
 * disturbed by other load on the machine). With KERNELS_OUT it writes there the machine's
 * kernel report, a blank line and the kernel of each matrix product (gtee/ml.h).
 * Usage: bench_ml_infer MODEL.onnx BATCH THREADS RUNS INPUT_OUT.bin SHAPE_OUT.json [KERNELS_OUT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "gtee/file.h"
#include "gtee/ml.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor in, out[8];
    struct gtee_ml_model_info info;
    struct gtee_err err = { 0 };
    struct gtee_ml_io io;
    struct rusage ru;
    size_t arena, unplanned;
    uint64_t n;
    double *t;
    int runs;

    if (argc != 7 && argc != 8)
        return 2;
    struct gtee_ml_options opt = { atoi(argv[3]) };
    runs = atoi(argv[4]);
    if (gtee_ml_model_load_file(argv[1], NULL, &m, &err) < 0 || gtee_ml_model_io(m, 0, 0, &io) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    gtee_ml_model_info(m, &info);
    in = io.type;
    for (int d = 0; d < in.rank; d++)
        if (in.dim[d] < 0)
            in.dim[d] = atoi(argv[2]);
    if (gtee_ml_tensor_elems(&in, 1u << 28, &n) < 0 || info.n_outputs > 8 || runs < 1)
        return 1;
    in.data = malloc(n * 8);
    t = calloc((size_t)runs, sizeof(double));
    srand(1);
    for (uint64_t i = 0; i < n; i++) {
        if (in.dtype == GTEE_ML_INT64)
            ((int64_t *)in.data)[i] = rand() % 50;
        else
            ((float *)in.data)[i] = (float)rand() / (float)RAND_MAX;
    }
    /* Through the output helper, replacing the files of an earlier run. */
    if (gtee_file_write(argv[5], in.data, gtee_ml_dtype_size(in.dtype) * n, 0600, GTEE_FILE_REPLACE, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    {
        char meta[256];
        size_t used = (size_t)snprintf(meta, sizeof(meta), "{\"dtype\":\"%s\",\"input\":[",
                                       in.dtype == GTEE_ML_INT64 ? "int64" : "float32");

        for (int d = 0; d < in.rank && used < sizeof(meta); d++)
            used += (size_t)snprintf(meta + used, sizeof(meta) - used, "%s%lld", d ? "," : "", (long long)in.dim[d]);
        if (used < sizeof(meta))
            used += (size_t)snprintf(meta + used, sizeof(meta) - used, "]}\n");
        if (used >= sizeof(meta) || gtee_file_write(argv[6], meta, used, 0600, GTEE_FILE_REPLACE, &err) < 0) {
            fprintf(stderr, "%s\n", used >= sizeof(meta) ? "input shape too long" : err.msg);
            return 1;
        }
    }
    if (gtee_ml_session_new(m, &opt, &s, &err) < 0)
        return 1;
    for (int i = 0; i < 3; i++)
        if (gtee_ml_run(s, &in, 1, out, info.n_outputs, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        if (gtee_ml_run(s, &in, 1, out, info.n_outputs, &err) < 0)
            return 1;
        t[i] = now_ms() - t0;
    }
    if (argc == 8) {
        static char report[1 << 16];
        size_t used;

        if (gtee_ml_kernels_describe(report, sizeof(report) / 2, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        used = strlen(report);
        report[used++] = '\n';
        if (gtee_ml_session_kernels(s, report + used, sizeof(report) - used, &err) < 0 ||
            gtee_file_write(argv[7], report, strlen(report), 0600, GTEE_FILE_REPLACE, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    gtee_ml_session_memory(s, &arena, &unplanned);
    getrusage(RUSAGE_SELF, &ru);
    printf("%.4f %.4f %ld %zu\n", t[0], t[runs / 2], ru.ru_maxrss, arena);
    free(t);
    free(in.data);
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
    return 0;
}
