# cython: auto_pickle=False
"""Indicator kernels with TA-Lib's definitions: batch functions and streaming classes.

Every kernel comes twice. The batch function takes float64 arrays and returns a fresh
float64 array of the same length, NaN during the warm-up. The streaming class returns, from
`update`, the value the batch function gives at the same position: each kernel is one
`cdef inline` state function below, which `update` calls once and the class's `feed` loop
calls per row; the batch function is a fresh streaming kernel fed the whole array (vwap
restarts it at each session), so the two agree bit for bit. `update_many(values)` advances a streaming class over a whole array in
one nogil loop and returns what repeated `update` calls return (the session feeds
indicators a chunk of closed bars at a time).

Numerics
--------
- Window sums are differences of two compensated prefix sums (every addition's rounding
  error is kept exactly, TwoSum, in a second accumulator), restarted every `seg` values (a
  power of two >= 4 * period, at least 256); a window that starts in the previous segment
  adds that segment's remainder. Within an ulp or two of the window's exact sum, plus a
  second-order trace (~1e-32 relative) of larger values earlier in the same or previous
  segment. They do not drift over millions of values, and a huge value that has left the
  window no longer matters (a plain running sum keeps its rounding error for ever). The
  batch path computes four segments at once in the lanes of an AVX2 register (two with
  SSE2).
- The rolling variance is Welford's sliding update on the window mean, its terms added two
  steps at a time (var_slide); it is recomputed exactly (two passes over the window) when
  it falls below 1/1024 of its peak since the last recomputation and at least every
  max(period, 1024) values, and it is exactly 0 when the window holds one repeated value.
- Loops with no dependency from one value to the next run as vector loops compiled for SSE2
  and AVX2 and picked by the CPU (below), with the same results.
- EMA (and so MACD) and ATR smooth two steps at a time: A[m] = A[m-1] * keep + t[m] at odd
  steps m since the seed, A[m-2] * keep^2 + (t[m-1] * keep + t[m]) at even ones (EMA: keep
  = 1 - k, t = x * k; ATR: keep = (period - 1) / period, t = true range / period), which
  leaves one multiplication and one addition on the loop-carried dependency per two values.
  RSI smooths as avg * ((period - 1) / period) + value * (1 / period). Results differ from
  TA-Lib's (x - ema) * k + ema and (avg * (period - 1) + value) / period by a few ulps.
- Means are sum * (1 / period).

Differences from TA-Lib
-----------------------
- A period of 1 is accepted everywhere (TA-Lib refuses it for SUM, SMA, STDDEV, MAX, MIN,
  RSI, BBANDS).
- Zero tests are exact: RSI is 0 only when the average gain and loss are both exactly 0
  (TA-Lib tests against a small epsilon); STDDEV is 0 only for a window of one repeated
  value or an exactly zero variance.

Non-finite input
----------------
It is outside the contract: the session engine feeds finite values only. What happens: a
NaN or an infinity enters the running state of EMA, RSI, VWAP and MACD, and every later
output is NaN until `reset()` (TA-Lib's running sums behave the same). Sum, mean, std and
BBands are NaN from it to the end of its window-sum segment and over the windows that reach
back into that segment; std and BBands then recover at their next exact recomputation. ATR is poisoned by a NaN high or low; a NaN close only drops the previous-close terms
of the next true range, as TA-Lib's TRANGE does. Rolling max and min are NaN exactly while a
NaN is inside the window.
"""

cimport cython
from libc.math cimport INFINITY, NAN, fabs, sqrt
from libc.stdlib cimport calloc, free, malloc

from mismartera.ext._args cimport f64_array, int_array, same_length
from mismartera.ext._numeric cimport (
    CSum, best_of, csum_add, csum_clear, csum_get, is_finite, is_nan, max_of,
)

import numpy as np

ctypedef Py_ssize_t isize

# The exact variance is recomputed when the running one falls below RESYNC_RATIO of its peak
# since the last recomputation, and at least every max(period, RESYNC_EVERY) values.
cdef double RESYNC_RATIO = 1.0 / 1024.0
cdef isize RESYNC_EVERY = 1024


cdef inline isize min_isize(isize a, isize b) noexcept nogil:
    return a if a < b else b


cdef inline isize max_isize(isize a, isize b) noexcept nogil:
    return a if a > b else b


cdef isize pow2_at_least(isize n) noexcept nogil:
    cdef isize cap = 1
    while cap < n:
        cap *= 2
    return cap


