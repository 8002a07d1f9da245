/* Gradient check shared by the test_grad_*.c tests: loads a graph of tests/ml/grad/
 * (one input x, one output y, parameters as initializers), takes the trainer's gradient
 * of an MSE loss against seeded targets, and compares every parameter element with the
 * central finite difference (L(w + h) - L(w - h)) / 2h. */
#ifndef GTEE_TESTS_ML_GRADCHECK_H
#define GTEE_TESTS_ML_GRADCHECK_H

#include <math.h>

#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "ml/dstest.h"

static inline uint64_t ml_test_elems(const struct gtee_ml_tensor *t)
{
    uint64_t n = 1;

    for (int i = 0; i < t->rank; i++)
        n *= (uint64_t)t->dim[i];
    return n;
}

/* Deterministic values in [lo, hi) away from 0 by at least gap (kinks of Relu/Abs). */
static inline void gc_fill(float *v, size_t n, uint64_t seed, float lo, float hi, float gap)
{
    uint64_t s = seed;

    for (size_t i = 0; i < n; i++) {
        float u;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        u = (float)((s >> 40) & 0xffffff) / 16777216.0f;
        v[i] = lo + (hi - lo) * u;
        if (fabsf(v[i]) < gap)
            v[i] = v[i] < 0 ? -gap : gap;
    }
}

static inline float gc_loss(struct gtee_ml_trainer *tr, const struct gtee_ml_tensor *x, const float *target)
{
    struct gtee_err err = { 0 };
    float loss = NAN;

    if (gtee_ml_trainer_grad(tr, x, NULL, target, &loss, NULL, &err) < 0)
        fail_msg("forward/backward failed: %s", err.msg);
    return loss;
}

/* Checks the model's gradient; returns the number of parameters compared. h is the step,
 * tol the allowed |numeric - analytic| / (1e-2 + |numeric|); bn is the trainer's
 * BatchNormalization mode (enum gtee_ml_bn_mode). */
static inline size_t gc_run_bn(const char *file, size_t n_out, float h, float tol, int bn)
{
    char rel[256];
    struct gtee_err err = { 0 };
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_MSE, .optimizer = GTEE_ML_OPTIM_SGD,
                                       .sgd = { .lr = 0.1f }, .batchnorm = bn };
    struct gtee_ml_io io;
    struct gtee_ml_tensor x;
    uint8_t *buf;
    size_t len, checked = 0, big = 0;
    float *xv, *target, *grad;

    snprintf(rel, sizeof(rel), "tests/ml/grad/%s", file);
    buf = read_source_file(rel, &len);
    if (gtee_ml_model_load(buf, len, NULL, &m, &err) < 0)
        fail_msg("%s: %s", file, err.msg);
    free(buf);
    if (gtee_ml_trainer_new(m, &o, &tr, &err) < 0)
        fail_msg("%s: %s", file, err.msg);
    assert_int_equal(gtee_ml_model_io(m, 0, 0, &io), 0);
    x = io.type;
    xv = calloc((size_t)ml_test_elems(&x), sizeof(float));
    target = calloc(n_out, sizeof(float));
    assert_non_null(xv);
    assert_non_null(target);
    gc_fill(xv, (size_t)ml_test_elems(&x), 7, -1.0f, 1.0f, 0.3f);
    gc_fill(target, n_out, 11, -1.0f, 1.0f, 0.0f);
    x.data = xv;
    gc_loss(tr, &x, target);
    assert_true(gtee_ml_trainer_param_count(tr) > 0);
    for (size_t p = 0; p < gtee_ml_trainer_param_count(tr); p++) {
        const char *name;
        struct gtee_ml_tensor w;
        const float *g;
        size_t n;

        gc_loss(tr, &x, target); /* gradients at the unperturbed point */
        assert_int_equal(gtee_ml_trainer_param(tr, p, &name, &w, &g), 0);
        n = (size_t)ml_test_elems(&w);
        grad = malloc(n * sizeof(float));
        assert_non_null(grad);
        memcpy(grad, g, n * sizeof(float)); /* g changes with every evaluation below */
        for (size_t i = 0; i < n; i++) {
            float *wi = (float *)w.data + i, keep = *wi, lp, lm;
            double num;
            *wi = keep + h;
            lp = gc_loss(tr, &x, target);
            *wi = keep - h;
            lm = gc_loss(tr, &x, target);
            *wi = keep;
            num = ((double)lp - (double)lm) / (2.0 * (double)h);
            if (!(fabs(num - (double)grad[i]) <= tol * (1e-2 + fabs(num))))
                fail_msg("%s: d loss / d %s[%zu]: backward %.7g, finite difference %.7g", file, name, i,
                         (double)grad[i], num);
            big += fabs(num) > 1e-3;
            checked++;
        }
        free(grad);
    }
    assert_true(big > checked / 4); /* the check saw real gradients, not only zeros */
    gtee_ml_trainer_free(tr);
    gtee_ml_model_free(m);
    free(xv);
    free(target);
    return checked;
}

static inline size_t gc_run(const char *file, size_t n_out, float h, float tol)
{
    return gc_run_bn(file, n_out, h, tol, GTEE_ML_BN_FROZEN);
}

#endif
