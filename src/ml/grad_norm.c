/* Backward passes of the normalizations and reductions of the transformer family (ONNX
 * operator specs, ai.onnx): Softmax, LogSoftmax, LayerNormalization-17, ReduceMean and Pow (the pieces
 * of the decomposed LayerNorm besides Sub, Sqrt, Div, Add, Mul). Row statistics are
 * recomputed from the forward input in double, as the forward pass computes them.
 * docs/ml-training.md derives each. */
#include <math.h>
#include <string.h>

#include "ml/grad.h"

/* y = softmax(x) along one axis (opset 13+) or over the coerced 2-D rows (before 13):
 * dx = y (dy - sum_j dy_j y_j), the sum along the same row. */
int ml_grad_softmax(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *y = k->out[0]->data, *dy = dout[0]->data;
    bool v13 = k->model->opset >= 13;
    size_t outer, n, inner;
    int64_t axis;
    int rc, a;

    if (!din[0])
        return 0;
    if ((rc = ml_attr_int(k, "axis", v13 ? -1 : 1, &axis)) < 0 || (rc = ml_axis(k, axis, x->rank, "axis", &a)) < 0)
        return rc;
    outer = (size_t)ml_dims_prod(x, 0, a);
    n = (size_t)(v13 ? ml_dims_prod(x, a, a + 1) : ml_dims_prod(x, a, x->rank));
    inner = v13 ? (size_t)ml_dims_prod(x, a + 1, x->rank) : 1;
    for (size_t o = 0; o < outer; o++)
        for (size_t in = 0; in < inner; in++) {
            size_t base = o * n * inner + in;
            double s = 0;
            float *dx = din[0]->data;
            for (size_t i = 0; i < n; i++)
                s += (double)dy[base + i * inner] * y[base + i * inner];
            for (size_t i = 0; i < n; i++)
                dx[base + i * inner] += y[base + i * inner] * (float)(dy[base + i * inner] - s);
        }
    return 0;
}

/* y = logsoftmax(x) on the same rows: dx = dy - exp(y) sum_j dy_j. */
int ml_grad_logsoftmax(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *y = k->out[0]->data, *dy = dout[0]->data;
    bool v13 = k->model->opset >= 13;
    size_t outer, n, inner;
    int64_t axis;
    int rc, a;

    if (!din[0])
        return 0;
    if ((rc = ml_attr_int(k, "axis", v13 ? -1 : 1, &axis)) < 0 || (rc = ml_axis(k, axis, x->rank, "axis", &a)) < 0)
        return rc;
    outer = (size_t)ml_dims_prod(x, 0, a);
    n = (size_t)(v13 ? ml_dims_prod(x, a, a + 1) : ml_dims_prod(x, a, x->rank));
    inner = v13 ? (size_t)ml_dims_prod(x, a + 1, x->rank) : 1;
    for (size_t o = 0; o < outer; o++)
        for (size_t in = 0; in < inner; in++) {
            size_t base = o * n * inner + in;
            double s = 0;
            float *dx = din[0]->data;
            for (size_t i = 0; i < n; i++)
                s += dy[base + i * inner];
            for (size_t i = 0; i < n; i++)
                dx[base + i * inner] += dy[base + i * inner] - expf(y[base + i * inner]) * (float)s;
        }
    return 0;
}

static bool all_zero(const struct gtee_ml_tensor *t)
{
    const float *v = t->data;

    for (uint64_t i = 0; i < ml_elems(t); i++)
        if (v[i] != 0.0f)
            return false;
    return true;
}

/* Per row of n values: xhat = (x - mean) inv, inv = 1 / sqrt(var + eps), y = xhat scale + B.
 * dB += dy, dscale += dy xhat (summed over rows), and with g = dy scale:
 * dx = inv / n (n g - sum g - xhat sum g xhat). */
