// polylock benchmarks — contended throughput, interleaved round by round.
//
// Usage: polylock_rounds [--rounds=40] [--window_ms=300] [--warmup_ms=300]
//                        [--probe_ms=20] [--threads=2,4,8,16] [--inside_ns=0,50,1000]
//                        [--outside_ns=200] [--seed=N] [--control]
//                        [--variant=libpolylock.so] [--out=rounds.json]
//
// A shared or virtual machine has phases: for seconds to minutes moving a
// cache line between cores is cheap, then it is not, and std::mutex's own
// throughput moves by 2-3x between them (issue 16). A benchmark that runs
// each lock once, or all of one lock's repetitions together, compares a lock
// measured in one phase with a peer measured in another. Here every round
// visits every shape (threads, work inside) in a shuffled order, and within
// a shape runs the locks back to back, also shuffled, each for one
// window: a lock and std::mutex in the same round and shape are seconds
// apart at most, so their ratio compares like with like, and the rounds of
// one shape are spread over the whole run, so they see whatever phases the
// run sees. The program only measures; bench/rounds_report.py tells the
// phases apart and computes the distributions and Jain's index.
//
// --variant=PATH runs a second build of libpolylock.so (another core, say)
// as one more lock in every round, "polylock_variant": a change to the
// lock is then judged against the build it changes, std::mutex and the
// control in the same rounds, not in a run an hour away (Linux: the build
// is loaded with dlmopen into a namespace of its own, so that its parking
// lot and symbols do not meet the linked build's).
//
// Output: JSON with one sample per (round, shape, lock) holding each
// thread's acquisition count, CPU time, sleeps (voluntary context switches)
// and, where Linux's /proc has them, its wait for a CPU, moves between CPUs
// and the time it counted (see Window); the process's CPU time in the window
// and each CPU's speed just before it (cpu_speeds()); per round how busy the
// rest of the machine was (other processes disturb the numbers; the report
// says how much); and what 1000 ns of the work really took.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#endif

#include "peers.hpp"
#include "work.hpp"

namespace {

struct Options {
  int rounds = 40;
  int window_ms = 300;
  int warmup_ms = 300;  // run before each window, not counted: see hammer()
  int probe_ms = 20;   // each CPU's speed just before each window: see cpu_speeds()
  std::vector<int> threads{2, 4, 8, 16};
  std::vector<std::int64_t> inside_ns{0, 50, 1000};
  std::int64_t outside_ns = 200;  // as bench/contended.cpp, so the two agree
  std::uint32_t seed = 0;         // 0: drawn at start, and recorded
  std::string out = "rounds.json";
  bool control = false;  // also run std::mutex a second time, as a control
  std::string variant;   // a second libpolylock.so to run as one more lock, or empty
};

struct Shape {
  int threads;
  std::int64_t inside_ns;
};

struct Window {
  double seconds = 0;
  double cpu_seconds = 0;             // the process's CPU time in the window: did it get the CPUs?
  std::vector<std::uint64_t> counts;  // acquisitions per thread
  // Each thread's CPU time in the window (s), or empty where the platform
  // cannot say: a thread's acquisitions per CPU-second tell the lock's
  // fairness apart from the scheduler's split of the CPUs among the threads.
  std::vector<double> thread_cpu_seconds;
  // Each thread's voluntary context switches in the window (it slept: on a
  // futex, say), or empty where the platform cannot say. A lock whose
  // waiters sleep at every collision (glibc's) has its threads switched out
  // many times a time slice, one whose waiters spin lets them run to the end
  // of their slices: a difference in how the scheduler splits the CPUs among
  // the threads (the CPU time above) may come from there (docs/benchmarks.md,
  // 2026-12-01: Jain's index did not follow the sleeps in the morning's runs;
  // the share of lopsided windows followed them across the locks later).
  std::vector<long> thread_sleeps;
  // Each thread's time runnable but not running in the window (s: waiting on
  // a run queue for a CPU, from /proc/thread-self/schedstat) and how long it
  // counted (s: from just before it saw the window start to just after it
  // saw it end), or empty where Linux's /proc cannot say. A thread's counted
  // time is its CPU time, its wait for a CPU and the rest asleep: a split of
  // the CPU time that is uneven among the threads comes from the waits or
  // from the sleeps. On the 2-CPU VM of docs/benchmarks.md it came mostly
  // from the waits (2026-12-01).
  std::vector<double> thread_queue_seconds;
  std::vector<double> thread_seconds;
  // Each thread's moves between CPUs in the window (/proc/thread-self/sched,
  // a scheduler debug file), or empty where Linux does not have it.
  std::vector<long> thread_migrations;
  bool exclusive = true;              // no two threads held the lock at once
};

// What `ns` of bench::work_for really takes when nothing interrupts it: the
// fastest of many tries of about 10 us each, short enough that most run
// without being preempted (or, on a VM, having the CPU taken away).
double work_cost_ns(std::int64_t ns) {
  double fastest = 1e18;
  for (int t = 0; t < 300; ++t) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) bench::work_for(ns);
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    fastest = std::min(fastest, took.count() / 10);
  }
  return fastest;
}

