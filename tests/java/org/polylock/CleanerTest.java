package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Native locks nobody closes are reclaimed once their Lock is unreachable (and
 * the pins of closed ones too). The test keeps each lock's NativeHandle (which
 * does not refer to its Lock, so the Lock can still be collected) and asks it
 * whether the binding's references were dropped.
 */
class CleanerTest {
  @Test
  void unclosedLocksAreReclaimed() throws InterruptedException {
    int count = 20_000;
    List<NativeHandle> handles = new ArrayList<>(count);
    List<WeakReference<Lock>> locks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Lock lock = new Lock();
      if (i % 2 == 0) {
        lock.lock(); // a held lock is reclaimed too
      }
      lock.handle(); // the state moves into a native lock
      if (i % 3 == 0) {
        lock.close(); // its pin goes with the rest
      }
      handles.add(lock.nativeHandle());
      locks.add(new WeakReference<>(lock));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Threads.HANG_SECONDS);
    int freed = 0;
    while (System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(10);
      freed = 0;
      for (NativeHandle handle : handles) {
        freed += handle.isReleased() && handle.isUnpinned() ? 1 : 0;
      }
      if (freed == count) {
        break;
      }
    }
    assertEquals(count, freed, "native locks reclaimed");
    for (NativeHandle handle : handles) {
      assertTrue(handle.isClosed());
    }
    for (WeakReference<Lock> lock : locks) {
      assertEquals(null, lock.get(), "a freed lock must have been unreachable");
    }
  }
}
