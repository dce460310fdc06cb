// Many threads, many iterations, and invariants checked on every one: never
// two holders, an exact count of critical sections.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "lock.hpp"

namespace polylock::core {
namespace {

constexpr int threads = 8;
constexpr int iterations = 50'000;

// Holds every worker at the start line until all exist, so that they really
// run at the same time instead of one after another.
class StartGate {
 public:
  explicit StartGate(int expected) : waiting_(expected) {}
  void arrive_and_wait() {
    waiting_.fetch_sub(1);
    while (waiting_.load() > 0) std::this_thread::yield();
  }

 private:
  std::atomic<int> waiting_;
};

// Runs body(t) for t = 0 .. count-1, each on its own thread, all started
// together behind a StartGate; returns when every one has finished.
template <typename Body>
void run_together(int count, Body body) {
  StartGate gate(count);
  std::vector<std::thread> workers;
  for (int t = 0; t < count; ++t)
    workers.emplace_back([&gate, &body, t] {
      gate.arrive_and_wait();
      body(t);
    });
  for (auto& worker : workers) worker.join();
}

// The critical section: a plain counter (a data race, which TSan would
// report, if the lock ever let two threads in) and a holder count.
struct Guarded {
  std::atomic<int> holders{0};
  long counter = 0;
  std::atomic<long> entries{0};

