/* Shared by the `gtee model` subcommands: reading a model file, and printing tensor types
 * as text ("float [batch, 784]") or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/file.h"
#include "cli/cli.h"
#include "cli/model.h"

int model_read_file(const char *path, uint8_t **buf, size_t *len, struct gtee_err *err)
{
    return gtee_file_read(path, GTEE_ML_DEFAULT_MAX_MODEL_BYTES, buf, len, err);
}

void model_shape_text(const struct gtee_ml_tensor *t, const char *const *params, char *buf, size_t len)
{
    size_t off = 0;

    off += (size_t)snprintf(buf, len, "%s [", gtee_ml_dtype_name(t->dtype));
    for (int d = 0; d < t->rank && off < len; d++) {
        const char *sep = d ? ", " : "";
        if (t->dim[d] >= 0)
            off += (size_t)snprintf(buf + off, len - off, "%s%lld", sep, (long long)t->dim[d]);
        else if (params && params[d])
            off += (size_t)snprintf(buf + off, len - off, "%s%s", sep, params[d]);
        else
            off += (size_t)snprintf(buf + off, len - off, "%s?", sep);
    }
    if (off < len)
        snprintf(buf + off, len - off, "]");
}

json_t *model_shape_json(const struct gtee_ml_tensor *t, const char *const *params)
{
    json_t *a = json_array();

    for (int d = 0; a && d < t->rank; d++) {
        if (t->dim[d] >= 0)
            json_array_append_new(a, json_integer(t->dim[d]));
        else if (params && params[d])
            json_array_append_new(a, json_string(params[d]));
        else
            json_array_append_new(a, json_null());
    }
    return a;
}
