/* im2col for Conv's forward and backward passes (conv_fwd.c, grad_cnn.c): the rows of an
 * image's column matrix copied from x in contiguous runs, zeros in the padding. */
#include <stdint.h>

#include "ml/fastmath.h"
#include "ml/geom.h"

void ml_inside_cols(int64_t off, int64_t s, int64_t in, int64_t ow, int64_t *lo, int64_t *hi)
{
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s, h = in - off <= 0 ? 0 : (in - off - 1) / s + 1;

    l = l > ow ? ow : l;
    h = h > ow ? ow : h < l ? l : h;
    *lo = l;
    *hi = h;
}

/* Copies and zero fills of short rows (a few to a few dozen floats) without a library
 * call each: 8-float vector moves (GCC/clang vector extension, unaligned, may alias the
 * floats), the last one overlapping the one before. */
typedef float f8 __attribute__((vector_size(32), aligned(4), may_alias));

static inline void copy_short(float *dst, const float *src, int64_t n)
{
    int64_t j = 0;

    if (n >= 8) {
        for (; j + 8 <= n; j += 8)
            *(f8 *)(dst + j) = *(const f8 *)(src + j);
        if (j < n)
            *(f8 *)(dst + n - 8) = *(const f8 *)(src + n - 8);
        return;
    }
    for (; j < n; j++)
        dst[j] = src[j];
}

static inline void zero_short(float *dst, int64_t n)
{
    const f8 zero = { 0 };
    int64_t j = 0;

    if (n >= 8) {
        for (; j + 8 <= n; j += 8)
            *(f8 *)(dst + j) = zero;
        if (j < n)
            *(f8 *)(dst + n - 8) = zero;
        return;
    }
    for (; j < n; j++)
        dst[j] = 0.0f;
}

ML_HOT static void im2col_rows(const float *x, int64_t c, const struct geom *g, int64_t o0, int64_t o1, float *cols,
                               int64_t ld)
{
    int64_t ow = g->out[1], s1 = g->stride[1];

    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t ki = 0; ki < g->k[0]; ki++)
            for (int64_t kj = 0; kj < g->k[1]; kj++) {
                int64_t off = kj * g->dil[1] - g->pb[1], lo, hi;
                float *row = cols + ((ch * g->k[0] + ki) * g->k[1] + kj) * ld;

                ml_inside_cols(off, s1, g->in[1], ow, &lo, &hi);
                for (int64_t oi = o0; oi < o1; oi++) {
                    int64_t ii = oi * g->stride[0] - g->pb[0] + ki * g->dil[0];
                    float *dst = row + (oi - o0) * ow;
                    const float *src = x + (ch * g->in[0] + ii) * g->in[1] + off;

                    if (ii < 0 || ii >= g->in[0]) {
                        zero_short(dst, ow);
                        continue;
                    }
                    if (lo)
                        zero_short(dst, lo);
                    if (s1 == 1)
                        copy_short(dst + lo, src + lo, hi - lo);
                    else
                        for (int64_t oj = lo; oj < hi; oj++)
                            dst[oj] = src[oj * s1];
                    if (hi < ow)
                        zero_short(dst + hi, ow - hi);
                }
            }
}

/* The clones stay behind a plain function: callers in other files need no clone resolver
 * (clang resolves a cloned function only where its definition is seen). */
void ml_im2col_rows(const float *x, int64_t c, const struct geom *g, int64_t o0, int64_t o1, float *cols,
                    int64_t ld)
{
    im2col_rows(x, c, g, o0, o1, cols, ld);
}
