/* MaxPool's 2x2 stride-2 rows, forward and backward: the inner loops of the LeNet-style
 * networks' pooling (ops_pool.c, grad_pool.c). Forward, each window's maximum; backward,
 * each window's gradient goes to its first maximum in row-major tap order (a later tap wins
 * only when greater, so NaN never wins), added to what the input's gradient holds, or to
 * zero where it holds nothing yet (set).
 *
 * Their rows are short: 14 windows after a 28-wide convolution, 5 after a 10-wide one. A
 * compiler vectorizes the portable loops over 16 or 8 windows at a time, so such rows ran
 * in its scalar remainder, whose selects became mispredicted branches: the backward pass
 * alone was 12 % of a CNN's training step (docs/performance.md, "Training"). The x86
 * kernels here take any row in vectors: masked loads and stores for the last windows
 * (AVX-512) or vmaskmov (AVX2), the taps split by permutes. They make the portable loops'
 * comparisons and additions, one per element in the same order, so every CPU gets the
 * same bits. Intrinsics, because target clones (fastmath.h) leave the remainder to the
 * compiler; chosen at run time by the CPU's features (cpuid, through the compiler's
 * __builtin_cpu_supports). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ml/pool_row.h"

void ml_max2x2_fwd_row_c(const float *restrict r0, const float *restrict r1, float *restrict y, int64_t ow)
{
    for (int64_t oj = 0; oj < ow; oj++) {
        float a = r0[2 * oj], b = r0[2 * oj + 1], c = r1[2 * oj], d = r1[2 * oj + 1];
        float m = b > a ? b : a;

        m = c > m ? c : m;
        y[oj] = d > m ? d : m;
    }
}

void ml_max2x2_back_row_c(const float *restrict r0, const float *restrict r1, const float *restrict gy,
                          float *restrict d0, float *restrict d1, int64_t ow, bool set)
{
    for (int64_t oj = 0; oj < ow; oj++) {
        float a = r0[2 * oj], b = r0[2 * oj + 1], c = r1[2 * oj], d = r1[2 * oj + 1], g = gy[oj];
        float m = b > a ? b : a, wa = b > a ? 0.0f : g, wb = b > a ? g : 0.0f, wc, wd;

        wa = c > m ? 0.0f : wa;
        wb = c > m ? 0.0f : wb;
        wc = c > m ? g : 0.0f;
        m = c > m ? c : m;
        wa = d > m ? 0.0f : wa;
        wb = d > m ? 0.0f : wb;
        wc = d > m ? 0.0f : wc;
        wd = d > m ? g : 0.0f;
        d0[2 * oj] = (set ? 0.0f : d0[2 * oj]) + wa;
        d0[2 * oj + 1] = (set ? 0.0f : d0[2 * oj + 1]) + wb;
        d1[2 * oj] = (set ? 0.0f : d1[2 * oj]) + wc;
        d1[2 * oj + 1] = (set ? 0.0f : d1[2 * oj + 1]) + wd;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define ML_HAVE_X86_POOL_ROW 1

/* The taps of windows [oj, oj + 16) (or to ow) of rows r0, r1: 32 inputs per row as two
 * vectors, even and odd taps split by vpermt2ps; the masks of the windows (mw) and of
 * their inputs' two vectors (ml, mh). */
struct taps512 {
    __mmask16 mw, ml, mh;
    __m512 a, b, c, d;
};

__attribute__((target("avx512f"))) static inline void taps512(const float *r0, const float *r1, int64_t oj,
                                                             int64_t ow, struct taps512 *t)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    unsigned n = ow - oj < 16 ? (unsigned)(ow - oj) : 16u;
    const float *p0 = r0 + 2 * oj, *p1 = r1 + 2 * oj;
    __m512 x0l, x0h, x1l, x1h;

    t->mw = (__mmask16)((1u << n) - 1u);
    t->ml = (__mmask16)(n >= 8 ? 0xffffu : (1u << (2 * n)) - 1u);
    t->mh = (__mmask16)(n > 8 ? (1u << (2 * n - 16)) - 1u : 0u);
    x0l = _mm512_maskz_loadu_ps(t->ml, p0);
    x0h = _mm512_maskz_loadu_ps(t->mh, p0 + 16);
    x1l = _mm512_maskz_loadu_ps(t->ml, p1);
    x1h = _mm512_maskz_loadu_ps(t->mh, p1 + 16);
    t->a = _mm512_permutex2var_ps(x0l, even, x0h);
    t->b = _mm512_permutex2var_ps(x0l, odd, x0h);
    t->c = _mm512_permutex2var_ps(x1l, even, x1h);
    t->d = _mm512_permutex2var_ps(x1l, odd, x1h);
}

/* dx's elements from q under mask k, or zeros for a dx not cleared (set). */
__attribute__((target("avx512f"))) static inline __m512 base512(bool set, __mmask16 k, const float *q)
{
    return set ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(k, q);
}

