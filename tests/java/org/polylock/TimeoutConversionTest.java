package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * tryLock(long, TimeUnit) against ReentrantLock on a table of edge values in
 * every TimeUnit (issue 14 §3): negative, zero, tiny, the values around each
 * unit's overflow of nanoseconds, and Long.MAX_VALUE. The peer's behaviour is
 * the oracle: on a free lock both take it; on a held lock both refuse for a time
 * of zero or less, both time out for a time up to a second, and both wait (no
 * overflow to a past deadline) for anything longer, until an unlock lets them
 * in; an interrupted thread is refused first by both.
 */
class TimeoutConversionTest {
  /** Up to this, a held lock's tryLock must time out; the test waits that long at most. */
  private static final long WAITS_AT_MOST_NS = TimeUnit.SECONDS.toNanos(1);

  private static List<Long> times() {
    List<Long> times =
        new ArrayList<>(
            List.of(
                Long.MIN_VALUE,
                Long.MIN_VALUE + 1,
                -1_000_000_000L,
                -1L,
                0L,
                1L,
                2L,
                999L,
                1_000L,
                1_000_000L,
                (long) Integer.MAX_VALUE,
                Long.MAX_VALUE - 1,
                Long.MAX_VALUE));
    for (TimeUnit unit : TimeUnit.values()) {
      long limit = unit.convert(Long.MAX_VALUE, TimeUnit.NANOSECONDS); // last exact value
      times.add(limit);
      times.add(limit + 1);
      times.add(-limit - 1);
    }
    return times;
  }

  @Test
  void theConversionIsReentrantLocksRule() {
    for (TimeUnit unit : TimeUnit.values()) {
      for (long time : times()) {
        long peer = unit.toNanos(time); // what AbstractQueuedSynchronizer waits
        assertEquals(Math.max(0, peer), Lock.timeoutNanos(time, unit), time + " " + unit);
      }
    }
  }

  @Test
  void aFreeLockIsTakenForEveryTime() throws InterruptedException {
    for (TimeUnit unit : TimeUnit.values()) {
      for (long time : times()) {
        try (Lock lock = new Lock()) {
          ReentrantLock peer = new ReentrantLock();
          assertTrue(peer.tryLock(time, unit));
          assertTrue(lock.tryLock(time, unit), time + " " + unit);
        }
      }
    }
  }

  @Test
  void anInterruptedThreadIsRefusedForEveryTime() {
    for (TimeUnit unit : TimeUnit.values()) {
      for (long time : times()) {
        try (Lock lock = new Lock()) {
          ReentrantLock peer = new ReentrantLock();
          Thread.currentThread().interrupt();
          assertThrows(InterruptedException.class, () -> peer.tryLock(time, unit));
          Thread.currentThread().interrupt();
          assertThrows(InterruptedException.class, () -> lock.tryLock(time, unit));
          assertTrue(!Thread.interrupted() && !lock.isLocked(), time + " " + unit);
        }
      }
    }
  }

  /**
   * On a held lock: a time up to a second must run out (the test waits for the
   * answer without unlocking), anything longer must wait (the test unlocks once
   * the thread is seen waiting, and it must then get the lock), for the peer and
   * for polylock alike.
   */
  @Test
  void aHeldLockBehavesAsTheReentrantLockForEveryTime() throws InterruptedException {
    for (TimeUnit unit : TimeUnit.values()) {
      for (long time : times()) {
        String what = time + " " + unit;
        boolean waits = unit.toNanos(time) > WAITS_AT_MOST_NS;
        ReentrantLock peer = new ReentrantLock();
        assertEquals(
            waits,
            heldOutcome(peer::lock, peer::unlock, peer::hasQueuedThreads,
                () -> peer.tryLock(time, unit), waits, what),
            "ReentrantLock " + what);
        try (Lock lock = new Lock()) {
          assertEquals(
              waits,
              heldOutcome(lock::lock, lock::unlock, () -> lock.callsInFlight() > 0,
                  () -> lock.tryLock(time, unit), waits, what),
              "polylock " + what);
        }
      }
    }
  }

  private interface TimedTry {
    boolean attempt() throws InterruptedException;
  }

  /**
   * Holds the lock here and tries it on another thread (which unlocks what it
   * gets); when {@code waits}, unlocks once that thread is seen waiting, and
   * fails if it gave up first. Returns whether the other thread got the lock.
   */
  private static boolean heldOutcome(
      Runnable lock,
      Runnable unlock,
      BooleanSupplier someoneWaits,
      TimedTry tryLock,
      boolean waits,
      String what)
      throws InterruptedException {
    lock.run();
    Threads.Started<Boolean> other =
        Threads.start("tryLock " + what, () -> {
              boolean got = tryLock.attempt();
              if (got) {
                unlock.run(); // on the thread that got it: ReentrantLock is owned
              }
              return got;
            });
    if (waits) {
      while (!someoneWaits.getAsBoolean()) {
        assertTrue(!other.result.isDone(), what + ": gave up at once instead of waiting");
        Thread.onSpinWait();
      }
      unlock.run();
      return other.value();
    }
    boolean got = other.value();
    unlock.run();
    return got;
  }
}
