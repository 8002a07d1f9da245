/* Time of one training step (not a test): loads an ONNX model, makes a trainer (softmax
 * cross-entropy, Adam lr 1e-3) and a fixed batch of synthetic inputs in [0, 1) with labels
 * 0..9, and prints the process CPU time per step of gtee_ml_trainer_grad (forward, loss,
 * backward) and of gtee_ml_trainer_update (Adam), after 5 warm-up steps. CPU time moves
 * less than the wall clock on a machine shared with other work; build it against two
 * commits' libgtee.a to compare them back to back (docs/performance.md).
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/bench_ml_step.c build/libgtee.a \
 *      $(pkg-config --libs libssl libcrypto jansson libsecp256k1 libseccomp libprotobuf-c openblas zlib) \
 *      -lm -lpthread -o bench_ml_step
 *   ./bench_ml_step MODEL.onnx [STEPS] [THREADS] [BATCH]      (default 100, 1, 64) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gtee/ml.h"
#include "gtee/ml_train.h"

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    struct gtee_ml_train_options o = { .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_ADAM,
                                       .adam = { .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f } };
    struct gtee_err err = { 0 };
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_io io;
    struct gtee_ml_tensor x;
    int steps = argc > 2 ? atoi(argv[2]) : 100, batch = argc > 4 ? atoi(argv[4]) : 64;
    double t_grad = 0, t_update = 0;
    size_t len = 0, per = 1, correct;
    unsigned char *buf;
    int64_t *labels;
    float *xv, loss = 0;

    if (argc < 2 || steps < 1 || batch < 1) {
        fprintf(stderr, "usage: %s MODEL.onnx [STEPS] [THREADS] [BATCH]\n", argv[0]);
        return 2;
    }
    o.threads = argc > 3 ? atoi(argv[3]) : 1;
    if (!(buf = read_all(argv[1], &len)) || gtee_ml_model_load(buf, len, NULL, &m, &err) < 0 ||
        gtee_ml_trainer_new(m, &o, &tr, &err) < 0 || gtee_ml_model_io(m, 0, 0, &io) < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg[0] ? err.msg : "cannot read");
        return 1;
    }
    x = io.type;
    x.dim[0] = batch;
    for (int i = 1; i < x.rank; i++)
        per *= (size_t)x.dim[i];
    xv = malloc((size_t)batch * per * sizeof(float));
    labels = malloc((size_t)batch * sizeof(int64_t));
    if (!xv || !labels)
        return 1;
    for (size_t i = 0; i < (size_t)batch * per; i++)
        xv[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    for (int i = 0; i < batch; i++)
        labels[i] = i % 10;
    x.data = xv;
    for (int s = 0; s < steps + 5; s++) {
        double t0 = cpu_now(), t1, t2;
        if (gtee_ml_trainer_grad(tr, &x, labels, NULL, &loss, &correct, &err) < 0)
            break;
        t1 = cpu_now();
        if (gtee_ml_trainer_update(tr, &err) < 0)
            break;
        t2 = cpu_now();
        if (s >= 5) {
            t_grad += t1 - t0;
            t_update += t2 - t1;
        }
    }
    if (err.msg[0]) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return 1;
    }
    printf("%s threads %d batch %d: forward+backward %.3f ms, update %.3f ms per step (CPU time); %.0f samples per "
           "CPU second; last loss %.6f\n",
           argv[1], o.threads, batch, t_grad / steps * 1e3, t_update / steps * 1e3,
           (double)batch * steps / (t_grad + t_update), (double)loss);
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    free(buf);
    free(xv);
    free(labels);
    return 0;
}
