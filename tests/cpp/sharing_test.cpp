// polylock::Lock and C sharing one lock (from_handle, native_handle), and the
// named-lock face (open, unlink, owner_dead), and fencing_token where there is none.
#include <polylock/lock.hpp>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

TEST(Sharing, FromHandleRefusesNullAndWhatIsNotALock) {
  try {
    (void)polylock::Lock::from_handle(nullptr);
    FAIL() << "from_handle(nullptr) did not throw";
  } catch (const polylock::lock_error& error) {
    EXPECT_EQ(error.code().value(), LOCK_EINVAL);
  }
  std::uint64_t not_a_lock[8] = {};
  EXPECT_THROW((void)polylock::Lock::from_handle(reinterpret_cast<lock_t*>(not_a_lock)),
               polylock::lock_error);
}

TEST(Sharing, EachSideFreesOnlyWhatItOwnsInEitherOrder) {
  for (bool c_first : {true, false}) {
    lock_t* handle = lock_new();
    ASSERT_NE(handle, nullptr);
    {
      polylock::Lock wrapped = polylock::Lock::from_handle(handle);
      EXPECT_EQ(wrapped.native_handle(), handle);
      ASSERT_EQ(lock_acquire(handle, 0), LOCK_OK);  // taken in C...
      EXPECT_TRUE(wrapped.locked());
      EXPECT_FALSE(wrapped.try_lock());
      wrapped.unlock();  // ... released in C++
      EXPECT_THROW(wrapped.unlock(), polylock::lock_error);  // as for an own lock
      EXPECT_EQ(lock_release(handle), LOCK_ENOTLOCKED);
      if (c_first) {
        lock_free(handle);  // C's reference; the wrapper's keeps the lock alive
        std::scoped_lock held(wrapped);
        EXPECT_TRUE(wrapped.locked());
      }
    }  // the wrapper's reference
    if (!c_first) {
      EXPECT_EQ(lock_acquire(handle, 0), LOCK_OK);
      EXPECT_EQ(lock_release(handle), LOCK_OK);
      lock_free(handle);
    }
    // ASan and valgrind runs of this suite see any leak or double free.
  }
}

TEST(Sharing, CAndCppThreadsKeepAnExactCount) {
  lock_t* handle = lock_new();
  ASSERT_NE(handle, nullptr);
  polylock::Lock wrapped = polylock::Lock::from_handle(handle);
  constexpr int rounds = 20000;
  long counter = 0;
  std::atomic<int> holders{0};
  std::atomic<int> overlaps{0};
  auto inside = [&] {
    if (holders.fetch_add(1) != 0) overlaps.fetch_add(1);
    ++counter;
    holders.fetch_sub(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {  // C++, through the wrapper
      for (int i = 0; i < rounds; ++i) {
        std::scoped_lock held(wrapped);
        inside();
      }
    });
    threads.emplace_back([&] {  // C, through the raw handle
      for (int i = 0; i < rounds; ++i) {
        ASSERT_EQ(lock_acquire(handle, LOCK_WAIT_FOREVER), LOCK_OK);
        inside();
        ASSERT_EQ(lock_release(handle), LOCK_OK);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter, 6L * rounds);
  lock_free(handle);
}

// A name of this test run's own, so that parallel runs never meet.
std::string test_name(const char* what) {
  return std::string("polylock-cpp-test-") + what + "-" + std::to_string(getpid());
}

// Opens a named lock, or skips the test where named locks are unsupported.
#define OPEN_OR_SKIP(variable, name)                                            \
  std::optional<polylock::Lock> variable;                                       \
  try {                                                                         \
    variable.emplace(polylock::Lock::open(name));                               \
  } catch (const polylock::lock_error& error) {                                 \
    if (error.code().value() == LOCK_ENOTSUP) GTEST_SKIP() << "no named locks"; \
    throw;                                                                      \
  }

TEST(Named, OpenRefusesBadNamesWithEinval) {
  for (const std::string& bad : {std::string(), std::string(".hidden"), std::string("a/b"),
                                std::string(201, 'x'), std::string("sp ace")}) {
    try {
      (void)polylock::Lock::open(bad);
      ADD_FAILURE() << "open(\"" << bad << "\") did not throw";
    } catch (const polylock::lock_error& error) {
      EXPECT_EQ(error.code().value(), LOCK_EINVAL) << bad;
    }
  }
}

TEST(Named, TwoHandlesOfOneNameAreOneLock) {
  const std::string name = test_name("two");
  OPEN_OR_SKIP(first, name);
  polylock::Lock second = polylock::Lock::open(name);
  {
    std::scoped_lock held(*first);
    EXPECT_TRUE(second.locked());
    EXPECT_FALSE(second.try_lock());
  }
  EXPECT_TRUE(second.try_lock());
  first->unlock();  // any handle, like any thread, may release
  polylock::Lock::unlink(name);
  EXPECT_THROW(polylock::Lock::unlink(name), polylock::lock_error);
}

TEST(Named, ADeadHoldersLockIsTakenWithOwnerDeadThrownAndHeld) {
  const std::string name = test_name("owner-dead");
  OPEN_OR_SKIP(lock, name);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // takes the lock and dies holding it
    lock_t* handle = lock_open(name.c_str(), nullptr);
    _exit(handle && lock_acquire(handle, LOCK_WAIT_FOREVER) == LOCK_OK ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_THROW(lock->lock(), polylock::owner_dead);
  EXPECT_TRUE(lock->locked());  // held by us now: repair, then unlock
  lock->unlock();
  std::scoped_lock held(*lock);  // and it is an ordinary lock again
  polylock::Lock::unlink(name);
}

// Fencing tokens are for locks in a store shared by machines (tests/etcd
// checks real ones): every other kind says LOCK_ENOTSUP, held or not.
TEST(Fencing, LocksWithoutTokensThrowEnotsup) {
  const auto status_of = [](const polylock::Lock& lock) {
    try {
      (void)lock.fencing_token();
    } catch (const polylock::lock_error& error) {
      return error.code().value();
    }
    return LOCK_OK;
  };
  polylock::Lock in_process;
  EXPECT_EQ(status_of(in_process), LOCK_ENOTSUP);
  {
    std::scoped_lock held(in_process);
    EXPECT_EQ(status_of(in_process), LOCK_ENOTSUP);
  }
  polylock::Lock moved = std::move(in_process);
  EXPECT_EQ(status_of(in_process), LOCK_EINVAL);  // NOLINT(bugprone-use-after-move)
  const std::string name = test_name("fence");
  OPEN_OR_SKIP(named, name);
  EXPECT_EQ(status_of(*named), LOCK_ENOTSUP);
  {
    std::scoped_lock held(*named);
    EXPECT_EQ(status_of(*named), LOCK_ENOTSUP);
  }
  polylock::Lock::unlink(name);
}

}  // namespace
