// Half-precision storage: float16 (IEEE 754 binary16, NumPy's float16) and bfloat16 (the top half
// of a float32, ml_dtypes.bfloat16), converted to and from float32 in blocks. Kernels compute in
// float32 and convert at the edges, so a half loss moves half the bytes of a float32 one.
//
// Conversions are exact and round to nearest even, like NumPy's and ml_dtypes' casts (tests
// compare all 65536 half values and the float32 rounding boundaries). With F16C (the AVX2 and
// AVX-512 levels are compiled with -mf16c) float16 uses the hardware's vcvtph2ps / vcvtps2ph; the
// portable code below is branch-free integer and float arithmetic that the compiler vectorises.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "fastloss/isa.hpp"

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace fastloss {

struct float16_t {
  std::uint16_t bits;
};
struct bfloat16_t {
  std::uint16_t bits;
};

template <class T>
struct is_half : std::false_type {};
template <>
struct is_half<float16_t> : std::true_type {};
template <>
struct is_half<bfloat16_t> : std::true_type {};

// The type a kernel computes in for storage type T: float32 for the half types, T otherwise.
template <class T>
using compute_t = std::conditional_t<is_half<T>::value, float, T>;

// Whether the CPU has AVX-512 BF16 (dispatch.cpp; checked once): the AVX-512 level's kernels
// then narrow float32 to bfloat16 with vcvtneps2bf16.
bool cpu_has_avx512_bf16();

// The conversions live in the ISA level's namespace (isa.hpp): each level's copy is its own, so
// the linker never keeps the F16C copy of an inline function for the baseline kernels.
namespace FASTLOSS_ISA_NS {
namespace half {

FASTLOSS_FORCE_INLINE std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
FASTLOSS_FORCE_INLINE float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// bfloat16 -> float32: exact, the bits are the float's top half.
FASTLOSS_FORCE_INLINE float to_float(bfloat16_t h) { return float_of(static_cast<std::uint32_t>(h.bits) << 16); }

// float32 -> bfloat16, rounding to nearest even; a NaN stays a NaN (quiet, sign kept).
FASTLOSS_FORCE_INLINE bfloat16_t to_bfloat16(float f) {
  const std::uint32_t u = bits_of(f);
  const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  return {static_cast<std::uint16_t>(nan ? ((u >> 16) | 0x40u) : rounded)};
}

// float16 -> float32: exact. The 15 exponent-and-mantissa bits move to the float's place and
// the exponent is rebiased (127 - 15); inf/NaN get the rest of the float's exponent; a subnormal
// half is renormalised by a float subtraction (exact).
FASTLOSS_FORCE_INLINE float to_float(float16_t h) {
  const std::uint32_t em = static_cast<std::uint32_t>(h.bits & 0x7FFFu) << 13;
  const std::uint32_t exponent = em & (0x7C00u << 13);
  std::uint32_t u = em + ((127u - 15u) << 23);
  u = exponent == (0x7C00u << 13) ? u + ((128u - 16u) << 23) : u;
  const float subnormal = float_of(u + (1u << 23)) - float_of(113u << 23);
  u = exponent == 0 ? bits_of(subnormal) : u;
  return float_of(u | (static_cast<std::uint32_t>(h.bits & 0x8000u) << 16));
}

// float32 -> float16, rounding to nearest even: beyond 65504 (after rounding) inf, NaN a quiet
// NaN, subnormal halves rounded by adding a float whose ulp is the half's smallest step.
FASTLOSS_FORCE_INLINE float16_t to_float16(float f) {
  const std::uint32_t u = bits_of(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t a = u & 0x7FFFFFFFu;                                     // |f|
  const std::uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;  // 0.5 in 2^-24 units
  const std::uint32_t sub = bits_of(float_of(a) + float_of(denorm_magic)) - denorm_magic;
  const std::uint32_t normal = (a + ((15u - 127u) << 23) + 0xFFFu + ((a >> 13) & 1u)) >> 13;
  std::uint32_t h = a < (113u << 23) ? sub : normal;
  h = a >= ((127u + 16u) << 23) ? (a > 0x7F800000u ? 0x7E00u : 0x7C00u) : h;
  return {static_cast<std::uint16_t>(h | sign)};
}

// Any storage type to and from its compute type, one value (for the bindings' scalars).
template <class T>
FASTLOSS_FORCE_INLINE compute_t<T> to_compute(T v) {
  if constexpr (is_half<T>::value) {
    return to_float(v);
  } else {
    return v;
  }
}
template <class T>
FASTLOSS_FORCE_INLINE T from_double(double v) {
  if constexpr (std::is_same_v<T, float16_t>) {
    return to_float16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bfloat16_t>) {
    return to_bfloat16(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

// Values per tile where a kernel widens half data to float32 (in L1: 1 KiB per float tile).
constexpr std::int64_t kHalfTile = 256;

// Blocks: dst[i] = convert(src[i]) for i < n.
inline void widen(const float16_t* __restrict src, float* __restrict dst, std::int64_t n) {
  std::int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  }
#endif
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  }
#endif
#pragma omp simd
  for (std::int64_t k = i; k < n; ++k) dst[k] = to_float(src[k]);
}

inline void narrow(const float* __restrict src, float16_t* __restrict dst, std::int64_t n) {
  std::int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), h);
  }
#endif
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
#endif
#pragma omp simd
  for (std::int64_t k = i; k < n; ++k) dst[k] = to_float16(src[k]);
}

inline void widen(const bfloat16_t* __restrict src, float* __restrict dst, std::int64_t n) {
#pragma omp simd
  for (std::int64_t k = 0; k < n; ++k) dst[k] = to_float(src[k]);
}

#if defined(__AVX512F__)
// AVX-512 BF16's vcvtneps2bf16 rounds to nearest even and quiets NaNs as to_bfloat16 does, but
// flushes subnormal floats to zero (NumPy and ml_dtypes round them): a block holding one (rare:
// below 1.2e-38 in magnitude) is narrowed again by to_bfloat16. Returns how many values it did.
__attribute__((target("avx512bf16,avx512f,avx512vl,avx512bw"))) inline std::int64_t narrow_avx512_bf16(
    const float* __restrict src, bfloat16_t* __restrict dst, std::int64_t n) {
  const __m512i exponent = _mm512_set1_epi32(0x7F800000), mantissa = _mm512_set1_epi32(0x007FFFFF);
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(src + i);
    const __m512i bits = _mm512_castps_si512(v);
    const __mmask16 subnormal = _mm512_mask_test_epi32_mask(_mm512_testn_epi32_mask(bits, exponent), bits, mantissa);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
    if (subnormal) {
      for (std::int64_t k = i; k < i + 16; ++k) dst[k] = to_bfloat16(src[k]);
    }
  }
  return i;
}
#endif

inline void narrow(const float* __restrict src, bfloat16_t* __restrict dst, std::int64_t n) {
  std::int64_t i = 0;
#if defined(__AVX512F__)
  if (cpu_has_avx512_bf16()) i = narrow_avx512_bf16(src, dst, n);
#endif
#pragma omp simd
  for (std::int64_t k = i; k < n; ++k) dst[k] = to_bfloat16(src[k]);
}

// n values of storage type T in the compute type: half values widened into `buf`, float values
// where they lie (for kernels that work on a row or tile in the compute type).
template <class T>
FASTLOSS_FORCE_INLINE const compute_t<T>* load_compute(const T* src, std::int64_t n, compute_t<T>* buf) {
  if constexpr (is_half<T>::value) {
    widen(src, buf, n);
    return buf;
  } else {
    (void)n;
    (void)buf;
    return src;
  }
}

// dst[0, n) = src in storage type T (rounded once for the half types).
template <class T>
FASTLOSS_FORCE_INLINE void store_compute(const compute_t<T>* src, std::int64_t n, T* dst) {
  if constexpr (is_half<T>::value) {
    narrow(src, dst, n);
  } else {
    std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
  }
}

}  // namespace half
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