// bench::calibrate_work takes the fastest of five tries of several
// milliseconds, and on a busy machine every one of them can be interrupted:
// the work then comes out short (seen here at load 20 on 2 CPUs: 1000 ns
// asked, 330-810 ns done). Rather than trust it, scale what is asked of it by
// what 1000 ns really takes.
double work_scale = 1.0;

// The calling thread's voluntary context switches so far (a yield is not
// one: the kernel counts it as involuntary), or -1 where the platform cannot
// say.
long thread_sleeps_now() {
#if defined(RUSAGE_THREAD)
  rusage usage{};
  if (getrusage(RUSAGE_THREAD, &usage) == 0) return usage.ru_nvcsw;
#endif
  return -1;
}

// The calling thread's time so far runnable but waiting for a CPU (s), from
// Linux's /proc/thread-self/schedstat ("run time, run-queue wait, time
// slices", in ns), or -1 where there is none. A kernel that keeps no such
// statistics prints zeros there: a thread that has run has a run time.
double thread_queue_now() {
  double seconds = -1;
  if (std::FILE* file = std::fopen("/proc/thread-self/schedstat", "r")) {
    unsigned long long run_ns = 0, wait_ns = 0;
    if (std::fscanf(file, "%llu %llu", &run_ns, &wait_ns) == 2 && run_ns > 0)
      seconds = double(wait_ns) * 1e-9;
    std::fclose(file);
  }
  return seconds;
}

// The calling thread's moves between CPUs so far (se.nr_migrations in
// Linux's /proc/thread-self/sched, a scheduler debug file), or -1 where
// there is none.
long thread_migrations_now() {
  long migrations = -1;
  if (std::FILE* file = std::fopen("/proc/thread-self/sched", "r")) {
    char line[256];
    while (migrations < 0 && std::fgets(line, sizeof line, file)) {
      const char* colon = std::strchr(line, ':');
      if (std::strncmp(line, "se.nr_migrations ", 17) == 0 && colon)
        migrations = std::strtol(colon + 1, nullptr, 10);
    }
    std::fclose(file);
  }
  return migrations;
}

// The calling thread's CPU time (s), or -1 where the platform has no clock
// for it.
double thread_cpu_now() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec now{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) == 0)
    return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
#endif
  return -1;
}

void work_for(std::int64_t ns) {
  if (ns > 0) bench::work_for(std::llround(double(ns) * work_scale));
}

