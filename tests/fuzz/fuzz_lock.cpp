// polylock fuzz harness: random sequences of lock_* calls against a
// reference model of each lock's state.
//
// The input is a program. Each step picks a call and its arguments — among
// them NULL handles, freed-and-renewed slots and absurd timeouts (INT64_MIN,
// -2, INT64_MAX, any 64-bit value) — runs it on the main thread or on a
// helper thread, and checks the status and lock_locked against the model.
// Blocking calls the main thread cannot wait for (a wait without limit on a
// held lock) run on the helper asynchronously; the main thread then releases,
// interrupts or lets them time out, and checks what the helper got.
//
// Built with clang -fsanitize=fuzzer,address,undefined straight from the
// library's sources (tests/fuzz/CMakeLists.txt); docs/reliability.md says
// how to run it for longer.
#include <fuzzer/FuzzedDataProvider.h>
#include <polylock/lock.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

namespace {

#define CHECK(condition)                                                                \
  do {                                                                                  \
    if (!(condition)) {                                                                 \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

#define CHECK_STATUS(call, expected)                                                   \
  do {                                                                                 \
    const int status_ = (call);                                                        \
    if (status_ != (expected)) {                                                       \
      std::fprintf(stderr, "%s:%d: %s returned %d, the model expects %d\n", __FILE__,  \
                   __LINE__, #call, status_, static_cast<int>(expected));              \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

// Longest positive timeout the main thread waits out on a held lock: short,
// so that an input runs in microseconds, yet long enough to park.
constexpr std::int64_t short_wait_ns = 200'000;

// Runs one call at a time for the main thread, synchronously or not. One
// thread for the whole process: a thread per input would cost more than the
// input itself.
class Helper {
 public:
  Helper() : thread_([this] { run(); }) { thread_.detach(); }

  void start(std::function<int()> call) {
    std::lock_guard<std::mutex> guard(mutex_);
    call_ = std::move(call);
    has_result_ = false;
    cv_.notify_all();
  }

  // The call's status once it has returned, waiting at most `patience`.
  bool done_within(std::chrono::microseconds patience, int& status) {
    std::unique_lock<std::mutex> guard(mutex_);
    if (!cv_.wait_for(guard, patience, [this] { return has_result_; })) return false;
    status = result_;
    return true;
  }

  int finish() {
    std::unique_lock<std::mutex> guard(mutex_);
    cv_.wait(guard, [this] { return has_result_; });
    return result_;
  }

  int run_sync(std::function<int()> call) {
    start(std::move(call));
    return finish();
  }

 private:
  void run() {
    for (;;) {
      std::function<int()> call;
      {
        std::unique_lock<std::mutex> guard(mutex_);
        cv_.wait(guard, [this] { return static_cast<bool>(call_); });
        call = std::move(call_);
        call_ = nullptr;
      }
      const int status = call();
      std::lock_guard<std::mutex> guard(mutex_);
      result_ = status;
      has_result_ = true;
      cv_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<int()> call_;
  bool has_result_ = false;
  int result_ = 0;
  std::thread thread_;
};

Helper& helper() {
  static Helper* const instance = new Helper;  // lives as long as the process
  return *instance;
}

int stop_when_asked(void* context) {
  return static_cast<std::atomic<int>*>(context)->load(std::memory_order_acquire);
}

enum class Op : std::uint8_t {
  new_lock,
  free_lock,
  acquire,
  release,
  locked,
  reinit,
  interrupt,
  helper_acquire,
  helper_release,
  helper_wait,
  helper_wait_interruptible,
  finish_helper,
  strerror_,
  version,
  kMaxValue = version,  // for FuzzedDataProvider::ConsumeEnum
};

std::int64_t pick_timeout(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
      return LOCK_WAIT_FOREVER;
    case 1:
      return 0;
    case 2:
      return 1;
    case 3:
      return input.ConsumeIntegralInRange<std::int64_t>(1, short_wait_ns);
    case 4:
      return INT64_MAX;
    case 5:
      return INT64_MIN;
    case 6:
      return -2;
    case 7:
      return input.ConsumeIntegralInRange<std::int64_t>(INT64_MIN, -2);
    case 8:
      return input.ConsumeIntegralInRange<std::int64_t>(INT64_MAX - 1'000'000, INT64_MAX);
    default:
      return input.ConsumeIntegral<std::int64_t>();  // anything at all
  }
}

// What the model expects of an acquire that does not have to wait.
int expected_acquire(const lock_t* handle, bool is_locked, std::int64_t timeout_ns) {
  if (!handle || timeout_ns < LOCK_WAIT_FOREVER) return LOCK_EINVAL;
  return is_locked ? LOCK_TIMEOUT : LOCK_OK;
}

// Would an acquire with this timeout wait longer than the main thread may?
bool waits_long(std::int64_t timeout_ns) {
  return timeout_ns == LOCK_WAIT_FOREVER || timeout_ns > short_wait_ns;
}

class Program {
 public:
  ~Program() {
    for (int slot = 0; slot < slots; ++slot) free_slot(slot);
  }

  void step(FuzzedDataProvider& input) {
    const int slot = input.ConsumeIntegralInRange<int>(0, slots - 1);
    switch (input.ConsumeEnum<Op>()) {
      case Op::new_lock:
        free_slot(slot);
        handle_[slot] = lock_new();
        CHECK(handle_[slot] != nullptr);
        locked_[slot] = false;
        CHECK_STATUS(lock_locked(handle_[slot]), 0);
        break;
      case Op::free_lock:
        free_slot(slot);
        lock_free(nullptr);  // a no-op
        break;
      case Op::acquire:
        acquire_on_main(slot, pick_timeout(input));
        break;
      case Op::release:
        release_on(slot, false);
        break;
      case Op::locked:
        if (busy(slot)) finish_pending();
        CHECK_STATUS(lock_locked(handle_[slot]),
                     handle_[slot] ? (locked_[slot] ? 1 : 0) : LOCK_EINVAL);
        break;
      case Op::reinit:
        if (busy(slot)) finish_pending();
        CHECK_STATUS(lock_reinit(handle_[slot]), handle_[slot] ? LOCK_OK : LOCK_EINVAL);
        if (handle_[slot]) {
          locked_[slot] = false;
          CHECK_STATUS(lock_locked(handle_[slot]), 0);
        }
        break;
      case Op::interrupt:
        // With nobody waiting, an interrupt changes nothing.
        if (busy(slot)) finish_pending();
        CHECK_STATUS(lock_interrupt(handle_[slot]), handle_[slot] ? LOCK_OK : LOCK_EINVAL);
        if (handle_[slot]) CHECK_STATUS(lock_locked(handle_[slot]), locked_[slot] ? 1 : 0);
        break;
      case Op::helper_acquire: {
        // Cross-thread, synchronously: only calls that do not wait long.
        finish_pending();
        const std::int64_t timeout = pick_timeout(input);
        if (handle_[slot] && locked_[slot] && waits_long(timeout)) break;
        lock_t* const handle = handle_[slot];
        CHECK_STATUS(helper().run_sync([=] { return lock_acquire(handle, timeout); }),
                     expected_acquire(handle, locked_[slot], timeout));
        if (handle && timeout >= LOCK_WAIT_FOREVER) locked_[slot] = true;
        break;
      }
      case Op::helper_release:
        release_on(slot, true);
        break;
      case Op::helper_wait:
        start_waiting(slot, pick_timeout(input), false);
        break;
      case Op::helper_wait_interruptible:
        start_waiting(slot, pick_timeout(input), true);
        break;
      case Op::finish_helper:
        if (pending_slot_ >= 0) {
          if (input.ConsumeBool() && pending_interruptible_) {
            stop_pending();
          } else {
            finish_pending();
          }
        }
        break;
      case Op::strerror_: {
        const int status = input.ConsumeIntegral<int>();
        const char* const text = lock_strerror(status);
        CHECK(text != nullptr && text[0] != '\0');
        const bool known = status >= LOCK_ESYS && status <= LOCK_OWNERDEAD;  // -7 .. 2
        CHECK(known == (std::strcmp(text, "unknown") != 0));
        break;
      }
      case Op::version: {
        char expected[32];
        std::snprintf(expected, sizeof expected, "%d.%d.%d", LOCK_VERSION_MAJOR,
                      LOCK_VERSION_MINOR, LOCK_VERSION_PATCH);
        CHECK(std::strcmp(lock_version(), expected) == 0);
        break;
      }
    }
  }

 private:
  static constexpr int slots = 3;

  // Whether the helper is (or may be) waiting on this slot's lock.
  bool busy(int slot) const { return pending_slot_ == slot; }

  void acquire_on_main(int slot, std::int64_t timeout) {
    if (busy(slot) && pending_released_) finish_pending();
    lock_t* const handle = handle_[slot];
    // A long wait on a held lock would never end on this thread: the helper
    // does those (helper_wait).
    if (handle && locked_[slot] && waits_long(timeout) && timeout >= LOCK_WAIT_FOREVER) return;
    CHECK_STATUS(lock_acquire(handle, timeout), expected_acquire(handle, locked_[slot], timeout));
    if (handle && timeout >= LOCK_WAIT_FOREVER) locked_[slot] = true;
  }

  void release_on(int slot, bool on_helper) {
    if (busy(slot) && pending_released_) finish_pending();
    // The helper runs one call at a time: one waiting on another lock ends first.
    if (on_helper && pending_slot_ >= 0 && !busy(slot)) finish_pending();
    lock_t* const handle = handle_[slot];
    const int expected = !handle ? LOCK_EINVAL : locked_[slot] ? LOCK_OK : LOCK_ENOTLOCKED;
    if (on_helper && pending_slot_ < 0) {
      CHECK_STATUS(helper().run_sync([=] { return lock_release(handle); }), expected);
    } else {
      CHECK_STATUS(lock_release(handle), expected);
    }
    if (busy(slot)) {
      pending_released_ = true;  // the waiting helper may take it now
    } else if (handle) {
      locked_[slot] = false;
    }
  }

  // The helper waits on a held lock; the main thread goes on.
  void start_waiting(int slot, std::int64_t timeout, bool interruptible) {
    if (pending_slot_ >= 0 || !handle_[slot] || !locked_[slot]) return;
    if (timeout == 0 || timeout < LOCK_WAIT_FOREVER) timeout = LOCK_WAIT_FOREVER;
    lock_t* const handle = handle_[slot];
    pending_slot_ = slot;
    pending_timeout_ = timeout;
    pending_interruptible_ = interruptible;
    pending_released_ = false;
    stop_.store(0, std::memory_order_relaxed);
    if (interruptible) {
      std::atomic<int>* const stop = &stop_;
      helper().start([=] {
        return lock_acquire_interruptible(handle, timeout, stop_when_asked, stop);
      });
    } else {
      helper().start([=] { return lock_acquire(handle, timeout); });
    }
  }

  // Asks the interruptible waiter to stop, until it does: an interrupt
  // reaches only a waiter that has queued up, so it is repeated.
  void stop_pending() {
    const int slot = pending_slot_;
    stop_.store(1, std::memory_order_release);
    int status = 0;
    while (!helper().done_within(std::chrono::microseconds(100), status)) {
      CHECK_STATUS(lock_interrupt(handle_[slot]), LOCK_OK);
    }
    settle(status);
  }

  // Lets the helper's wait end — by releasing the lock if the wait could be
  // long — and checks what it got.
  void finish_pending() {
    if (pending_slot_ < 0) return;
    const int slot = pending_slot_;
    if (!pending_released_ && waits_long(pending_timeout_)) {
      CHECK_STATUS(lock_release(handle_[slot]), LOCK_OK);
      pending_released_ = true;
    }
    settle(helper().finish());
  }

  void settle(int status) {
    const int slot = pending_slot_;
    pending_slot_ = -1;
    if (!pending_released_) {
      // The main thread held the lock all along: the helper cannot have it.
      CHECK(status == LOCK_TIMEOUT || (status == LOCK_EINTR && pending_interruptible_));
      CHECK_STATUS(lock_locked(handle_[slot]), 1);
      return;
    }
    // Released while the helper waited: it took the lock, or timed out or
    // stopped and left it free. Nobody else touches the lock now, so the
    // snapshot is exact.
    CHECK(status == LOCK_OK || status == LOCK_TIMEOUT ||
          (status == LOCK_EINTR && pending_interruptible_));
    if (status != LOCK_OK) CHECK(pending_timeout_ != LOCK_WAIT_FOREVER || pending_interruptible_);
    locked_[slot] = status == LOCK_OK;
    CHECK_STATUS(lock_locked(handle_[slot]), locked_[slot] ? 1 : 0);
  }

  void free_slot(int slot) {
    if (busy(slot)) finish_pending();
    lock_free(handle_[slot]);  // a held lock may be freed
    handle_[slot] = nullptr;
    locked_[slot] = false;
  }

  lock_t* handle_[slots] = {};
  bool locked_[slots] = {};
  int pending_slot_ = -1;
  std::int64_t pending_timeout_ = 0;
  bool pending_interruptible_ = false;
  bool pending_released_ = false;
  std::atomic<int> stop_{0};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  Program program;
  for (int steps = 0; input.remaining_bytes() > 0 && steps < 256; ++steps) program.step(input);
  return 0;
}
