/* BatchNormalization for training, in two forms (docs/ml-training.md):
 * - frozen: the inference form the engine runs, an affine map per channel around the
 *   running statistics (ml_grad_bn);
 * - training mode (ONNX BatchNormalization-15 with training_mode = 1, PyTorch's
 *   model.train()): the forward pass normalizes with the batch's mean and population
 *   variance and moves the running statistics by the node's momentum
 *   (ml_bn_train_forward); the backward pass differentiates through the batch
 *   statistics (ml_grad_bn_train). The graph itself stays an inference graph: only the
 *   trainer runs these, and the running statistics it updates are initializers that are
 *   saved with the trained model. */
#include <math.h>

#include "gtee/ml_train.h"
#include "ml/grad.h"

struct bn_dims {
    int64_t n, c, sp;
    float eps, momentum;
};

static int bn_dims_of(struct ml_kernel *k, struct bn_dims *d)
{
    const struct gtee_ml_tensor *x = k->in[0];
    int rc;

    if ((rc = ml_attr_float(k, "epsilon", 1e-5f, &d->eps)) < 0 ||
        (rc = ml_attr_float(k, "momentum", 0.9f, &d->momentum)) < 0)
        return rc;
    d->n = x->dim[0];
    d->c = x->dim[1];
    d->sp = ml_dims_prod(x, 2, x->rank);
    return 0;
}

/* Mean and population variance of channel ch over the batch and spatial positions, in
 * double, two passes (the variance from deviations, not from E[x^2] - E[x]^2). */
static void bn_stats(const float *X, const struct bn_dims *d, int64_t ch, double *mean, double *var)
{
    double s = 0, q = 0, cnt = (double)(d->n * d->sp);

    for (int64_t i = 0; i < d->n; i++)
        for (int64_t j = 0; j < d->sp; j++)
            s += X[(i * d->c + ch) * d->sp + j];
    *mean = cnt > 0 ? s / cnt : 0;
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t j = 0; j < d->sp; j++) {
            double v = X[(i * d->c + ch) * d->sp + j] - *mean;
            q += v * v;
        }
    *var = cnt > 0 ? q / cnt : 0;
}

int ml_bn_train_forward(struct ml_kernel *k, int mode)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *X = x->data, *sc = k->in[1]->data, *bi = k->in[2]->data;
    float *rm = k->in[3]->data, *rv = k->in[4]->data, *Y = k->out[0]->data;
    struct bn_dims d;
    int rc;

    if ((rc = bn_dims_of(k, &d)) < 0)
        return rc;
    if (d.n * d.sp < 1)
        return ml_fail(k, GTEE_EINVAL, "training mode needs at least one value per channel");
    for (int64_t ch = 0; ch < d.c; ch++) {
        double mean, var, cnt = (double)(d.n * d.sp), run_var;
        bn_stats(X, &d, ch, &mean, &var);
        float inv = (float)(1.0 / sqrt(var + (double)d.eps)), a = sc[ch] * inv, m = (float)mean;
        for (int64_t i = 0; i < d.n; i++) {
            const float *xp = X + (i * d.c + ch) * d.sp;
            float *yp = Y + (i * d.c + ch) * d.sp;
            for (int64_t j = 0; j < d.sp; j++)
                yp[j] = (xp[j] - m) * a + bi[ch];
        }
        /* ONNX: running = running * momentum + current * (1 - momentum), current_var the
         * population variance; PyTorch uses the unbiased variance (n / (n - 1)) there. */
        run_var = mode == GTEE_ML_BN_TRAIN_UNBIASED && cnt > 1 ? var * cnt / (cnt - 1) : var;
        rm[ch] = rm[ch] * d.momentum + (float)mean * (1.0f - d.momentum);
        rv[ch] = rv[ch] * d.momentum + (float)run_var * (1.0f - d.momentum);
    }
    return 0;
}

/* y = xhat scale + bias, xhat = (x - mean) inv, inv = 1 / sqrt(var + eps), mean and var
 * of the batch (M values per channel): dbias = sum dy, dscale = sum dy xhat,
 * dx = scale inv / M (M dy - dbias - xhat dscale). */
int ml_grad_bn_train(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const float *X = k->in[0]->data, *sc = k->in[1]->data, *dy = dout[0]->data;
    struct bn_dims d;
    int rc;

    if ((rc = bn_dims_of(k, &d)) < 0)
        return rc;
    for (int64_t ch = 0; ch < d.c; ch++) {
        double mean, var, ds = 0, db = 0, cnt = (double)(d.n * d.sp);
        bn_stats(X, &d, ch, &mean, &var);
        double inv = 1.0 / sqrt(var + (double)d.eps);
        for (int64_t i = 0; i < d.n; i++) {
            const float *xp = X + (i * d.c + ch) * d.sp, *gp = dy + (i * d.c + ch) * d.sp;
            for (int64_t j = 0; j < d.sp; j++) {
                ds += (double)gp[j] * ((xp[j] - mean) * inv);
                db += gp[j];
            }
        }
        if (din[1])
            ((float *)din[1]->data)[ch] += (float)ds;
        if (din[2])
            ((float *)din[2]->data)[ch] += (float)db;
        if (!din[0] || cnt < 1)
            continue;
        double f = (double)sc[ch] * inv / cnt;
        for (int64_t i = 0; i < d.n; i++) {
            const float *xp = X + (i * d.c + ch) * d.sp, *gp = dy + (i * d.c + ch) * d.sp;
            float *dx = (float *)din[0]->data + (i * d.c + ch) * d.sp;
            for (int64_t j = 0; j < d.sp; j++)
                dx[j] += (float)(f * (cnt * gp[j] - db - (xp[j] - mean) * inv * ds));
        }
    }
    return 0;
}

/* y = x a + b with a = scale / sqrt(var + eps), b = bias - mean a (the running statistics
 * are constants here: the forward pass is the inference form). */
int ml_grad_bn(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *X = x->data, *sc = k->in[1]->data, *mu = k->in[3]->data, *var = k->in[4]->data;
    const float *dy = dout[0]->data;
    int64_t n = x->dim[0], c = x->dim[1], sp = ml_dims_prod(x, 2, x->rank);
    float eps;
    int rc;

    if ((rc = ml_attr_float(k, "epsilon", 1e-5f, &eps)) < 0)
        return rc;
    for (int64_t ch = 0; ch < c; ch++) {
        float inv = 1.0f / sqrtf(var[ch] + eps), a = sc[ch] * inv;
        double ds = 0, db = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *xp = X + (i * c + ch) * sp, *gp = dy + (i * c + ch) * sp;
            float *dx = din[0] ? (float *)din[0]->data + (i * c + ch) * sp : NULL;
            for (int64_t s = 0; s < sp; s++) {
                ds += (double)gp[s] * (double)((xp[s] - mu[ch]) * inv);
                db += gp[s];
                if (dx)
                    dx[s] += gp[s] * a;
            }
        }
        if (din[1])
            ((float *)din[1]->data)[ch] += (float)ds;
        if (din[2])
            ((float *)din[2]->data)[ch] += (float)db;
    }
    return 0;
}