// Each CPU's speed, probed for probe_ms just before a window: one thread
// pinned to each CPU this process may run on, all at once, runs the work;
// a CPU's speed is the work its thread got done per CPU-second, over what
// the calibration says a CPU-second does (1.0: as fast as then). On a
// virtual machine one CPU may run for seconds to minutes at a fraction of
// another's speed, the host giving its time to someone else, and the guest
// is not told (no steal time): the scheduler splits CPU time evenly among
// threads that then get unequal work done, and a lock that is not strictly
// fair may split its acquisitions unevenly between the two CPUs' threads,
// either way (on the 2-CPU VM of docs/benchmarks.md one CPU ran at
// 0.35-0.40x the other's for minutes at a time, 2026-11-30; per CPU-second
// std::mutex then favoured the slow CPU's threads, polylock the fast CPU's).
// The report tells such windows apart. Empty where threads cannot be
// pinned, `probe_ms` is 0, or a probe thread ran for less than a quarter of
// the probe (too little to tell its CPU's speed).
std::vector<double> cpu_speeds(int probe_ms, double work_1000_ns) {
  std::vector<double> speeds;
  if (probe_ms <= 0) return speeds;
#if defined(__linux__)
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return speeds;
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  speeds.assign(cpus.size(), -1);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < cpus.size(); ++i) {
    threads.emplace_back([&, i] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpus[i], &one);
      const bool pinned = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const double start = thread_cpu_now();
      std::uint64_t done = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        work_for(1000);
        ++done;
      }
      const double cpu = thread_cpu_now() - start;
      if (pinned && start >= 0 && done > 0 && cpu >= probe_ms * 0.25e-3)
        speeds[i] = double(done) * work_1000_ns * 1e-9 / cpu;
    });
  }
  while (ready.load() < int(cpus.size())) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::milliseconds(probe_ms));
  stop.store(true, std::memory_order_relaxed);
  for (auto& thread : threads) thread.join();
  if (std::any_of(speeds.begin(), speeds.end(), [](double speed) { return speed < 0; }))
    speeds.clear();
#else
  (void)work_1000_ns;
#endif
  return speeds;
}

// What the kernel says about the calling thread at one moment (see Window);
// a field is negative where the platform cannot say. Read in this order (the
// members are initialized as declared): the clock, the run-queue wait and the
// CPU time, the clock again, then the counts. The time a window counts runs
// from its first sample's first clock to its last sample's second, so the
// CPU time and the wait, read between, fall inside it even when the thread
// is preempted during a read; the slower reads (/proc/thread-self/sched is a
// long file) come after.
struct ThreadSample {
  std::chrono::steady_clock::time_point before = std::chrono::steady_clock::now();
  double queue_seconds = thread_queue_now();
  double cpu_seconds = thread_cpu_now();
  std::chrono::steady_clock::time_point after = std::chrono::steady_clock::now();
  long sleeps = thread_sleeps_now();
  long migrations = thread_migrations_now();
};

// Each thread's share of a window, from its samples at both ends.
struct ThreadShares {
  explicit ThreadShares(int threads)
      : cpu(threads, -1), sleeps(threads, -1), queue(threads, -1), migrations(threads, -1),
        seconds(threads, -1) {}
  void record(int t, const ThreadSample& start, const ThreadSample& end) {
    if (start.cpu_seconds >= 0 && end.cpu_seconds >= 0)
      cpu[t] = end.cpu_seconds - start.cpu_seconds;
    if (start.sleeps >= 0 && end.sleeps >= 0) sleeps[t] = end.sleeps - start.sleeps;
    if (start.queue_seconds >= 0 && end.queue_seconds >= 0)
      queue[t] = end.queue_seconds - start.queue_seconds;
    if (start.migrations >= 0 && end.migrations >= 0)
      migrations[t] = end.migrations - start.migrations;
    seconds[t] = std::chrono::duration<double>(end.after - start.before).count();
  }
  // Copies each measure every thread has into `window`.
  void into(Window& window) const {
    auto all = [](const auto& values) {
      return std::all_of(values.begin(), values.end(), [](auto value) { return value >= 0; });
    };
    if (all(cpu)) window.thread_cpu_seconds = cpu;
    if (all(sleeps)) window.thread_sleeps = sleeps;
    if (all(queue)) {
      window.thread_queue_seconds = queue;
      window.thread_seconds = seconds;
    }
    if (all(migrations)) window.thread_migrations = migrations;
  }
  std::vector<double> cpu;
  std::vector<long> sleeps;
  std::vector<double> queue;
  std::vector<long> migrations;
  std::vector<double> seconds;
};

