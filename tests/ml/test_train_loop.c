/* The training loop through the library: a two-class problem on the small Gemm graph of
 * tests/ml/grad/gemm.onnx (fixed batch of 3) learnt by SGD with momentum and weight decay
 * and by Adam; the progress callback sees every batch of every epoch and can stop
 * training; the same seed gives bytewise the same weights, another seed other weights;
 * an MSE step on the same graph lowers its loss. */
#include "ml/gradcheck.h"

#define N_ITEMS 30

struct seen {
    size_t calls;
    uint64_t last_epoch, last_batch, batches;
    int stop_at;
};

static int on_progress(const struct gtee_ml_progress *p, void *arg)
{
    struct seen *s = arg;

    assert_true(p->batch < p->batches);
    assert_true(isfinite(p->loss) && p->loss >= 0.0f);
    if (s->calls)
        assert_true(p->epoch > s->last_epoch || p->batch == s->last_batch + 1);
    s->calls++;
    s->last_epoch = p->epoch;
    s->last_batch = p->batch;
    s->batches = p->batches;
    return s->stop_at && s->calls == (size_t)s->stop_at;
}

static void make_data(struct gtee_dataset *ds)
{
    memset(ds, 0, sizeof(*ds));
    ds->n = N_ITEMS;
    ds->item_ndim = 1;
    ds->item_dims[0] = 4;
    ds->item_len = 4;
    ds->num_classes = 2;
    ds->x = malloc(N_ITEMS * 4 * sizeof(float));
    ds->y = malloc(N_ITEMS * sizeof(int64_t));
    assert_non_null(ds->x);
    assert_non_null(ds->y);
    gc_fill(ds->x, N_ITEMS * 4, 3, -1.0f, 1.0f, 0.05f);
    for (size_t i = 0; i < N_ITEMS; i++) /* class: is the first feature above the second */
        ds->y[i] = ds->x[4 * i] > ds->x[4 * i + 1];
}

static struct gtee_ml_model *load_gemm(void)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    size_t len;
    uint8_t *buf = read_source_file("tests/ml/grad/gemm.onnx", &len);

    if (gtee_ml_model_load(buf, len, NULL, &m, &err) < 0)
        fail_msg("%s", err.msg);
    free(buf);
    return m;
}

/* Trains a fresh copy for epochs; returns the final weights concatenated (malloc'ed). */
static float *train(int optimizer, uint64_t seed, int epochs, size_t *n_out, double *first_loss, double *last_loss,
                    size_t *correct)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = optimizer,
                                       .sgd = { .lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-3f },
                                       .adam = { .lr = 0.02f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f } };
    struct gtee_ml_model *m = load_gemm();
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    struct gtee_dataset ds;
    struct seen s = { 0 };
    float *w = NULL;
    size_t n = 0;

    make_data(&ds);
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    for (int e = 0; e < epochs; e++) {
        struct gtee_ml_epoch_stats st;
        if (gtee_ml_train_epoch(tr, &ds, (uint64_t)e, 3, seed, on_progress, &s, &st, &err) < 0)
            fail_msg("%s", err.msg);
        assert_int_equal(st.samples, N_ITEMS);
        if (e == 0)
            *first_loss = st.loss;
        *last_loss = st.loss;
    }
    assert_int_equal(s.calls, (size_t)epochs * 10);
    assert_int_equal(s.batches, 10);
    if (gtee_ml_evaluate(m, &ds, 3, 1, correct, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    for (size_t p = 0; p < gtee_ml_trainer_param_count(tr); p++) {
        struct gtee_ml_tensor t;
        size_t k;
        assert_int_equal(gtee_ml_trainer_param(tr, p, NULL, &t, NULL), 0);
        k = (size_t)ml_test_elems(&t);
        w = realloc(w, (n + k) * sizeof(float));
        assert_non_null(w);
        memcpy(w + n, t.data, k * sizeof(float));
        n += k;
    }
    *n_out = n;
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    gtee_dataset_free(&ds);
    return w;
}

static void test_train_sgd_momentum_learns_and_repeats_bytewise(void **state)
{
    double f1, l1, f2, l2, f3, l3;
    size_t n1, n2, n3, c1, c2, c3;
    float *a, *b, *c;

    (void)state;
    a = train(GTEE_ML_OPTIM_SGD, 5, 30, &n1, &f1, &l1, &c1);
    b = train(GTEE_ML_OPTIM_SGD, 5, 30, &n2, &f2, &l2, &c2);
    c = train(GTEE_ML_OPTIM_SGD, 6, 30, &n3, &f3, &l3, &c3);
    assert_true(l1 < 0.5 * f1);
    assert_true(c1 >= 27); /* of 30 */
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1 * sizeof(float));
    assert_int_equal(n1, n3);
    assert_memory_not_equal(a, c, n1 * sizeof(float));
    free(a);
    free(b);
    free(c);
}

static void test_train_adam_learns(void **state)
{
    double f, l;
    size_t n, c;
    float *w;

    (void)state;
    w = train(GTEE_ML_OPTIM_ADAM, 1, 30, &n, &f, &l, &c);
    assert_true(l < 0.5 * f);
    assert_true(c >= 27);
    free(w);
}

static void test_train_progress_callback_stops_training(void **state)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_SGD,
                                       .sgd = { .lr = 0.05f } };
    struct gtee_ml_model *m = load_gemm();
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    struct gtee_ml_epoch_stats st;
    struct gtee_dataset ds;
    struct seen s = { .stop_at = 4 };

    (void)state;
    make_data(&ds);
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    assert_int_equal(gtee_ml_train_epoch(tr, &ds, 0, 3, 1, on_progress, &s, &st, &err), GTEE_ESTATE);
    assert_int_equal(s.calls, 4);
    assert_non_null(strstr(err.msg, "stopped"));
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    gtee_dataset_free(&ds);
}

static void test_train_mse_step_lowers_loss(void **state)
{
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_MSE, .optimizer = GTEE_ML_OPTIM_SGD,
                                       .sgd = { .lr = 0.02f } };
    struct gtee_ml_model *m = load_gemm();
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_err err = { 0 };
    struct gtee_ml_tensor x = { GTEE_ML_FLOAT, 2, { 3, 4 }, NULL };
    float xv[12], target[6], before, after;

    (void)state;
    gc_fill(xv, 12, 9, -1.0f, 1.0f, 0.0f);
    gc_fill(target, 6, 10, -1.0f, 1.0f, 0.0f);
    x.data = xv;
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    assert_int_equal(gtee_ml_trainer_grad(tr, &x, NULL, target, &before, NULL, &err), 0);
    assert_int_equal(gtee_ml_trainer_update(tr, &err), 0);
    assert_int_equal(gtee_ml_trainer_grad(tr, &x, NULL, target, &after, NULL, &err), 0);
    assert_true(after < before);
    /* cross-entropy without labels is refused */
    o.loss = GTEE_ML_LOSS_XENT;
    gtee_ml_trainer_free(tr);
    assert_int_equal(gtee_ml_trainer_new(m, &o, &tr, &err), 0);
    assert_int_equal(gtee_ml_trainer_grad(tr, &x, NULL, target, &after, NULL, &err), GTEE_EINVAL);
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_sgd_momentum_learns_and_repeats_bytewise),
        cmocka_unit_test(test_train_adam_learns),
        cmocka_unit_test(test_train_progress_callback_stops_training),
        cmocka_unit_test(test_train_mse_step_lowers_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
