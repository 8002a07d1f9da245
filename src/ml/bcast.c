/* Broadcast iteration: dims that every input walks contiguously are merged, then the
 * innermost merged dim is handed to a row function with a step of 0 or 1 per input. */
#include <string.h>

#include "ml/bcast.h"

int ml_bcast_shape(const struct ml_kernel *k, const struct gtee_ml_tensor *const *ins, int n,
                   struct gtee_ml_tensor *out)
{
    int rank = 0;

    for (int j = 0; j < n; j++)
        if (ins[j]->rank > rank)
            rank = ins[j]->rank;
    out->rank = rank;
    for (int d = 0; d < rank; d++) {
        int64_t r = 1;
        bool unknown = false;

        for (int j = 0; j < n; j++) {
            int jd = d - (rank - ins[j]->rank);
            int64_t v = jd >= 0 ? ins[j]->dim[jd] : 1;

            if (v < 0)
                unknown = true;
            else if (v != 1) {
                if (r != 1 && r != v)
                    return ml_fail(k, GTEE_EFORMAT, "inputs cannot be broadcast (dimension %d: %lld vs %lld)", d,
                                   (long long)r, (long long)v);
                r = v;
            }
        }
        out->dim[d] = (r == 1 && unknown) ? -1 : r;
    }
    return 0;
}

struct bcast {
    int n, rank;                 /* inputs, merged rank */
    int64_t dim[GTEE_ML_MAX_RANK];
    size_t stride[ML_BCAST_MAX][GTEE_ML_MAX_RANK]; /* elements; 0 where broadcast */
    size_t esz[ML_BCAST_MAX], oesz;
    const uint8_t *base[ML_BCAST_MAX];
    uint8_t *out;
    ml_row_fn row;
    const void *ctx;
};

static void rows(void *arg, size_t lo, size_t hi)
{
    const struct bcast *b = arg;
    size_t inner = (size_t)b->dim[b->rank - 1], idx[GTEE_ML_MAX_RANK] = { 0 }, step[ML_BCAST_MAX];
    const void *in[ML_BCAST_MAX];
    size_t rem = lo;

    for (int j = 0; j < b->n; j++)
        step[j] = b->stride[j][b->rank - 1];
    for (int d = b->rank - 2; d >= 0; d--) {
        idx[d] = rem % (size_t)b->dim[d];
        rem /= (size_t)b->dim[d];
    }
    for (size_t r = lo; r < hi; r++) {
        for (int j = 0; j < b->n; j++) {
            size_t off = 0;
            for (int d = 0; d < b->rank - 1; d++)
                off += idx[d] * b->stride[j][d];
            in[j] = b->base[j] + off * b->esz[j];
        }
        b->row(b->out + r * inner * b->oesz, in, step, inner, b->ctx);
        for (int d = b->rank - 2; d >= 0; d--) {
            if (++idx[d] < (size_t)b->dim[d])
                break;
            idx[d] = 0;
        }
    }
}

void ml_bcast_run(const struct gtee_ml_tensor *const *ins, int n, struct gtee_ml_tensor *out, ml_row_fn row,
                  const void *ctx, int threads)
{
    struct bcast b = { .n = n, .out = out->data, .row = row, .ctx = ctx, .oesz = gtee_ml_dtype_size(out->dtype) };
    size_t full[ML_BCAST_MAX][GTEE_ML_MAX_RANK];
    int64_t dim[GTEE_ML_MAX_RANK];
    int rank = out->rank;
    size_t outer = 1;

    for (int j = 0; j < n; j++) {
        size_t s = 1;
        b.base[j] = ins[j]->data;
        b.esz[j] = gtee_ml_dtype_size(ins[j]->dtype);
        for (int d = rank - 1; d >= 0; d--) {
            int jd = d - (rank - ins[j]->rank);
            int64_t v = jd >= 0 ? ins[j]->dim[jd] : 1;
            full[j][d] = (v == 1 && out->dim[d] != 1) ? 0 : s;
            s *= (size_t)v;
        }
    }
    memcpy(dim, out->dim, sizeof(dim));
    if (rank == 0) {
        dim[0] = 1;
        for (int j = 0; j < n; j++)
            full[j][0] = 1;
        rank = 1;
    }
    /* Merge dim d into d+1 when every input's stride continues across them. */
    b.rank = 0;
    for (int d = 0; d < rank; d++) {
        bool merge = b.rank > 0;
        for (int j = 0; j < n && merge; j++)
            merge = b.stride[j][b.rank - 1] == full[j][d] * (size_t)dim[d];
        if (merge) {
            b.dim[b.rank - 1] *= dim[d];
            for (int j = 0; j < n; j++)
                b.stride[j][b.rank - 1] = full[j][d];
        } else {
            b.dim[b.rank] = dim[d];
            for (int j = 0; j < n; j++)
                b.stride[j][b.rank] = full[j][d];
            b.rank++;
        }
    }
    for (int d = 0; d < b.rank - 1; d++)
        outer *= (size_t)b.dim[d];
    if (!outer || !b.dim[b.rank - 1])
        return;
    ml_parallel(threads, outer, ML_PAR_MIN / (size_t)b.dim[b.rank - 1] + 1, rows, &b);
}