int ml_grad_layernorm(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *X = x->data, *sc = k->in[1]->data, *dy = dout[0]->data;
    float *dX = din[0] ? din[0]->data : NULL, *dS = din[1] ? din[1]->data : NULL;
    float *dB = k->n_in > 2 && din[2] ? din[2]->data : NULL;
    int64_t ax;
    float eps;
    int rc, a;

    for (size_t j = 1; j < 3 && j < k->n_out; j++)
        if (dout[j] && !all_zero(dout[j]))
            return ml_fail(k, GTEE_EUNSUPPORTED, "no backward pass through the Mean and InvStdDev outputs");
    if ((rc = ml_attr_int(k, "axis", -1, &ax)) < 0 || (rc = ml_attr_float(k, "epsilon", 1e-5f, &eps)) < 0 ||
        (rc = ml_axis(k, ax, x->rank, "axis", &a)) < 0)
        return rc;
    size_t rows = (size_t)ml_dims_prod(x, 0, a), n = (size_t)ml_dims_prod(x, a, x->rank);
    if (!n)
        return 0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = X + r * n, *gr = dy + r * n;
        double mean = 0, var = 0, sg = 0, sgx = 0;
        for (size_t i = 0; i < n; i++)
            mean += xr[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var /= (double)n;
        double inv = 1.0 / sqrt(var + (double)eps);
        for (size_t i = 0; i < n; i++) {
            double xh = (xr[i] - mean) * inv, g = (double)gr[i] * sc[i];
            sg += g;
            sgx += g * xh;
            if (dS)
                dS[i] += (float)(gr[i] * xh);
            if (dB)
                dB[i] += gr[i];
        }
        if (!dX)
            continue;
        for (size_t i = 0; i < n; i++) {
            double xh = (xr[i] - mean) * inv, g = (double)gr[i] * sc[i];
            dX[r * n + i] += (float)(inv / (double)n * ((double)n * g - sg - xh * sgx));
        }
    }
    return 0;
}

/* y = the mean over the reduced axes: each x element gets dy of its output / count. */
int ml_grad_reduce_mean(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *x = k->in[0];
    const float *dy = dout[0]->data;
    bool red[GTEE_ML_MAX_RANK];
    int64_t ost[GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, acc = 1, cnt = 1, off = 0;
    const int64_t *axes;
    size_t na;
    int rc, a;

    if (!din[0])
        return 0;
    if ((rc = ml_attr_ints(k, "axes", &axes, &na)) < 0)
        return rc;
    for (int d = 0; d < GTEE_ML_MAX_RANK; d++)
        red[d] = !axes;
    for (size_t i = 0; axes && i < na; i++) {
        if ((rc = ml_axis(k, axes[i], x->rank, "axis", &a)) < 0)
            return rc;
        red[a] = true;
    }
    for (int d = x->rank - 1; d >= 0; d--) {
        ost[d] = red[d] ? 0 : acc;
        acc *= red[d] ? 1 : x->dim[d];
        cnt *= red[d] ? x->dim[d] : 1;
    }
    uint64_t n = ml_elems(x);
    float *dx = din[0]->data, inv = cnt ? 1.0f / (float)cnt : 0.0f;
    for (uint64_t i = 0; i < n; i++) {
        dx[i] += dy[off] * inv;
        for (int d = x->rank - 1; d >= 0; d--) {
            idx[d]++;
            off += ost[d];
            if (idx[d] < x->dim[d])
                break;
            off -= ost[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}

/* y = a^b (broadcast): da = dy b a^(b-1), db = dy y ln a. The exponent's gradient is
 * defined for a > 0 only; elsewhere it is taken as 0 (as PyTorch does for a = 0; a < 0
 * has no real logarithm). */
int ml_grad_pow(struct ml_kernel *k, struct gtee_ml_tensor **dout, struct gtee_ml_tensor **din)
{
    const struct gtee_ml_tensor *y = k->out[0];
    const float *A = k->in[0]->data, *B = k->in[1]->data, *Y = y->data, *dy = dout[0]->data;
    float *dA = din[0] ? din[0]->data : NULL, *dB = din[1] ? din[1]->data : NULL;
    int64_t st[2][GTEE_ML_MAX_RANK], idx[GTEE_ML_MAX_RANK] = { 0 }, off[2] = { 0, 0 };
    uint64_t n = ml_elems(y);

    if (k->in[0]->dtype != GTEE_ML_FLOAT || k->in[1]->dtype != GTEE_ML_FLOAT)
        return ml_fail(k, GTEE_EUNSUPPORTED, "gradient of Pow needs float base and exponent");
    ml_grad_bstrides(k->in[0], y, st[0]);
    ml_grad_bstrides(k->in[1], y, st[1]);
    for (uint64_t i = 0; i < n; i++) {
        int64_t oa = off[0], ob = off[1];
        float a = A[oa], b = B[ob];

        if (dA)
            dA[oa] += dy[i] * (b == 2.0f ? 2.0f * a : b == 1.0f ? 1.0f : b * powf(a, b - 1.0f));
        if (dB && a > 0.0f)
            dB[ob] += dy[i] * Y[i] * logf(a);
        ml_grad_bnext(y, idx, 2, st, off);
    }
    return 0;
}
