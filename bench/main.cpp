// polylock benchmarks — entry point.
//
// Usage: polylock_bench [--window_ms=N] [--fairness_window_ms=N] [--timeout_samples=N]
//                       [--benchmark_* flags]
//
// A thread is started and joined before anything is measured: glibc and
// libstdc++ skip atomic instructions in a process that has never had a second
// thread, which would flatter std::mutex in a way no real program sees.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "settings.hpp"
#include "suites.hpp"
#include "work.hpp"

namespace bench {

Settings& settings() {
  static Settings the_settings;
  return the_settings;
}

}  // namespace bench

namespace {

// Takes "--name=N" out of argv into `value`; true if it was there.
bool take_flag(int& argc, char** argv, const char* name, int& value) {
  const std::size_t length = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, length) == 0 && argv[i][length] == '=') {
      value = std::atoi(argv[i] + length + 1);
      for (int j = i; j < argc - 1; ++j) argv[j] = argv[j + 1];
      --argc;
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::thread([] {}).join();

  take_flag(argc, argv, "--window_ms", bench::settings().window_ms);
  take_flag(argc, argv, "--fairness_window_ms", bench::settings().fairness_window_ms);
  take_flag(argc, argv, "--timeout_samples", bench::settings().timeout_samples);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  bench::calibrate_work();
  bench::register_uncontended();
  bench::register_contended();
  bench::register_fairness();
  bench::register_ping_pong();
  bench::register_timeout();
  benchmark::AddCustomContext("polylock_window_ms", std::to_string(bench::settings().window_ms));
  benchmark::AddCustomContext("polylock_fairness_window_ms",
                              std::to_string(bench::settings().fairness_window_ms));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
