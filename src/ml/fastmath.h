/* exp for the engine's hot loops (Softmax, Sigmoid): written so the compiler vectorizes a
 * loop of it, unlike libm's expf. exp(x) = 2^n * exp(r), x = n ln2 + r with |r| <= ln2 / 2
 * (ln2 split in two parts, as Cody and Waite do), exp(r) by its Taylor polynomial to r^6:
 * relative error about 2e-7 over the float range. n is read from the bits of a float
 * rounded by adding 1.5 * 2^23, so no float-to-int conversion can overflow. Internal. */
#ifndef GTEE_ML_FASTMATH_H
#define GTEE_ML_FASTMATH_H

#include <stdint.h>
#include <string.h>

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

#endif
