// polylock benchmarks — the run's own knobs, set by main from the command line.
#pragma once

namespace bench {

struct Settings {
  int window_ms = 300;            // --window_ms: how long threads hammer a lock per run
  int fairness_window_ms = 1000;  // --fairness_window_ms: the same, for the fairness runs
  int timeout_samples = 21;       // --timeout_samples: timed-out acquires per run
};

Settings& settings();

}  // namespace bench