  void enter_critical_section() {
    EXPECT_EQ(holders.fetch_add(1), 0) << "two holders at once";
    const long seen = counter;
    for (volatile int spin = 0; spin < 20; ++spin) {
    }
    counter = seen + 1;  // a lost update, if another thread were in here too
    // Now and then give the CPU away while holding the lock, so that the
    // others pile up behind it and park: the slow paths get their share.
    if (entries.fetch_add(1, std::memory_order_relaxed) % 32 == 0) std::this_thread::yield();
    holders.fetch_sub(1);
  }
};

// Acquires in one of three ways, chosen at random; returns whether it got in.
bool acquire_somehow(Lock& lock, std::minstd_rand& random) {
  switch (random() % 3) {
    case 0:
      return lock.acquire(-1) == Acquired::yes;
    case 1:
      return lock.try_acquire();
    default:
      return lock.acquire(static_cast<std::int64_t>(random() % 200'000)) == Acquired::yes;
  }
}

TEST(Stress, MixedAcquiresKeepAnExactCount) {
  Lock lock;
  Guarded guarded;
  run_together(threads, [&](int t) {
    std::minstd_rand random(static_cast<unsigned>(t + 1));
    for (int i = 0; i < iterations; ++i) {
      if (!acquire_somehow(lock, random)) continue;
      guarded.enter_critical_section();
      ASSERT_TRUE(lock.release());
    }
  });
  EXPECT_EQ(guarded.counter, guarded.entries.load());
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(lock.has_parked_waiters());
}

TEST(Stress, BlockingAcquiresCountEveryEntry) {
  Lock lock;
  Guarded guarded;
  run_together(threads, [&](int) {
    for (int i = 0; i < iterations; ++i) {
      ASSERT_EQ(lock.acquire(-1), Acquired::yes);
      guarded.enter_critical_section();
      ASSERT_TRUE(lock.release());
    }
  });
  EXPECT_EQ(guarded.counter, static_cast<long>(threads) * iterations);
}

TEST(Stress, ReleasesFromAnotherThread) {
  // Workers never release the lock they took: they ask a releaser thread to.
  // The lock stays held until then, so mutual exclusion still holds, and
  // every release the releaser makes must succeed.
  Lock lock;
  Guarded guarded;
  std::atomic<int> release_requests{0};
  std::atomic<bool> stop{false};
  std::atomic<long> releases{0};
  std::thread releaser([&] {
    while (!stop.load() || release_requests.load() != 0) {
      if (release_requests.load() == 0) {
        std::this_thread::yield();
        continue;
      }
      release_requests.fetch_sub(1);
      EXPECT_TRUE(lock.release());
      releases.fetch_add(1);
    }
  });
  run_together(threads / 2, [&](int t) {
    std::minstd_rand random(static_cast<unsigned>(t + 100));
    for (int i = 0; i < iterations / 4; ++i) {
      if (!acquire_somehow(lock, random)) continue;
      guarded.enter_critical_section();
      release_requests.fetch_add(1);
    }
  });
  stop.store(true);
  releaser.join();
  EXPECT_EQ(guarded.counter, guarded.entries.load());
  EXPECT_EQ(releases.load(), guarded.entries.load());
  EXPECT_FALSE(lock.locked());
}

TEST(Stress, ShortTimeoutsRacingReleases) {
  // Timed-out waiters leave the queue while releases pick waiters from it:
  // the race that leave_queue settles under the bucket lock. Nobody may be
  // lost or left queued.
  Lock lock;
  Guarded guarded;
  run_together(threads, [&](int t) {
    std::minstd_rand random(static_cast<unsigned>(t + 7));
    for (int i = 0; i < iterations; ++i) {
      if (lock.acquire(static_cast<std::int64_t>(random() % 20'000)) != Acquired::yes) continue;
      guarded.enter_critical_section();
      ASSERT_TRUE(lock.release());
    }
  });
  EXPECT_EQ(guarded.counter, guarded.entries.load());
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(lock.has_parked_waiters());
}

TEST(Stress, ManyLocksShareTheParkingLot) {
  // Waiters of every lock queue in one table of buckets (lock.cpp): 64 locks
  // in 256 buckets share some (about 8 pairs, by the birthday bound), so a
  // bucket's list holds waiters of several locks at once, and a release must
  // pick its own lock's waiter and keep the parked bit of each lock exact.
  constexpr int lock_count = 64;
  std::vector<Lock> locks(lock_count);
  std::vector<Guarded> guarded(lock_count);
  run_together(threads, [&](int t) {
    std::minstd_rand random(static_cast<unsigned>(t + 31));
    for (int i = 0; i < iterations; ++i) {
      // Half the time one of four hot locks, so that waiters pile up.
      const std::size_t which = random() % 2 ? random() % 4 : random() % lock_count;
      if (!acquire_somehow(locks[which], random)) continue;
      guarded[which].enter_critical_section();
      ASSERT_TRUE(locks[which].release());
    }
  });
  long entries = 0;
  for (int l = 0; l < lock_count; ++l) {
    EXPECT_EQ(guarded[l].counter, guarded[l].entries.load());
    EXPECT_FALSE(locks[l].locked());
    EXPECT_FALSE(locks[l].has_parked_waiters());
    entries += guarded[l].entries.load();
  }
  EXPECT_GT(entries, 0);
}

int stop_when_flagged(void* context) {
  return static_cast<std::atomic<bool>*>(context)->load() ? 1 : 0;
}

TEST(Stress, InterruptsRacingReleases) {
  // Interruptible waiters that stop when flagged, and a thread that keeps
  // interrupting: a stopped waiter that was chosen by a release must pass
  // the lock on, or the rest wait for ever.
  Lock lock;
  Guarded guarded;
  std::atomic<bool> stop_flags[threads];
  for (auto& flag : stop_flags) flag.store(false);
  std::atomic<bool> done{false};
  std::thread interrupter([&] {
    std::minstd_rand random(99);
    while (!done.load()) {
      stop_flags[random() % threads].store(true);
      lock.interrupt();
      std::this_thread::yield();
    }
  });
  run_together(threads, [&](int t) {
    for (int i = 0; i < iterations / 4; ++i) {
      stop_flags[t].store(false);
      if (lock.acquire(-1, stop_when_flagged, &stop_flags[t]) != Acquired::yes) continue;
      guarded.enter_critical_section();
      ASSERT_TRUE(lock.release());
    }
  });
  done.store(true);
  interrupter.join();
  EXPECT_EQ(guarded.counter, guarded.entries.load());
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(lock.has_parked_waiters());
}

}  // namespace
}  // namespace polylock::core
