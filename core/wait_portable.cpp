// polylock core — waiting anywhere the C++ standard library runs.
//
// Sleepers on the same word meet in one of a fixed set of buckets, each a
// mutex and a condition variable; a wake notifies the whole bucket and the
// sleepers re-check their words. Slower than a futex, but correct everywhere.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "wait.hpp"

namespace polylock::core {
namespace {

struct Bucket {
  std::mutex mutex;
  std::condition_variable changed;
};

Bucket& bucket_of(const void* address) {
  static Bucket buckets[64];
  const auto key = reinterpret_cast<std::uintptr_t>(address);
  return buckets[(key >> 4) % 64];
}

}  // namespace

std::int64_t monotonic_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

WakeReason wait_on(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                   std::int64_t deadline_ns) noexcept {
  Bucket& bucket = bucket_of(&word);
  std::unique_lock<std::mutex> guard(bucket.mutex);
  // Checked under the bucket mutex, which wake_one also takes: a wake that
  // follows a change of the word cannot fall between check and sleep.
  if (word.load(std::memory_order_acquire) != expected) return WakeReason::woken;
  if (deadline_ns == no_deadline) {
    bucket.changed.wait(guard);
    return WakeReason::woken;
  }
  const auto deadline =
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
  return bucket.changed.wait_until(guard, deadline) == std::cv_status::timeout
             ? WakeReason::timed_out
             : WakeReason::woken;
}

// Notifies the whole bucket: the sleepers of other words re-check and sleep on.
void wake_one(std::atomic<std::uint32_t>& word) noexcept {
  Bucket& bucket = bucket_of(&word);
  { std::lock_guard<std::mutex> guard(bucket.mutex); }
  bucket.changed.notify_all();
}

void wake_all(std::atomic<std::uint32_t>& word) noexcept { wake_one(word); }

bool spinning_pays() noexcept {
  static const bool pays = std::thread::hardware_concurrency() != 1;
  return pays;
}

void yield_cpu() noexcept { std::this_thread::yield(); }

}  // namespace polylock::core
