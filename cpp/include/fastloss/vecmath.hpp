// Branch-free exp, log and log1p that the compiler vectorises inside `#pragma omp simd` loops
// (no libm calls in inner loops). Accuracy, checked by tests/test_vecmath.py over the whole
// range: float32 within 2 ulp, float64 within 1 ulp of the correctly rounded result.
// Special values follow IEEE/libm: NaN propagates, exp overflows to inf and underflows through
// the subnormals to 0, log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
// Two restricted forms for the BCE kernels skip the general special cases and log1p's
// correction division: log1p_unit (log(1 + e), e in [0, 1]) and log1m_unit (log(1 - p), p in
// [0, 1]).
#pragma once

#include "fastloss/isa.hpp"

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <limits>

// Every function here is called inside `#pragma omp simd` loops, which vectorise only if the
// call is inlined: forced (see FASTLOSS_FORCE_INLINE).
namespace fastloss::FASTLOSS_ISA_NS::vecmath {

template <class To, class From>
FASTLOSS_FORCE_INLINE To bit_cast(From v) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  std::memcpy(&out, &v, sizeof(To));
  return out;
}

template <class T>
struct Traits;

template <>
struct Traits<float> {
  using Int = std::int32_t;
  static constexpr int kMantissa = 23, kBias = 127;
  static constexpr float kRound = 12582912.0f;                             // 1.5 * 2^23: adding it rounds to an integer
  static constexpr float kExpMax = 88.72283935546875f;                     // largest x with a finite exp(x)
  static constexpr float kExpMin = -103.97208404541015625f;                // exp(x) rounds to 0 below
  static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // Cody-Waite split
  static constexpr float kExpNormalMin = -87.0f;                           // exp(x) is a normal number from here up
};

template <>
struct Traits<double> {
  using Int = std::int64_t;
  static constexpr int kMantissa = 52, kBias = 1023;
  static constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kExpMax = 709.782712893383973096;
  static constexpr double kExpMin = -745.13321910194110842;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kExpNormalMin = -708.0;
};

// exp(r) on |r| <= ln2/2 as 1 + r + r^2 q(r): the coefficients of q, lowest first.
template <class T>
struct ExpPoly;

template <>
struct ExpPoly<float> {
  // Minimax for (exp(r) - 1 - r) / r^2, relative error of exp below 2^-28 (fitted for
  // fastloss; one term fewer than Cephes' expf, same measured worst case: 1.01 ulp).
  static constexpr int kTerms = 5;
  static constexpr float c[kTerms] = {0.49999994f, 0.16666521f, 0.04166839f, 0.00836871f, 0.0013814613f};
};

template <>
struct ExpPoly<double> {
  // Taylor series to r^13 (truncation error < 2^-60 on |r| <= ln2/2).
  static constexpr int kTerms = 12;
  static constexpr double c[kTerms] = {1.0 / 2,       1.0 / 6,        1.0 / 24,        1.0 / 120,
                                       1.0 / 720,     1.0 / 5040,     1.0 / 40320,     1.0 / 362880,
                                       1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800};
};

// The last step keeps 1 + r exact-ish, so the rounding error stays below one ulp.
template <class T>
FASTLOSS_FORCE_INLINE T exp_reduced(T r) {
  using P = ExpPoly<T>;
  T q = P::c[P::kTerms - 1];
  for (int i = P::kTerms - 2; i >= 0; --i) q = q * r + P::c[i];
  return T(1) + (r + (r * r) * q);
}

// x = n ln2 + r with n = round(x / ln2) and |r| <= ln2/2 (Cody-Waite: ln2 in two parts). n is
// also read as an integer, ni, from the low mantissa bits of the rounding sum t.
template <class T>
struct ExpReduction {
  T n, r;
  typename Traits<T>::Int ni;
};

// The integer in the low mantissa bits of t = n + kRound. The bit patterns are subtracted as
// unsigned integers: for a NaN or out-of-range x they are arbitrary, and a signed overflow
// would be undefined behaviour (the result is garbage then, but the caller's result is NaN or
// documented as wrong outside the range).
template <class T>
FASTLOSS_FORCE_INLINE typename Traits<T>::Int rounded_int(T t) {
  using Int = typename Traits<T>::Int;
  using UInt = std::make_unsigned_t<Int>;
  return static_cast<Int>(bit_cast<UInt>(t) - bit_cast<UInt>(Traits<T>::kRound));
}

template <class T>
FASTLOSS_FORCE_INLINE ExpReduction<T> reduce_exp(T x) {
  using Tr = Traits<T>;
  const T t = x * T(1.44269504088896340736) + Tr::kRound;
  const T n = t - Tr::kRound;
  return {n, (x - n * Tr::kLn2Hi) - n * Tr::kLn2Lo, rounded_int(t)};
}

