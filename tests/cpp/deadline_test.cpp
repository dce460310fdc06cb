// Deadlines from every C++ time type: try_lock_for with durations of every
// representation and try_lock_until with time points of every clock, on a
// table of edge values, checked against std::timed_mutex wherever the
// standard library's own behaviour is defined for that value (libstdc++
// overflows on some extremes; those rows check polylock's documented rule
// alone: not positive tries once, anything positive waits that long).
#include <polylock/lock.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono;

// A clock with an unsigned representation: a deadline before now must not
// wrap around into "far in the future".
struct UnsignedClock {
  using rep = std::uint64_t;
  using period = std::nano;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<UnsignedClock>;
  static constexpr bool is_steady = true;
  static time_point now() {
    return time_point(duration(static_cast<rep>(steady_clock::now().time_since_epoch().count())));
  }
};

// ThreadSanitizer does not intercept pthread_mutex_clocklock, which
// libstdc++'s std::timed_mutex waits with, so under it the peer's timed
// acquisitions look like no acquisition at all: the peer's rows are checked
// in the other builds only (polylock's rows run in every build).
#if defined(__SANITIZE_THREAD__)
constexpr bool peer_checkable = false;
#else
constexpr bool peer_checkable = true;
#endif

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// One edge value: what polylock does with it, what std::timed_mutex does
// (where defined), and whether a held lock is waited for (true) or only
// tried (false).
struct Row {
  const char* value;
  std::function<bool(polylock::Lock&)> ours;
  std::function<bool(std::timed_mutex&)> peer;  // empty where libstdc++ is undefined
  bool waits;
};

#define BOTH_FOR(expr, waits)                                                    \
  Row {                                                                          \
    #expr, [](polylock::Lock& l) { return l.try_lock_for(expr); },               \
        [](std::timed_mutex& m) { return m.try_lock_for(expr); }, waits          \
  }
#define OURS_FOR(expr, waits) \
  Row { #expr, [](polylock::Lock& l) { return l.try_lock_for(expr); }, nullptr, waits }
#define BOTH_UNTIL(expr, waits)                                                  \
  Row {                                                                          \
    #expr, [](polylock::Lock& l) { return l.try_lock_until(expr); },             \
        [](std::timed_mutex& m) { return m.try_lock_until(expr); }, waits        \
  }
#define OURS_UNTIL(expr, waits) \
  Row { #expr, [](polylock::Lock& l) { return l.try_lock_until(expr); }, nullptr, waits }

std::vector<Row> rows() {
  return {
      BOTH_FOR(nanoseconds(0), false),
      BOTH_FOR(nanoseconds(-1), false),
      BOTH_FOR(milliseconds(-1000), false),
      BOTH_FOR(milliseconds(1), false),
      BOTH_FOR(seconds(100000), true),
      BOTH_FOR(duration<double>(-1.5), false),
      BOTH_FOR(duration<double>(1e5), true),
      BOTH_FOR((duration<std::uint32_t, std::milli>(std::numeric_limits<std::uint32_t>::max())), true),
      BOTH_FOR((duration<unsigned char>(0)), false),
      OURS_FOR(nanoseconds::min(), false),
      OURS_FOR(hours::min(), false),
      OURS_FOR(nanoseconds::max(), true),
      OURS_FOR(hours::max(), true),
      OURS_FOR(duration<double>(-inf), false),
      OURS_FOR(duration<double>(nan), false),
      OURS_FOR(duration<double>(inf), true),
      OURS_FOR(duration<double>(1e300), true),
      OURS_FOR((duration<std::uint64_t, std::nano>(std::numeric_limits<std::uint64_t>::max())), true),
      OURS_FOR((duration<long double, std::ratio<3600 * 24 * 365>>(1e6L)), true),
      BOTH_UNTIL(steady_clock::now() - seconds(1), false),
      BOTH_UNTIL(steady_clock::now(), false),
      BOTH_UNTIL(steady_clock::now() + hours(1), true),
      BOTH_UNTIL(system_clock::now() - seconds(1), false),
      BOTH_UNTIL(system_clock::now() + hours(1), true),
      OURS_UNTIL(steady_clock::time_point::min(), false),
      OURS_UNTIL(steady_clock::time_point::max(), true),
      OURS_UNTIL(system_clock::time_point::min(), false),
      OURS_UNTIL(system_clock::time_point::max(), true),
      OURS_UNTIL((time_point<system_clock, hours>::max()), true),
      OURS_UNTIL((time_point<steady_clock, duration<double>>(duration<double>(-inf))), false),
      OURS_UNTIL((time_point<steady_clock, duration<double>>(duration<double>(inf))), true),
      OURS_UNTIL(UnsignedClock::time_point(), false),
      OURS_UNTIL(UnsignedClock::now() - UnsignedClock::duration(1), false),
      OURS_UNTIL(UnsignedClock::now() + hours(1), true),
      OURS_UNTIL(UnsignedClock::time_point::max(), true),
  };
}

// Holds a lock on a thread of its own until told to let go: after a short
// while (a waiting call must then get the lock), or only once the call under
// test has returned (a trying call must report it held). A call that waits
// when it should not is ended after 10 s and fails the test by returning
// true, instead of hanging it.
template <class Mutex>
bool held_by_another_thread(Mutex& mutex, bool let_go_soon,
                            const std::function<bool(Mutex&)>& call) {
  std::mutex guard;
  std::condition_variable changed;
  bool holding = false, done = false;
  std::thread holder([&] {
    mutex.lock();
    std::unique_lock<std::mutex> lock(guard);
    holding = true;
    changed.notify_all();
    changed.wait_for(lock, let_go_soon ? milliseconds(20) : seconds(10), [&] { return done; });
    lock.unlock();
    mutex.unlock();
  });
  {
    std::unique_lock<std::mutex> lock(guard);
    changed.wait(lock, [&] { return holding; });
  }
  const bool got = call(mutex);
  {
    std::lock_guard<std::mutex> lock(guard);
    done = true;
  }
  changed.notify_all();
  holder.join();
  if (got) mutex.unlock();
  return got;
}

TEST(Deadlines, FreeLockIsTakenWhateverTheValue) {
  for (const Row& row : rows()) {
    polylock::Lock lock;
    EXPECT_TRUE(row.ours(lock)) << row.value;
    EXPECT_TRUE(lock.locked()) << row.value;
    if (!row.peer || !peer_checkable) continue;
    std::timed_mutex peer;
    EXPECT_TRUE(row.peer(peer)) << "std::timed_mutex, " << row.value;
    peer.unlock();
  }
}

TEST(Deadlines, HeldLockIsWaitedForOrOnlyTriedAsThePeerDoes) {
  for (const Row& row : rows()) {
    polylock::Lock lock;
    EXPECT_EQ(held_by_another_thread<polylock::Lock>(lock, row.waits, row.ours), row.waits)
        << row.value << (row.waits ? ": gave up on a lock it should wait for"
                                   : ": waited where it should only try");
    EXPECT_FALSE(lock.locked()) << row.value;
    if (!row.peer || !peer_checkable) continue;
    std::timed_mutex peer;
    EXPECT_EQ(held_by_another_thread<std::timed_mutex>(peer, row.waits, row.peer), row.waits)
        << "std::timed_mutex, " << row.value;
  }
}

}  // namespace
