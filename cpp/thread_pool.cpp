// The threads behind every parallel kernel (see parallel.hpp for the contract).
//
// Why not OpenMP's parallel loop: its static schedule hands each thread a fixed share and the
// end of the region is a barrier, so the caller waits for a thread that the OS has not even
// started yet. With another process busy on every core, that turned an 80 us call into 8 ms.
// Here the items are claimed one at a time from an atomic counter, and the caller claims them
// too: a worker that never gets a core never holds any work. The caller waits only for items
// that a running worker has already claimed, and it waits passively (a condition variable
// after a short spin), so its core goes to whoever needs it.
#include "fastloss/parallel.hpp"

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fastloss {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// How long an idle worker keeps polling for the next job before it sleeps, and how long the
// caller polls for the last claimed items before it sleeps. Short: under load a spinning
// thread takes a core from other processes; a call that comes back within this window finds
// its workers awake (waking a sleeping thread costs tens of microseconds).
constexpr auto kWorkerSpin = std::chrono::microseconds(100);
constexpr auto kCallerSpin = std::chrono::microseconds(20);
// A job of fewer items is shared only with workers that are still awake (polling): waking a
// sleeping thread costs a system call and, under load, a scheduling decision that can put the
// worker on the caller's own core; a few blocks finish sooner on the caller alone.
constexpr std::int64_t kWakeMinItems = 8;
// Under load a worker can be descheduled while it holds an item, and the caller then waits for
// the rest of the other process's time slice (milliseconds) -- for a call that takes tens of
// microseconds alone. When the caller had to wait on a worker for longer than kStall and than
// its own share of the work took, jobs of fewer than kSmallJobItems items run on the caller
// alone for the next kBackoff: on an idle machine that never happens, under load it turns a
// stall per few calls into one per backoff period. Larger jobs keep their workers: there the
// extra core pays for the occasional wait (measured: mean and p99 below one thread's).
constexpr std::int64_t kSmallJobItems = 32;
constexpr auto kStall = std::chrono::microseconds(200);
constexpr auto kBackoff = std::chrono::milliseconds(50);

// Spins until done() or the time is up; false when it gave up.
template <class Done>
bool spin_until(Done&& done, std::chrono::microseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

thread_local bool t_in_pool_work = false;  // set while a thread runs items: nested calls run inline

class Pool {
 public:
  // Runs fn(ctx, i) for i in [0, n_items) on the caller and up to n_threads - 1 workers.
  void run(std::int64_t n_items, int n_threads, ItemFn fn, void* ctx) {
    // One job at a time: a second caller (another Python thread) runs its items itself
    // rather than wait for the pool, and so does a call from inside an item.
    if (t_in_pool_work) return run_inline(n_items, fn, ctx);
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return run_inline(n_items, fn, ctx);
    const auto start = std::chrono::steady_clock::now();
    if (n_items < kSmallJobItems && start < backoff_until_) return run_inline(n_items, fn, ctx);
    const int helpers = ensure_workers(n_threads - 1);
    if (helpers == 0) return run_inline(n_items, fn, ctx);
    publish(n_items, helpers, fn, ctx);
    if (n_items >= kWakeMinItems) {
      for (int w = 0; w < helpers; ++w) workers_[static_cast<std::size_t>(w)]->wake();
    }
    work();
    const auto own_done = std::chrono::steady_clock::now();
    wait_done(n_items);
    const auto waited = std::chrono::steady_clock::now() - own_done;
    if (waited > kStall && waited > own_done - start) backoff_until_ = own_done + waited + kBackoff;
  }

 private:
  // A claim word packs the job's generation (high 16 bits) and the next unclaimed item (low
  // 48 bits), so a claim is one compare-and-swap and a worker that wakes late for an old job
  // cannot claim from the new one by mistake.
  static constexpr int kIndexBits = 48;
  static constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kIndexBits) - 1;
  static constexpr std::uint64_t kClosed = kIndexMask;  // no item is claimable

  struct Worker {
    std::mutex m;
    std::condition_variable cv;
    bool sleeping = false;
    std::thread thread;

    void wake() {
      std::lock_guard<std::mutex> lock(m);
      if (sleeping) cv.notify_one();
    }
  };

  static void run_inline(std::int64_t n_items, ItemFn fn, void* ctx) {
    for (std::int64_t i = 0; i < n_items; ++i) fn(ctx, i);
  }

  // Starts workers up to `wanted` (fewer if the OS refuses a thread: never an error).
  int ensure_workers(int wanted) {
    while (static_cast<int>(workers_.size()) < wanted) {
      auto w = std::make_unique<Worker>();
      const int index = static_cast<int>(workers_.size());
      try {
        w->thread = std::thread([this, index, wp = w.get()] { worker_main(index, *wp); });
      } catch (const std::system_error&) {
        break;
      }
      workers_.push_back(std::move(w));
    }
    return std::min(wanted, static_cast<int>(workers_.size()));
  }

  void publish(std::int64_t n_items, int helpers, ItemFn fn, void* ctx) {
    generation_ = (generation_ + 1) & 0xffff;
    const std::uint64_t tag = static_cast<std::uint64_t>(generation_) << kIndexBits;
    // Closed first: a worker still looking at the previous job's word fails its CAS, so it
    // can never pair an old claim with the fields written below.
    claim_.store(tag | kClosed, std::memory_order_seq_cst);
    fn_.store(fn, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    n_items_.store(n_items, std::memory_order_relaxed);
    helpers_.store(helpers, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    claim_.store(tag, std::memory_order_release);
    jobs_.fetch_add(1, std::memory_order_release);
  }

  // Claims and runs items of the current job until none is left. `index` < 0: the caller.
  void work(int index = -1) {
    t_in_pool_work = true;
    std::uint64_t word = claim_.load(std::memory_order_acquire);
    for (;;) {
      const std::int64_t item = static_cast<std::int64_t>(word & kIndexMask);
      if (item >= n_items_.load(std::memory_order_relaxed) || index >= helpers_.load(std::memory_order_relaxed)) break;
      if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      // The claim succeeded, so this job is still current and its caller is waiting for this
      // item: the fields below are this job's.
      const std::int64_t n = n_items_.load(std::memory_order_relaxed);
      fn_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), item);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        std::lock_guard<std::mutex> lock(done_m_);
        done_cv_.notify_one();
      }
      word = claim_.load(std::memory_order_acquire);
    }
    t_in_pool_work = false;
  }

  void wait_done(std::int64_t n_items) {
    auto finished = [&] { return done_.load(std::memory_order_acquire) == n_items; };
    if (spin_until(finished, kCallerSpin)) return;
    std::unique_lock<std::mutex> lock(done_m_);
    done_cv_.wait(lock, finished);
  }

  void worker_main(int index, Worker& self) {
    std::uint64_t seen = jobs_.load(std::memory_order_acquire);
    for (;;) {
      auto new_job = [&] { return jobs_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(new_job, kWorkerSpin)) {
        std::unique_lock<std::mutex> lock(self.m);
        self.sleeping = true;
        self.cv.wait(lock, new_job);
        self.sleeping = false;
      }
      seen = jobs_.load(std::memory_order_acquire);
      work(index);
    }
  }

  std::mutex busy_;
  std::vector<std::unique_ptr<Worker>> workers_;           // only the caller holding busy_ changes it
  std::uint32_t generation_ = 0;                           // likewise
  std::chrono::steady_clock::time_point backoff_until_{};  // likewise

  std::atomic<std::uint64_t> claim_{kClosed};
  std::atomic<std::uint64_t> jobs_{0};  // published jobs: wakes the workers
  std::atomic<ItemFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<std::int64_t> n_items_{0};
  std::atomic<int> helpers_{0};  // workers 0 .. helpers - 1 may take part in the current job
  std::atomic<std::int64_t> done_{0};
  std::mutex done_m_;
  std::condition_variable done_cv_;
};

// The pool lives for the whole process (never destroyed: its threads may be waiting when the
// interpreter exits). A forked child has none of the parent's threads, so it starts a new one.
Pool* g_pool = nullptr;
std::once_flag g_pool_once;

Pool& pool() {
  std::call_once(g_pool_once, [] {
    g_pool = new Pool();
    pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool(); });
  });
  return *g_pool;
}

}  // namespace

int usable_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int default_threads() { return omp_get_max_threads(); }

void run_parallel(std::int64_t n_items, int n_threads, ItemFn fn, void* ctx) {
  if (n_threads <= 1 || n_items <= 1) {
    for (std::int64_t i = 0; i < n_items; ++i) fn(ctx, i);
    return;
  }
  pool().run(n_items, n_threads, fn, ctx);
}

}  // namespace fastloss
