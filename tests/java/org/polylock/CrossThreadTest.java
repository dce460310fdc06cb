package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lock is not owned: any thread may unlock it. */
class CrossThreadTest {
  private final Lock lock = new Lock();

  @AfterEach
  void close() {
    lock.close();
  }

  @Test
  void anotherThreadMayUnlock() throws InterruptedException {
    lock.lock();
    Threads.start("unlocker", () -> {
          lock.unlock();
          return null;
        })
        .value();
    assertFalse(lock.isLocked());
    assertTrue(lock.tryLock());
    lock.unlock();
  }

  @Test
  void aLockTakenByAnotherThreadCanBeUnlockedHere() throws InterruptedException {
    Threads.start("locker", () -> {
          lock.lock();
          return null;
        })
        .value();
    assertTrue(lock.isLocked(), "the locker's thread ended; the lock stays locked");
    lock.unlock();
    assertFalse(lock.isLocked());
  }

  @Test
  void anUnlockFromAThirdThreadWakesAWaiter() throws InterruptedException {
    lock.lock();
    Threads.Started<Boolean> waiter =
        Threads.start("waiter", () -> {
              lock.lock();
              return true;
            });
    Threads.awaitWaiter(lock);
    Threads.start("third", () -> {
          lock.unlock();
          return null;
        })
        .value();
    assertTrue(waiter.value());
    assertTrue(lock.isLocked());
    lock.unlock();
  }

  /** Two locks used as binary semaphores hand a turn back and forth: each unlock
   * is done by the thread that did not lock. */
  @Test
  void pingPongAsBinarySemaphores() throws InterruptedException {
    int rounds = 20_000;
    try (Lock ping = new Lock(); Lock pong = new Lock()) {
      ping.lock();
      pong.lock();
      int[] turns = new int[1];
      Threads.Started<Void> other =
          Threads.start("pong", () -> {
                for (int i = 0; i < rounds; i++) {
                  ping.lock(); // wait for main's turn to end
                  turns[0]++;
                  pong.unlock(); // give the turn back
                }
                return null;
              });
      for (int i = 0; i < rounds; i++) {
        ping.unlock();
        pong.lock();
      }
      other.value();
      assertEquals(rounds, turns[0]);
    }
  }
}
