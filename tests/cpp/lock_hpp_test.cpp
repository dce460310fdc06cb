// polylock::Lock against the Lockable and TimedLockable requirements, through
// the standard library's own lock tools.
#include <polylock/lock.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

static_assert(!std::is_copy_constructible_v<polylock::Lock>);
static_assert(std::is_nothrow_move_constructible_v<polylock::Lock>);

TEST(LockHpp, ScopedLockTakesAndReleases) {
  polylock::Lock lock;
  {
    std::scoped_lock held(lock);
    EXPECT_TRUE(lock.locked());
  }
  EXPECT_FALSE(lock.locked());
}

TEST(LockHpp, ScopedLockOfTwoLocksAvoidsDeadlock) {
  // std::scoped_lock(a, b) uses try_lock and back-off: threads that name the
  // locks in opposite orders must still all finish.
  polylock::Lock a, b;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        if (t % 2) {
          std::scoped_lock held(a, b);
          ++counter;
        } else {
          std::scoped_lock held(b, a);
          ++counter;
        }
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 4 * 5000);
  EXPECT_FALSE(a.locked());
  EXPECT_FALSE(b.locked());
}

TEST(LockHpp, UniqueLockTryToLockAndDefer) {
  polylock::Lock lock;
  std::unique_lock first(lock, std::try_to_lock);
  EXPECT_TRUE(first.owns_lock());
  std::unique_lock second(lock, std::try_to_lock);
  EXPECT_FALSE(second.owns_lock());
  std::unique_lock timed(lock, 5ms);
  EXPECT_FALSE(timed.owns_lock());
  first.unlock();
  std::unique_lock deferred(lock, std::defer_lock);
  EXPECT_TRUE(deferred.try_lock_for(1s));
}

TEST(LockHpp, TryLockForWaitsAtLeastItsTimeout) {
  polylock::Lock lock;
  lock.lock();
  const auto start = steady_clock::now();
  EXPECT_FALSE(lock.try_lock_for(20ms));
  EXPECT_GE(steady_clock::now() - start, 20ms);
  EXPECT_FALSE(lock.try_lock_for(-5s));  // negative: tries once
  EXPECT_FALSE(lock.try_lock_for(std::chrono::duration<double>(-0.5)));
  lock.unlock();
  EXPECT_TRUE(lock.try_lock_for(std::chrono::duration<double, std::milli>(0.0)));
  lock.unlock();
}

TEST(LockHpp, HugeDurationsDoNotOverflow) {
  polylock::Lock lock;
  EXPECT_TRUE(lock.try_lock_for(std::chrono::hours::max()));
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = lock.try_lock_for(std::chrono::nanoseconds::max()); });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(got.load());  // an overflowed timeout would have given up at once
  lock.unlock();
  waiter.join();
  EXPECT_TRUE(got.load());
  lock.unlock();
}

TEST(LockHpp, TryLockUntilSteadyAndSystemClocks) {
  polylock::Lock lock;
  lock.lock();
  const auto start = steady_clock::now();
  EXPECT_FALSE(lock.try_lock_until(steady_clock::now() + 15ms));
  EXPECT_GE(steady_clock::now() - start, 15ms);
  EXPECT_FALSE(lock.try_lock_until(std::chrono::system_clock::now() + 10ms));
  EXPECT_FALSE(lock.try_lock_until(steady_clock::now() - 1h));  // past: tries once
  lock.unlock();
  EXPECT_TRUE(lock.try_lock_until(std::chrono::system_clock::now() + 1s));
  lock.unlock();
}

TEST(LockHpp, UnlockOfUnlockedLockThrows) {
  polylock::Lock lock;
  try {
    lock.unlock();
    FAIL() << "unlock of an unlocked lock did not throw";
  } catch (const polylock::lock_error& error) {
    EXPECT_EQ(error.code().value(), LOCK_ENOTLOCKED);
    EXPECT_EQ(&error.code().category(), &polylock::lock_category());
    EXPECT_STREQ(error.code().category().name(), "polylock");
  }
  EXPECT_FALSE(lock.locked());
}

TEST(LockHpp, MovedFromLockThrowsInsteadOfCrashing) {
  polylock::Lock lock;
  polylock::Lock taken(std::move(lock));
  EXPECT_NO_THROW(taken.lock());
  EXPECT_THROW(lock.lock(), polylock::lock_error);   // NOLINT(bugprone-use-after-move)
  EXPECT_THROW(lock.locked(), polylock::lock_error);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(lock.native_handle(), nullptr);           // NOLINT(bugprone-use-after-move)
  taken.unlock();
  polylock::Lock other;
  other = std::move(taken);
  EXPECT_TRUE(other.try_lock());
  other.unlock();
}

TEST(LockHpp, AnyThreadMayUnlock) {
  polylock::Lock lock;
  lock.lock();
  std::thread([&] { lock.unlock(); }).join();
  EXPECT_FALSE(lock.locked());
}

TEST(LockHpp, ConditionVariableAnyProducerConsumer) {
  polylock::Lock lock;
  std::condition_variable_any ready;
  std::deque<int> queue;
  constexpr int items = 20000;
  constexpr int consumers = 3;
  std::atomic<long> sum{0};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&] {
      for (;;) {
        std::unique_lock held(lock);
        ready.wait(held, [&] { return !queue.empty(); });
        const int item = queue.front();
        queue.pop_front();
        if (item < 0) return;  // one stop marker per consumer
        sum += item;
        ++taken;
      }
    });
  for (int i = 1; i <= items; ++i) {
    {
      std::scoped_lock held(lock);
      queue.push_back(i);
    }
    ready.notify_one();
  }
  {
    std::scoped_lock held(lock);
    for (int c = 0; c < consumers; ++c) queue.push_back(-1);
  }
  ready.notify_all();
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(taken.load(), items);
  EXPECT_EQ(sum.load(), static_cast<long>(items) * (items + 1) / 2);
  EXPECT_FALSE(lock.locked());
}

TEST(LockHpp, ContendedCounterIsExact) {
  polylock::Lock lock;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::scoped_lock held(lock);
        ++counter;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 8L * 20000);
}

}  // namespace
