// polylock core — waiting on Windows: WaitOnAddress and its wakes.
//
// WaitOnAddress (Windows 8 and later, Synchronization.lib) is the Windows
// futex: it sleeps while a word holds an expected value, and the wakes hash
// the address without reading it. There are no signals, so a wait is never
// `interrupted`; lock_interrupt reaches a waiter through its word instead.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include "wait.hpp"

namespace polylock::core {
namespace {

// Ticks per second of QueryPerformanceCounter; fixed at boot, never 0 on XP and later.
std::int64_t counter_frequency() noexcept {
  // A plain atomic rather than a function-local static, whose guard would pull
  // the C++ runtime into the library; racing first calls store the same value.
  static std::atomic<std::int64_t> frequency{0};
  std::int64_t ticks = frequency.load(std::memory_order_relaxed);
  if (ticks == 0) {
    LARGE_INTEGER value;
    QueryPerformanceFrequency(&value);
    ticks = value.QuadPart;
    frequency.store(ticks, std::memory_order_relaxed);
  }
  return ticks;
}

// WaitOnAddress counts whole milliseconds, INFINITE excluded. Rounding up
// means it never returns before the deadline on its own account.
DWORD milliseconds_until(std::int64_t deadline_ns, std::int64_t now_ns) noexcept {
  const std::int64_t remaining_ms = (deadline_ns - now_ns + 999'999) / 1'000'000;
  return remaining_ms >= static_cast<std::int64_t>(INFINITE)
             ? INFINITE - 1
             : static_cast<DWORD>(remaining_ms);
}

}  // namespace

std::int64_t monotonic_now_ns() noexcept {
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  const std::int64_t ticks = now.QuadPart;
  const std::int64_t frequency = counter_frequency();
  // Split so that ticks * 1e9 cannot overflow however long the machine is up.
  return ticks / frequency * 1'000'000'000 + ticks % frequency * 1'000'000'000 / frequency;
}

WakeReason wait_on(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::int64_t deadline_ns) noexcept {
  DWORD timeout_ms = INFINITE;
  if (deadline_ns != no_deadline) {
    const std::int64_t now = monotonic_now_ns();
    if (deadline_ns <= now) return WakeReason::timed_out;
    timeout_ms = milliseconds_until(deadline_ns, now);
  }
  // std::atomic<std::uint32_t> has the size and layout of the word it holds.
  if (WaitOnAddress(reinterpret_cast<volatile VOID*>(&word), &expected, sizeof expected,
                    timeout_ms))
    return WakeReason::woken;  // woken, spuriously, or the word had changed
  // The timer may fire a little early; only the clock says the deadline passed.
  if (GetLastError() == ERROR_TIMEOUT && deadline_ns != no_deadline &&
      monotonic_now_ns() >= deadline_ns)
    return WakeReason::timed_out;
  return WakeReason::woken;  // the caller re-checks and waits again to the same deadline
}

void wake_one(std::atomic<std::uint32_t>& word) noexcept {
  WakeByAddressSingle(reinterpret_cast<PVOID>(&word));
}

void wake_all(std::atomic<std::uint32_t>& word) noexcept {
  WakeByAddressAll(reinterpret_cast<PVOID>(&word));
}

bool spinning_pays() noexcept {
  static std::atomic<int> online{0};
  int cpus = online.load(std::memory_order_relaxed);
  if (cpus == 0) {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    cpus = static_cast<int>(info.dwNumberOfProcessors);
    online.store(cpus, std::memory_order_relaxed);
  }
  return cpus > 1;
}

void yield_cpu() noexcept { SwitchToThread(); }

}  // namespace polylock::core