# ------------------------------------------------------------------ vector loops
#
# Loops over many values with no dependency from one value to the next, written once in C
# (`*_body`) and compiled twice on x86-64 with GCC or clang: for the baseline (SSE2) and for
# AVX2, picked at run time by the CPU (__builtin_cpu_supports), so the default build stays
# portable. Both do the same IEEE operations on each value (additions, multiplications,
# square roots and `a > b ? a : b` are correctly rounded at any width; FMA, which would
# round differently, is not enabled), so their results are the same, bit for bit, as the
# one-value code the streaming `update` runs.

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* MISMARTERA_NO_AVX2 (-D) builds the baseline loops only, to test them on any CPU */
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) \
        && !defined(MISMARTERA_NO_AVX2)
    #include <immintrin.h>
    #define MM_AVX2 1
    #define MM_BODY static inline __attribute__((always_inline))
    static int mm_has_avx2(void) { return __builtin_cpu_supports("avx2"); }
    /* name_base and name_avx2 from name_body (params and args in parentheses), and name,
       which picks one by the CPU */
    #define MM_DISPATCH(name, params, args) \
        static void name##_base params { name##_body args; } \
        __attribute__((target("avx2"))) static void name##_avx2 params { name##_body args; } \
        static void name params { if (mm_has_avx2()) name##_avx2 args; else name##_base args; }
    #else
    #define MM_AVX2 0
    #define MM_BODY static inline
    static int mm_has_avx2(void) { return 0; }
    #define MM_DISPATCH(name, params, args) static void name params { name##_body args; }
    #endif

    /* Ask for the cache lines of p[0 .. n - 1] ahead of use (`write`: to be written), so
       that passes over a chunk in cache do not wait for memory. */
    static void mm_prefetch(const double* p, Py_ssize_t n, int write) {
        Py_ssize_t j;
    #if defined(__GNUC__) || defined(__clang__)
        if (write)
            for (j = 0; j < n; j += 8)
                __builtin_prefetch(p + j, 1, 3);
        else
            for (j = 0; j < n; j += 8)
                __builtin_prefetch(p + j, 0, 3);
    #endif
    }

    /* Welford's sliding update of the sum of squared deviations: the term added when x
       enters the window, x_out leaves it and the mean goes from mean_old to mean. */
    static inline double mm_welford(double x, double x_out, double mean, double mean_old) {
        return (x - x_out) * ((x - mean) + (x_out - mean_old));
    }

    /* The steps of var_slide (without run tracking) that need no exact recomputation, from
       d[0] on: while j < limit and the new m2 is not below peak * ratio, step j adds the
       Welford term d[j] (in pairs: m2 + d[j], then older + (d[j] + d[j + 1])), peak =
       max_of(m2, peak), and d[j] becomes m2. Returns the j it stopped before. */
    static Py_ssize_t mm_var_steps(double* d, Py_ssize_t limit, double ratio, double* m2,
                                   double* peak, double* older, double* term,
                                   Py_ssize_t* half) {
        double a = *m2, pk = *peak, o = *older, t = *term, v1, v2, pk1;
        Py_ssize_t j = 0, h = *half;
        if (h && j < limit) {               /* the second step of a pair */
            v2 = o + (t + d[0]);
            if (v2 < pk * ratio)
                goto done;
            pk = v2 > pk ? v2 : pk;
            a = d[0] = v2;
            h = 0;
            j = 1;
        }
        for (; j + 1 < limit; j += 2) {     /* whole pairs */
            v1 = a + d[j];
            if (v1 < pk * ratio)
                goto done;
            pk1 = v1 > pk ? v1 : pk;
            v2 = a + (d[j] + d[j + 1]);
            if (v2 < pk1 * ratio) {         /* the pair's first step only */
                o = a;
                t = d[j];
                a = d[j] = v1;
                pk = pk1;
                h = 1;
                j += 1;
                goto done;
            }
            o = a;
            t = d[j];
            pk = v2 > pk1 ? v2 : pk1;
            d[j] = v1;
            a = d[j + 1] = v2;
        }
        if (j < limit) {                    /* a pair's first step */
            v1 = a + d[j];
            if (v1 < pk * ratio)
                goto done;
            o = a;
            t = d[j];
            pk = v1 > pk ? v1 : pk;
            a = d[j] = v1;
            h = 1;
            j += 1;
        }
    done:
        *m2 = a;
        *peak = pk;
        *older = o;
        *term = t;
        *half = h;
        return j;
    }

    /* d[j] = mm_welford(x[j], x[j - p], mean[j], mean[j - 1]) for j < n (xo = x - p);
       *repeats: whether some x[j] equals x[j - p + 1] (its window may be one value) */
    MM_BODY void mm_welford_terms_body(const double* restrict x, const double* restrict xo,
                                       const double* restrict mean, Py_ssize_t n,
                                       double* restrict d, int* repeats) {
        const double* first = xo + 1;
        Py_ssize_t j;
        double same = 0.0;      /* a select, which the compiler vectorizes with SSE2 too */
        for (j = 0; j < n; j++) {
            d[j] = mm_welford(x[j], xo[j], mean[j], mean[j - 1]);
            same = x[j] == first[j] ? 1.0 : same;
        }
        *repeats = same != 0.0;
    }
    MM_DISPATCH(mm_welford_terms, (const double* x, const double* xo, const double* mean,
                                   Py_ssize_t n, double* d, int* repeats),
                (x, xo, mean, n, d, repeats))

    /* out[j] = ((h[j] - h0[j]) + (l[j] - l0[j])) * scale for j < n: window sums from the
       prefix sums (hi, lo) after the window and before it */
    MM_BODY void mm_window_sums_body(const double* restrict h, const double* restrict h0,
                                     const double* restrict l, const double* restrict l0,
                                     Py_ssize_t n, double scale, double* restrict out) {
        Py_ssize_t j;
        for (j = 0; j < n; j++)
            out[j] = ((h[j] - h0[j]) + (l[j] - l0[j])) * scale;
    }
    MM_DISPATCH(mm_window_sums, (const double* h, const double* h0, const double* l,
                                 const double* l0, Py_ssize_t n, double scale, double* out),
                (h, h0, l, l0, n, scale, out))

    /* upper[j] = mid[j] + sd[j] * up, middle[j] = mid[j], lower[j] = mid[j] - sd[j] * dn for
       j < n (bands_at) */
    MM_BODY void mm_bands_body(const double* restrict mid, const double* restrict sd,
                               Py_ssize_t n, double up, double dn, double* restrict upper,
                               double* restrict middle, double* restrict lower) {
        Py_ssize_t j;
        for (j = 0; j < n; j++) {
            upper[j] = mid[j] + sd[j] * up;
            middle[j] = mid[j];
            lower[j] = mid[j] - sd[j] * dn;
        }
    }
    MM_DISPATCH(mm_bands, (const double* mid, const double* sd, Py_ssize_t n, double up,
                           double dn, double* upper, double* middle, double* lower),
                (mid, sd, n, up, dn, upper, middle, lower))

    /* sd[i] = sqrt(m2[i] * inv_p) * factor for i < n (sd may be m2). sqrt's vector forms
       round as it does (correctly); the compiler does not vectorize sqrt itself, which
       sets errno. */
    MM_BODY void mm_sqrt_scaled_tail(const double* m2, Py_ssize_t i, Py_ssize_t n,
                                     double inv_p, double factor, double* sd) {
        for (; i < n; i++)
            sd[i] = sqrt(m2[i] * inv_p) * factor;
    }
    #if MM_AVX2
    __attribute__((target("avx2"))) static void mm_sqrt_scaled_avx2(
            const double* m2, Py_ssize_t n, double inv_p, double factor, double* sd) {
        Py_ssize_t i = 0;
        __m256d f = _mm256_set1_pd(inv_p), g = _mm256_set1_pd(factor);
        for (; i + 4 <= n; i += 4)
            _mm256_storeu_pd(sd + i, _mm256_mul_pd(
                _mm256_sqrt_pd(_mm256_mul_pd(_mm256_loadu_pd(m2 + i), f)), g));
        mm_sqrt_scaled_tail(m2, i, n, inv_p, factor, sd);
    }
    #endif
    static void mm_sqrt_scaled(const double* m2, Py_ssize_t n, double inv_p, double factor,
                               double* sd) {
        Py_ssize_t i = 0;
    #if MM_AVX2
        if (mm_has_avx2()) {
            mm_sqrt_scaled_avx2(m2, n, inv_p, factor, sd);
            return;
        }
    #endif
    #if defined(__SSE2__)
        __m128d f = _mm_set1_pd(inv_p), g = _mm_set1_pd(factor);
        for (; i + 2 <= n; i += 2)
            _mm_storeu_pd(sd + i,
                          _mm_mul_pd(_mm_sqrt_pd(_mm_mul_pd(_mm_loadu_pd(m2 + i), f)), g));
    #endif
        mm_sqrt_scaled_tail(m2, i, n, inv_p, factor, sd);
    }

    /* Whether a double's bits u are a NaN or an infinity (an exponent of all ones carries
       into the sign bit: bit 63 of the result), or -0.0 */
    #define MM_SPECIAL(u) (((u) & 0x7ff0000000000000ULL) + 0x0010000000000000ULL)
    #define MM_NEG_ZERO(u) ((uint64_t)((u) == 0x8000000000000000ULL))
    #define MM_FLAGS(special, neg_zero) ((int)((special) >> 63) | ((neg_zero) ? 2 : 0))

    /* *flags: 1 if x[0 .. n - 1] holds a NaN or an infinity, 2 if it holds -0.0 (looked for
       only if `neg_zero`: SSE2 compares 64-bit integers slowly), or both */
    MM_BODY void mm_scan_body(const double* restrict x, Py_ssize_t n, int* flags,
                              int want_neg_zero) {
        uint64_t u, special = 0, neg_zero = 0;
        Py_ssize_t j;
        if (want_neg_zero)
            for (j = 0; j < n; j++) {
                memcpy(&u, x + j, sizeof u);
                special |= MM_SPECIAL(u);
                neg_zero |= MM_NEG_ZERO(u);
            }
        else
            for (j = 0; j < n; j++) {
                memcpy(&u, x + j, sizeof u);
                special |= MM_SPECIAL(u);
            }
        *flags = MM_FLAGS(special, neg_zero);
    }
    MM_DISPATCH(mm_scan, (const double* x, Py_ssize_t n, int* flags, int want_neg_zero),
                (x, n, flags, want_neg_zero))

    /* out[j] = best(u[j], v[j]) for j < n: the larger (is_min: the smaller), v on ties and
       whenever either is NaN (max_of, min_of) */
    #define MM_BEST(u, v, is_min) ((is_min) ? ((u) < (v) ? (u) : (v)) : ((u) > (v) ? (u) : (v)))
    MM_BODY void mm_best_pair(const double* restrict u, const double* restrict v,
                              Py_ssize_t n, double* restrict out, int is_min) {
        Py_ssize_t j;
        if (is_min)
            for (j = 0; j < n; j++)
                out[j] = MM_BEST(u[j], v[j], 1);
        else
            for (j = 0; j < n; j++)
                out[j] = MM_BEST(u[j], v[j], 0);
    }

    /* out[j] = best(best(u[j], u[j + a]), best(u[j + b], u[j + c])) for j < n */
    MM_BODY void mm_best_four(const double* restrict u, Py_ssize_t a, Py_ssize_t b,
                              Py_ssize_t c, Py_ssize_t n, double* restrict out, int is_min) {
        Py_ssize_t j;
        if (is_min)
            for (j = 0; j < n; j++)
                out[j] = MM_BEST(MM_BEST(u[j], u[j + a], 1), MM_BEST(u[j + b], u[j + c], 1), 1);
        else
            for (j = 0; j < n; j++)
                out[j] = MM_BEST(MM_BEST(u[j], u[j + a], 0), MM_BEST(u[j + b], u[j + c], 0), 0);
    }

    /* mm_best_four(z, 1, 2, 3, n, out, is_min), and *flags as mm_scan gives them for z[0 ..
       n + 2], in the same pass over z */
    MM_BODY void mm_best_four_scan(const double* restrict z, Py_ssize_t n,
                                   double* restrict out, int is_min, int* flags) {
        uint64_t u, special = 0, neg_zero = 0;
        Py_ssize_t j;
        mm_scan_body(z, 3, flags, 1);
        if (is_min)
            for (j = 0; j < n; j++) {
                out[j] = MM_BEST(MM_BEST(z[j], z[j + 1], 1), MM_BEST(z[j + 2], z[j + 3], 1), 1);
                memcpy(&u, z + j + 3, sizeof u);
                special |= MM_SPECIAL(u);
                neg_zero |= MM_NEG_ZERO(u);
            }
        else
            for (j = 0; j < n; j++) {
                out[j] = MM_BEST(MM_BEST(z[j], z[j + 1], 0), MM_BEST(z[j + 2], z[j + 3], 0), 0);
                memcpy(&u, z + j + 3, sizeof u);
                special |= MM_SPECIAL(u);
                neg_zero |= MM_NEG_ZERO(u);
            }
        *flags |= MM_FLAGS(special, neg_zero);
    }

    /* out[o] = the best of z[o .. o + p - 1] for o < n (z holds n + p - 1 values), by
       doubling: m_w[j], the best of z[j .. j + w - 1], for w = 4 (from z), 8, ... up to
       the w with 2w <= p < 4w; then the best of m_w at o, o + w, o + p - 2w and o + p - w,
       windows that overlap and cover the window (p < 8: by pairs up to the largest power
       of two <= p, then two windows). The same value as any other order of comparisons,
       bit for bit, unless the window holds a NaN (the caller masks those) or signed zeros
       (the caller ignores out then). a, b: scratch of n + p - 1 values each. *flags: as
       mm_scan gives them for z. */
    MM_BODY void mm_window_best_body(const double* z, Py_ssize_t n, Py_ssize_t p, double* a,
                                     double* b, double* out, int is_min, int* flags) {
        Py_ssize_t len = n + p - 1, w = 1;
        const double* src = z;
        double* dst = a;
        if (p < 8)
            mm_scan_body(z, len, flags, 1);
        else {
            len -= 3;
            mm_best_four_scan(z, len, a, is_min, flags);
            src = a;
            dst = b;
            w = 4;
        }
        while (p >= 8 ? 4 * w <= p : 2 * w <= p) {
            len -= w;
            mm_best_pair(src, src + w, len, dst, is_min);
            src = dst;
            dst = dst == a ? b : a;
            w *= 2;
        }
        if (p >= 8)
            mm_best_four(src, w, p - 2 * w, p - w, n, out, is_min);
        else
            mm_best_pair(src, src + (p - w), n, out, is_min);
    }
    MM_DISPATCH(mm_window_best, (const double* z, Py_ssize_t n, Py_ssize_t p, double* a,
                                 double* b, double* out, int is_min, int* flags),
                (z, n, p, a, b, out, is_min, flags))

    """
    bint HAS_AVX2 "MM_AVX2"
    bint has_avx2 "mm_has_avx2"() noexcept nogil
    Py_ssize_t var_steps "mm_var_steps"(double* d, Py_ssize_t limit, double ratio, double* m2,
                                        double* peak, double* older, double* term,
                                        Py_ssize_t* half) noexcept nogil
    void prefetch "mm_prefetch"(const double* p, Py_ssize_t n, int write) noexcept nogil
    double welford "mm_welford"(double x, double x_out, double mean,
                                double mean_old) noexcept nogil
    void welford_terms "mm_welford_terms"(const double* x, const double* xo, const double* mean,
                                          Py_ssize_t n, double* d, int* repeats) noexcept nogil
    void window_sums "mm_window_sums"(const double* h, const double* h0, const double* l,
                                      const double* l0, Py_ssize_t n, double scale,
                                      double* out) noexcept nogil
    void bands_of "mm_bands"(const double* mid, const double* sd, Py_ssize_t n, double up,
                             double dn, double* upper, double* middle,
                             double* lower) noexcept nogil

    void sqrt_scaled "mm_sqrt_scaled"(const double* m2, Py_ssize_t n, double inv_p,
                                      double factor, double* sd) noexcept nogil
    void window_best "mm_window_best"(const double* z, Py_ssize_t n, Py_ssize_t p, double* a,
                                      double* b, double* out, int is_min,
                                      int* flags) noexcept nogil
    void scan_values "mm_scan"(const double* x, Py_ssize_t n, int* flags,
                               int want_neg_zero) noexcept nogil


# ------------------------------------------------------------------------ window sum
#
# The inputs are cut into segments of `seg` values (a power of two >= 4 * period, position
# k * seg ... from the last clear); the compensated prefix sum starts afresh in each. A
# window inside one segment is the difference of two prefix sums; a window that starts in
# the previous segment is (that segment's total - its prefix sum at the start) + the
# current prefix sum. Segments make the sums independent, so `winsum_feed` computes two
# of them at once in the two lanes of a vector register (csum_lanes, below); one value at
# a time, `winsum_push` does exactly the same operations.

cdef extern from *:
    """
    /* The compensated prefix sums (TwoSum, as csum_add) of the segments x[0 .. seg - 1]
       and x[seg .. 2 seg - 1], side by side in the two lanes of one vector register where
       the compiler has vector extensions (the same IEEE operations): H[s * seg + t] and
       L[s * seg + t] after t + 1 values of segment s. */
    static void mm_csum_lanes(const double* x, Py_ssize_t seg, double* H, double* L) {
        const double* b = x + seg;
        Py_ssize_t t;
    #if defined(__GNUC__) || defined(__clang__)
        typedef double mm_v2d __attribute__((vector_size(16)));
        mm_v2d hi = {0.0, 0.0}, lo = {0.0, 0.0}, s, z;
        for (t = 0; t < seg; t++) {
            mm_v2d v = {x[t], b[t]};
            s = hi + v;
            z = s - hi;
            lo += (hi - (s - z)) + (v - z);
            hi = s;
            H[t] = hi[0]; H[seg + t] = hi[1];
            L[t] = lo[0]; L[seg + t] = lo[1];
        }
    #else
        double h0 = 0.0, l0 = 0.0, h1 = 0.0, l1 = 0.0, s, z;
        for (t = 0; t < seg; t++) {
            s = h0 + x[t]; z = s - h0; l0 += (h0 - (s - z)) + (x[t] - z); h0 = s;
            s = h1 + b[t]; z = s - h1; l1 += (h1 - (s - z)) + (b[t] - z); h1 = s;
            H[t] = h0; H[seg + t] = h1; L[t] = l0; L[seg + t] = l1;
        }
    #endif
    }

    #if MM_AVX2
    /* a 4 x 4 block of doubles, rows to columns */
    #define MM_TRANSPOSE4(a, b, c, d) do { \
        __m256d t0_ = _mm256_unpacklo_pd(a, b), t1_ = _mm256_unpackhi_pd(a, b); \
        __m256d t2_ = _mm256_unpacklo_pd(c, d), t3_ = _mm256_unpackhi_pd(c, d); \
        a = _mm256_permute2f128_pd(t0_, t2_, 0x20); b = _mm256_permute2f128_pd(t1_, t3_, 0x20); \
        c = _mm256_permute2f128_pd(t0_, t2_, 0x31); d = _mm256_permute2f128_pd(t1_, t3_, 0x31); \
    } while (0)
    #define MM_TWOSUM(hi, lo, v, H) do { \
        __m256d s_ = _mm256_add_pd(hi, v), z_ = _mm256_sub_pd(s_, hi); \
        lo = _mm256_add_pd(lo, _mm256_add_pd(_mm256_sub_pd(hi, _mm256_sub_pd(s_, z_)), \
                                             _mm256_sub_pd(v, z_))); \
        hi = s_; H = hi; \
    } while (0)
    /* mm_csum_lanes for four segments in the four lanes of an AVX2 register, four values of
       each at a time (read and written as 4 x 4 blocks); seg a multiple of 4 */
    __attribute__((target("avx2"))) static void mm_csum_quads(const double* x, Py_ssize_t seg,
                                                              double* H, double* L) {
        __m256d hi = _mm256_setzero_pd(), lo = _mm256_setzero_pd();
        __m256d a, b, c, d, h0, h1, h2, h3, l0, l1, l2, l3;
        Py_ssize_t t;
        for (t = 0; t < seg; t += 4) {
            a = _mm256_loadu_pd(x + t);
            b = _mm256_loadu_pd(x + seg + t);
            c = _mm256_loadu_pd(x + 2 * seg + t);
            d = _mm256_loadu_pd(x + 3 * seg + t);
            MM_TRANSPOSE4(a, b, c, d);
            MM_TWOSUM(hi, lo, a, h0); l0 = lo;
            MM_TWOSUM(hi, lo, b, h1); l1 = lo;
            MM_TWOSUM(hi, lo, c, h2); l2 = lo;
            MM_TWOSUM(hi, lo, d, h3); l3 = lo;
            MM_TRANSPOSE4(h0, h1, h2, h3);
            MM_TRANSPOSE4(l0, l1, l2, l3);
            _mm256_storeu_pd(H + t, h0);
            _mm256_storeu_pd(H + seg + t, h1);
            _mm256_storeu_pd(H + 2 * seg + t, h2);
            _mm256_storeu_pd(H + 3 * seg + t, h3);
            _mm256_storeu_pd(L + t, l0);
            _mm256_storeu_pd(L + seg + t, l1);
            _mm256_storeu_pd(L + 2 * seg + t, l2);
            _mm256_storeu_pd(L + 3 * seg + t, l3);
        }
    }
    /* 4 segments at a time through mm_csum_quads where the CPU runs it, else 2 */
    static int mm_csum_width(void) { return mm_has_avx2() ? 4 : 2; }
    static void mm_csum_segments(const double* x, Py_ssize_t seg, double* H, double* L,
                                 int width) {
        if (width == 4)
            mm_csum_quads(x, seg, H, L);
        else
            mm_csum_lanes(x, seg, H, L);
    }
    #else
    static int mm_csum_width(void) { return 2; }
    static void mm_csum_segments(const double* x, Py_ssize_t seg, double* H, double* L,
                                 int width) {
        mm_csum_lanes(x, seg, H, L);
    }
    #endif
    """
    int csum_width "mm_csum_width"() noexcept nogil
    void csum_segments "mm_csum_segments"(const double* x, Py_ssize_t seg, double* H, double* L,
                                          int width) noexcept nogil


# Segments go through csum_segments only up to this segment length (its scratch is
# 8 * seg values); beyond it, one value at a time.
cdef isize LANES_MAX_SEG = 1 << 16
# winsum_feed goes one value at a time below this many values (no scratch to allocate)
cdef isize SPAN_MIN = 32


cdef struct WinSum:
    CSum total          # compensated sum of the inputs since the current segment began
    CSum last           # the previous segment's total
    double* past        # (hi, lo) of total after input k at 2 * (k & mask)
    isize mask          # capacity - 1; the capacity is a power of two > period
    isize period
    isize seg           # segment length: a power of two >= 4 * period
    isize count         # inputs since the last clear


cdef int winsum_alloc(WinSum* w, isize period) except -1:
    cdef isize cap = pow2_at_least(period + 1)
    w.mask = cap - 1
    w.period = period
    w.seg = pow2_at_least(4 * period if 4 * period > 256 else 256)
    w.count = 0
    csum_clear(&w.total)
    w.past = <double*>calloc(2 * cap, sizeof(double))
    if w.past == NULL:
        raise MemoryError(f"cannot allocate a window of {period} values")
    winsum_clear(w)
    return 0


cdef inline void winsum_free(WinSum* w) noexcept nogil:
    free(w.past)
    w.past = NULL


cdef inline void winsum_clear(WinSum* w) noexcept nogil:
    csum_clear(&w.total)
    csum_clear(&w.last)
    w.past[0] = 0.0
    w.past[1] = 0.0
    w.count = 0


cdef inline double window_of(double hi, double lo, double then_hi, double then_lo,
                             double last_hi, double last_lo, isize j, isize base) noexcept nogil:
    """The sum of the inputs j .. k - 1 (0-based) from prefix sums counted from the start of
    their segment: (hi, lo) after input k - 1, (then_hi, then_lo) after input j - 1 and
    (last_hi, last_lo) the previous segment's total; base: the current segment's first input."""
    if j > base:
        return (hi - then_hi) + (lo - then_lo)
    if j == base:
        return hi + lo
    return ((last_hi - then_hi) + (last_lo - then_lo)) + (hi + lo)


cdef inline double winsum_push(WinSum* w, double x) noexcept nogil:
    """Feed x; the sum of the last `period` inputs (meaningless until `period` were fed)."""
    cdef double* now
    cdef const double* then
    cdef double s
    cdef isize k, j
    csum_add(&w.total, x)
    w.count += 1
    k = w.count
    j = k - w.period
    now = w.past + 2 * (k & w.mask)
    now[0] = w.total.hi
    now[1] = w.total.lo
    then = w.past + 2 * (j & w.mask)
    s = window_of(w.total.hi, w.total.lo, then[0], then[1], w.last.hi, w.last.lo, j,
                  (k - 1) & ~(w.seg - 1))
    if (k & (w.seg - 1)) == 0:      # the segment is complete
        w.last = w.total
        csum_clear(&w.total)
    return s


# The batch path: the prefix sums (H, L) of a run of inputs into scratch, then every window
# sum from them. H[k], L[k]: the prefix sum after the k-th input of the run, from its
# segment's start; k = 1 - period .. 0: the inputs before the run, read from the ring.

cdef inline void winsum_ring_out(const WinSum* w, double* H, double* L) noexcept nogil:
    """H[t], L[t] for t = 1 - period .. 0 from the ring."""
    cdef isize t, c
    for t in range(1 - w.period, 1):
        c = (w.count + t) & w.mask
        H[t] = w.past[2 * c]
        L[t] = w.past[2 * c + 1]


cdef inline void winsum_ring_in(WinSum* w, isize m, const double* H,
                                const double* L) noexcept nogil:
    """After a run of m inputs: count and the ring as winsum_push leaves them."""
    cdef isize t, c
    w.count += m
    for t in range(1 - w.period, 1):
        c = (w.count + t) & w.mask
        w.past[2 * c] = H[m + t]
        w.past[2 * c + 1] = L[m + t]


cdef inline void winsum_windows(const double* H, const double* L, double last_hi,
                                double last_lo, isize k0, isize k1, isize cut, isize p,
                                double scale, double* out) noexcept nogil:
    """out[k - 1] = the window sum after the k-th input times scale, for k = k0 .. k1 in
    one segment (window_of's operations): a window that starts in the previous segment
    (k < cut) adds that segment's remainder to (H[k], L[k]); k = cut: the window is the
    segment so far; k > cut: a difference of prefix sums. (last_hi, last_lo): the previous
    segment's total."""
    cdef isize k
    for k in range(k0, min_isize(cut, k1 + 1)):
        out[k - 1] = (((last_hi - H[k - p]) + (last_lo - L[k - p])) + (H[k] + L[k])) * scale
    if k0 <= cut <= k1:
        out[cut - 1] = (H[cut] + L[cut]) * scale
    k = max_isize(cut + 1, k0)
    if k <= k1:
        window_sums(H + k, H + k - p, L + k, L + k - p, k1 + 1 - k, scale, out + k - 1)


cdef void winsum_lanes(WinSum* w, const double* x, double scale, double* out, double* hs,
                       int width) noexcept nogil:
    """width * seg calls of winsum_push from the start of a segment (width: 2 or 4), each
    window sum times `scale`: the segments' prefix sums at once (csum_segments), then every
    window from them. hs: room for winsum_scratch values."""
    cdef isize seg = w.seg, p = w.period
    cdef isize k, part
    cdef double* H = hs + p - 1
    cdef double* L = hs + (p + 4 * seg) + p - 1
    winsum_ring_out(w, H, L)
    csum_segments(x, seg, H + 1, L + 1, width)
    for part in range(width):
        k = part * seg
        winsum_windows(H, L, H[k], L[k], k + 1, k + seg, k + p, p, scale, out)
    for k in range(1, p - w.count):                     # the warm-up
        out[k - 1] = NAN
    winsum_ring_in(w, width * seg, H, L)
    w.last.hi = H[width * seg]
    w.last.lo = L[width * seg]
    csum_clear(&w.total)


cdef isize winsum_span(WinSum* w, const double* x, isize n, double scale, double* out,
                       double* hs) noexcept nogil:
    """min(n, what is left of the current segment) calls of winsum_push, each window sum
    times `scale`; returns how many. hs: as winsum_lanes's."""
    cdef isize seg = w.seg, p = w.period, o = w.count & (w.seg - 1)
    cdef isize m = min_isize(n, seg - o), k
    cdef double* H = hs + p - 1
    cdef double* L = hs + (p + 4 * seg) + p - 1
    cdef CSum a = w.total
    winsum_ring_out(w, H, L)
    for k in range(1, m + 1):
        csum_add(&a, x[k - 1])
        H[k] = a.hi
        L[k] = a.lo
    winsum_windows(H, L, w.last.hi, w.last.lo, 1, m, p - o, p, scale, out)
    for k in range(1, min_isize(p - w.count, m + 1)):     # the warm-up
        out[k - 1] = NAN
    winsum_ring_in(w, m, H, L)
    if o + m == seg:        # the segment is complete
        w.last = a
        csum_clear(&w.total)
    else:
        w.total = a
    return m


cdef void winsum_run(WinSum* w, const double* x, isize n, double scale, double* out,
                     double* hs) noexcept nogil:
    """n calls of winsum_push, each sum times `scale` (1: the sum itself), NaN where fewer
    than `period` inputs were fed. With hs, scratch of winsum_scratch values: whole groups
    of 4 (AVX2) or 2 segments through winsum_lanes, the rest a segment's part at a time
    (winsum_span)."""
    cdef isize i = 0, seg = w.seg, p = w.period
    cdef WinSum q = w[0]        # a local copy the compiler can keep in registers
    cdef double s
    cdef int width = csum_width()
    while i < n:
        if hs == NULL:
            s = winsum_push(&q, x[i])
            out[i] = s * scale if q.count >= p else NAN
            i += 1
        elif (q.count & (seg - 1)) == 0 and n - i >= 2 * seg:
            if n - i < width * seg:
                width = 2
            winsum_lanes(&q, x + i, scale, out + i, hs, width)
            i += width * seg
        else:
            i += winsum_span(&q, x + i, n - i, scale, out + i, hs)
    w[0] = q


cdef inline isize winsum_scratch(const WinSum* w) noexcept nogil:
    """The scratch winsum_run needs for segment pairs; 0: they go one value at a time."""
    return 2 * (w.period + 4 * w.seg) if w.seg <= LANES_MAX_SEG else 0


cdef void winsum_feed(WinSum* w, const double* x, isize n, double scale,
                      double* out) noexcept nogil:
    """winsum_run with scratch of its own unless n is small."""
    cdef double* hs = NULL
    if n >= SPAN_MIN and winsum_scratch(w) > 0:
        hs = <double*>malloc(winsum_scratch(w) * sizeof(double))
    winsum_run(w, x, n, scale, out, hs)
    free(hs)


# --------------------------------------------------------------- mirrored value ring

cdef struct Ring:
    double* buf     # 2 * n slots; a value written to slot k also goes to slot k + n
    isize n
    isize pos       # next slot to write; once full, the slot of the oldest value
    isize count     # values pushed since the last clear


cdef int ring_alloc(Ring* r, isize n) except -1:
    r.buf = <double*>malloc(2 * n * sizeof(double))
    if r.buf == NULL:
        raise MemoryError(f"cannot allocate a window of {n} values")
    r.n = n
    r.pos = 0
    r.count = 0
    return 0


cdef inline void ring_clear(Ring* r) noexcept nogil:
    r.pos = 0
    r.count = 0


cdef inline double ring_oldest(const Ring* r) noexcept nogil:
    return r.buf[r.pos]


cdef inline void ring_push(Ring* r, double x) noexcept nogil:
    r.buf[r.pos] = x
    r.buf[r.pos + r.n] = x
    r.pos += 1
    if r.pos == r.n:
        r.pos = 0
    r.count += 1


cdef inline const double* ring_window(const Ring* r) noexcept nogil:
    """The last n values, oldest first (once n values were pushed)."""
    return r.buf + r.pos


# ---------------------------------------------------------- rolling population variance

cdef struct VarState:
    WinSum sum
    double mean     # window mean, sum * inv_p
    double m2       # sum of squared deviations from the window mean
    double peak     # largest m2 since the last exact recomputation
    double older    # m2 before the first step of the current pair (var_slide)
    double term     # the Welford term of that step
    double last     # the previous input
    double inv_p    # 1 / period
    isize run       # trailing inputs equal to `last`
    isize since     # values since the last exact recomputation
    isize half      # 1: the next step completes a pair (var_slide)
    isize resync_every


cdef int var_alloc(VarState* v, isize period) except -1:
    winsum_alloc(&v.sum, period)
    v.inv_p = 1.0 / <double>period
    v.resync_every = period if period > RESYNC_EVERY else RESYNC_EVERY
    var_clear(v)
    return 0


cdef inline void var_clear(VarState* v) noexcept nogil:
    winsum_clear(&v.sum)
    v.mean = 0.0
    v.m2 = 0.0
    v.peak = 0.0
    v.older = 0.0
    v.term = 0.0
    v.last = NAN
    v.run = 0
    v.since = 0
    v.half = 0


cdef inline double sq_dev_sum(const double* w, isize n, double mean) noexcept nogil:
    cdef double acc = 0.0, d
    cdef isize j
    for j in range(n):
        d = w[j] - mean
        acc += d * d
    return acc


cdef inline void var_push(VarState* v, double x, double x_out, const double* window) noexcept nogil:
    """Feed x. Once the window is full, `window` is it after x (oldest first) and x_out is
    the value x pushed out of it (unused when x fills the window)."""
    cdef isize p = v.sum.period
    cdef double mean_old = v.mean
    v.mean = winsum_push(&v.sum, x) * v.inv_p
    if v.sum.count < p:
        v.run = v.run + 1 if x == v.last else 1
        v.last = x
        return
    if v.sum.count == p:
        v.run = v.run + 1 if x == v.last else 1
        v.last = x
        v.m2 = sq_dev_sum(window, p, v.mean)
        v.peak = v.m2
        v.since = 0
        v.half = 0
        var_settle(v, window)
    else:
        var_slide(v, x, welford(x, x_out, v.mean, mean_old), window, True)


cdef inline void var_slide(VarState* v, double x, double term, const double* window,
                           bint track_run) noexcept nogil:
    """The rest of var_push once the window was full before x: v.mean is already the mean
    after x; term: the Welford term of x (welford). The terms are added two steps at a time
    (as the EMA smooths): m2 + term at the first step of a pair, then older + (the first
    term + term) from the m2 before the pair, which leaves one addition per two values on
    the dependency chain; an exact recomputation starts a new pair. Without `track_run`,
    the caller knows that x and the period - 1 values before it are not all equal, and
    v.run and v.last stay as they are."""
    if track_run:
        v.run = v.run + 1 if x == v.last else 1
        v.last = x
    if v.half:
        v.m2 = v.older + (v.term + term)
    else:
        v.older = v.m2
        v.term = term
        v.m2 = v.m2 + term
    v.half = 1 - v.half
    v.since += 1
    var_settle(v, window)


cdef inline void var_settle(VarState* v, const double* window) noexcept nogil:
    """0 over a window of one repeated value; the exact sum of squared deviations when the
    running one fell far below its peak or is due."""
    cdef isize p = v.sum.period
    if v.run >= p:
        v.m2 = v.mean - v.mean          # 0, or NaN once the sum is poisoned
        v.peak = v.m2
        v.since = 0
        v.half = 0
    elif v.m2 < v.peak * RESYNC_RATIO or v.since >= v.resync_every:
        v.m2 = sq_dev_sum(window, p, v.mean)
        v.peak = v.m2
        v.since = 0
        v.half = 0
    else:
        v.peak = max_of(v.m2, v.peak)


cdef inline double var_std(const VarState* v) noexcept nogil:
    return sqrt(v.m2 * v.inv_p)


cdef inline void bands_at(double mid, double sd, double up, double dn, double* upper,
                          double* middle, double* lower) noexcept nogil:
    middle[0] = mid
    upper[0] = mid + sd * up
    lower[0] = mid - sd * dn


# ------------------------------------------------------------------ rolling max and min
#
# Van Herk / Gil-Werman: the inputs are cut into blocks of `period` values (block k holds
# positions k*period ... k*period + period - 1). A window ending at position i covers a
# suffix of the previous block and a prefix of the current one, so its extreme is
# best(suffix extreme of the previous block, prefix extreme of the current block). The
# prefix extreme is kept as values arrive; the suffix extremes of a block are computed once,
# when the block is complete (O(period) every period values). O(1) amortised per value, as
# a monotonic deque, but without the deque's data-dependent branches and dependent loads:
# 7 to 10 times faster than our deque version was on random-walk prices.

cdef struct Extreme:
    double* buf         # the current block, by position % period
    double* suf         # suf[s]: extreme of the previous block's slots s .. period - 1;
                        # period more values after it: scratch for extreme_feed
    double prefix       # extreme of the current block so far
    double empty        # -inf for max, +inf for min: what a NaN counts as
    isize period
    isize slot          # position % period of the next input
    isize count         # inputs seen
    isize valid_from    # first position whose window is full and free of NaN
    bint is_min


cdef int extreme_alloc(Extreme* e, isize period) except -1:
    e.buf = <double*>malloc(period * sizeof(double))
    e.suf = <double*>malloc(2 * period * sizeof(double))
    if e.buf == NULL or e.suf == NULL:
        free(e.buf)
        free(e.suf)
        e.buf = NULL
        e.suf = NULL
        raise MemoryError(f"cannot allocate a window of {period} values")
    return 0


cdef inline void extreme_free(Extreme* e) noexcept nogil:
    free(e.buf)
    free(e.suf)
    e.buf = NULL
    e.suf = NULL


cdef inline void extreme_clear(Extreme* e, isize period, bint is_min) noexcept nogil:
    e.empty = INFINITY if is_min else -INFINITY
    e.prefix = e.empty
    e.period = period
    e.slot = 0
    e.count = 0
    e.valid_from = period - 1
    e.is_min = is_min


cdef inline void extreme_close_block(Extreme* e, bint is_min) noexcept nogil:
    """The block in buf is complete: its suffix extremes."""
    cdef isize s = e.period - 1
    cdef double acc = e.buf[s]
    e.suf[s] = acc
    while s > 0:
        s -= 1
        acc = best_of(e.buf[s], acc, is_min)
        e.suf[s] = acc


cdef inline double extreme_push(Extreme* e, double x, bint is_min) noexcept nogil:
    """Feed x; the maximum (minimum if is_min) of the last `period` inputs, NaN in the
    warm-up or while a NaN is inside the window. `is_min` must equal e.is_min."""
    cdef isize i = e.count
    cdef isize s = e.slot
    cdef double out
    if s == 0:
        if i > 0:
            extreme_close_block(e, is_min)
        e.prefix = e.empty
    if is_nan(x):
        e.valid_from = i + e.period
        x = e.empty
    e.buf[s] = x
    e.prefix = best_of(x, e.prefix, is_min)
    if s == e.period - 1:
        out = e.prefix
        e.slot = 0
    else:
        out = best_of(e.suf[s + 1], e.prefix, is_min)
        e.slot = s + 1
    e.count = i + 1
    if i < e.valid_from:
        return NAN
    return out


cdef inline void extreme_mask(Extreme* q, const double* x, double* out, bint special) noexcept nogil:
    """After the outputs for the whole block x[0 .. period - 1], inputs q.count ...: NaN
    where the window holds a NaN, as extreme_push gives (`special`: x may hold one)."""
    cdef isize j, first, p = q.period
    for j in range(min_isize(q.valid_from - q.count, p)):     # a NaN before this block
        out[j] = NAN
    if not special:
        return
    first = 0
    while first < p and not is_nan(x[first]):
        first += 1
    if first == p:
        return
    j = p - 1
    while not is_nan(x[j]):
        j -= 1
    q.valid_from = q.count + j + p
    for j in range(first, p):
        out[j] = NAN


cdef inline void extreme_blocks(const double* prev, const double* x, isize p, double* suf,
                                double empty, double* out, bint two, bint is_min) noexcept nogil:
    """The outputs for the whole block x[0 .. p - 1] after the block prev (and, if `two`, for
    the block after it as well, the two interleaved): what extreme_push computes, the same
    operations in the same order, for windows free of NaN. suf has room for 2 * p values."""
    cdef isize s = p - 1
    cdef double* suf2 = suf + p
    cdef const double* xb = x + p
    cdef double acc1 = prev[s], acc2 = x[s]
    cdef double pa = empty, pb = empty
    suf[s] = acc1
    suf2[s] = acc2
    while s > 1:
        s -= 1
        acc1 = best_of(prev[s], acc1, is_min)
        suf[s] = acc1
        if two:
            acc2 = best_of(x[s], acc2, is_min)
            suf2[s] = acc2
    for s in range(p - 1):
        pa = best_of(x[s], pa, is_min)
        out[s] = best_of(suf[s + 1], pa, is_min)
        if two:
            pb = best_of(xb[s], pb, is_min)
            out[p + s] = best_of(suf2[s + 1], pb, is_min)
    out[p - 1] = best_of(x[p - 1], pa, is_min)
    if two:
        out[2 * p - 1] = best_of(xb[p - 1], pb, is_min)


# Short windows on a CPU with AVX2 go by doubling instead (window_best over chunks of
# whole blocks, about DOUBLING_CHUNK values), unless the chunk's windows hold a -0.0: then
# the maximum of +0.0 and -0.0 depends on the order of comparisons, and only the blocks'
# order is extreme_push's.
cdef isize DOUBLING_MAX_PERIOD = 128
cdef isize DOUBLING_CHUNK = 1024


cdef inline void extreme_feed(const double* x, isize n, Extreme* e, double* out,
                              bint is_min) noexcept nogil:
    """n calls of extreme_push. Whole blocks go through window_best or extreme_blocks, two
    at a time, reading the previous block from x; a NaN in a block only sets how far the
    output is NaN."""
    cdef isize i = 0, k, b
    cdef isize p = e.period
    cdef isize m = DOUBLING_CHUNK // p if p < DOUBLING_CHUNK else 1
    cdef int flags
    cdef double* scratch = NULL
    cdef Extreme q = e[0]     # a local copy the compiler can keep in registers
    cdef const double* prev = q.buf
    if p <= DOUBLING_MAX_PERIOD and n >= 3 * p and has_avx2():
        scratch = <double*>malloc(2 * (m + 1) * p * sizeof(double))
    while i < n and (q.slot != 0 or q.count == 0):
        out[i] = extreme_push(&q, x[i], is_min)
        i += 1
    while n - i >= p:
        if scratch != NULL and prev == x + i - p:
            b = m if m < (n - i) // p else (n - i) // p
            window_best(x + i - p + 1, b * p, p, scratch, scratch + (b + 1) * p, out + i,
                        is_min, &flags)
            if not flags & 2:       # else the blocks below overwrite out
                if flags & 1 or q.valid_from > q.count:     # a NaN may be in some window
                    for k in range(b):
                        extreme_mask(&q, x + i, out + i, flags & 1)
                        q.count += p
                        i += p
                else:
                    q.count += b * p
                    i += b * p
                prev = x + i - p
                continue
        if n - i >= 2 * p:
            extreme_blocks(prev, x + i, p, q.suf, q.empty, out + i, True, is_min)
            scan_values(x + i, 2 * p, &flags, False)
            extreme_mask(&q, x + i, out + i, flags & 1)
            q.count += p
            i += p
        else:
            extreme_blocks(prev, x + i, p, q.suf, q.empty, out + i, False, is_min)
            scan_values(x + i, p, &flags, False)
        extreme_mask(&q, x + i, out + i, flags & 1)
        prev = x + i
        q.count += p
        i += p
    free(scratch)
    if prev != q.buf:
        for k in range(p):      # the state extreme_push would have: NaN stored as empty
            q.buf[k] = q.empty if is_nan(prev[k]) else prev[k]
        q.prefix = q.empty
        for k in range(p):
            q.prefix = best_of(q.buf[k], q.prefix, is_min)
    while i < n:
        out[i] = extreme_push(&q, x[i], is_min)
        i += 1
    e[0] = q


cdef void extreme_kernel(const double* x, isize n, Extreme* e, double* out,
                         bint is_min) noexcept nogil:
    """extreme_feed, compiled once for max and once for min."""
    if is_min:
        extreme_feed(x, n, e, out, True)
    else:
        extreme_feed(x, n, e, out, False)


# ------------------------------------------------------------------------------- EMA

cdef struct EmaState:
    double k        # 2 / (period + 1)
    double keep     # 1 - k
    double keep2    # keep * keep
    double value    # the sum of the inputs during the warm-up, then the EMA
    double older    # the EMA one value before `value` (once warmed up)
    double t_last   # the last input times k (once warmed up)
    isize period
    isize count


@cython.cdivision(True)     # by period >= 1 or a checked non-zero
cdef inline void ema_clear(EmaState* e, isize period) noexcept nogil:
    e.k = 2.0 / <double>(period + 1)
    e.keep = 1.0 - e.k
    e.keep2 = e.keep * e.keep
    e.value = 0.0
    e.older = 0.0
    e.t_last = 0.0
    e.period = period
    e.count = 0


# Smoothing two steps at a time (EMA, ATR): the m-th smoothed value (m = 1, 2, ... after the
# seed A[0]) is A[m] = A[m-1] * keep + t[m] for odd m, and A[m-2] * keep^2 + (t[m-1] * keep +
# t[m]) for even m (EMA: keep = 1 - k, t = x * k; ATR: keep = (period - 1) / period, t = true
# range / period). Both are A[m-1] * keep + t[m] up to a few ulps (TA-Lib's EMA computes
# (x - ema) * k + ema); the even form depends on A[m-2], so the chain from one value to the
# next has one multiplication and one addition per two values.

cdef inline double smooth_odd(double prev, double keep, double t) noexcept nogil:
    return prev * keep + t


cdef inline double smooth_even(double older, double keep2, double t_last, double keep,
                               double t) noexcept nogil:
    return older * keep2 + (t_last * keep + t)


cdef inline double smooth_step(double* value, double* older, double* t_last, double keep,
                               double keep2, double t, bint odd) noexcept nogil:
    """One smoothing step of a state (`value`, `older`, `t_last`) with input term t; `odd`:
    the step m since the seed is odd. The EMA's and the ATR's streaming update."""
    cdef double v
    if odd:
        v = smooth_odd(value[0], keep, t)
    else:
        v = smooth_even(older[0], keep2, t_last[0], keep, t)
    older[0] = value[0]
    value[0] = v
    t_last[0] = t
    return v


cdef inline double ema_smooth(EmaState* e, double x, bint odd) noexcept nogil:
    """The EMA after x once warmed up; `odd`: the step m since the seed is odd."""
    return smooth_step(&e.value, &e.older, &e.t_last, e.keep, e.keep2, x * e.k, odd)


@cython.cdivision(True)     # by period >= 1 or a checked non-zero
cdef inline double ema_push(EmaState* e, double x) noexcept nogil:
    """TA-Lib EMA: seeded with the SMA of the first `period` inputs."""
    e.count += 1
    if e.count > e.period:
        return ema_smooth(e, x, (e.count - e.period) & 1)
    e.value += x
    if e.count < e.period:
        return NAN
    e.value = e.value / <double>e.period
    return e.value


cdef void ema_feed(EmaState* e, const double* x, isize n, double* out) noexcept nogil:
    """n calls of ema_push; once warmed up, two values at a time from an odd step on."""
    cdef isize i = 0
    cdef EmaState q = e[0]      # a local copy the compiler can keep in registers
    cdef double t1, t2, a0, a1
    while i < n and (q.count < q.period or (q.count + 1 - q.period) & 1 == 0):
        out[i] = ema_push(&q, x[i])
        i += 1
    if i + 1 < n:
        a0 = q.value
        while i + 1 < n:
            t1 = x[i] * q.k
            a1 = smooth_odd(a0, q.keep, t1)
            t2 = x[i + 1] * q.k
            a0 = smooth_even(a0, q.keep2, t1, q.keep, t2)
            out[i] = a1
            out[i + 1] = a0
            q.older = a1
            q.t_last = t2
            i += 2
            q.count += 2
        q.value = a0
    while i < n:
        out[i] = ema_push(&q, x[i])
        i += 1
    e[0] = q


# --------------------------------------------------------------- Wilder smoothing: RSI

cdef struct RsiState:
    double prev
    double gain     # average gain (a plain sum during the warm-up)
    double loss
    double keep     # (period - 1) / period
    double inv_p    # 1 / period
    isize period
    isize count


@cython.cdivision(True)     # by period >= 1 or a checked non-zero
cdef inline void rsi_clear(RsiState* r, isize period) noexcept nogil:
    r.prev = 0.0
    r.gain = 0.0
    r.loss = 0.0
    r.inv_p = 1.0 / <double>period
    r.keep = <double>(period - 1) * r.inv_p
    r.period = period
    r.count = 0


@cython.cdivision(True)     # by period >= 1 or a checked non-zero
cdef inline double rsi_push(RsiState* r, double x) noexcept nogil:
    """TA-Lib RSI: average gain and loss over the first `period` changes, then Wilder
    smoothing; 100 * gain / (gain + loss), 0 when both are 0."""
    cdef double d, up, down, total
    r.count += 1
    if r.count == 1:
        r.prev = x
        return NAN
    d = x - r.prev
    r.prev = x
    # TA-Lib's `if d < 0: loss -= d else: gain += d`, without a branch (the sign of a
    # price change is a coin toss): the other average gets + 0, which leaves it unchanged.
    down = (d - fabs(d)) * 0.5          # d if d < 0 else 0 (exact); NaN stays NaN
    up = d - down
    down = -down
    if r.count > r.period + 1:
        r.gain = r.gain * r.keep + up * r.inv_p
        r.loss = r.loss * r.keep + down * r.inv_p
    else:
        r.gain += up
        r.loss += down
        if r.count <= r.period:
            return NAN
        r.gain *= r.inv_p
        r.loss *= r.inv_p
    total = r.gain + r.loss
    if total != 0.0:
        return 100.0 * (r.gain / total)
    return 0.0


# --------------------------------------------------------------- Wilder smoothing: ATR

cdef struct AtrState:
    double prev_close
    double value    # the sum of true ranges during the warm-up, then the ATR
    double older    # the ATR one bar before `value` (while smoothing)
    double t_last   # the last true range times 1 / period (while smoothing)
    double keep     # (period - 1) / period
    double keep2    # keep * keep
    double inv_p    # 1 / period
    isize period
    isize count


@cython.cdivision(True)     # by period >= 1 or a checked non-zero
cdef inline void atr_clear(AtrState* a, isize period) noexcept nogil:
    a.prev_close = 0.0
    a.value = 0.0
    a.older = 0.0
    a.t_last = 0.0
    a.inv_p = 1.0 / <double>period
    a.keep = <double>(period - 1) * a.inv_p
    a.keep2 = a.keep * a.keep
    a.period = period
    a.count = 0


cdef inline double true_range(double high, double low, double prev_close) noexcept nogil:
    """TA-Lib TRANGE: max(high - low, |prev_close - high|, |prev_close - low|)."""
    return max_of(fabs(prev_close - low), max_of(fabs(prev_close - high), high - low))


cdef inline double atr_push(AtrState* a, double high, double low, double close) noexcept nogil:
    """TA-Lib ATR: the mean of the first `period` true ranges, then Wilder smoothing (two
    steps at a time, as the EMA)."""
    cdef double tr
    a.count += 1
    if a.count == 1:
        a.prev_close = close
        return NAN
    tr = true_range(high, low, a.prev_close)
    a.prev_close = close
    if a.count > a.period + 1:
        # m = count - period - 1 is odd when count - period is even
        return smooth_step(&a.value, &a.older, &a.t_last, a.keep, a.keep2, tr * a.inv_p,
                           (a.count - a.period) & 1 == 0)
    a.value += tr
    if a.count <= a.period:
        return NAN
    a.value *= a.inv_p
    return a.value


cdef void atr_feed(AtrState* a, const double* h, const double* l, const double* c, isize n,
                   double* out) noexcept nogil:
    """n calls of atr_push; smoothed bars two at a time from an odd step on."""
    cdef isize i = 0
    cdef AtrState q = a[0]      # a local copy the compiler can keep in registers
    cdef double t1, t2, a1, a2, a0, pc
    while i < n and (q.count <= q.period or (q.count + 1 - q.period) & 1):
        out[i] = atr_push(&q, h[i], l[i], c[i])
        i += 1
    if i + 1 < n:
        a0 = q.value
        pc = q.prev_close
        while i + 1 < n:
            t1 = true_range(h[i], l[i], pc) * q.inv_p
            a1 = smooth_odd(a0, q.keep, t1)
            t2 = true_range(h[i + 1], l[i + 1], c[i]) * q.inv_p
            a2 = smooth_even(a0, q.keep2, t1, q.keep, t2)
            pc = c[i + 1]
            out[i] = a1
            out[i + 1] = a2
            q.older = a1
            q.t_last = t2
            a0 = a2
            i += 2
            q.count += 2
        q.value = a0
        q.prev_close = pc
    while i < n:
        out[i] = atr_push(&q, h[i], l[i], c[i])
        i += 1
    a[0] = q


# ------------------------------------------------------------------------------ VWAP

cdef struct VwapState:
    CSum pv         # sum of typical price * volume
    CSum vol        # sum of volume


cdef inline void vwap_clear(VwapState* w) noexcept nogil:
    csum_clear(&w.pv)
    csum_clear(&w.vol)


@cython.cdivision(True)     # by period >= 1 or a checked non-zero
cdef inline double vwap_push(VwapState* w, double high, double low, double close,
                             double volume) noexcept nogil:
    cdef double vol
    csum_add(&w.pv, (high + low + close) / 3.0 * volume)
    csum_add(&w.vol, volume)
    vol = csum_get(&w.vol)
    if vol == 0.0:
        return NAN
    return csum_get(&w.pv) / vol


# ------------------------------------------------------------------------------ MACD

cdef struct MacdState:
    EmaState fast
    EmaState slow
    EmaState signal
    isize skip      # slow - fast: inputs the fast EMA ignores, so both EMAs start together
    isize count


cdef inline void macd_clear(MacdState* m, isize fast, isize slow, isize signal) noexcept nogil:
    ema_clear(&m.fast, fast)
    ema_clear(&m.slow, slow)
    ema_clear(&m.signal, signal)
    m.skip = slow - fast
    m.count = 0


cdef inline void macd_push(MacdState* m, double x, double* line, double* sig,
                           double* hist) noexcept nogil:
    """TA-Lib MACD: the fast EMA is seeded on the `fast` inputs ending where the slow EMA's
    seed ends; the signal is the EMA of the line; all three start at slow + signal - 2."""
    cdef double s, d, g
    cdef double f = NAN
    m.count += 1
    s = ema_push(&m.slow, x)
    if m.count > m.skip:
        f = ema_push(&m.fast, x)
    if m.count >= m.slow.period:
        d = f - s
        g = ema_push(&m.signal, d)
        if m.signal.count >= m.signal.period:
            line[0] = d
            sig[0] = g
            hist[0] = d - g
            return
    line[0] = NAN
    sig[0] = NAN
    hist[0] = NAN


cdef inline void macd_step(MacdState* q, double x, double* line, double* sig,
                           double* hist) noexcept nogil:
    """macd_push once all three EMAs are smoothing: the fast and slow EMAs are at the same
    step, the signal at its own."""
    cdef double s, f, d, g
    q.count += 1
    q.slow.count += 1
    q.fast.count += 1
    q.signal.count += 1
    s = ema_smooth(&q.slow, x, (q.slow.count - q.slow.period) & 1)
    f = ema_smooth(&q.fast, x, (q.slow.count - q.slow.period) & 1)
    d = f - s
    g = ema_smooth(&q.signal, d, (q.signal.count - q.signal.period) & 1)
    line[0] = d
    sig[0] = g
    hist[0] = d - g


cdef inline void macd_pairs(MacdState* q, const double* x, isize n, double* line, double* sig,
                            double* hist, bint signal_odd) noexcept nogil:
    """n // 2 * 2 calls of macd_step, two values at a time: the fast and slow EMAs take an odd
    then an even step; the signal too if `signal_odd`, else an even then an odd one."""
    cdef isize i
    cdef double d1, d2, g1, g2, u1, u2
    cdef double s0 = q.slow.value, f0 = q.fast.value
    cdef double g0 = q.signal.value, gold = q.signal.older, gt = q.signal.t_last
    cdef double s1, f1, ts1, tf1
    cdef double ts2 = q.slow.t_last, tf2 = q.fast.t_last
    for i in range(0, n - 1, 2):
        ts1 = x[i] * q.slow.k
        tf1 = x[i] * q.fast.k
        ts2 = x[i + 1] * q.slow.k
        tf2 = x[i + 1] * q.fast.k
        s1 = smooth_odd(s0, q.slow.keep, ts1)
        f1 = smooth_odd(f0, q.fast.keep, tf1)
        q.slow.older = s1
        q.fast.older = f1
        s0 = smooth_even(s0, q.slow.keep2, ts1, q.slow.keep, ts2)
        f0 = smooth_even(f0, q.fast.keep2, tf1, q.fast.keep, tf2)
        d1 = f1 - s1
        d2 = f0 - s0
        u1 = d1 * q.signal.k
        u2 = d2 * q.signal.k
        if signal_odd:
            g1 = smooth_odd(g0, q.signal.keep, u1)
            g2 = smooth_even(g0, q.signal.keep2, u1, q.signal.keep, u2)
            gold = g1
        else:
            g1 = smooth_even(gold, q.signal.keep2, gt, q.signal.keep, u1)
            g2 = smooth_odd(g1, q.signal.keep, u2)
            gold = g1
        gt = u2
        g0 = g2
        line[i] = d1
        line[i + 1] = d2
        sig[i] = g1
        sig[i + 1] = g2
        hist[i] = d1 - g1
        hist[i + 1] = d2 - g2
    i = n - n % 2
    q.count += i
    q.slow.count += i
    q.fast.count += i
    q.signal.count += i
    q.slow.value = s0
    q.fast.value = f0
    q.slow.t_last = ts2
    q.fast.t_last = tf2
    q.signal.value = g0
    q.signal.older = gold
    q.signal.t_last = gt


cdef void macd_feed(MacdState* m, const double* x, isize n, double* line, double* sig,
                    double* hist) noexcept nogil:
    """n calls of macd_push: the warm-up one at a time, then pairs of values from an odd
    step of the fast and slow EMAs on."""
    cdef isize i = 0
    cdef MacdState q = m[0]     # a local copy the compiler can keep in registers
    while i < n and q.signal.count < q.signal.period:
        macd_push(&q, x[i], line + i, sig + i, hist + i)
        i += 1
    if i < n and (q.slow.count + 1 - q.slow.period) & 1 == 0:
        macd_step(&q, x[i], line + i, sig + i, hist + i)
        i += 1
    if (q.signal.count + 1 - q.signal.period) & 1:
        macd_pairs(&q, x + i, n - i, line + i, sig + i, hist + i, True)
    else:
        macd_pairs(&q, x + i, n - i, line + i, sig + i, hist + i, False)
    i = n - (n - i) % 2 if i < n else n
    if i < n:
        macd_step(&q, x[i], line + i, sig + i, hist + i)
    m[0] = q


# ------------------------------------------------------------------ argument checking

cdef isize MAX_PERIOD = <isize>1 << 40


cdef inline int _check_period(isize period, str name) except -1:
    if period < 1:
        raise ValueError(f"{name} must be >= 1, got {period}")
    if period > MAX_PERIOD:
        raise ValueError(f"{name} must be <= {MAX_PERIOD}, got {period}")
    return 0


cdef double _check_finite(object value, str name) except? -1.0:
    cdef double v = value
    if not is_finite(v):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return v


cdef inline double* _out_ptr(object arr):
    """Data pointer of a fresh contiguous float64 array (NULL when empty)."""
    cdef double[::1] view = arr
    return &view[0] if view.shape[0] > 0 else NULL


cdef inline const double* _in_ptr(object arr):
    """Data pointer of a contiguous float64 array, read-only ones too (NULL when empty)."""
    cdef const double[::1] view = arr
    return &view[0] if view.shape[0] > 0 else NULL


# -------------------------------------------------------------------- batch functions
#
# Each batch function is a fresh streaming kernel fed the whole array (`vwap`: each session
# of it): one loop per kernel, and batch equals streaming by construction.

def rolling_sum(x, Py_ssize_t period):
    """Sum of the last `period` values (TA-Lib SUM); NaN for the first period - 1."""
    return RollingSum(period).update_many(x)


def sma(x, Py_ssize_t period):
    """Simple moving average (TA-Lib SMA); NaN for the first period - 1 values."""
    return SMA(period).update_many(x)


def rolling_std(x, Py_ssize_t period):
    """Rolling population standard deviation (TA-Lib STDDEV, nbdev=1); NaN for the first
    period - 1 values; exactly 0 over a window of one repeated value."""
    return RollingStd(period).update_many(x)


def bbands(x, Py_ssize_t period=20, nbdev_up=2.0, nbdev_dn=2.0):
    """Bollinger bands (TA-Lib BBANDS, SMA middle): (upper, middle, lower) with upper =
    middle + nbdev_up * std and lower = middle - nbdev_dn * std, std the population
    standard deviation; NaN for the first period - 1 values. middle equals `sma`."""
    return BBands(period, nbdev_up, nbdev_dn).update_many(x)


def rolling_max(x, Py_ssize_t period):
    """Maximum of the last `period` values (TA-Lib MAX); NaN for the first period - 1
    values and while a NaN is inside the window."""
    return RollingMax(period).update_many(x)


def rolling_min(x, Py_ssize_t period):
    """Minimum of the last `period` values (TA-Lib MIN); NaN for the first period - 1
    values and while a NaN is inside the window."""
    return RollingMin(period).update_many(x)


def ema(x, Py_ssize_t period):
    """Exponential moving average (TA-Lib EMA): alpha = 2 / (period + 1), seeded with the
    SMA of the first `period` values; NaN for the first period - 1 values."""
    return EMA(period).update_many(x)


def rsi(close, Py_ssize_t period=14):
    """Relative strength index (TA-Lib RSI, Wilder smoothing); NaN for the first `period`
    values; 0 when the average gain and the average loss are both 0."""
    return RSI(period).update_many(close)


def atr(high, low, close, Py_ssize_t period=14):
    """Average true range (TA-Lib ATR): the mean of the first `period` true ranges, then
    Wilder smoothing; NaN for the first `period` values."""
    return ATR(period).update_many(high, low, close)


def vwap(high, low, close, volume, session_ids):
    """Volume-weighted average price from the first bar of each session: cumulative
    sum(typical * volume) / sum(volume), typical = (high + low + close) / 3. A session
    starts wherever `session_ids` changes; NaN while the session's volume is 0."""
    h = f64_array("high", high)
    l = f64_array("low", low)
    c = f64_array("close", close)
    v = f64_array("volume", volume)
    s = int_array("session_ids", session_ids)
    same_length(h, "high", l, "low")
    same_length(h, "high", c, "close")
    same_length(h, "high", v, "volume")
    same_length(h, "high", s, "session_ids")
    out = np.empty(h.shape[0], dtype=np.float64)
    cdef isize n = h.shape[0]
    if n == 0:
        return out
    cdef VWAP kernel = VWAP()
    cdef const double* cols[4]
    cdef const double* ins[4]
    cdef double* op = _out_ptr(out)
    cdef double* out_a
    cdef isize a, b, j
    cols[0], cols[1], cols[2], cols[3] = _in_ptr(h), _in_ptr(l), _in_ptr(c), _in_ptr(v)
    cuts = [0, *(np.flatnonzero(s[1:] != s[:-1]) + 1).tolist(), n]
    for a, b in zip(cuts[:-1], cuts[1:]):    # one session each: the kernel starts afresh
        kernel.clear()
        for j in range(4):
            ins[j] = cols[j] + a
        out_a = op + a
        with nogil:
            kernel.feed(ins, b - a, &out_a)
    return out


def _vector_isa():
    """Which vector loops this CPU runs: 'avx2' or 'baseline' (SSE2 on x86-64, plain C
    elsewhere); the results are the same either way."""
    return "avx2" if has_avx2() else "baseline"


cdef int _check_macd(isize fast, isize slow, isize signal) except -1:
    _check_period(fast, "fast")
    _check_period(slow, "slow")
    _check_period(signal, "signal")
    if fast > slow:
        raise ValueError(f"fast must be <= slow, got fast={fast} and slow={slow}")
    return 0


def macd(x, Py_ssize_t fast=12, Py_ssize_t slow=26, Py_ssize_t signal=9):
    """MACD as TA-Lib computes it: (line, signal, hist), line = EMA(fast) - EMA(slow) with
    both EMAs starting at index slow - 1, signal = EMA(signal) of the line, hist = line -
    signal; all three NaN for the first slow + signal - 2 values."""
    return MACD(fast, slow, signal).update_many(x)


# ------------------------------------------------------------------ streaming classes
#
# Every streaming class is a `Stream` (kernels.pxd): its C-level `feed` advances it over a
# block of rows, and the Python `update_many` and the compiled indicator bank both go
# through it, so there is one loop per kernel.

cdef enum:
    FEED_MISSING = 1    # Stream._missing: the base feed ran (a subclass did not override it)
    CLEAR_MISSING = 2   # ... the base clear ran


cdef class Stream:
    """Base of the streaming kernels: `update_many`, `reset`, `period`, `ready` and the repr
    for all of them, and the C-level `feed` that `mismartera.ext.indicator_bank.KernelBank`
    drives."""

    cdef void _io(self, tuple inputs, tuple outputs, isize period, isize warmup):
        self.inputs = inputs
        self.outputs = outputs
        self.n_in = len(inputs)
        self.n_out = len(outputs)
        self._period = period
        self._warmup = warmup

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        """Not overridden: every output NaN, and the kernel is marked incomplete, which
        `require_kernel` refuses (it cannot raise here, without the GIL)."""
        cdef isize i, k
        self._missing |= FEED_MISSING
        for k in range(self.n_out):
            for i in range(n):
                outs[k][i] = NAN

    cdef void clear(self) noexcept nogil:
        self._missing |= CLEAR_MISSING

    cdef isize _count(self) noexcept nogil:
        return 0

    cdef tuple _params(self):
        return (("period", self._period),) if self._period else ()

    cdef int require_kernel(self) except -1:
        cdef const double* ins[MAX_COLUMNS]
        cdef double* outs[MAX_COLUMNS]
        cdef double nothing = NAN
        cdef isize j
        cdef bint has_io = 1 <= self.n_in <= MAX_COLUMNS and 1 <= self.n_out <= MAX_COLUMNS
        if not self._probed:
            for j in range(MAX_COLUMNS):
                ins[j] = &nothing
                outs[j] = &nothing
            self.feed(ins, 0, outs)     # no rows: only the base feed leaves a mark
            self._probed = True
        if has_io and not self._missing:
            return 0
        lacks = [what for what, missing in (
            ("its inputs and outputs (_io)", not has_io),
            ("feed", self._missing & FEED_MISSING),
            ("clear", self._missing & CLEAR_MISSING),
        ) if missing]
        raise TypeError(f"{type(self).__name__} is not a streaming kernel: a Stream subclass "
                        f"must be a cdef class that sets its inputs and outputs (_io) and "
                        f"overrides feed and clear; it lacks {' and '.join(lacks)}")

    @property
    def period(self) -> int:
        """The window length (EMA, RSI, ATR: the smoothing period); VWAP and MACD have
        none (AttributeError)."""
        if not self._period:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'period'")
        return self._period

    @property
    def ready(self) -> bool:
        """True once the warm-up is over since the last reset: `period` values fed (RSI and
        ATR: period + 1; MACD: slow + signal - 1)."""
        return self._warmup > 0 and self._count() >= self._warmup

    def __repr__(self):
        params = ", ".join(f"{name}={value!r}" for name, value in self._params())
        return f"{type(self).__name__}({params})"

    def update_many(self, *columns):
        """Feed many rows in order, one array per input column (`inputs`); what repeated
        `update` calls return: an array, or a tuple of arrays (`outputs`)."""
        cdef const double* ins[MAX_COLUMNS]
        cdef double* outs[MAX_COLUMNS]
        cdef isize j, n
        self.require_kernel()
        if len(columns) != self.n_in:
            raise TypeError(f"{type(self).__name__}.update_many takes {self.n_in} arrays "
                            f"({', '.join(self.inputs)}), got {len(columns)}")
        arrays = [f64_array(name, c) for c, name in zip(columns, self.inputs)]
        for j in range(1, self.n_in):
            same_length(arrays[0], self.inputs[0], arrays[j], self.inputs[j])
        n = arrays[0].shape[0]
        result = [np.empty(n, dtype=np.float64) for _ in range(self.n_out)]
        for j in range(self.n_in):
            ins[j] = _in_ptr(arrays[j])
        for j in range(self.n_out):
            outs[j] = _out_ptr(result[j])
        with nogil:
            self.feed(ins, n, outs)
        return result[0] if self.n_out == 1 else tuple(result)

    def reset(self):
        """Forget every value fed so far."""
        self.clear()
        self.require_kernel()


cdef tuple VALUE = ("value",)
cdef tuple X = ("x",)


@cython.final
cdef class RollingSum(Stream):
    """Streaming `rolling_sum`: `update(x)` returns the sum of the last `period` values."""

    cdef WinSum _sum

    def __cinit__(self, Py_ssize_t period):
        _check_period(period, "period")
        winsum_alloc(&self._sum, period)
        self._io(X, VALUE, period, period)

    def __dealloc__(self):
        winsum_free(&self._sum)

    cpdef double update(self, double x):
        """Feed one value; the window sum, NaN until `period` values were fed."""
        cdef double s = winsum_push(&self._sum, x)
        return s if self._sum.count >= self._sum.period else NAN

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        winsum_feed(&self._sum, ins[0], n, 1.0, outs[0])

    cdef void clear(self) noexcept nogil:
        winsum_clear(&self._sum)

    cdef isize _count(self) noexcept nogil:
        return self._sum.count


@cython.final
cdef class SMA(Stream):
    """Streaming `sma`: `update(x)` returns the mean of the last `period` values."""

    cdef WinSum _sum
    cdef double _scale

    def __cinit__(self, Py_ssize_t period):
        _check_period(period, "period")
        winsum_alloc(&self._sum, period)
        self._scale = 1.0 / <double>period
        self._io(X, VALUE, period, period)

    def __dealloc__(self):
        winsum_free(&self._sum)

    cpdef double update(self, double x):
        """Feed one value; the window mean, NaN until `period` values were fed."""
        cdef double s = winsum_push(&self._sum, x)
        return s * self._scale if self._sum.count >= self._sum.period else NAN

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        winsum_feed(&self._sum, ins[0], n, self._scale, outs[0])

    cdef void clear(self) noexcept nogil:
        winsum_clear(&self._sum)

    cdef isize _count(self) noexcept nogil:
        return self._sum.count


cdef inline void dispersion_push(VarState* v, Ring* r, double x) noexcept nogil:
    """Feed x to a rolling variance and the ring of its window's values."""
    cdef double oldest = ring_oldest(r)     # pushed out once the ring is full
    ring_push(r, x)
    var_push(v, x, oldest, ring_window(r))




# RollingStd and BBands feed a chunk of values at a time (whole groups of window-sum
# segments, about 1,000 values) through passes that stay in cache: the window means
# (winsum_run), the Welford terms (a vector loop), the running variance with its checks
# (the only loop from one value to the next), then the square roots and the bands (vector
# loops). The values leaving the window, and the window itself, are read from the input.

cdef inline isize dispersion_chunk(const WinSum* w) noexcept nogil:
    """About 1,000 values, a whole number of the segments winsum_lanes takes at once."""
    cdef isize group = csum_width() * w.seg
    return group * (1024 // group) if group < 1024 else group


cdef inline void dispersion_out(VarState* v, bint full, isize i, double* sd, double* middle,
                                double* lower, double up, double dn) noexcept nogil:
    """Row i's outputs after a dispersion_push (what `update` returns); see dispersion_feed."""
    if not full:
        sd[i] = NAN
        if middle != NULL:
            middle[i] = NAN
            lower[i] = NAN
    elif middle == NULL:
        sd[i] = var_std(v) * up
    else:
        bands_at(v.mean, var_std(v), up, dn, sd + i, middle + i, lower + i)


cdef void var_run(VarState* v, const double* x, const double* means, double* m2s, isize n,
                  bint repeats) noexcept nogil:
    """n calls of var_slide once the window is full: x[j] enters the window x[j - period +
    1 .. j] whose mean is means[j]; m2s[j] holds its Welford term on entry, v.m2 after it
    on return. Unless `repeats`, no x[j] equals x[j - period + 1]: no window is one
    repeated value, and the trailing run is counted once, at the end."""
    cdef isize j, k, p = v.sum.period
    cdef VarState q = v[0]      # a local copy the compiler can keep in registers
    if repeats:
        for j in range(n):
            q.mean = means[j]
            var_slide(&q, x[j], m2s[j], x + j - p + 1, True)
            m2s[j] = q.m2
    else:
        q.run = 0
        j = 0
        while j < n:
            k = min_isize(n - j, max_isize(q.resync_every - 1 - q.since, 0))
            k = var_steps(m2s + j, k, RESYNC_RATIO, &q.m2, &q.peak, &q.older, &q.term, &q.half)
            q.since += k
            j += k
            if j < n:       # this step recomputes m2
                q.mean = means[j]
                var_slide(&q, x[j], m2s[j], x + j - p + 1, False)
                m2s[j] = q.m2
                j += 1
        q.mean = means[n - 1]
        j = n - 1           # x[j - 1] is there: x holds the window before x[0]
        while j > n - p and x[j] == x[j - 1]:
            j -= 1
        q.run = n - j
        q.last = x[n - 1]
    v[0] = q


cdef void dispersion_feed(VarState* v, Ring* r, const double* x, isize n, double* sd,
                          double* middle, double* lower, double up, double dn) noexcept nogil:
    """n calls of dispersion_push and each row's outputs, NaN until the window is full:
    with middle NULL (RollingStd), sd[i] = the standard deviation times `up`; otherwise
    (BBands), middle[i] = the mean, sd[i] = the upper band, lower[i] = the lower band. The
    first `period` rows go one at a time, the rest in chunks."""
    cdef isize i = 0, start, e, k, p = r.n, seg = v.sum.seg
    cdef isize chunk = dispersion_chunk(&v.sum), lanes = winsum_scratch(&v.sum)
    cdef double* scratch = NULL
    cdef double* m2s
    cdef double* means
    cdef double* before     # means - 1: the mean before the chunk
    cdef int repeats
    if n > p:
        scratch = <double*>malloc((2 * chunk + 1 + lanes) * sizeof(double))
    while i < n and (i < p or scratch == NULL):     # without scratch: every row
        dispersion_push(v, r, x[i])
        dispersion_out(v, r.count >= p, i, sd, middle, lower, up, dn)
        i += 1
    if i == n:
        free(scratch)
        return
    m2s = scratch
    before = scratch + chunk
    means = before + 1
    before[0] = v.mean
    start = i
    while i < n:
        k = v.sum.count & (seg - 1)
        e = i + (seg - k if k else chunk)   # chunks from a segment start on
        e = e if e < n else n
        prefetch(x + e, min_isize(chunk, n - e), False)     # the next chunk's input
        prefetch(sd + i, e - i, True)                       # this chunk's outputs
        if middle != NULL:
            prefetch(middle + i, e - i, True)
            prefetch(lower + i, e - i, True)
        winsum_run(&v.sum, x + i, e - i, v.inv_p, means, scratch + 2 * chunk + 1 if lanes else NULL)
        welford_terms(x + i, x + i - p, means, e - i, m2s, &repeats)
        var_run(v, x + i, means, m2s, e - i, repeats or p == 1)     # p = 1: every window
        if middle != NULL:
            sqrt_scaled(m2s, e - i, v.inv_p, 1.0, m2s)                 # var_std
            bands_of(means, m2s, e - i, up, dn, sd + i, middle + i, lower + i)     # bands_at
        else:
            sqrt_scaled(m2s, e - i, v.inv_p, up, sd + i)             # var_std * up
        before[0] = means[e - i - 1]
        i = e
    free(scratch)
    k = n - start - p       # the ring as p more pushes after k values leaves it
    if k > 0:
        r.count += k
        r.pos = (r.pos + k) % p
    for i in range(n - p if n - p > start else start, n):
        ring_push(r, x[i])


cdef class _Dispersion(Stream):
    """Shared state of RollingStd and BBands: the window's values and its variance."""

    cdef VarState _var
    cdef Ring _ring

    def __cinit__(self, Py_ssize_t period=20, *args, **kwargs):
        _check_period(period, "period")
        ring_alloc(&self._ring, period)
        var_alloc(&self._var, period)

    def __dealloc__(self):
        free(self._ring.buf)
        winsum_free(&self._var.sum)

    cdef inline void _push(self, double x) noexcept nogil:
        dispersion_push(&self._var, &self._ring, x)

    cdef void clear(self) noexcept nogil:
        ring_clear(&self._ring)
        var_clear(&self._var)

    cdef isize _count(self) noexcept nogil:
        return self._ring.count


@cython.final
cdef class RollingStd(_Dispersion):
    """Streaming `rolling_std`: population standard deviation of the last `period` values,
    times `nbdev` (TA-Lib STDDEV)."""

    cdef double _nbdev

    def __init__(self, Py_ssize_t period, nbdev=1.0):
        self._nbdev = _check_finite(nbdev, "nbdev")
        self._io(X, VALUE, self._ring.n, self._ring.n)

    @property
    def nbdev(self) -> float:
        """The factor applied to the standard deviation."""
        return self._nbdev

    cpdef double update(self, double x):
        """Feed one value; the window's standard deviation times `nbdev`, NaN until
        `period` values."""
        self._push(x)
        if self._ring.count < self._ring.n:
            return NAN
        return var_std(&self._var) * self._nbdev

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        dispersion_feed(&self._var, &self._ring, ins[0], n, outs[0], NULL, NULL, self._nbdev,
                        0.0)

    cdef tuple _params(self):
        return (("period", self._period), ("nbdev", self._nbdev))


@cython.final
cdef class BBands(_Dispersion):
    """Streaming `bbands`: `update(x)` returns (upper, middle, lower)."""

    cdef double _up
    cdef double _dn

    def __init__(self, Py_ssize_t period=20, nbdev_up=2.0, nbdev_dn=2.0):
        self._up = _check_finite(nbdev_up, "nbdev_up")
        self._dn = _check_finite(nbdev_dn, "nbdev_dn")
        self._io(X, ("upper", "middle", "lower"), self._ring.n, self._ring.n)

    @property
    def nbdev_up(self) -> float:
        """Standard deviations from the middle to the upper band."""
        return self._up

    @property
    def nbdev_dn(self) -> float:
        """Standard deviations from the middle to the lower band."""
        return self._dn

    cpdef tuple update(self, double x):
        """Feed one value; (upper, middle, lower), NaN until `period` values were fed."""
        cdef double upper, middle, lower
        self._push(x)
        if self._ring.count < self._ring.n:
            return (NAN, NAN, NAN)
        bands_at(self._var.mean, var_std(&self._var), self._up, self._dn, &upper, &middle,
                 &lower)
        return (upper, middle, lower)

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        dispersion_feed(&self._var, &self._ring, ins[0], n, outs[0], outs[1], outs[2], self._up,
                        self._dn)

    cdef tuple _params(self):
        return (("period", self._period), ("nbdev_up", self._up), ("nbdev_dn", self._dn))


cdef class _Extreme(Stream):
    """Shared state of RollingMax and RollingMin."""

    cdef Extreme _ext

    def __dealloc__(self):
        extreme_free(&self._ext)

    cdef void clear(self) noexcept nogil:
        extreme_clear(&self._ext, self._ext.period, self._ext.is_min)

    cdef isize _count(self) noexcept nogil:
        return self._ext.count

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        extreme_kernel(ins[0], n, &self._ext, outs[0], self._ext.is_min)


@cython.final
cdef class RollingMax(_Extreme):
    """Streaming `rolling_max`: O(1) amortised per update."""

    def __cinit__(self, Py_ssize_t period):
        _check_period(period, "period")
        extreme_alloc(&self._ext, period)
        extreme_clear(&self._ext, period, False)
        self._io(X, VALUE, period, period)

    cpdef double update(self, double x):
        """Feed one value; the maximum of the last `period`, NaN until `period` values."""
        return extreme_push(&self._ext, x, False)


@cython.final
cdef class RollingMin(_Extreme):
    """Streaming `rolling_min`: O(1) amortised per update."""

    def __cinit__(self, Py_ssize_t period):
        _check_period(period, "period")
        extreme_alloc(&self._ext, period)
        extreme_clear(&self._ext, period, True)
        self._io(X, VALUE, period, period)

    cpdef double update(self, double x):
        """Feed one value; the minimum of the last `period`, NaN until `period` values."""
        return extreme_push(&self._ext, x, True)


@cython.final
cdef class EMA(Stream):
    """Streaming `ema`: TA-Lib EMA, seeded with the SMA of the first `period` values."""

    cdef EmaState _ema

    def __cinit__(self, Py_ssize_t period):
        _check_period(period, "period")
        ema_clear(&self._ema, period)
        self._io(X, VALUE, period, period)

    @property
    def alpha(self) -> float:
        """The smoothing factor 2 / (period + 1)."""
        return self._ema.k

    cpdef double update(self, double x):
        """Feed one value; the EMA, NaN until `period` values were fed."""
        return ema_push(&self._ema, x)

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        ema_feed(&self._ema, ins[0], n, outs[0])

    cdef void clear(self) noexcept nogil:
        ema_clear(&self._ema, self._ema.period)

    cdef isize _count(self) noexcept nogil:
        return self._ema.count


@cython.final
cdef class RSI(Stream):
    """Streaming `rsi`: TA-Lib RSI with Wilder smoothing."""

    cdef RsiState _rsi

    def __cinit__(self, Py_ssize_t period=14):
        _check_period(period, "period")
        rsi_clear(&self._rsi, period)
        self._io(("close",), VALUE, period, period + 1)

    cpdef double update(self, double x):
        """Feed one close; the RSI in [0, 100], NaN until period + 1 values were fed."""
        return rsi_push(&self._rsi, x)

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        cdef isize i
        cdef const double* x = ins[0]
        cdef double* out = outs[0]
        cdef RsiState q = self._rsi     # a local copy the compiler can keep in registers
        for i in range(n):
            out[i] = rsi_push(&q, x[i])
        self._rsi = q

    cdef void clear(self) noexcept nogil:
        rsi_clear(&self._rsi, self._rsi.period)

    cdef isize _count(self) noexcept nogil:
        return self._rsi.count


@cython.final
cdef class ATR(Stream):
    """Streaming `atr`: TA-Lib ATR, `update(high, low, close)`."""

    cdef AtrState _atr

    def __cinit__(self, Py_ssize_t period=14):
        _check_period(period, "period")
        atr_clear(&self._atr, period)
        self._io(("high", "low", "close"), VALUE, period, period + 1)

    cpdef double update(self, double high, double low, double close):
        """Feed one bar; the ATR, NaN until period + 1 bars were fed."""
        return atr_push(&self._atr, high, low, close)

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        atr_feed(&self._atr, ins[0], ins[1], ins[2], n, outs[0])

    cdef void clear(self) noexcept nogil:
        atr_clear(&self._atr, self._atr.period)

    cdef isize _count(self) noexcept nogil:
        return self._atr.count


@cython.final
cdef class VWAP(Stream):
    """Streaming `vwap` for one session: call `reset()` at each session start."""

    cdef VwapState _vwap

    def __cinit__(self):
        vwap_clear(&self._vwap)
        self._io(("high", "low", "close", "volume"), VALUE, 0, 0)

    @property
    def ready(self) -> bool:
        """True once the session's cumulative volume is non-zero."""
        return csum_get(&self._vwap.vol) != 0.0

    cpdef double update(self, double high, double low, double close, double volume):
        """Feed one bar; the session VWAP, NaN while the cumulative volume is 0."""
        return vwap_push(&self._vwap, high, low, close, volume)

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        cdef isize i
        cdef const double* h = ins[0]
        cdef const double* l = ins[1]
        cdef const double* c = ins[2]
        cdef const double* v = ins[3]
        cdef double* out = outs[0]
        cdef VwapState q = self._vwap   # a local copy the compiler can keep in registers
        for i in range(n):
            out[i] = vwap_push(&q, h[i], l[i], c[i], v[i])
        self._vwap = q

    cdef void clear(self) noexcept nogil:
        vwap_clear(&self._vwap)


@cython.final
cdef class MACD(Stream):
    """Streaming `macd`: `update(x)` returns (line, signal, hist)."""

    cdef MacdState _macd

    def __cinit__(self, Py_ssize_t fast=12, Py_ssize_t slow=26, Py_ssize_t signal=9):
        _check_macd(fast, slow, signal)
        macd_clear(&self._macd, fast, slow, signal)
        self._io(X, ("line", "signal", "hist"), 0, slow + signal - 1)

    @property
    def fast(self) -> int:
        """The fast EMA period."""
        return self._macd.fast.period

    @property
    def slow(self) -> int:
        """The slow EMA period."""
        return self._macd.slow.period

    @property
    def signal(self) -> int:
        """The signal EMA period."""
        return self._macd.signal.period

    cpdef tuple update(self, double x):
        """Feed one value; (line, signal, hist), NaN until slow + signal - 1 values."""
        cdef double line, sig, hist
        macd_push(&self._macd, x, &line, &sig, &hist)
        return (line, sig, hist)

    cdef void feed(self, const double** ins, isize n, double** outs) noexcept nogil:
        macd_feed(&self._macd, ins[0], n, outs[0], outs[1], outs[2])

    cdef void clear(self) noexcept nogil:
        macd_clear(&self._macd, self._macd.fast.period, self._macd.slow.period,
                   self._macd.signal.period)

    cdef isize _count(self) noexcept nogil:
        return self._macd.count

    cdef tuple _params(self):
        m = self._macd
        return (("fast", m.fast.period), ("slow", m.slow.period), ("signal", m.signal.period))
