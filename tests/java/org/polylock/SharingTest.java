package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One lock, two owners (design.md §7): a lock made in C and wrapped with
 * fromHandle, and a Java lock whose handle() C takes a reference to. C threads
 * and Java threads share one critical section, in C, whose counter is exact
 * only if the lock excluded everyone; then each side lets go, in both orders.
 */
class SharingTest {
  private static final int C_THREADS = 2;
  private static final int JAVA_THREADS = 2;
  private static final int ITERATIONS = 20_000;

  /** C and Java threads hammer the lock; the counter must be exact. */
  private static void hammerFromBothSides(long handle, Lock lock) throws InterruptedException {
    SharingNative.reset();
    long token = SharingNative.startHammers(handle, C_THREADS, ITERATIONS);
    List<Threads.Started<Void>> workers = new ArrayList<>();
    for (int t = 0; t < JAVA_THREADS; t++) {
      int way = t;
      workers.add(
          Threads.start("java worker " + t, () -> {
                for (int i = 0; i < ITERATIONS; i++) {
                  switch ((way + i) % 3) {
                    case 0:
                      lock.lock();
                      break;
                    case 1:
                      while (!lock.tryLock()) {
                        Thread.onSpinWait();
                      }
                      break;
                    default:
                      while (!lock.tryLock(1, TimeUnit.MILLISECONDS)) {
                        // timed out: try again
                      }
                  }
                  SharingNative.criticalSection();
                  lock.unlock();
                }
                return null;
              }));
    }
    for (Threads.Started<Void> worker : workers) {
      worker.value();
    }
    SharingNative.joinHammers(token);
    assertEquals(0, SharingNative.overlaps(), "two holders at once, or a failed C call");
    assertEquals((long) (C_THREADS + JAVA_THREADS) * ITERATIONS, SharingNative.counter());
    assertFalse(lock.isLocked());
  }

  @Test
  void aLockMadeInCIsSharedWithJavaAndFreedInEitherOrder() throws InterruptedException {
    for (boolean cFreesFirst : new boolean[] {true, false}) {
      long handle = SharingNative.newLock();
      Lock lock = Lock.fromHandle(handle);
      assertTrue(lock.nativeHandle().isPinned(), "a lock_new lock has a fast word");
      assertEquals(handle, lock.handle());
      hammerFromBothSides(handle, lock);
      lock.lock();
      assertEquals(1, SharingNative.locked(handle), "Java's fast path is C's lock state");
      assertEquals(LockNative.LOCK_OK, SharingNative.release(handle), "C may unlock it");
      assertFalse(lock.isLocked());
      if (cFreesFirst) {
        SharingNative.free(handle);
        lock.lock(); // Java's reference keeps it alive
        lock.unlock();
        lock.close();
      } else {
        lock.close();
        assertEquals(LockNative.LOCK_OK, SharingNative.acquire(handle, 0), "C's is still good");
        assertEquals(LockNative.LOCK_OK, SharingNative.release(handle));
        SharingNative.free(handle);
      }
    }
  }

  @Test
  void aJavaLockIsSharedWithCAndFreedInEitherOrder() throws InterruptedException {
    for (boolean javaClosesFirst : new boolean[] {true, false}) {
      Lock lock = new Lock();
      lock.lock(); // held while its state still lives in Java: handle() keeps the hold
      long handle = lock.handle();
      assertEquals(handle, lock.handle(), "the same handle for the lock's whole life");
      assertEquals(1, SharingNative.locked(handle));
      lock.unlock();
      assertEquals(0, SharingNative.locked(handle));
      long cOwn = SharingNative.ref(handle);
      assertEquals(handle, cOwn);
      hammerFromBothSides(handle, lock);
      if (javaClosesFirst) {
        lock.close();
        assertEquals(LockNative.LOCK_OK, SharingNative.acquire(cOwn, LockNative.LOCK_WAIT_FOREVER));
        assertEquals(LockNative.LOCK_OK, SharingNative.release(cOwn));
        SharingNative.free(cOwn);
      } else {
        SharingNative.free(cOwn);
        lock.lock();
        lock.unlock();
        lock.close();
      }
      assertThrows(IllegalStateException.class, lock::handle);
    }
  }

  /** Every state move keeps a hold made on either side. */
  @Test
  void aHoldTakenInCIsSeenByJavaAndReleasedByIt() {
    try (Lock lock = new Lock()) {
      long handle = lock.handle();
      assertEquals(LockNative.LOCK_OK, SharingNative.acquire(handle, 0));
      assertTrue(lock.isLocked());
      assertFalse(lock.tryLock());
      lock.unlock(); // not owned: Java may release C's hold
      assertEquals(0, SharingNative.locked(handle));
    }
  }

  @Test
  void fromHandleRefusesZeroAndWhatIsNotALock() {
    IllegalArgumentException zero =
        assertThrows(IllegalArgumentException.class, () -> Lock.fromHandle(0));
    assertTrue(zero.getMessage().contains("null"), zero.getMessage());
    IllegalArgumentException other =
        assertThrows(
            IllegalArgumentException.class, () -> Lock.fromHandle(SharingNative.notALock()));
    assertTrue(other.getMessage().contains("not a polylock"), other.getMessage());
    // Integers that are no address at all: refused, not read (reading them
    // would take the JVM down).
    for (long bad : new long[] {8, 4095, -1, -4096, Long.MIN_VALUE}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Lock.fromHandle(bad));
      assertTrue(e.getMessage().contains("not a polylock"), e.getMessage());
    }
    // Never mapped unless a program placed memory there itself: the first
    // 64 KiB, and on x86-64 2^47 and up. Refused without being read.
    List<Long> unmapped = new ArrayList<>(List.of(4096L, 65528L));
    if (System.getProperty("os.arch").equals("amd64")) {
      unmapped.addAll(List.of(1L << 47, 0x0000800000001000L));
    }
    for (long bad : unmapped) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Lock.fromHandle(bad));
      assertTrue(e.getMessage().contains("not a polylock"), e.getMessage());
    }
  }

  @Test
  void aWrappedLockBehavesLikeOneMadeHere() throws InterruptedException {
    long handle = SharingNative.newLock();
    try (Lock lock = Lock.fromHandle(handle)) {
      assertNotEquals(0, lock.handle());
      assertFalse(lock.isLocked());
      assertTrue(lock.tryLock());
      assertFalse(lock.tryLock());
      assertFalse(lock.tryLock(1, TimeUnit.MILLISECONDS));
      lock.unlock();
      IllegalMonitorStateException error =
          assertThrows(IllegalMonitorStateException.class, lock::unlock);
      assertTrue(error.getMessage().contains("unlocked"), error.getMessage());
      assertTrue(lock.toString().endsWith("[Unlocked]"));
    } finally {
      SharingNative.free(handle);
    }
  }
}
