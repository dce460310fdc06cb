package org.polylock;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** close(): idempotent, frees the native lock, safe while threads wait. */
class CloseTest {
  @Test
  void closeFreesTheNativeLockOnceAndIsIdempotent() {
    Lock lock = new Lock();
    assertFalse(lock.nativeHandle().isFreed());
    lock.close();
    assertTrue(lock.isClosed());
    assertTrue(lock.nativeHandle().isFreed());
    lock.close();
    lock.close();
    assertTrue(lock.isClosed());
  }

  @Test
  void everyCallAfterCloseThrowsIllegalStateException() {
    Lock lock = new Lock();
    lock.close();
    List<Executable> calls =
        List.of(
            lock::lock,
            lock::lockInterruptibly,
            lock::tryLock,
            () -> lock.tryLock(1, TimeUnit.SECONDS),
            () -> lock.tryLock(0, TimeUnit.SECONDS),
            lock::unlock,
            lock::isLocked,
            lock::acquire);
    for (Executable call : calls) {
      assertThrows(IllegalStateException.class, call);
    }
    assertTrue(lock.toString().endsWith("[Closed]"));
  }

  @Test
  void aLockedLockMayBeClosed() {
    Lock lock = new Lock();
    lock.lock();
    lock.close();
    assertTrue(lock.nativeHandle().isFreed());
    assertThrows(IllegalStateException.class, lock::unlock);
  }

  @Test
  void tryWithResourcesClosesTheLock() {
    Lock kept;
    try (Lock lock = new Lock()) {
      kept = lock;
      lock.lock();
    }
    assertTrue(kept.isClosed());
    assertTrue(kept.nativeHandle().isFreed());
  }

  /**
   * Threads blocked in every kind of wait when the lock is closed: each wakes up
   * with IllegalStateException, close() returns, the native lock is freed, and
   * the JVM is still here.
   */
  @Test
  void closingWhileThreadsAreBlockedWakesThemWithIllegalStateException()
      throws InterruptedException {
    for (int round = 0; round < 20; round++) {
      Lock lock = new Lock();
      lock.lock();
      List<Callable<Object>> waits =
          List.of(
              () -> {
                lock.lock();
                return "lock";
              },
              () -> {
                lock.lockInterruptibly();
                return "lockInterruptibly";
              },
              () -> lock.tryLock(1, TimeUnit.HOURS),
              () -> lock.acquire());
      List<Threads.Started<Object>> waiters = new ArrayList<>();
      for (Callable<Object> wait : waits) {
        waiters.add(Threads.start("blocked in round " + round, wait));
        waiters.add(Threads.start("blocked in round " + round, wait));
      }
      if (round % 2 == 0) {
        Threads.awaitWaiter(lock); // mostly asleep in the kernel
      } // odd rounds: close races the threads on their way in
      lock.close();
      assertTrue(lock.nativeHandle().isFreed(), "close() returns after the free");
      for (Threads.Started<Object> waiter : waiters) {
        assertInstanceOf(IllegalStateException.class, waiter.thrown());
      }
    }
  }

  @Test
  void closingWhileAnotherThreadHammersTheLockNeverCrashes() throws InterruptedException {
    for (int round = 0; round < 50; round++) {
      Lock lock = new Lock();
      Threads.Started<Long> hammer =
          Threads.start("hammer " + round, () -> {
                long done = 0;
                try {
                  for (;;) {
                    lock.lock();
                    lock.unlock();
                    done++;
                  }
                } catch (IllegalStateException closed) {
                  return done;
                }
              });
      while (lock.nativeHandle().callsInFlight() == 0 && !hammer.result.isDone()) {
        Thread.onSpinWait();
      }
      lock.close();
      hammer.value();
      assertTrue(lock.nativeHandle().isFreed());
    }
  }
}