// 2^n for n in the normal exponent range, built from its bits. Unsigned arithmetic: n comes
// from arbitrary bits when exp sees a NaN, and shifting a negative or overflowing signed
// integer is undefined behaviour.
template <class T>
FASTLOSS_FORCE_INLINE T pow2(typename Traits<T>::Int n) {
  using Tr = Traits<T>;
  using UInt = std::make_unsigned_t<typename Tr::Int>;
  return bit_cast<T>(static_cast<UInt>((static_cast<UInt>(n) + UInt(Tr::kBias)) << Tr::kMantissa));
}

template <class T>
FASTLOSS_FORCE_INLINE T exp(T x) {
  using Tr = Traits<T>;
  using Int = typename Tr::Int;
  // Clamped one unit beyond the finite range, where the scaling below overflows to inf and
  // underflows to 0 by itself: two min/max instead of fixing up the results (NaN stays NaN).
  T xc = x < Tr::kExpMin - T(1) ? Tr::kExpMin - T(1) : x;
  xc = xc > Tr::kExpMax + T(1) ? Tr::kExpMax + T(1) : xc;
  const ExpReduction<T> red = reduce_exp(xc);
  const T p = exp_reduced(red.r);
  // 2^n as 2^n1 * 2^n2 with n1 = round(n / 2): both factors are normal numbers over the whole
  // clamped range, and the product with p rounds once (into the subnormals, or to 0 or inf
  // past the ends). The exponent bits come from the same rounding-constant trick as n (an
  // arithmetic shift of int64 has no AVX2 instruction).
  const Int n1 = rounded_int(red.n * T(0.5) + Tr::kRound);
  return p * pow2<T>(n1) * pow2<T>(red.ni - n1);
}

// exp(x) for x in [kExpNormalMin, 0] (or NaN), where the result is a normal number: the same
// reduction and polynomial as exp, so the same accuracy, without the clamps and the two-factor
// scaling that subnormal, zero and infinite results need; a third cheaper (cross-entropy's
// exp(x - max) over a chunk whose range allows it). Outside that range the result is wrong.
template <class T>
FASTLOSS_FORCE_INLINE T exp_normal(T x) {
  const ExpReduction<T> red = reduce_exp(x);
  return exp_reduced(red.r) * pow2<T>(red.ni);
}

// exp_normal of two independent arguments, statement by statement interleaved: the
// vectorised loop then runs two dependency chains side by side, which the out-of-order window
// of a narrow core (Zen 1: 256-bit operations split in two) cannot find by itself across
// iterations of the polynomial's long chain (measured 1.25 -> 1.03 ns per float32 exp).
// Bitwise the same results as two calls.
template <class T>
FASTLOSS_FORCE_INLINE void exp_normal_pair(T x0, T x1, T& e0, T& e1) {
  using P = ExpPoly<T>;
  const ExpReduction<T> red0 = reduce_exp(x0), red1 = reduce_exp(x1);
  const T r0 = red0.r, r1 = red1.r;
  T q0 = P::c[P::kTerms - 1], q1 = P::c[P::kTerms - 1];
  for (int i = P::kTerms - 2; i >= 0; --i) {
    q0 = q0 * r0 + P::c[i];
    q1 = q1 * r1 + P::c[i];
  }
  const T p0 = T(1) + (r0 + (r0 * r0) * q0), p1 = T(1) + (r1 + (r1 * r1) * q1);
  e0 = p0 * pow2<T>(red0.ni);
  e1 = p1 * pow2<T>(red1.ni);
}

// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1], the log of the reduced mantissa.
FASTLOSS_FORCE_INLINE float log1p_reduced(float f) {
  // Cephes logf: log(1 + f) = f - f^2/2 + f^3 P(f).
  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  return f + (p * f * z - 0.5f * z);
}

// log(2^k (1 + f)) + c, where c is a small correction (log1p's rounding error of 1 + x).
template <class T>
FASTLOSS_FORCE_INLINE T log_with_exponent(T f, T k, T c);

template <>
FASTLOSS_FORCE_INLINE float log_with_exponent(float f, float k, float c) {
  return log1p_reduced(f) + (k * Traits<float>::kLn2Lo + c) + k * Traits<float>::kLn2Hi;
}

