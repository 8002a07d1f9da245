/* Pattern matching shared by the plan's fusions (fuse.c, fuse_norm.c). Internal to src/ml/. */
#ifndef GTEE_ML_FUSE_H
#define GTEE_ML_FUSE_H

#include "ml/ml.h"

struct ml_fuser {
    const struct gtee_ml_model *m;
    struct ml_plan *p;
    uint32_t *readers; /* per value: how many node inputs read it */
    bool *is_out;      /* per value: a graph output */
};

/* The one node after `after` that reads v, when v is read once, is no graph output and
 * that node is not absorbed yet; else -1. */
int ml_fuse_sole_reader(const struct ml_fuser *f, int32_t v, size_t after);
bool ml_fuse_is_op(const struct ml_fuser *f, int i, const char *op);
/* v is float32 and known before the run (an initializer or folded). */
bool ml_fuse_known_f32(const struct ml_plan *p, int32_t v);

/* ReduceMean at node i opening the decomposed LayerNorm over the last axis
 * (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta);
 * Div at node i opening the decomposed GELU (Div c, Erf, Add 1, Mul x, Mul 0.5). */
void ml_fuse_layernorm(struct ml_fuser *f, size_t i);
void ml_fuse_gelu(struct ml_fuser *f, size_t i);

#endif
