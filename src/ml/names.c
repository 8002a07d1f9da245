/* Value names to ids: an open-addressing hash table built once per model load. */
#include <stdlib.h>
#include <string.h>

#include "ml/names.h"
#include "ml/ml.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

int ml_names_init(struct ml_names *t, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n + 1)
        cap *= 2;
    t->cap = cap;
    t->keys = calloc(cap, sizeof(*t->keys));
    t->ids = calloc(cap, sizeof(*t->ids));
    return t->keys && t->ids ? 0 : GTEE_ENOMEM;
}

void ml_names_free(struct ml_names *t)
{
    ml_free(t->keys);
    ml_free(t->ids);
    memset(t, 0, sizeof(*t));
}

int32_t ml_names_get(const struct ml_names *t, const char *name)
{
    for (size_t i = hash(name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->keys[i])
            return -1;
        if (!strcmp(t->keys[i], name))
            return t->ids[i];
    }
}

int ml_names_put(struct ml_names *t, const char *name, int32_t id)
{
    for (size_t i = hash(name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->keys[i]) {
            t->keys[i] = name;
            t->ids[i] = id;
            return 0;
        }
        if (!strcmp(t->keys[i], name))
            return GTEE_EEXIST;
    }
}
