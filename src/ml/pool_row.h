/* MaxPool 2x2 stride 2's rows of windows (pool_row.c), each kernel in the CPU's vector
 * instructions where it has them, with the portable loop's results bit for bit. Internal
 * to src/ml/. */
#ifndef GTEE_ML_POOL_ROW_H
#define GTEE_ML_POOL_ROW_H

#include <stdbool.h>
#include <stdint.h>

/* Forward: y[j] = the maximum of r0[2j], r0[2j + 1], r1[2j], r1[2j + 1] (the first of equal
 * ones; a NaN is kept only in the first tap), j < ow. */
void ml_max2x2_fwd_row(const float *r0, const float *r1, float *y, int64_t ow);
/* Backward: rows r0, r1 of x (2 * ow elements each read), the windows' gradients gy, added
 * into rows d0, d1 of dx (set: into zero, whatever they hold). */
void ml_max2x2_back_row(const float *r0, const float *r1, const float *gy, float *d0, float *d1, int64_t ow,
                        bool set);
/* The portable loops, with the same results. */
void ml_max2x2_fwd_row_c(const float *restrict r0, const float *restrict r1, float *restrict y, int64_t ow);
void ml_max2x2_back_row_c(const float *restrict r0, const float *restrict r1, const float *restrict gy,
                          float *restrict d0, float *restrict d1, int64_t ow, bool set);
/* The kernels' instruction set on this CPU: "avx512", "avx2" or "c". */
const char *ml_max2x2_isa(void);
/* The kernels of one instruction set ("avx512", "avx2", "c"), for tests of each: -1 when
 * this CPU or build has none for it. gy NULL: the forward kernel, into d0. */
int ml_max2x2_row_on(const char *isa, const float *r0, const float *r1, const float *gy, float *d0, float *d1,
                     int64_t ow, bool set);

#endif
