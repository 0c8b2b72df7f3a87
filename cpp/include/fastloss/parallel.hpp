// Blocked, fixed-order parallel reduction: the building block of every reduced loss.
#pragma once

#include "fastloss/isa.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace fastloss {

// The threading threshold in mse-equivalent elements: kDefaultMinParallelWork, or what
// set_min_parallel_work() set. Defined in dispatch.cpp (one value for all ISA levels).
// bench/threshold.py measured on the development machine (2-core EPYC) that two threads are
// faster for every kernel from the smallest problem of two blocks on (2^15 elements:
// t2/t1 0.52-0.80), so the default threads exactly from there.
inline constexpr std::int64_t kDefaultMinParallelWork = std::int64_t{1} << 15;
std::int64_t min_parallel_work();
void set_min_parallel_work(std::int64_t elements);

namespace FASTLOSS_ISA_NS {

// Elements per reduction block. Block boundaries depend only on the problem size, and the
// block partials are added in block order after the parallel loop, so a result is bitwise
// the same for any thread count (the thread that computes a block does not matter).
inline constexpr std::int64_t kBlockSize = std::int64_t{1} << 14;

// Threads to use for `work_items` units of `n` elements in all: `requested` <= 0 means the
// OpenMP default (OMP_NUM_THREADS, threadpoolctl), never more threads than work items. Below
// min_parallel_work() mse-equivalent elements (kernels scale n by their cost per element),
// waking a second thread costs more than it saves.
inline int threads_for(std::int64_t n, std::int64_t work_items, int requested) {
  if (n < min_parallel_work() || work_items < 2) return 1;
  const int wanted = requested > 0 ? requested : omp_get_max_threads();
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(wanted, work_items)));
}

// Sums block(lo, hi) over consecutive blocks of `block_size` items of [0, n) and returns the
// total in float64. `work` (default n) is the element count that decides whether threads pay.
// `block` must be safe to call concurrently for disjoint ranges and must not throw.
template <class BlockFn>
double blocked_sum(std::int64_t n, int requested_threads, BlockFn&& block, std::int64_t block_size = kBlockSize,
                   std::int64_t work = -1) {
  const std::int64_t n_blocks = (n + block_size - 1) / block_size;
  if (n_blocks == 0) return 0.0;
  if (n_blocks == 1) return block(std::int64_t{0}, n);
  std::vector<double> partial(static_cast<std::size_t>(n_blocks));
  const int n_threads = threads_for(work < 0 ? n : work, n_blocks, requested_threads);
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1)
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    partial[static_cast<std::size_t>(b)] = block(b * block_size, std::min(n, (b + 1) * block_size));
  }
  double total = 0.0;
  for (const double p : partial) total += p;
  return total;
}

// Runs block(lo, hi) over consecutive blocks of [0, n) on the threads, for work without a
// reduction (in-place updates).
template <class BlockFn>
void blocked_for(std::int64_t n, int requested_threads, BlockFn&& block) {
  const std::int64_t n_blocks = (n + kBlockSize - 1) / kBlockSize;
  const int n_threads = threads_for(n, n_blocks, requested_threads);
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1)
  for (std::int64_t b = 0; b < n_blocks; ++b) block(b * kBlockSize, std::min(n, (b + 1) * kBlockSize));
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
