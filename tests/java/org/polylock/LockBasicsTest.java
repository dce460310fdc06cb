package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Modifier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The single-threaded behaviour of org.polylock.Lock. */
class LockBasicsTest {
  private final Lock lock = new Lock();

  @AfterEach
  void close() {
    lock.close();
  }

  @Test
  void startsUnlocked() {
    assertFalse(lock.isLocked());
    assertFalse(lock.isClosed());
  }

  @Test
  void lockAndUnlock() {
    lock.lock();
    assertTrue(lock.isLocked());
    lock.unlock();
    assertFalse(lock.isLocked());
  }

  @Test
  void tryLockTakesAFreeLockOnly() {
    assertTrue(lock.tryLock());
    assertTrue(lock.isLocked());
    assertFalse(lock.tryLock());
    assertTrue(lock.isLocked());
    lock.unlock();
    assertTrue(lock.tryLock());
    lock.unlock();
  }

  @Test
  void lockInterruptiblyTakesAFreeLock() throws InterruptedException {
    lock.lockInterruptibly();
    assertTrue(lock.isLocked());
    lock.unlock();
  }

  @Test
  void isNotReentrant() throws InterruptedException {
    lock.lock();
    assertFalse(lock.tryLock(), "a second acquire by the holder must not succeed");
    assertFalse(lock.tryLock(20, TimeUnit.MILLISECONDS));
    assertTrue(lock.isLocked());
    lock.unlock();
    assertFalse(lock.isLocked(), "one unlock frees it: there is no hold count");
  }

  @Test
  void unlockOfAnUnlockedLockThrowsAndChangesNothing() {
    IllegalMonitorStateException error =
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
    assertTrue(error.getMessage().contains("unlocked"), error.getMessage());
    assertFalse(lock.isLocked());
    lock.lock();
    lock.unlock();
    assertThrows(IllegalMonitorStateException.class, lock::unlock);
    assertFalse(lock.isLocked());
    assertTrue(lock.tryLock(), "the failed unlock must leave a working lock");
    lock.unlock();
  }

  @Test
  void anInProcessLockHasNoFencingTokens() {
    assertThrows(UnsupportedOperationException.class, lock::fencingToken);
    lock.handle(); // native now: the C library says the same
    lock.lock();
    assertThrows(UnsupportedOperationException.class, lock::fencingToken);
    lock.unlock();
  }

  @Test
  void newConditionIsUnsupported() {
    assertThrows(UnsupportedOperationException.class, lock::newCondition);
  }

  @Test
  void guardUnlocksAtTheEndOfItsScope() {
    try (Lock.Held held = lock.acquire()) {
      assertTrue(lock.isLocked());
    }
    assertFalse(lock.isLocked());
  }

  @Test
  void guardUnlocksWhenTheScopeThrows() {
    assertThrows(
        ArithmeticException.class,
        () -> {
          try (Lock.Held held = lock.acquire()) {
            throw new ArithmeticException("inside the critical section");
          }
        });
    assertFalse(lock.isLocked());
  }

  @Test
  void guardUnlocksOnlyOnce() {
    Lock.Held held = lock.acquire();
    held.close();
    lock.lock(); // someone else's acquisition
    held.close(); // must not release it
    assertTrue(lock.isLocked());
    lock.unlock();
  }

  @Test
  void toStringShowsTheState() {
    assertTrue(lock.toString().startsWith("org.polylock.Lock@"), lock.toString());
    assertTrue(lock.toString().endsWith("[Unlocked]"), lock.toString());
    lock.lock();
    assertTrue(lock.toString().endsWith("[Locked]"), lock.toString());
    lock.unlock();
    lock.close();
    assertTrue(lock.toString().endsWith("[Closed]"), lock.toString());
  }

  @Test
  void isAJavaUtilConcurrentLockAndAutoCloseable() {
    java.util.concurrent.locks.Lock asJucLock = lock;
    asJucLock.lock();
    assertTrue(lock.isLocked());
    asJucLock.unlock();
    assertTrue(AutoCloseable.class.isAssignableFrom(Lock.class));
  }

  @Test
  void nativeVersionIsTheHeadersVersion() {
    assertEquals(
        LockNative.LOCK_VERSION_MAJOR
            + "."
            + LockNative.LOCK_VERSION_MINOR
            + "."
            + LockNative.LOCK_VERSION_PATCH,
        Lock.nativeVersion());
  }

  @Test
  void swigPlumbingIsNotPublic() throws ClassNotFoundException {
    for (String name :
        new String[] {"LockNative", "LockNativeJNI", "LockNativeConstants", "NativeHandle"}) {
      Class<?> plumbing = Class.forName("org.polylock." + name);
      assertFalse(Modifier.isPublic(plumbing.getModifiers()), name + " must not be public");
    }
    assertTrue(Modifier.isPublic(Lock.class.getModifiers()));
    assertTrue(Modifier.isPublic(Lock.Held.class.getModifiers()));
  }
}
