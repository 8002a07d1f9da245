/* Losses with their gradients, on plain arrays: softmax cross-entropy over class logits
 * (torch.nn.CrossEntropyLoss, mean reduction), negative log-likelihood of log-probabilities
 * (torch.nn.NLLLoss) and mean squared error (torch.nn.MSELoss). */
#include <math.h>

#include "base/guard.h"
#include "gtee/ml_train.h"

int gtee_ml_softmax_xent(const float *logits, const int64_t *labels, size_t n, size_t c, float *loss, float *grad,
                         struct gtee_err *err)
{
    double total = 0;
    int rc = GTEE_EINVAL;

    ENSURE(logits && labels && loss && n > 0 && c > 0, err, GTEE_EINVAL, "loss: empty batch or missing array");
    for (size_t i = 0; i < n; i++)
        ENSURE(labels[i] >= 0 && (uint64_t)labels[i] < c, err, GTEE_EINVAL,
               "loss: label %lld of row %zu is outside 0..%zu", (long long)labels[i], i, c - 1);
    for (size_t i = 0; i < n; i++) {
        const float *row = logits + i * c;
        float max = row[0];
        double sum = 0, lse;

        for (size_t j = 1; j < c; j++)
            max = row[j] > max ? row[j] : max;
        for (size_t j = 0; j < c; j++)
            sum += exp((double)row[j] - max);
        lse = log(sum) + max; /* log sum_j exp(row_j), without overflow */
        total += lse - row[labels[i]];
        if (grad) {
            float *g = grad + i * c;

            for (size_t j = 0; j < c; j++)
                g[j] = (float)((exp((double)row[j] - lse) - (j == (size_t)labels[i])) / (double)n);
        }
    }
    *loss = (float)(total / (double)n);
    ENSURE(isfinite(*loss), err, GTEE_EINVAL, "loss: cross-entropy is not finite (logits hold NaN or infinity)");
    rc = 0;
out:
    return rc;
}

int gtee_ml_nll(const float *logp, const int64_t *labels, size_t n, size_t c, float *loss, float *grad,
                struct gtee_err *err)
{
    double total = 0;
    int rc = GTEE_EINVAL;

    ENSURE(logp && labels && loss && n > 0 && c > 0, err, GTEE_EINVAL, "loss: empty batch or missing array");
    for (size_t i = 0; i < n; i++)
        ENSURE(labels[i] >= 0 && (uint64_t)labels[i] < c, err, GTEE_EINVAL,
               "loss: label %lld of row %zu is outside 0..%zu", (long long)labels[i], i, c - 1);
    for (size_t i = 0; i < n; i++) {
        total -= logp[i * c + (size_t)labels[i]];
        if (grad) {
            for (size_t j = 0; j < c; j++)
                grad[i * c + j] = 0.0f;
            grad[i * c + (size_t)labels[i]] = (float)(-1.0 / (double)n);
        }
    }
    *loss = (float)(total / (double)n);
    ENSURE(isfinite(*loss), err, GTEE_EINVAL, "loss: negative log-likelihood is not finite (log-probabilities hold NaN or infinity)");
    rc = 0;
out:
    return rc;
}

int gtee_ml_mse(const float *pred, const float *target, size_t count, float *loss, float *grad, struct gtee_err *err)
{
    double total = 0;
    int rc = GTEE_EINVAL;

    ENSURE(pred && target && loss && count > 0, err, GTEE_EINVAL, "loss: empty or missing array");
    for (size_t i = 0; i < count; i++) {
        double d = (double)pred[i] - (double)target[i];

        total += d * d;
        if (grad)
            grad[i] = (float)(2.0 * d / (double)count);
    }
    *loss = (float)(total / (double)count);
    ENSURE(isfinite(*loss), err, GTEE_EINVAL, "loss: squared error is not finite");
    rc = 0;
out:
    return rc;
}

size_t gtee_ml_count_correct(const float *logits, const int64_t *labels, size_t n, size_t c)
{
    size_t correct = 0;

    for (size_t i = 0; i < n; i++) {
        const float *row = logits + i * c;
        size_t best = 0;

        for (size_t j = 1; j < c; j++)
            if (row[j] > row[best])
                best = j;
        correct += (labels[i] >= 0 && (uint64_t)labels[i] == best);
    }
    return correct;
}
