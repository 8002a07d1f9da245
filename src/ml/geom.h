/* Window geometry of Conv and the pools. Internal to src/ml/. */
#ifndef GTEE_ML_GEOM_H
#define GTEE_ML_GEOM_H

#include "ml/ml.h"

/* 1 or 2 spatial dims; 1-D is mapped to H = 1. */
struct geom {
    int nsp;
    int64_t in[2], k[2], stride[2], dil[2], pb[2], pe[2], out[2];
};

/* x: input (rank 3 or 4); ks: kernel sizes (from W for Conv) or NULL to read kernel_shape;
 * ceil_ok: the operator has ceil_mode. */
int ml_geom(struct ml_kernel *k, const struct gtee_ml_tensor *x, const int64_t *ks, bool ceil_ok, struct geom *g);
/* Output type: x's batch, c channels, the geometry's spatial sizes. */
void ml_geom_out(struct gtee_ml_tensor *y, const struct gtee_ml_tensor *x, int64_t c, const struct geom *g);
/* Reads an ints attribute of want values (dflt when absent). */
int ml_geom_ints(struct ml_kernel *k, const char *name, size_t want, int64_t dflt, int64_t *dst);

/* Conv's forward pass (conv_fwd.c) with its checked geometry, and its scratch bytes. */
int ml_conv_forward(struct ml_kernel *k, const struct geom *g, int64_t group);
size_t ml_conv_work(const struct ml_kernel *k, const struct geom *g, int64_t group);

#endif
