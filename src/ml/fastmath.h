/* exp for the engine's hot loops (Softmax, Sigmoid): written so the compiler vectorizes a
 * loop of it, unlike libm's expf. exp(x) = 2^n * exp(r), x = n ln2 + r with |r| <= ln2 / 2
 * (ln2 split in two parts, as Cody and Waite do), exp(r) by its Taylor polynomial to r^6:
 * relative error about 2e-7 over the float range. n is read from the bits of a float
 * rounded by adding 1.5 * 2^23, so no float-to-int conversion can overflow. Internal. */
#ifndef GTEE_ML_FASTMATH_H
#define GTEE_ML_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* Hot loops get AVX-512F and AVX2 clones beside the baseline x86-64 one, picked at load
 * time by the CPU (GCC/clang target_clones, glibc ifunc); elsewhere a plain function.
 * Element-wise results do not depend on the clone; sums may round differently between
 * clones. clang gives a clone's resolver a global name: two ML_HOT functions of src/ml/
 * must not share a name, static or not. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(GTEE_ML_NO_CLONES)
#define ML_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ML_HOT
#endif

static inline float ml_expf(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float t, n, r, p, scale;
    int32_t ti, mi;

    x = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x; /* NaN passes through */
    t = x * 1.44269504088896341f + magic;
    n = t - magic;
    r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
    p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    memcpy(&ti, &t, 4);
    memcpy(&mi, &magic, 4);
    ti = (int32_t)(((uint32_t)(ti - mi) + 127u) << 23);
    memcpy(&scale, &ti, 4);
    return p * scale;
}

/* erfc(a) for a >= 0: the Chebyshev fit of Numerical Recipes (Press et al., "erfcc",
 * fractional error under 1.2e-7 everywhere). */
static inline float ml_erfcf_pos(float a)
{
    float t = 1.0f / (1.0f + 0.5f * a);

    return t * ml_expf(-a * a - 1.26551223f +
                       t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f +
                       t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f +
                       t * 0.17087277f)))))))));
}

/* erf (the Erf operator): the Maclaurin series to x^13 below |x| = 0.5 (truncation under
 * 1e-9), where 1 - erfc would lose erf's relative precision, and 1 - erfc(|x|) above,
 * signed. */
static inline float ml_erff(float x)
{
    float a = x < 0 ? -x : x, x2 = x * x, s, c;

    s = x * (1.12837917f + x2 * (-0.376126389f + x2 * (0.112837917f + x2 * (-0.0268661706f +
        x2 * (0.00522397762f + x2 * (-0.000854832702f + x2 * 0.000120549227f))))));
    c = 1.0f - ml_erfcf_pos(a);
    return a < 0.5f ? s : x < 0 ? -c : c;
}

#endif
