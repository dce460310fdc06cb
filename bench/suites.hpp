// polylock benchmarks — each file registers one family with Google Benchmark.
#pragma once

namespace bench {

void register_uncontended();  // uncontended.cpp
void register_contended();    // contended.cpp
void register_fairness();     // fairness.cpp
void register_ping_pong();    // ping_pong.cpp
void register_timeout();      // timeout.cpp

}  // namespace bench