// `threads` threads loop acquire, inside_ns of work, release, outside_ns of
// work, on a fresh `Lock` for warmup_ms and then window_ms, of which only the
// window is counted (acquisitions, each thread's CPU time and its sleeps).
// The same loop as bench/hammer.hpp, which is tied to Google Benchmark's
// State; this program needs none of it. The warm-up: the threads are new in
// every window, and where the kernel first put them is not the lock's doing;
// with none, on 2 CPUs with 200 ns outside the lock, the second thread
// created got 1.1-1.3x its share of the CPU time under every lock
// (2026-11-30), which set Jain's index more than the lock did. 300 ms, not
// the 50 ms it was until 2026-12-01: a scheduler trace on 2 CPUs (8 threads,
// 0 ns inside, 200 ns outside) found 7 or 8 of the 8 new threads on one CPU
// in 72 of 120 windows; where the waiters sleep often their wakes mostly
// spread them within the 50 ms, but polylock's waiters rarely sleep there,
// and the split could last until the kernel's load balancing moved them: 7
// to 1 until about 140 ms after the threads began, even at about 190 ms.
// How long that lasts is partly the lock's doing (design.md §11), a start-up
// cost the warm-up leaves out so that the window measures the lock once the
// threads are spread. With 50 ms, 17% of polylock's windows had one thread
// with 1.5x the median thread's CPU time, against 4% of std::mutex's; with
// 300 ms, as few as std::mutex's (docs/benchmarks.md).
template <class Lock>
Window hammer(Shape shape, std::int64_t outside_ns, int window_ms, int warmup_ms) {
  // The lock and the data it guards on separate cache lines: std::mutex's
  // word could otherwise share a line with the counter, a saving that
  // polylock's handle (the lock lives behind it) can never have.
  struct alignas(64) Padded {
    Lock lock;
  };
  struct alignas(64) Count {
    std::uint64_t value = 0;
  };
  Padded padded;
  Count guarded;  // only touched under the lock: checks mutual exclusion
  std::vector<Count> slots(shape.threads), all(shape.threads);
  ThreadShares shares(shape.threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  enum Phase : int { warming_up, counting, stopping };
  const int first_phase = warmup_ms > 0 ? warming_up : counting;
  std::atomic<int> phase{first_phase};
  std::vector<std::thread> threads;
  for (int t = 0; t < shape.threads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      ThreadSample start;
      std::uint64_t mine = 0, before = 0;
      // One load and one compare per iteration, as a plain stop flag costs.
      for (int seen = first_phase;;) {
        const int now = phase.load(std::memory_order_relaxed);
        if (now != seen) {
          if (seen == warming_up) {  // counting from here (at stopping: nothing counted)
            before = mine;
            start = ThreadSample();
          }
          if (now == stopping) break;
          seen = now;
        }
        padded.lock.lock();
        ++guarded.value;
        work_for(shape.inside_ns);
        padded.lock.unlock();
        ++mine;
        work_for(outside_ns);
      }
      slots[t].value = mine - before;
      all[t].value = mine;
      shares.record(t, start, ThreadSample());
    });
  }
  while (ready.load() < shape.threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  if (warmup_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(warmup_ms));
  const std::clock_t cpu_start = std::clock();
  const auto start = std::chrono::steady_clock::now();
  phase.store(counting, std::memory_order_relaxed);
  std::this_thread::sleep_for(std::chrono::milliseconds(window_ms));
  phase.store(stopping, std::memory_order_relaxed);
  const auto end = std::chrono::steady_clock::now();
  const std::clock_t cpu_end = std::clock();
  for (auto& thread : threads) thread.join();

  Window window;
  window.seconds = std::chrono::duration<double>(end - start).count();
  window.cpu_seconds = double(cpu_end - cpu_start) / CLOCKS_PER_SEC;
  std::uint64_t total = 0;
  for (int t = 0; t < shape.threads; ++t) {
    window.counts.push_back(slots[t].value);
    total += all[t].value;
  }
  window.exclusive = total == guarded.value;
  shares.into(window);
  return window;
}

struct Contender {
  const char* name;
  Window (*run)(Shape, std::int64_t, int, int);
};

// std::mutex a second time (--control): its ratio to std::mutex is 1 but for
// the machine, so its spread is the noise floor every other ratio sits on.
struct StdMutexControl : bench::StdMutex {
  static constexpr const char* name = "std_mutex_control";
};

// The C ABI of the build given with --variant, looked up once in main.
struct VariantAbi {
  decltype(&::lock_new) make = nullptr;
  decltype(&::lock_free) free = nullptr;
  decltype(&::lock_acquire) acquire = nullptr;
  decltype(&::lock_release) release = nullptr;
};
VariantAbi variant_abi;

