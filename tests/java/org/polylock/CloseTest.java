package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * close(): idempotent, drops the native reference, safe while threads wait or
 * race it on the fast path.
 */
class CloseTest {
  @Test
  void closeDropsTheNativeReferenceOnceAndIsIdempotent() {
    Lock lock = new Lock();
    lock.handle(); // the state moves into a native lock
    NativeHandle handle = lock.nativeHandle();
    assertFalse(handle.isReleased());
    lock.close();
    assertTrue(lock.isClosed());
    assertTrue(handle.isReleased());
    lock.close();
    lock.close();
    assertTrue(lock.isClosed());
  }

  @Test
  void aLockThatNeverWaitedHasNoNativeLockToClose() {
    Lock lock = new Lock();
    lock.lock();
    lock.unlock();
    assertNull(lock.nativeHandle());
    lock.close();
    assertTrue(lock.isClosed());
    assertNull(lock.nativeHandle());
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
    for (boolean inNative : new boolean[] {false, true}) {
      Lock lock = new Lock();
      if (inNative) {
        lock.handle();
      }
      lock.lock();
      lock.close();
      assertTrue(!inNative || lock.nativeHandle().isReleased());
      assertThrows(IllegalStateException.class, lock::unlock);
    }
  }

  @Test
  void tryWithResourcesClosesTheLock() {
    Lock kept;
    try (Lock lock = new Lock()) {
      kept = lock;
      lock.handle();
      lock.lock();
    }
    assertTrue(kept.isClosed());
    assertTrue(kept.nativeHandle().isReleased());
  }

  /**
   * The fast path's promise: a thread that read "open" and is about to
   * compare-and-swap the word holds the NativeLock, and so long as it does, the
   * word's memory stays (the pin), even after close() dropped the binding's
   * reference. Here the test is that thread: it keeps the NativeLock across the
   * close, its compare-and-swaps still work on live memory, and only once it
   * lets go does the Reclaimer drop the pin.
   */
  @Test
  void aFastPathThatOutlivesCloseStillHasItsWord() throws InterruptedException {
    Lock lock = new Lock();
    lock.handle();
    NativeLock racer = nativeLockOf(lock);
    NativeHandle handle = racer.handle;
    assertTrue(handle.isPinned(), "a lock with a fast word is pinned");
    lock.close();
    assertTrue(handle.isReleased());
    assertFalse(handle.isUnpinned());
    // Had close() freed the lock, malloc would hand its memory to these new
    // locks (same size, most recently freed first), and the racer's take below
    // would lock one of them.
    long[] fresh = new long[64];
    for (int i = 0; i < fresh.length; i++) {
      fresh[i] = LockNative.lock_new();
    }
    assertTrue(racer.tryFastAcquire());
    for (long other : fresh) {
      assertEquals(0, LockNative.lock_locked(other), "the racer wrote into another lock");
      LockNative.lock_free(other);
    }
    assertTrue(racer.tryFastRelease());
    for (int i = 0; i < 3; i++) {
      System.gc();
      assertTrue(racer.tryFastAcquire(), "the word is still there and free");
      assertTrue(racer.isLocked());
      assertTrue(racer.tryFastRelease());
      assertFalse(handle.isUnpinned(), "pinned while a fast path can run");
    }
    racer = null;
    lock = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Threads.HANG_SECONDS);
    while (!handle.isUnpinned() && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(10);
    }
    assertTrue(handle.isUnpinned(), "the pin goes once nobody can reach the word");
  }

  private static NativeLock nativeLockOf(Lock lock) {
    try {
      java.lang.reflect.Field field = Lock.class.getDeclaredField("nativeLock");
      field.setAccessible(true);
      return (NativeLock) field.get(lock);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
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
      NativeHandle handle = lock.nativeHandle();
      if (round % 2 == 0) {
        assertTrue(handle.isReleased(), "close() returns after the native reference is gone");
      }
      for (Threads.Started<Object> waiter : waiters) {
        assertInstanceOf(IllegalStateException.class, waiter.thrown());
      }
      // Odd rounds: a waiter that made the native lock after close() looked
      // closes it itself.
      handle = lock.nativeHandle();
      assertTrue(handle == null || handle.isReleased());
    }
  }

  /**
   * Close races threads on every path: the Java-side state, the native fast
   * path (no native call, only the word), and native calls (a second hammer
   * makes them contended). Nothing crashes, every hammer ends with
   * IllegalStateException, and the native reference is dropped.
   */
  @Test
  void closingWhileOtherThreadsHammerTheLockNeverCrashes() throws InterruptedException {
    for (int round = 0; round < 90; round++) {
      Lock lock = new Lock();
      if (round % 3 != 0) {
        lock.handle(); // rounds on the native fast path from the start
      }
      int hammers = round % 3 == 2 ? 2 : 1;
      AtomicLong progress = new AtomicLong();
      List<Threads.Started<Long>> started = new ArrayList<>();
      for (int h = 0; h < hammers; h++) {
        started.add(
            Threads.start("hammer " + round, () -> {
                  long done = 0;
                  try {
                    for (;;) {
                      lock.lock();
                      lock.unlock();
                      progress.lazySet(++done);
                    }
                  } catch (IllegalStateException closed) {
                    return done;
                  }
                }));
      }
      while (progress.get() < 1000 && !started.get(0).result.isDone()) {
        Thread.onSpinWait();
      }
      lock.close();
      for (Threads.Started<Long> hammer : started) {
        hammer.value();
      }
      NativeHandle handle = lock.nativeHandle();
      assertTrue(handle == null || handle.isReleased());
    }
  }
}