/* 16 windows at a time; the four gradients interleaved back as the taps were split. */
__attribute__((target("avx512f"))) static void back_avx512(const float *r0, const float *r1, const float *gy,
                                                          float *d0, float *d1, int64_t ow, bool set)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    for (int64_t oj = 0; oj < ow; oj += 16) {
        struct taps512 t;
        float *q0 = d0 + 2 * oj, *q1 = d1 + 2 * oj;
        __m512 g, m, wa, wb, wc, wd;
        __mmask16 kb, kc, kd;

        taps512(r0, r1, oj, ow, &t);
        g = _mm512_maskz_loadu_ps(t.mw, gy + oj);
        kb = _mm512_cmp_ps_mask(t.b, t.a, _CMP_GT_OQ);
        m = _mm512_mask_blend_ps(kb, t.a, t.b);
        kc = _mm512_cmp_ps_mask(t.c, m, _CMP_GT_OQ);
        m = _mm512_mask_blend_ps(kc, m, t.c);
        kd = _mm512_cmp_ps_mask(t.d, m, _CMP_GT_OQ);
        wd = _mm512_maskz_mov_ps(kd, g);
        wc = _mm512_maskz_mov_ps((__mmask16)(kc & ~kd), g);
        wb = _mm512_maskz_mov_ps((__mmask16)(kb & ~kc & ~kd), g);
        wa = _mm512_maskz_mov_ps((__mmask16)(~kb & ~kc & ~kd), g);
        _mm512_mask_storeu_ps(q0, t.ml, _mm512_add_ps(base512(set, t.ml, q0), _mm512_permutex2var_ps(wa, lo, wb)));
        _mm512_mask_storeu_ps(q0 + 16, t.mh,
                              _mm512_add_ps(base512(set, t.mh, q0 + 16), _mm512_permutex2var_ps(wa, hi, wb)));
        _mm512_mask_storeu_ps(q1, t.ml, _mm512_add_ps(base512(set, t.ml, q1), _mm512_permutex2var_ps(wc, lo, wd)));
        _mm512_mask_storeu_ps(q1 + 16, t.mh,
                              _mm512_add_ps(base512(set, t.mh, q1 + 16), _mm512_permutex2var_ps(wc, hi, wd)));
    }
}

__attribute__((target("avx512f"))) static void fwd_avx512(const float *r0, const float *r1, float *y, int64_t ow)
{
    for (int64_t oj = 0; oj < ow; oj += 16) {
        struct taps512 t;
        __m512 m;

        taps512(r0, r1, oj, ow, &t);
        m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t.b, t.a, _CMP_GT_OQ), t.a, t.b);
        m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t.c, m, _CMP_GT_OQ), m, t.c);
        m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t.d, m, _CMP_GT_OQ), m, t.d);
        _mm512_mask_storeu_ps(y + oj, t.mw, m);
    }
}

/* The lanes of a vmaskmov mask: the first k of 8. */
__attribute__((target("avx2"))) static __m256i first_lanes(unsigned k)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), idx);
}

/* Even and odd elements of the 16 in (l, h), each in order. */
__attribute__((target("avx2"))) static void split(__m256 l, __m256 h, __m256 *e, __m256 *o)
{
    *e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l, h, 0x88)), 0xd8));
    *o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l, h, 0xdd)), 0xd8));
}

/* x[i], y[i] interleaved: the first 8 into *l, the last 8 into *h. */
__attribute__((target("avx2"))) static void zip(__m256 x, __m256 y, __m256 *l, __m256 *h)
{
    __m256 u = _mm256_unpacklo_ps(x, y), v = _mm256_unpackhi_ps(x, y);

    *l = _mm256_permute2f128_ps(u, v, 0x20);
    *h = _mm256_permute2f128_ps(u, v, 0x31);
}

/* The taps of windows [oj, oj + 8) (or to ow), as taps512 with 8-lane vmaskmov masks. */
struct taps256 {
    __m256i mw, ml, mh;
    __m256 a, b, c, d;
};

__attribute__((target("avx2"))) static inline void taps256(const float *r0, const float *r1, int64_t oj, int64_t ow,
                                                          struct taps256 *t)
{
    unsigned n = ow - oj < 8 ? (unsigned)(ow - oj) : 8u;
    const float *p0 = r0 + 2 * oj, *p1 = r1 + 2 * oj;

    t->mw = first_lanes(n);
    t->ml = first_lanes(2 * n > 8 ? 8 : 2 * n);
    t->mh = first_lanes(2 * n > 8 ? 2 * n - 8 : 0);
    split(_mm256_maskload_ps(p0, t->ml), _mm256_maskload_ps(p0 + 8, t->mh), &t->a, &t->b);
    split(_mm256_maskload_ps(p1, t->ml), _mm256_maskload_ps(p1 + 8, t->mh), &t->c, &t->d);
}

__attribute__((target("avx2"))) static void fwd_avx2(const float *r0, const float *r1, float *y, int64_t ow)
{
    for (int64_t oj = 0; oj < ow; oj += 8) {
        struct taps256 t;
        __m256 m;

        taps256(r0, r1, oj, ow, &t);
        m = _mm256_blendv_ps(t.a, t.b, _mm256_cmp_ps(t.b, t.a, _CMP_GT_OQ));
        m = _mm256_blendv_ps(m, t.c, _mm256_cmp_ps(t.c, m, _CMP_GT_OQ));
        m = _mm256_blendv_ps(m, t.d, _mm256_cmp_ps(t.d, m, _CMP_GT_OQ));
        _mm256_maskstore_ps(y + oj, t.mw, m);
    }
}

