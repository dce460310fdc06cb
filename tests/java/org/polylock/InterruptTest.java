package org.polylock;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Thread.interrupt() ends lockInterruptibly and timed tryLock, and nothing else. */
class InterruptTest {
  private final Lock lock = new Lock();

  @AfterEach
  void close() {
    lock.close();
  }

  @Test
  void interruptEndsLockInterruptiblyAndTakesNothing() throws InterruptedException {
    lock.lock();
    Threads.Started<Boolean> waiter =
        Threads.start("interruptible", () -> {
              try {
                lock.lockInterruptibly();
                return true;
              } finally {
                // The exception must carry the interrupt, not leave it set too.
                assertFalse(Thread.currentThread().isInterrupted());
              }
            });
    Threads.awaitWaiter(lock);
    waiter.thread.interrupt();
    assertInstanceOf(InterruptedException.class, waiter.thrown());
    lock.unlock(); // still ours: the interrupted waiter took nothing
    assertFalse(lock.isLocked());
  }

  @Test
  void interruptEndsATimedTryLock() throws InterruptedException {
    lock.lock();
    Threads.Started<Boolean> waiter =
        Threads.start("timed", () -> lock.tryLock(1, TimeUnit.HOURS));
    Threads.awaitWaiter(lock);
    waiter.thread.interrupt();
    assertInstanceOf(InterruptedException.class, waiter.thrown());
    assertTrue(lock.isLocked());
    lock.unlock();
    assertFalse(lock.isLocked());
  }

  @Test
  void anInterruptedThreadIsRefusedAtOnceEvenIfTheLockIsFree() {
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, lock::lockInterruptibly);
    assertFalse(Thread.currentThread().isInterrupted());
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, () -> lock.tryLock(0, TimeUnit.SECONDS));
    assertFalse(Thread.currentThread().isInterrupted());
    assertFalse(lock.isLocked());
  }

  @Test
  void lockIgnoresInterruptsAndKeepsTheFlag() throws InterruptedException {
    lock.lock();
    Threads.Started<Boolean> waiter =
        Threads.start("uninterruptible", () -> {
              lock.lock();
              return Thread.currentThread().isInterrupted();
            });
    Threads.awaitWaiter(lock);
    waiter.thread.interrupt();
    waiter.assertStillRunningAfter(100);
    lock.unlock();
    assertTrue(waiter.value(), "lock() must keep the interrupt status set");
    assertTrue(lock.isLocked());
    lock.unlock();
  }

  @Test
  void interruptingOneWaiterLeavesTheOthersWaiting() throws InterruptedException {
    lock.lock();
    List<Threads.Started<Boolean>> waiters = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      waiters.add(
          Threads.start("waiter " + i, () -> {
                lock.lockInterruptibly();
                lock.unlock();
                return true;
              }));
    }
    Threads.awaitWaiter(lock);
    Threads.Started<Boolean> victim = waiters.remove(0);
    victim.thread.interrupt();
    assertInstanceOf(InterruptedException.class, victim.thrown());
    for (Threads.Started<Boolean> waiter : waiters) {
      waiter.assertStillRunningAfter(10);
    }
    lock.unlock();
    for (Threads.Started<Boolean> waiter : waiters) {
      assertTrue(waiter.value());
    }
    assertFalse(lock.isLocked());
  }

  /**
   * Interrupts at every moment of the way into the wait, including before the
   * thread is queued in the native lock, where one lock_interrupt would be lost.
   * Each waiter must end with InterruptedException, never hang.
   */
  @Test
  void interruptsRacingTheStartOfTheWaitAreNeverLost() throws InterruptedException {
    lock.lock();
    for (int i = 0; i < 400; i++) {
      Threads.Started<Boolean> waiter =
          Threads.start("racer " + i, () -> {
                lock.lockInterruptibly();
                return true;
              });
      // Interrupt as soon as the thread is inside the lock's native side
      // (mostly still on its way into the queue), after a few more steps, or
      // before it even got there.
      if (i % 4 != 3) {
        while (lock.callsInFlight() == 0 && !waiter.result.isDone()) {
          Thread.onSpinWait();
        }
        for (int spin = 0; spin < (i % 4) * 50 * (i % 7); spin++) {
          Thread.onSpinWait();
        }
      }
      waiter.thread.interrupt();
      assertInstanceOf(InterruptedException.class, waiter.thrown());
    }
    assertTrue(lock.isLocked());
    lock.unlock();
  }
}
