// Streaming (non-temporal) stores for outputs larger than the last-level cache: written around
// the caches, so a gradient that would be evicted before anyone reads it costs no
// read-for-ownership traffic (12 instead of 16 bytes per element for a fused loss pass).
#pragma once

#include "fastloss/half.hpp"
#include "fastloss/isa.hpp"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace fastloss {

// Calls whose arrays span more bytes than this store their outputs with streaming stores (each
// kernel family says which arrays it counts): the last-level cache size (sysconf), or what
// set_streaming_threshold() set. Defined in dispatch.cpp, shared by all levels.
std::int64_t streaming_threshold();
void set_streaming_threshold(std::int64_t bytes);

namespace FASTLOSS_ISA_NS {

#if defined(__SSE2__)
// 16-byte streaming stores, for the ends of a range the wider ones do not reach. The half
// types are moved as integer vectors.
inline void stream16(float* dst, const float* src) { _mm_stream_ps(dst, _mm_loadu_ps(src)); }
inline void stream16(double* dst, const double* src) { _mm_stream_pd(dst, _mm_loadu_pd(src)); }
inline void stream16(void* dst, const void* src) {
  _mm_stream_si128(static_cast<__m128i*>(dst), _mm_loadu_si128(static_cast<const __m128i*>(src)));
}
#endif
#if defined(__AVX512F__)
inline constexpr std::size_t kStreamWidth = 64;
inline void stream_wide(float* dst, const float* src) { _mm512_stream_ps(dst, _mm512_loadu_ps(src)); }
inline void stream_wide(double* dst, const double* src) { _mm512_stream_pd(dst, _mm512_loadu_pd(src)); }
inline void stream_wide(void* dst, const void* src) {
  _mm512_stream_si512(static_cast<__m512i*>(dst), _mm512_loadu_si512(src));
}
#elif defined(__AVX__)
inline constexpr std::size_t kStreamWidth = 32;
inline void stream_wide(float* dst, const float* src) { _mm256_stream_ps(dst, _mm256_loadu_ps(src)); }
inline void stream_wide(double* dst, const double* src) { _mm256_stream_pd(dst, _mm256_loadu_pd(src)); }
inline void stream_wide(void* dst, const void* src) {
  _mm256_stream_si256(static_cast<__m256i*>(dst), _mm256_loadu_si256(static_cast<const __m256i*>(src)));
}
#elif defined(__SSE2__)
inline constexpr std::size_t kStreamWidth = 16;
inline void stream_wide(float* dst, const float* src) { stream16(dst, src); }
inline void stream_wide(double* dst, const double* src) { stream16(dst, src); }
inline void stream_wide(void* dst, const void* src) { stream16(dst, src); }
#endif

// dst[0..n) = src[0..n) with streaming stores. NumPy's buffers are 16-byte aligned, so
// 16-byte stores cover the ends of the range around the wide ones: a cache line that got a
// plain store as well would be read for ownership after all. Plain stores only for elements
// below 16-byte alignment, and on targets without streaming stores.
template <class T>
inline void stream_copy(T* dst, const T* src, std::int64_t n) {
#if defined(__SSE2__)
  constexpr std::int64_t k16 = 16 / sizeof(T), kWide = kStreamWidth / sizeof(T);
  auto aligned_to = [&](std::int64_t i, std::size_t bytes) {
    return reinterpret_cast<std::uintptr_t>(dst + i) % bytes == 0;
  };
  std::int64_t i = 0;
  for (; i < n && !aligned_to(i, 16); ++i) dst[i] = src[i];
  // float and double by their own overloads, the half types as raw bits (void*)
  using Ptr = std::conditional_t<is_half<T>::value, void*, T*>;
  using ConstPtr = std::conditional_t<is_half<T>::value, const void*, const T*>;
  for (; i + k16 <= n && !aligned_to(i, kStreamWidth); i += k16) stream16(Ptr(dst + i), ConstPtr(src + i));
  for (; i + kWide <= n; i += kWide) stream_wide(Ptr(dst + i), ConstPtr(src + i));
  for (; i + k16 <= n; i += k16) stream16(Ptr(dst + i), ConstPtr(src + i));
  for (; i < n; ++i) dst[i] = src[i];
#else
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(T));
#endif
}

// dst[0, n) = src (the compute type) in storage type T, by streaming stores when `stream` (a half
// row is narrowed in L1 chunks first), else by plain ones: for kernels that compute a row or tile
// of their outputs in scratch and then store it.
template <class T>
inline void store_output(const compute_t<T>* src, std::int64_t n, T* dst, bool stream) {
  if (!stream) {
    half::store_compute(src, n, dst);
  } else if constexpr (is_half<T>::value) {
    T buf[half::kHalfTile];
    for (std::int64_t i0 = 0; i0 < n; i0 += half::kHalfTile) {
      const std::int64_t m = n - i0 < half::kHalfTile ? n - i0 : half::kHalfTile;
      half::narrow(src + i0, buf, m);
      stream_copy(dst + i0, buf, m);
    }
  } else {
    stream_copy(dst, src, n);
  }
}

// Orders the streaming stores before whatever follows (they are weakly ordered): call once
// at the end of each thread's share of the work.
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
