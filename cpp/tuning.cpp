// The tuning thresholds the kernels read: the threading threshold (bench/threshold.py measures
// it) and the size above which gradients are written with streaming stores (the last-level cache).
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fastloss/parallel.hpp"
#include "fastloss/streaming.hpp"

namespace fastloss {
namespace {

// The size of the highest cache level of CPU 0: Linux's sysfs, which reports what this CPU
// shares (8 MiB per core complex on the development machine, where sysconf says 64 MiB for
// the whole socket), else sysconf, else 32 MiB.
std::int64_t last_level_cache_bytes() {
  std::int64_t best = -1;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), size_file(dir + "size");
    int level = 0;
    std::string size;
    if (!(level_file >> level) || !(size_file >> size) || size.empty()) break;
    std::int64_t bytes = std::atoll(size.c_str());
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    if (bytes > 0) best = bytes;  // indices go up by level
  }
#if defined(_SC_LEVEL3_CACHE_SIZE)
  if (best <= 0) best = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (best <= 0) best = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  return best > 0 ? best : std::int64_t{32} << 20;
}

std::atomic<std::int64_t>& streaming_bytes() {
  static std::atomic<std::int64_t> bytes{last_level_cache_bytes()};
  return bytes;
}

std::atomic<std::int64_t>& parallel_work() {
  static std::atomic<std::int64_t> elements{kDefaultMinParallelWork};
  return elements;
}

}  // namespace

std::int64_t min_parallel_work() { return parallel_work().load(std::memory_order_relaxed); }
void set_min_parallel_work(std::int64_t elements) {
  parallel_work().store(elements < 0 ? kDefaultMinParallelWork : elements, std::memory_order_relaxed);
}

std::int64_t streaming_threshold() { return streaming_bytes().load(std::memory_order_relaxed); }
void set_streaming_threshold(std::int64_t bytes) {
  streaming_bytes().store(bytes < 0 ? last_level_cache_bytes() : bytes, std::memory_order_relaxed);
}

}  // namespace fastloss
