package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Many threads, every way in: an exact counter and never two holders. */
class StressTest {
  private static final int THREADS = 8;
  private static final int ITERATIONS = 40_000;

  private long counter; // guarded by the lock alone: no volatile, no atomics
  private final AtomicInteger holders = new AtomicInteger();
  private final AtomicInteger overlaps = new AtomicInteger();

  private void criticalSection() {
    if (holders.incrementAndGet() != 1) {
      overlaps.incrementAndGet();
    }
    counter++;
    holders.decrementAndGet();
  }

  @Test
  void exactCounterAndMutualExclusion() throws InterruptedException {
    try (Lock lock = new Lock()) {
      List<Threads.Started<Void>> workers = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int way = t % 5;
        workers.add(
            Threads.start("worker " + t, () -> {
                  for (int i = 0; i < ITERATIONS; i++) {
                    switch (way) {
                      case 0:
                        lock.lock();
                        break;
                      case 1:
                        lock.lockInterruptibly();
                        break;
                      case 2:
                        while (!lock.tryLock()) {
                          Thread.onSpinWait();
                        }
                        break;
                      case 3:
                        while (!lock.tryLock(1, TimeUnit.MILLISECONDS)) {
                          // timed out: try again
                        }
                        break;
                      default:
                        try (Lock.Held held = lock.acquire()) {
                          criticalSection();
                        }
                        continue;
                    }
                    try {
                      criticalSection();
                    } finally {
                      lock.unlock();
                    }
                  }
                  return null;
                }));
      }
      for (Threads.Started<Void> worker : workers) {
        worker.value();
      }
      assertEquals(0, overlaps.get(), "two threads held the lock at once");
      assertEquals((long) THREADS * ITERATIONS, counter);
      assertFalse(lock.isLocked());
    }
  }

  /** The holder is never the unlocker: lockers hand each acquisition to unlocker threads. */
  @Test
  void unlocksByOtherThreadsKeepTheCounterExact() throws InterruptedException {
    int lockers = 4;
    int unlockers = 2;
    int perLocker = 5_000;
    BlockingQueue<Integer> toUnlock = new ArrayBlockingQueue<>(1);
    try (Lock lock = new Lock()) {
      List<Threads.Started<Void>> threads = new ArrayList<>();
      for (int t = 0; t < lockers; t++) {
        threads.add(
            Threads.start("locker " + t, () -> {
                  for (int i = 0; i < perLocker; i++) {
                    lock.lock();
                    criticalSection();
                    toUnlock.put(i); // someone else unlocks
                  }
                  return null;
                }));
      }
      for (int t = 0; t < unlockers; t++) {
        threads.add(
            Threads.start("unlocker " + t, () -> {
                  for (int i = 0; i < lockers * perLocker / unlockers; i++) {
                    toUnlock.take();
                    lock.unlock();
                  }
                  return null;
                }));
      }
      for (Threads.Started<Void> thread : threads) {
        thread.value();
      }
      assertEquals(0, overlaps.get());
      assertEquals((long) lockers * perLocker, counter);
      assertFalse(lock.isLocked());
    }
  }
}
