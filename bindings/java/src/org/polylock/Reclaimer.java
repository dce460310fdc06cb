package org.polylock;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops the binding's references to native locks whose {@link NativeLock} has
 * become unreachable: the backstop for locks nobody closed, and the only way
 * a fast-path lock's pin goes (see {@link NativeHandle}).
 *
 * <p>Why not {@link java.lang.ref.Cleaner}: its one thread is the only one
 * that cleans, so threads that make native locks faster than it frees them
 * (issue 14: four threads in a loop, 3.3 million live handles, then {@code
 * OutOfMemoryError} in {@code Cleaner.register}) outrun it without bound.
 * Here every registration first reclaims a few locks the garbage collector has
 * already found unreachable, so the threads that make locks also pay for
 * freeing them, and the backlog cannot grow faster than the collector finds
 * garbage; a daemon thread reclaims the rest when nobody makes locks. (Most
 * locks never get here at all: {@link Lock} makes a native lock only when one
 * is needed.)
 */
final class Reclaimer {
  /** How many unreachable locks each registration reclaims, at most, before it registers. */
  private static final int HELP = 4;

  private static final ReferenceQueue<NativeLock> UNREACHABLE = new ReferenceQueue<>();
  /** Keeps every tracker reachable until its lock has been reclaimed. */
  private static final Set<Tracker> TRACKED = ConcurrentHashMap.newKeySet();

  static {
    Thread thread = new Thread(Reclaimer::reclaimForever, "polylock-reclaimer");
    thread.setDaemon(true);
    thread.setContextClassLoader(null); // holds on to no application's class loader
    thread.start();
  }

  private Reclaimer() {}

  /** Reclaims {@code handle} once {@code lock} is unreachable. */
  static void track(NativeLock lock, NativeHandle handle) {
    for (int i = 0; i < HELP; i++) {
      Tracker unreachable = (Tracker) UNREACHABLE.poll();
      if (unreachable == null) {
        break;
      }
      unreachable.reclaim();
    }
    TRACKED.add(new Tracker(lock, handle));
  }

  /** How many native locks the binding still holds references to, for the tests. */
  static int tracked() {
    return TRACKED.size();
  }

  private static void reclaimForever() {
    for (;;) {
      try {
        ((Tracker) UNREACHABLE.remove()).reclaim();
      } catch (InterruptedException e) {
        // nobody interrupts this thread on purpose; keep reclaiming
      }
    }
  }

  private static final class Tracker extends PhantomReference<NativeLock> {
    private final NativeHandle handle;

    Tracker(NativeLock lock, NativeHandle handle) {
      super(lock, UNREACHABLE);
      this.handle = handle;
    }

    void reclaim() {
      TRACKED.remove(this);
      handle.reclaim();
    }
  }
}
