// CPU feature detection and the per-ISA kernel tables (the NumPy / PyTorch approach: every
// kernel compiled once per level, the best level the CPU runs picked once at import).
#include "fastloss/dispatch.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fastloss/parallel.hpp"
#include "fastloss/streaming.hpp"

namespace fastloss {
namespace {

#define FASTLOSS_FILL_SLOT(slot, ret, name, ...) table.slot = &ns::name;

template <int kLevel>
struct TableOf;

#define FASTLOSS_DEFINE_TABLE(level, ns_name)           \
  template <>                                           \
  struct TableOf<level> {                               \
    static KernelTable make() {                         \
      namespace ns = ns_name;                           \
      KernelTable table;                                \
      FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_FILL_SLOT)      \
      return table;                                     \
    }                                                   \
  };

FASTLOSS_DEFINE_TABLE(0, baseline)
#if defined(FASTLOSS_X86_VARIANTS)
FASTLOSS_DEFINE_TABLE(1, avx2)
FASTLOSS_DEFINE_TABLE(2, avx512)
#endif

const char* const kLevelNames[] = {"baseline", "avx2", "avx512"};

// The highest level this CPU runs: 0 baseline, 1 AVX2 + FMA, 2 AVX-512 (F, BW, DQ, VL).
int cpu_level() {
#if defined(FASTLOSS_X86_VARIANTS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
    return 2;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
  return 0;
}

KernelTable table_for(int level) {
#if defined(FASTLOSS_X86_VARIANTS)
  if (level == 2) return TableOf<2>::make();
  if (level == 1) return TableOf<1>::make();
#endif
  (void)level;
  return TableOf<0>::make();
}

int level_index(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kLevelNames[i]) return i;
  return -1;
}

struct State {
  int level;
  KernelTable table;
  State() {
    level = cpu_level();
    // FASTLOSS_SIMD lowers the level (for testing and for comparing paths); it never raises it.
    if (const char* forced = std::getenv("FASTLOSS_SIMD")) {
      const int wanted = level_index(forced);
      if (wanted >= 0 && wanted < level) level = wanted;
    }
    table = table_for(level);
  }
};

State& state() {
  static State s;
  return s;
}

}  // namespace

const KernelTable& kernels() { return state().table; }

std::string simd_level() { return kLevelNames[state().level]; }

std::vector<std::string> supported_simd_levels() {
  std::vector<std::string> out;
  for (int i = 0; i <= cpu_level(); ++i) out.emplace_back(kLevelNames[i]);
  return out;
}

bool set_simd_level(const std::string& name) {
  const int wanted = level_index(name);
  if (wanted < 0 || wanted > cpu_level()) return false;
  state().table = table_for(wanted);
  state().level = wanted;
  return true;
}

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
