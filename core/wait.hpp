// polylock core — the seam between the lock algorithm and the kernel.
//
// The algorithm sleeps on, and wakes, a 32-bit word. Each platform gives one
// implementation of these few functions (wait_futex.cpp on Linux,
// wait_windows.cpp on Windows, wait_portable.cpp anywhere else) and nothing
// else in core/ knows which one it got.
#pragma once

#include <atomic>
#include <cstdint>

namespace polylock::core {

// Nanoseconds on a monotonic clock (never steps back, ignores wall-clock
// changes). Deadlines are absolute values of this clock.
std::int64_t monotonic_now_ns() noexcept;

// The deadline of a wait that must never time out.
inline constexpr std::int64_t no_deadline = INT64_MAX;

// A deadline `timeout_ns` (>= 0) from now, saturating instead of overflowing.
inline std::int64_t deadline_after(std::int64_t timeout_ns) noexcept {
  const std::int64_t now = monotonic_now_ns();
  return timeout_ns >= no_deadline - now ? no_deadline : now + timeout_ns;
}

enum class WakeReason {
  woken,        // woken, or spuriously: the caller re-checks its condition
  timed_out,    // the deadline passed
  interrupted,  // a signal handler ran on this thread
};

// Sleeps while `word` holds `expected`, until woken, interrupted or past
// `deadline_ns`. Returns at once if `word` differs. May return spuriously.
WakeReason wait_on(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::int64_t deadline_ns) noexcept;

// Wakes one thread sleeping on `word`. Never reads `word`: the sleeper may
// already have returned and reused the memory.
void wake_one(std::atomic<std::uint32_t>& word) noexcept;

// Wakes every thread sleeping on `word`; like wake_one, never reads it.
void wake_all(std::atomic<std::uint32_t>& word) noexcept;

// Whether spinning before sleeping can pay: false with one CPU online, where
// the holder cannot run while we spin.
bool spinning_pays() noexcept;

// Gives this thread's CPU to another runnable thread, if there is one, and
// returns when this thread runs again (sched_yield, SwitchToThread). Returns
// at once when nothing else wants the CPU.
void yield_cpu() noexcept;

}  // namespace polylock::core
