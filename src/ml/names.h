/* Value-name lookup for the loader. The table borrows the name strings. Internal. */
#ifndef GTEE_ML_NAMES_H
#define GTEE_ML_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "gtee/err.h"

struct ml_names {
    size_t cap;
    const char **keys;
    int32_t *ids;
};

/* Room for n names (the table never grows: callers size it for all their names). */
int ml_names_init(struct ml_names *t, size_t n);
void ml_names_free(struct ml_names *t);
int32_t ml_names_get(const struct ml_names *t, const char *name); /* -1 if absent */
int ml_names_put(struct ml_names *t, const char *name, int32_t id); /* GTEE_EEXIST if present */

#endif