template <>
FASTLOSS_FORCE_INLINE double log_with_exponent(double f, double k, double c) {
  // fdlibm's method: with s = f / (2 + f), log(1 + f) = f - hfsq + s (hfsq + R(s^2)),
  // R a minimax polynomial; k ln2 added in two parts.
  const double s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 =
      z * (6.666666666666735130e-01 +
           w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double hfsq = 0.5 * f * f;
  return k * Traits<double>::kLn2Hi - ((hfsq - (s * (hfsq + (t1 + t2)) + (k * Traits<double>::kLn2Lo + c))) - f);
}

// Splits a positive normal x into x = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)): take
// 1 + f in [1, 2) from the mantissa bits, then halve it (and bump k) where it is above sqrt(2).
// Unsigned shifts and the 2^mantissa trick for int -> float keep every step vectorisable with
// AVX2 (no 64-bit arithmetic shift or int64 -> double conversion there).
template <class T>
FASTLOSS_FORCE_INLINE void split_exponent(T x, T& f, T& k) {
  using Tr = Traits<T>;
  using UInt = std::make_unsigned_t<typename Tr::Int>;
  const UInt bits = bit_cast<UInt>(x);
  const UInt mant_mask = (UInt(1) << Tr::kMantissa) - 1;
  const T m1 = bit_cast<T>(static_cast<UInt>((bits & mant_mask) | bit_cast<UInt>(T(1))));
  const bool high = m1 > T(1.41421356237309504880);
  const UInt biased_exp = (bits >> Tr::kMantissa) & UInt(2 * Tr::kBias + 1);
  const T two_to_mant = bit_cast<T>(static_cast<UInt>(UInt(Tr::kBias + Tr::kMantissa) << Tr::kMantissa));
  k = (bit_cast<T>(static_cast<UInt>(biased_exp | bit_cast<UInt>(two_to_mant))) - two_to_mant) - T(Tr::kBias) +
      (high ? T(1) : T(0));
  f = (high ? T(0.5) * m1 : m1) - T(1);
}

// log(x) + c for a correction c much smaller than ulp(log x) (0 for a plain log).
template <class T>
FASTLOSS_FORCE_INLINE T log_plus(T x, T c) {
  // Subnormals: scale into the normal range first.
  const bool sub = x < std::numeric_limits<T>::min();
  T f, k;
  split_exponent(sub ? x * T(18446744073709551616.0) : x, f, k);  // 2^64
  T y = log_with_exponent(f, k - (sub ? T(64) : T(0)), c);
  y = x == T(0) ? -std::numeric_limits<T>::infinity() : y;
  y = x < T(0) ? std::numeric_limits<T>::quiet_NaN() : y;
  y = x == std::numeric_limits<T>::infinity() ? x : y;
  y = x != x ? x : y;
  return y;
}

template <class T>
FASTLOSS_FORCE_INLINE T log(T x) {
  return log_plus(x, T(0));
}

// log(1 + x) accurate for small x: u = 1 + x rounds, and x - (u - 1) is that rounding error,
// whose first-order effect on the log, (x - (u - 1)) / u, joins the sum before its last rounding.
template <class T>
FASTLOSS_FORCE_INLINE T log1p(T x) {
  const T u = T(1) + x;
  const T y = log_plus(u, (x - (u - T(1))) / u);
  return u == T(1) ? x : (u == std::numeric_limits<T>::infinity() ? u : y);
}

// log(1 + e) for e in [0, 1] (or NaN), the softplus term of BCE with logits, where e = exp(-|x|).
// The general log1p's special cases and its rounding correction drop out: for e <= sqrt(2) - 1 the
// reduced argument is e itself, exactly; above it, 1 + e = 2 (1 + (e - 1) / 2). Within 1.5 ulp.
template <class T>
FASTLOSS_FORCE_INLINE T log1p_unit(T e) {
  const bool high = e > T(0.41421356237309504880);
  const T f = high ? (e - T(1)) * T(0.5) : e;
  return log_with_exponent(f, high ? T(1) : T(0), T(0));
}

// log(1 - x) for x in [0, 1] (or NaN), BCE's log(1 - p), without log1p's rounding-correction
// division: the reduced argument is formed exactly. For x <= 1 - sqrt(1/2) it is -x; up to 1/2,
// 1 - x = 2^-1 (1 + (1 - 2x)) with 1 - 2x exact; above 1/2, 1 - x itself is exact (Sterbenz)
// and is split like any log argument. Measured within 0.9 ulp (float32 and float64); log(0) = -inf.
template <class T>
FASTLOSS_FORCE_INLINE T log1m_unit(T x) {
  const T u = T(1) - x;
  T f, k;
  split_exponent(u, f, k);
  const bool near_one = x <= T(0.29289321881345247560), middle = x <= T(0.5);
  f = near_one ? -x : (middle ? T(1) - T(2) * x : f);
  k = near_one ? T(0) : (middle ? T(-1) : k);
  T y = log_with_exponent(f, k, T(0));
  y = u == T(0) ? -std::numeric_limits<T>::infinity() : y;
  return x != x ? x : y;
}

}  // namespace fastloss::FASTLOSS_ISA_NS::vecmath
