// polylock benchmarks — busy work of a given length, inside and outside the lock.
#pragma once

#include <cstdint>

namespace bench {

// Measures how many spin iterations take a nanosecond; call once, before any
// benchmark runs (main does).
void calibrate_work();

// Burns about `ns` nanoseconds of CPU without touching memory.
void work_for(std::int64_t ns);

}  // namespace bench
