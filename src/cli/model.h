/* Helpers of the `gtee model` subcommands (cmd_model*.c). Internal to src/cli/. */
#ifndef GTEE_CLI_MODEL_H
#define GTEE_CLI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gtee/ml.h"

/* Reads a whole model file (bounded by the model size limit); caller frees *buf. */
int model_read_file(const char *path, uint8_t **buf, size_t *len, struct gtee_err *err);
/* "float [batch, 784]" (known dims as numbers, others by their symbolic name or ?). */
void model_shape_text(const struct gtee_ml_tensor *t, const char *const *params, char *buf, size_t len);
/* [ "batch", 784 ] (known dims as numbers, others by name or null). */
json_t *model_shape_json(const struct gtee_ml_tensor *t, const char *const *params);

int model_inspect(int argc, char **argv);
int model_run(int argc, char **argv);
int model_train(int argc, char **argv);
int model_score(int argc, char **argv);

#endif
