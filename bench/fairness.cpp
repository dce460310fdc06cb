// polylock benchmarks — who gets the lock when 2 to 8 threads hammer it.
//
// No work outside the lock: a releasing thread comes straight back for it,
// the case where an unfair lock lets one thread starve the others. The
// "jain" counter is Jain's fairness index of acquisitions per thread. The
// window is long (1 s) because fairness is a promise about the long run: over
// a few milliseconds even a perfectly fair lock on 2 cores looks lopsided, as
// the OS runs only two of the threads at a time.
#include <string>

#include "hammer.hpp"
#include "peers.hpp"
#include "settings.hpp"
#include "suites.hpp"

namespace bench {

double jain_index(const std::vector<std::uint64_t>& counts) {
  double sum = 0, sum_of_squares = 0;
  for (std::uint64_t count : counts) {
    sum += double(count);
    sum_of_squares += double(count) * double(count);
  }
  return sum_of_squares == 0 ? 0 : sum * sum / (double(counts.size()) * sum_of_squares);
}

namespace {

constexpr std::int64_t inside_ns = 50;

template <class Lock>
void add(int threads) {
  const std::string name = std::string("fairness/") + Lock::name + "/threads:" +
                           std::to_string(threads);
  benchmark::RegisterBenchmark(name.c_str(),
                               [=](benchmark::State& state) {
                                 hammer<Lock>(state, Shape{threads, settings().fairness_window_ms, inside_ns, 0});
                               })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void register_fairness() {
  for (int threads : {2, 4, 8}) {
    add<PolylockLock>(threads);
    add<StdMutex>(threads);
    add<AdaptivePthreadMutex>(threads);
    add<FutexSemaphore>(threads);
  }
}

}  // namespace bench
