// Blocked, fixed-order parallel work: the building block of every kernel that uses threads.
#pragma once

#include "fastloss/isa.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <type_traits>
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

// The CPUs this process may run on (its affinity mask): no call uses more threads.
int usable_cpus();
// The default thread count: OpenMP's (OMP_NUM_THREADS, or what threadpoolctl set).
int default_threads();

// Runs fn(ctx, i) for every i in [0, n_items), each exactly once, on the calling thread and up
// to n_threads - 1 pool threads (thread_pool.cpp). Items are claimed one at a time, the caller
// claiming too, so a pool thread that the OS has not scheduled never delays the call. fn must
// not throw; it may run on any of the threads, in any order.
using ItemFn = void (*)(void* ctx, std::int64_t item);
void run_parallel(std::int64_t n_items, int n_threads, ItemFn fn, void* ctx);

namespace FASTLOSS_ISA_NS {

// Elements per reduction block. Block boundaries depend only on the problem size, and the
// block partials are added in block order after the parallel loop, so a result is bitwise
// the same for any thread count (the thread that computes a block does not matter).
inline constexpr std::int64_t kBlockSize = std::int64_t{1} << 14;

// Threads to use for `work_items` units of `n` elements in all: `requested` <= 0 means the
// default (default_threads()); never more threads than work items or usable CPUs. Below
// min_parallel_work() mse-equivalent elements (kernels scale n by their cost per element),
// waking a second thread costs more than it saves.
inline int threads_for(std::int64_t n, std::int64_t work_items, int requested) {
  if (n < min_parallel_work() || work_items < 2) return 1;
  const std::int64_t wanted = requested > 0 ? requested : default_threads();
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>({wanted, work_items, usable_cpus()})));
}

// Calls item(i) for i in [0, n_items) on up to n_threads threads (see run_parallel).
template <class ItemFnT>
void parallel_for(std::int64_t n_items, int n_threads, ItemFnT&& item) {
  using F = std::remove_reference_t<ItemFnT>;
  run_parallel(
      n_items, n_threads, [](void* ctx, std::int64_t i) { (*static_cast<F*>(ctx))(i); },
      const_cast<void*>(static_cast<const void*>(&item)));
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
  parallel_for(n_blocks, n_threads, [&](std::int64_t b) {
    partial[static_cast<std::size_t>(b)] = block(b * block_size, std::min(n, (b + 1) * block_size));
  });
  double total = 0.0;
  for (const double p : partial) total += p;
  return total;
}

// Runs block(lo, hi) over consecutive blocks of [0, n) on the threads, for work without a
// reduction (in-place updates).
template <class BlockFn>
void blocked_for(std::int64_t n, int requested_threads, BlockFn&& block) {
  const std::int64_t n_blocks = (n + kBlockSize - 1) / kBlockSize;
  parallel_for(n_blocks, threads_for(n, n_blocks, requested_threads),
               [&](std::int64_t b) { block(b * kBlockSize, std::min(n, (b + 1) * kBlockSize)); });
}

// first = min(first, i), from any thread.
inline void lower_to(std::atomic<std::int64_t>& first, std::int64_t i) {
  std::int64_t cur = first.load();
  while (i < cur && !first.compare_exchange_weak(cur, i)) {
  }
}

// The smallest index of [0, n) that fails a check, or -1, for the checks that read a whole
// input before anything is written. first_failing(lo, hi) returns the first failing index of
// [lo, hi), or -1; blocks run in parallel, and the smallest index wins whatever the threads.
template <class FirstFailing>
std::int64_t first_failing_index(std::int64_t n, int requested_threads, FirstFailing&& first_failing) {
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  std::atomic<std::int64_t> first{kNone};
  blocked_for(n, requested_threads, [&](std::int64_t lo, std::int64_t hi) {
    const std::int64_t i = first_failing(lo, hi);
    if (i >= 0) lower_to(first, i);
  });
  const std::int64_t bad = first.load();
  return bad == kNone ? -1 : bad;
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