// The --variant build, behind the same face as bench::PolylockLock.
struct PolylockVariant {
  static constexpr const char* name = "polylock_variant";
  PolylockVariant() : handle(variant_abi.make()) {}
  ~PolylockVariant() { variant_abi.free(handle); }
  PolylockVariant(const PolylockVariant&) = delete;
  PolylockVariant& operator=(const PolylockVariant&) = delete;
  void lock() { variant_abi.acquire(handle, LOCK_WAIT_FOREVER); }
  void unlock() { variant_abi.release(handle); }
  lock_t* handle;
};

// Loads the file at `path` into a link-map namespace of its own (two copies
// of one soname in the default namespace would be one library) and looks up
// its C ABI. `path` must name a file (a "/" in it): a bare name would be
// looked up where the dynamic linker looks, this program's own runpath
// first, and could load the linked build itself. On success `path` becomes
// the file's absolute path, as the JSON records it; else prints why and
// returns false.
bool load_variant(std::string& path) {
#if defined(__linux__) && defined(LM_ID_NEWLM)
  if (path.find('/') == std::string::npos) {
    std::fprintf(stderr, "polylock_rounds: --variant=%s: give a path (./%s for a file here)\n",
                 path.c_str(), path.c_str());
    return false;
  }
  char* resolved = realpath(path.c_str(), nullptr);
  if (!resolved) {
    std::fprintf(stderr, "polylock_rounds: --variant=%s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  path = resolved;
  std::free(resolved);
  void* library = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    std::fprintf(stderr, "polylock_rounds: --variant: %s\n", dlerror());
    return false;
  }
  bool found_all = true;
  auto find = [&](auto& function, const char* symbol) {
    using Function = std::remove_reference_t<decltype(function)>;
    function = reinterpret_cast<Function>(dlsym(library, symbol));
    if (!function) {
      std::fprintf(stderr, "polylock_rounds: --variant: %s lacks %s\n", path.c_str(), symbol);
      found_all = false;
    }
  };
  find(variant_abi.make, "lock_new");
  find(variant_abi.free, "lock_free");
  find(variant_abi.acquire, "lock_acquire");
  find(variant_abi.release, "lock_release");
  return found_all;
#else
  std::fprintf(stderr, "polylock_rounds: --variant=%s: needs dlmopen (Linux)\n", path.c_str());
  return false;
#endif
}

const Contender contenders[] = {
    {bench::PolylockLock::name, hammer<bench::PolylockLock>},
    {bench::StdMutex::name, hammer<bench::StdMutex>},
    {bench::AdaptivePthreadMutex::name, hammer<bench::AdaptivePthreadMutex>},
    {bench::FutexSemaphore::name, hammer<bench::FutexSemaphore>},
};
const Contender control_contender{StdMutexControl::name, hammer<StdMutexControl>};
const Contender variant_contender{PolylockVariant::name, hammer<PolylockVariant>};

struct Load {
  double one_minute = -1;    // the 1-minute load average: ours included, over the last windows
  int others_runnable = -1;  // threads runnable right now, less this one (no workers exist)
};

// Read between windows, when this process runs one thread only, so that the
// instantaneous count is the rest of the machine's demand for CPUs.
Load machine_load() {
  Load load;
  if (std::FILE* file = std::fopen("/proc/loadavg", "r")) {
    int runnable = 0;
    if (std::fscanf(file, "%lf %*f %*f %d/", &load.one_minute, &runnable) == 2) {
      load.others_runnable = runnable - 1;
    }
    std::fclose(file);
  }
  return load;
}

// "--name=value" -> value, or nullptr when `arg` is another flag.
const char* flag_value(const char* arg, const char* name) {
  const std::size_t length = std::strlen(name);
  return std::strncmp(arg, name, length) == 0 && arg[length] == '=' ? arg + length + 1 : nullptr;
}

template <class Number>
std::vector<Number> parse_list(const char* text) {
  std::vector<Number> numbers;
  for (const char* at = text; *at != '\0';) {
    char* end = nullptr;
    numbers.push_back(static_cast<Number>(std::strtoll(at, &end, 10)));
    if (end == at) return {};
    at = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0') return {};
  }
  return numbers;
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (const char* value = flag_value(arg, "--rounds")) {
      options.rounds = std::atoi(value);
    } else if (const char* window = flag_value(arg, "--window_ms")) {
      options.window_ms = std::atoi(window);
    } else if (const char* warmup = flag_value(arg, "--warmup_ms")) {
      options.warmup_ms = std::atoi(warmup);
    } else if (const char* probe = flag_value(arg, "--probe_ms")) {
      options.probe_ms = std::atoi(probe);
    } else if (const char* threads = flag_value(arg, "--threads")) {
      options.threads = parse_list<int>(threads);
    } else if (const char* inside = flag_value(arg, "--inside_ns")) {
      options.inside_ns = parse_list<std::int64_t>(inside);
    } else if (const char* outside = flag_value(arg, "--outside_ns")) {
      options.outside_ns = std::atoll(outside);
    } else if (const char* seed = flag_value(arg, "--seed")) {
      options.seed = static_cast<std::uint32_t>(std::strtoul(seed, nullptr, 10));
    } else if (const char* out = flag_value(arg, "--out")) {
      options.out = out;
    } else if (const char* variant = flag_value(arg, "--variant")) {
      if (*variant == '\0') return false;  // an empty path: a mistake, not "no variant"
      options.variant = variant;
    } else if (std::strcmp(arg, "--control") == 0) {
      options.control = true;
    } else {
      return false;
    }
  }
  const bool threads_ok =
      !options.threads.empty() &&
      std::all_of(options.threads.begin(), options.threads.end(), [](int n) { return n > 0; });
  return options.rounds > 0 && options.window_ms > 0 && options.warmup_ms >= 0 &&
         options.probe_ms >= 0 && threads_ok &&
         !options.inside_ns.empty() && options.outside_ns >= 0;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

// `text` as a JSON string: quotes, backslashes and control characters
// escaped; other bytes as they are (a path in UTF-8 stays valid JSON).
std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

template <class Number>
std::string json_list(const std::vector<Number>& numbers) {
  std::string text = "[";
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    text += (i ? "," : "") + std::to_string(numbers[i]);
  }
  return text + "]";
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s [--rounds=N] [--window_ms=N] [--warmup_ms=N] [--probe_ms=N] "
                 "[--threads=2,4,8,16] [--inside_ns=0,50,1000] [--outside_ns=N] [--seed=N] "
                 "[--control] [--variant=LIBPOLYLOCK] [--out=PATH]\n",
                 argv[0]);
    return 2;
  }
  // glibc and libstdc++ skip atomic instructions in a process that has never
  // had a second thread (see bench/main.cpp).
  std::thread([] {}).join();
  if (!options.variant.empty() && !load_variant(options.variant)) return 2;
  bench::calibrate_work();
  const double uncorrected_ns = work_cost_ns(1000);
  work_scale = 1000 / uncorrected_ns;
  work_scale *= 1000 / work_cost_ns(std::llround(1000 * work_scale));  // once more, from closer
  const double work_1000_ns = work_cost_ns(std::llround(1000 * work_scale));
  std::fprintf(stderr, "polylock_rounds: 1000 ns of work took %.0f ns, %.0f ns once scaled\n",
               uncorrected_ns, work_1000_ns);
  if (options.seed == 0) options.seed = std::random_device{}() | 1;
  std::mt19937 random(options.seed);

  std::vector<Shape> shapes;
  for (std::int64_t inside : options.inside_ns) {
    for (int threads : options.threads) shapes.push_back({threads, inside});
  }
  std::vector<const Contender*> locks;
  for (const Contender& contender : contenders) locks.push_back(&contender);
  if (options.control) locks.push_back(&control_contender);
  if (!options.variant.empty()) locks.push_back(&variant_contender);
  const std::size_t lock_count = locks.size();
  std::fprintf(stderr,
               "polylock_rounds: %d rounds of %zu shapes x %zu locks x %d ms (after %d ms of "
               "warm-up and a %d ms probe of the CPUs' speeds each), about %.0f s\n",
               options.rounds, shapes.size(), lock_count, options.window_ms, options.warmup_ms,
               options.probe_ms,
               options.rounds * double(shapes.size() * lock_count) *
                   (options.window_ms + options.warmup_ms + options.probe_ms) / 1e3);

  std::string samples, rounds;
  const std::string started = utc_now();
  const auto run_start = std::chrono::steady_clock::now();
  auto since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  };
  for (int round = 0; round < options.rounds; ++round) {
    const Load load = machine_load();
    char line[192];
    std::snprintf(line, sizeof line,
                  "%s{\"round\":%d,\"start_s\":%.3f,\"load_average\":%.2f,"
                  "\"others_runnable\":%d}",
                  round ? ",\n  " : "", round, since_start(), load.one_minute,
                  load.others_runnable);
    rounds += line;
    std::fprintf(stderr, "round %d/%d at %.0f s, load average %.2f, %d other threads runnable\n",
                 round + 1, options.rounds, since_start(), load.one_minute, load.others_runnable);
    std::shuffle(shapes.begin(), shapes.end(), random);
    for (const Shape& shape : shapes) {
      std::vector<const Contender*> order = locks;
      std::shuffle(order.begin(), order.end(), random);
      for (const Contender* contender : order) {
        const std::vector<double> speeds = cpu_speeds(options.probe_ms, work_1000_ns);
        const double start_s = since_start();
        const Window window =
            contender->run(shape, options.outside_ns, options.window_ms, options.warmup_ms);
        if (!window.exclusive) {
          std::fprintf(stderr, "polylock_rounds: %s let two threads hold it at once\n",
                       contender->name);
          return 1;
        }
        std::snprintf(line, sizeof line,
                      "{\"round\":%d,\"threads\":%d,\"inside_ns\":%lld,\"lock\":\"%s\","
                      "\"start_s\":%.3f,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"counts\":",
                      round, shape.threads, static_cast<long long>(shape.inside_ns),
                      contender->name, start_s, window.seconds, window.cpu_seconds);
        samples +=
            (samples.empty() ? "" : ",\n  ") + std::string(line) + json_list(window.counts) +
            (window.thread_cpu_seconds.empty()
                 ? ""
                 : ",\"thread_cpu_seconds\":" + json_list(window.thread_cpu_seconds)) +
            (window.thread_sleeps.empty()
                 ? ""
                 : ",\"thread_sleeps\":" + json_list(window.thread_sleeps)) +
            (window.thread_queue_seconds.empty()
                 ? ""
                 : ",\"thread_queue_seconds\":" + json_list(window.thread_queue_seconds) +
                       ",\"thread_seconds\":" + json_list(window.thread_seconds)) +
            (window.thread_migrations.empty()
                 ? ""
                 : ",\"thread_migrations\":" + json_list(window.thread_migrations)) +
            (speeds.empty() ? "" : ",\"cpu_speeds\":" + json_list(speeds)) + "}";
      }
    }
  }

  std::ofstream out(options.out);
  out << "{\n \"context\": {\"started\": \"" << started
      << "\", \"cpus\": " << std::thread::hardware_concurrency()
      << ", \"rounds\": " << options.rounds << ", \"window_ms\": " << options.window_ms
      << ", \"warmup_ms\": " << options.warmup_ms << ", \"probe_ms\": " << options.probe_ms
      << ", \"threads\": " << json_list(options.threads)
      << ", \"inside_ns\": " << json_list(options.inside_ns)
      << ", \"outside_ns\": " << options.outside_ns << ", \"seed\": " << options.seed
      << (options.variant.empty() ? "" : ", \"variant\": " + json_string(options.variant))
      << ", \"work_1000_ns\": " << work_1000_ns << ", \"work_scale\": " << work_scale
      << ", \"seconds\": " << since_start() << "},\n \"rounds\": [\n  " << rounds
      << "\n ],\n \"samples\": [\n  " << samples << "\n ]\n}\n";
  out.close();
  if (!out) {
    std::fprintf(stderr, "polylock_rounds: could not write %s\n", options.out.c_str());
    return 1;
  }
  std::fprintf(stderr, "polylock_rounds: wrote %s\n", options.out.c_str());
  return 0;
}
