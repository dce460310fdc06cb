// polylock benchmarks — busy work, calibrated once against the monotonic clock.
#include "work.hpp"

#include <algorithm>
#include <chrono>

namespace bench {
namespace {

double iterations_per_ns = 1.0;

void spin(std::int64_t iterations) {
  // The empty asm keeps the compiler from folding the loop away.
  for (std::int64_t i = 0; i < iterations; ++i) asm volatile("");
}

}  // namespace

void calibrate_work() {
  // The fastest of several tries: other processes can only slow a try down.
  constexpr std::int64_t iterations = 20'000'000;
  double best_ns = 1e18;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    spin(iterations);
    const auto stop = std::chrono::steady_clock::now();
    best_ns = std::min(best_ns, double(std::chrono::nanoseconds(stop - start).count()));
  }
  iterations_per_ns = iterations / best_ns;
}

void work_for(std::int64_t ns) {
  if (ns > 0) spin(static_cast<std::int64_t>(ns * iterations_per_ns));
}

}  // namespace bench
