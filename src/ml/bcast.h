/* NumPy-style broadcasting (ONNX "multidirectional broadcasting", docs/Broadcasting.md of
 * the ONNX specification) for up to three inputs. Internal to src/ml/. */
#ifndef GTEE_ML_BCAST_H
#define GTEE_ML_BCAST_H

#include "ml/ml.h"

#define ML_BCAST_MAX 3

/* Output shape of broadcasting ins[0..n) (unknown dims stay unknown unless fixed by a
 * known dim > 1); fails naming the node when two known dims clash. */
int ml_bcast_shape(const struct ml_kernel *k, const struct gtee_ml_tensor *const *ins, int n,
                   struct gtee_ml_tensor *out);

/* Inner loop: n elements of the output at o, input j at in[j] advancing by step[j]
 * (0 or 1) elements. */
typedef void (*ml_row_fn)(void *o, const void *const *in, const size_t *step, size_t n, const void *ctx);

/* Runs row over the broadcast of ins into out (concrete tensors), split across threads. */
void ml_bcast_run(const struct gtee_ml_tensor *const *ins, int n, struct gtee_ml_tensor *out, ml_row_fn row,
                  const void *ctx, int threads);

#endif
