/* The training loop over a labelled dataset: one epoch in seeded order, in mini-batches,
 * one optimizer step each, with a progress report per batch; and the evaluation of a model
 * (accuracy, mean cross-entropy) with an inference session. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/dataset.h"
#include "gtee/ml_train.h"
#include "ml/grad.h"
#include "ml/ml.h"

static double clock_s(clockid_t which)
{
    struct timespec ts;

    clock_gettime(which, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the process: on a machine shared with other work, wall-clock rates fall
 * with the others' load, and the CPU time shows how much (bench/bench_ml_train.sh). */
static double cpu_now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* The model input's shape for count items: the declared shape with the first dimension
 * (the batch) set; its other dims must hold item_len elements. */
static int input_shape(const struct gtee_ml_model *m, const struct gtee_dataset *ds, size_t count,
                       struct gtee_ml_tensor *x, struct gtee_err *err)
{
    const struct gtee_ml_tensor *d = &m->values[m->inputs[0]].decl;
    int64_t per = 1;

    if (m->n_inputs != 1 || d->dtype != GTEE_ML_FLOAT || d->rank < 1)
        return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "train: the model needs one float input with a batch dimension");
    memset(x, 0, sizeof(*x));
    *x = *d;
    x->data = NULL;
    x->dim[0] = (int64_t)count;
    for (int i = 1; i < d->rank; i++) {
        if (d->dim[i] < 0)
            return GTEE_FAIL(err, GTEE_EUNSUPPORTED, "train: input '%s' dimension %d is not fixed",
                             m->values[m->inputs[0]].name, i);
        per *= d->dim[i];
    }
    if ((uint64_t)per != ds->item_len)
        return GTEE_FAIL(err, GTEE_EINVAL, "train: dataset items have %zu values, input '%s' takes %lld per item",
                         ds->item_len, m->values[m->inputs[0]].name, (long long)per);
    return 0;
}

int gtee_ml_train_epoch(struct gtee_ml_trainer *tr, const struct gtee_dataset *ds, uint64_t epoch, size_t batch,
                        uint64_t seed, gtee_ml_progress_fn cb, void *arg, struct gtee_ml_epoch_stats *stats,
                        struct gtee_err *err)
{
    const struct gtee_ml_model *m;
    struct gtee_ml_tensor x;
    size_t *order = NULL;
    float *xb = NULL;
    int64_t *yb = NULL;
    double t0, c0, loss_sum = 0;
    uint64_t batches;
    int rc = 0;

    ENSURE(tr && ds && stats && batch > 0 && ds->n > 0, err, GTEE_EINVAL, "train: bad arguments");
    ENSURE(batch <= 65536, err, GTEE_EINVAL, "train: batch %zu too large (at most 65536)", batch);
    m = ml_trainer_model(tr);
    memset(stats, 0, sizeof(*stats));
    TRY(input_shape(m, ds, batch, &x, err));
    order = malloc(ds->n * sizeof(*order));
    xb = malloc(batch * ds->item_len * sizeof(float) + 1);
    yb = malloc(batch * sizeof(int64_t) + 1);
    ENSURE(order && xb && yb, err, GTEE_ENOMEM, "train: out of memory for a batch of %zu", batch);
    TRY(gtee_dataset_shuffle(order, ds->n, seed, epoch, err));
    batches = (ds->n + batch - 1) / batch;
    t0 = now();
    c0 = cpu_now();
    for (uint64_t b = 0; b < batches; b++) {
        size_t lo = (size_t)b * batch, count = ds->n - lo < batch ? ds->n - lo : batch;
        struct gtee_ml_progress pr = { epoch, b, batches, 0 };
        size_t correct = 0;
        float loss;

        TRY(gtee_dataset_gather(ds, order + lo, count, xb, yb, err));
        x.dim[0] = (int64_t)count;
        x.data = xb;
        TRY(gtee_ml_trainer_grad(tr, &x, yb, NULL, &loss, &correct, err));
        TRY(gtee_ml_trainer_update(tr, err));
        loss_sum += (double)loss * (double)count;
        stats->samples += count;
        stats->correct += correct;
        pr.loss = loss;
        if (cb && cb(&pr, arg)) {
            stats->seconds = now() - t0;
            stats->cpu_seconds = cpu_now() - c0;
            ENSURE(0, err, GTEE_ESTATE, "train: stopped by the progress callback at epoch %llu batch %llu",
                   (unsigned long long)epoch, (unsigned long long)b);
        }
    }
    stats->seconds = now() - t0;
    stats->cpu_seconds = cpu_now() - c0;
    stats->loss = loss_sum / (double)stats->samples;
out:
    ml_free(order);
    ml_free(xb);
    ml_free(yb);
    return rc;
}

int gtee_ml_evaluate(const struct gtee_ml_model *m, const struct gtee_dataset *ds, size_t batch, int threads,
                     size_t *correct, double *loss, struct gtee_err *err)
{
    struct gtee_ml_options o = { threads };
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_tensor x, *ys = NULL, y;
    double sum = 0;
    int rc = 0;
    bool nll;

    ENSURE(m && ds && correct && batch > 0, err, GTEE_EINVAL, "train: bad arguments");
    nll = gtee_ml_loss_for(m) == GTEE_ML_LOSS_NLL;
    *correct = 0;
    TRY(input_shape(m, ds, batch, &x, err));
    ys = calloc(m->n_outputs + 1, sizeof(*ys));
    ENSURE(ys, err, GTEE_ENOMEM, "train: out of memory");
    TRY(gtee_ml_session_new(m, &o, &s, err));
    for (size_t lo = 0; lo < ds->n; lo += batch) {
        size_t count = ds->n - lo < batch ? ds->n - lo : batch;
        float l;

        x.dim[0] = (int64_t)count;
        x.data = ds->x + lo * ds->item_len;
        TRY(gtee_ml_run(s, &x, 1, ys, m->n_outputs, err));
        y = ys[0];
        ENSURE(y.dtype == GTEE_ML_FLOAT && y.rank == 2 && y.dim[0] == (int64_t)count, err, GTEE_EUNSUPPORTED,
               "train: evaluation needs logits [batch, classes]");
        *correct += gtee_ml_count_correct(y.data, ds->y + lo, count, (size_t)y.dim[1]);
        if (loss) {
            if (nll)
                TRY(gtee_ml_nll(y.data, ds->y + lo, count, (size_t)y.dim[1], &l, NULL, err));
            else
                TRY(gtee_ml_softmax_xent(y.data, ds->y + lo, count, (size_t)y.dim[1], &l, NULL, err));
            sum += (double)l * (double)count;
        }
    }
    if (loss)
        *loss = sum / (double)ds->n;
out:
    ml_free(ys);
    gtee_ml_session_free(s);
    return rc;
}
