/* Mini-batches: a seeded per-epoch shuffle and the gather of the items of one batch.
 * SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014; constants as in Vigna's public-domain splitmix64.c) drives Fisher-Yates
 * (Knuth, TAOCP vol. 2, 3.4.2, algorithm P) with rejection sampling for unbiased bounds. */
#include <string.h>

#include "base/guard.h"
#include "gtee/dataset.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in 0 .. bound-1 (bound >= 1): rejects the top partial copy of the range. */
static uint64_t below(uint64_t *state, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound, r;

    do
        r = splitmix64(state);
    while (r >= limit);
    return r % bound;
}

int gtee_dataset_shuffle(size_t *order, size_t n, uint64_t seed, uint64_t epoch, struct gtee_err *err)
{
    uint64_t state = seed;
    int rc = GTEE_EINVAL;

    ENSURE(order && n > 0, err, GTEE_EINVAL, "dataset: shuffle needs at least one item");
    /* one stream per (seed, epoch): mix the epoch in through a generator step */
    state = splitmix64(&state) ^ epoch;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)below(&state, (uint64_t)i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    rc = 0;
out:
    return rc;
}

int gtee_dataset_gather(const struct gtee_dataset *ds, const size_t *order, size_t count, float *x, int64_t *y,
                        struct gtee_err *err)
{
    int rc = GTEE_EINVAL;

    ENSURE(ds && ds->x && ds->y && order && x && y, err, GTEE_EINVAL, "dataset: gather needs a dataset and buffers");
    for (size_t i = 0; i < count; i++) {
        size_t k = order[i];

        ENSURE(k < ds->n, err, GTEE_EINVAL, "dataset: batch entry %zu names item %zu of %zu", i, k, ds->n);
        memcpy(x + i * ds->item_len, ds->x + k * ds->item_len, ds->item_len * sizeof(float));
        y[i] = ds->y[k];
    }
    rc = 0;
out:
    return rc;
}