__attribute__((target("avx2"))) static inline __m256 base256(bool set, __m256i k, const float *q)
{
    return set ? _mm256_setzero_ps() : _mm256_maskload_ps(q, k);
}

/* 8 windows at a time, as the AVX-512 kernel with vmaskmov for the last ones (a masked
 * lane is neither read nor written, so nothing past the row is touched). */
__attribute__((target("avx2"))) static void back_avx2(const float *r0, const float *r1, const float *gy, float *d0,
                                                     float *d1, int64_t ow, bool set)
{
    for (int64_t oj = 0; oj < ow; oj += 8) {
        struct taps256 t;
        float *q0 = d0 + 2 * oj, *q1 = d1 + 2 * oj;
        __m256 g, m, kb, kc, kd, wa, wb, wc, wd, zl, zh;

        taps256(r0, r1, oj, ow, &t);
        g = _mm256_maskload_ps(gy + oj, t.mw);
        kb = _mm256_cmp_ps(t.b, t.a, _CMP_GT_OQ);
        m = _mm256_blendv_ps(t.a, t.b, kb);
        kc = _mm256_cmp_ps(t.c, m, _CMP_GT_OQ);
        m = _mm256_blendv_ps(m, t.c, kc);
        kd = _mm256_cmp_ps(t.d, m, _CMP_GT_OQ);
        wd = _mm256_and_ps(kd, g);
        wc = _mm256_andnot_ps(kd, _mm256_and_ps(kc, g));
        wb = _mm256_andnot_ps(_mm256_or_ps(kc, kd), _mm256_and_ps(kb, g));
        wa = _mm256_andnot_ps(_mm256_or_ps(kb, _mm256_or_ps(kc, kd)), g);
        zip(wa, wb, &zl, &zh);
        _mm256_maskstore_ps(q0, t.ml, _mm256_add_ps(base256(set, t.ml, q0), zl));
        _mm256_maskstore_ps(q0 + 8, t.mh, _mm256_add_ps(base256(set, t.mh, q0 + 8), zh));
        zip(wc, wd, &zl, &zh);
        _mm256_maskstore_ps(q1, t.ml, _mm256_add_ps(base256(set, t.ml, q1), zl));
        _mm256_maskstore_ps(q1 + 8, t.mh, _mm256_add_ps(base256(set, t.mh, q1 + 8), zh));
    }
}
#endif

int ml_max2x2_row_on(const char *isa, const float *r0, const float *r1, const float *gy, float *d0, float *d1,
                     int64_t ow, bool set)
{
    if (!strcmp(isa, "c")) {
        if (gy)
            ml_max2x2_back_row_c(r0, r1, gy, d0, d1, ow, set);
        else
            ml_max2x2_fwd_row_c(r0, r1, d0, ow);
        return 0;
    }
#ifdef ML_HAVE_X86_POOL_ROW
    if (!strcmp(isa, "avx512") && __builtin_cpu_supports("avx512f")) {
        if (gy)
            back_avx512(r0, r1, gy, d0, d1, ow, set);
        else
            fwd_avx512(r0, r1, d0, ow);
        return 0;
    }
    if (!strcmp(isa, "avx2") && __builtin_cpu_supports("avx2")) {
        if (gy)
            back_avx2(r0, r1, gy, d0, d1, ow, set);
        else
            fwd_avx2(r0, r1, d0, ow);
        return 0;
    }
#endif
    return -1;
}

const char *ml_max2x2_isa(void)
{
#ifdef ML_HAVE_X86_POOL_ROW
    if (__builtin_cpu_supports("avx512f"))
        return "avx512";
    if (__builtin_cpu_supports("avx2"))
        return "avx2";
#endif
    return "c";
}

/* __builtin_cpu_supports is a load of the features that libgcc read at startup. */
void ml_max2x2_fwd_row(const float *r0, const float *r1, float *y, int64_t ow)
{
#ifdef ML_HAVE_X86_POOL_ROW
    if (__builtin_cpu_supports("avx512f")) {
        fwd_avx512(r0, r1, y, ow);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        fwd_avx2(r0, r1, y, ow);
        return;
    }
#endif
    ml_max2x2_fwd_row_c(r0, r1, y, ow);
}

void ml_max2x2_back_row(const float *r0, const float *r1, const float *gy, float *d0, float *d1, int64_t ow, bool set)
{
#ifdef ML_HAVE_X86_POOL_ROW
    if (__builtin_cpu_supports("avx512f")) {
        back_avx512(r0, r1, gy, d0, d1, ow, set);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        back_avx2(r0, r1, gy, d0, d1, ow, set);
        return;
    }
#endif
    ml_max2x2_back_row_c(r0, r1, gy, d0, d1, ow, set);
}
