package org.polylock;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** tryLock(long, TimeUnit): no wait for times <= 0, lower bounds, no overflow. */
class TimeoutTest {
  private final Lock lock = new Lock();

  @AfterEach
  void close() {
    lock.close();
  }

  @Test
  void zeroAndNegativeTimesDoNotWaitButTakeAFreeLock() throws InterruptedException {
    for (long time : new long[] {0, -1, Long.MIN_VALUE}) {
      assertTrue(lock.tryLock(time, TimeUnit.SECONDS), "free lock, time " + time);
      assertFalse(lock.tryLock(time, TimeUnit.SECONDS), "held lock, time " + time);
      lock.unlock();
    }
  }

  @Test
  void timesOutNoSoonerThanAsked() throws InterruptedException {
    lock.lock();
    for (long millis : new long[] {1, 20, 50}) {
      long start = System.nanoTime();
      assertFalse(lock.tryLock(millis, TimeUnit.MILLISECONDS));
      long waited = System.nanoTime() - start;
      assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(millis), "waited only " + waited + " ns");
    }
    assertTrue(lock.isLocked());
    lock.unlock();
  }

  @Test
  void timedWaitIsCutShortByAnUnlock() throws InterruptedException {
    lock.lock();
    Threads.Started<Boolean> waiter =
        Threads.start("timed waiter", () -> lock.tryLock(1, TimeUnit.HOURS));
    Threads.awaitWaiter(lock);
    lock.unlock();
    assertTrue(waiter.value());
    assertTrue(lock.isLocked(), "the waiter holds it now");
    lock.unlock();
  }

  @Test
  void hugeTimesDoNotOverflow() throws InterruptedException {
    // Long.MAX_VALUE days saturates to Long.MAX_VALUE ns; neither may turn into
    // "do not wait" (or a negative timeout) on the way to the C ABI.
    for (TimeUnit unit : new TimeUnit[] {TimeUnit.NANOSECONDS, TimeUnit.DAYS}) {
      assertTrue(lock.tryLock(Long.MAX_VALUE, unit), "free lock, " + unit);
      Threads.Started<Boolean> waiter =
          Threads.start("huge waiter", () -> lock.tryLock(Long.MAX_VALUE, unit));
      Threads.awaitWaiter(lock);
      waiter.assertStillRunningAfter(50);
      lock.unlock();
      assertTrue(waiter.value(), "a huge timeout must wait, then take the lock: " + unit);
      lock.unlock();
    }
  }

  @Test
  void nullUnitIsRejected() {
    NullPointerException ours =
        assertThrows(NullPointerException.class, () -> lock.tryLock(1, null));
    assertFalse(lock.isLocked());
    // The helpful message (JDK 14+) names the argument, as ReentrantLock's does.
    NullPointerException peer =
        assertThrows(
            NullPointerException.class,
            () -> new java.util.concurrent.locks.ReentrantLock().tryLock(1, null));
    if (peer.getMessage() != null) {
      assertTrue(ours.getMessage().contains("\"unit\""), ours.getMessage());
    }
  }
}
