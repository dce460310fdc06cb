// polylock core — waiting on Linux futexes.
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "wait.hpp"

namespace polylock::core {

std::int64_t monotonic_now_ns() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

WakeReason wait_on(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::int64_t deadline_ns) noexcept {
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a wait
  // cut short by a signal resumes against the same deadline.
  timespec deadline{};
  timespec* deadline_arg = nullptr;
  if (deadline_ns != no_deadline) {
    if (deadline_ns <= monotonic_now_ns()) return WakeReason::timed_out;
    deadline.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
    deadline_arg = &deadline;
  }
  const long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
                          FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                          deadline_arg, nullptr, FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT) return WakeReason::timed_out;
  if (rc == -1 && errno == EINTR) return WakeReason::interrupted;
  return WakeReason::woken;  // woken, or EAGAIN: the word had changed
}

void wake_one(std::atomic<std::uint32_t>& word) noexcept {
  // A private futex wake hashes the address and never touches the memory.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
          FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, nullptr, 0);
}

void wake_all(std::atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
          FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT32_MAX, nullptr, nullptr, 0);
}

bool spinning_pays() noexcept {
  // Asked once and cached; a plain atomic rather than a function-local static,
  // whose guard would pull the C++ runtime into the library.
  static std::atomic<int> online{0};
  int cpus = online.load(std::memory_order_relaxed);
  if (cpus == 0) {
    cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    online.store(cpus, std::memory_order_relaxed);
  }
  return cpus > 1;
}

void yield_cpu() noexcept { sched_yield(); }

}  // namespace polylock::core
