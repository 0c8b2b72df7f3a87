// CPU feature detection and the per-ISA kernel tables (the NumPy / PyTorch approach: every
// kernel compiled once per level, the best level the CPU runs picked once at import), and the
// registry of elementwise losses per level. Nothing else: the tuning thresholds are in tuning.cpp.
#include "fastloss/dispatch.hpp"

#if defined(FASTLOSS_X86_VARIANTS)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastloss {
namespace {

#define FASTLOSS_FILL_ONE(T, suffix, ret, name, Problem) table.suffix.name = &ns::name<T>;
#define FASTLOSS_FILL_PLAIN(ret, name, Problem) table.name = &ns::name;
#define FASTLOSS_FILL_HALF(ret, name, Problem) FASTLOSS_FOR_EACH_HALF(FASTLOSS_FILL_ONE, ret, name, Problem)
#define FASTLOSS_FILL_SLOT(ret, name, Problem) FASTLOSS_FOR_EACH_FLOAT(FASTLOSS_FILL_ONE, ret, name, Problem)

template <int kLevel>
struct TableOf;

#define FASTLOSS_DEFINE_TABLE(level, ns_name)             \
  template <>                                             \
  struct TableOf<level> {                                 \
    static KernelTable make() {                           \
      namespace ns = ns_name;                             \
      KernelTable table;                                  \
      FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_FILL_SLOT)        \
      FASTLOSS_FOR_EACH_PLAIN_KERNEL(FASTLOSS_FILL_PLAIN) \
      FASTLOSS_FOR_EACH_HALF_KERNEL(FASTLOSS_FILL_HALF)   \
      return table;                                       \
    }                                                     \
  };

FASTLOSS_DEFINE_TABLE(0, baseline)
#if defined(FASTLOSS_X86_VARIANTS)
FASTLOSS_DEFINE_TABLE(1, avx2)
FASTLOSS_DEFINE_TABLE(2, avx512)
#endif

const char* const kLevelNames[] = {"baseline", "avx2", "avx512"};

#if defined(FASTLOSS_X86_VARIANTS)
// F16C (half <-> float conversion, CPUID leaf 1, ECX bit 29): every AVX2 CPU has it, and both
// vector levels are compiled with -mf16c, so it is required like FMA.
bool has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
}
#endif

// The highest level this CPU runs: 0 baseline, 1 AVX2 + FMA + F16C, 2 AVX-512 (F, BW, DQ, VL).
int cpu_level() {
#if defined(FASTLOSS_X86_VARIANTS)
  __builtin_cpu_init();
  const bool f16c = has_f16c();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && f16c) {
    return 2;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c) return 1;
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

// The elementwise losses each level's kernel files registered while the module was loaded.
std::vector<ElementwiseLoss>& registry(int level) {
  static std::vector<ElementwiseLoss> losses[3];
  return losses[level];
}

// Sorts each level's losses by name and checks that every level has the same ones (the same
// kernel files are compiled for each), so an index means the same loss at every level.
void finish_registration() {
  for (int level = 0; level < 3; ++level) {
    std::sort(registry(level).begin(), registry(level).end(),
              [](const ElementwiseLoss& a, const ElementwiseLoss& b) { return a.name < b.name; });
  }
  for (int level = 1; level <= cpu_level(); ++level) {
    const auto &base = registry(0), &other = registry(level);
    const bool same = base.size() == other.size() &&
                      std::equal(base.begin(), base.end(), other.begin(),
                                 [](const ElementwiseLoss& a, const ElementwiseLoss& b) { return a.name == b.name; });
    if (!same)
      throw std::logic_error(std::string("fastloss: elementwise losses differ at level ") + kLevelNames[level]);
  }
}

struct State {
  int level;
  KernelTable table;
  State() {
    finish_registration();
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

bool cpu_has_avx512_bf16() {
#if defined(FASTLOSS_X86_VARIANTS)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") != 0;
  }();
  return has;
#else
  return false;
#endif
}

const std::vector<ElementwiseLoss>& elementwise_losses() { return registry(state().level); }

#define FASTLOSS_KERNEL_PARAM(T, suffix, ...) , ElementwiseKernel<T> suffix
#define FASTLOSS_KERNEL_SET(T, suffix, ...) loss.suffix = suffix;
bool register_elementwise_loss(int level, const char* name, bool weighted, bool pos_weighted,
                               int settings FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_KERNEL_PARAM, )) {
  ElementwiseLoss loss;
  loss.name = name;
  loss.weighted = weighted;
  loss.pos_weighted = pos_weighted;
  loss.settings = settings;
  FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_KERNEL_SET, )
  registry(level).push_back(std::move(loss));
  return true;
}
#undef FASTLOSS_KERNEL_SET
#undef FASTLOSS_KERNEL_PARAM

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

}  // namespace fastloss
