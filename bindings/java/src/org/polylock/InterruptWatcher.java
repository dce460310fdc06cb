package org.polylock;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * A daemon thread that watches the threads waiting in interruptible waits and
 * disturbs the native wait of each one that gets interrupted (see {@link
 * InterruptibleWait}). It looks every millisecond while such waits exist, and
 * sleeps without a timeout while there are none; it is started by the first
 * interruptible wait that has to sleep.
 */
final class InterruptWatcher implements Runnable {
  private static final long PERIOD_NS = 1_000_000;
  private static final ConcurrentLinkedQueue<InterruptibleWait> WAITS =
      new ConcurrentLinkedQueue<>();

  /** Set while the watcher sleeps without a timeout; watch() must then wake it. */
  private static volatile boolean idle;

  private InterruptWatcher() {}

  /** Started on first use only. */
  private static final class Holder {
    static final Thread THREAD = start();

    private static Thread start() {
      Thread thread = new Thread(new InterruptWatcher(), "polylock-interrupt-watcher");
      thread.setDaemon(true);
      thread.setContextClassLoader(null); // holds on to no application's class loader
      thread.start();
      return thread;
    }
  }

  static void watch(InterruptibleWait wait) {
    Thread watcher = Holder.THREAD; // starts it on first use
    WAITS.add(wait);
    // Pairs with run(): the watcher publishes idle before its last look at
    // WAITS, we add before we read idle, so one of us sees the other.
    if (idle) {
      LockSupport.unpark(watcher);
    }
  }

  @Override
  public void run() {
    for (;;) {
      WAITS.removeIf(wait -> !wait.watch());
      if (WAITS.isEmpty()) {
        idle = true;
        if (WAITS.isEmpty()) {
          LockSupport.park(this);
        }
        idle = false;
      } else {
        LockSupport.parkNanos(this, PERIOD_NS);
      }
    }
  }
}
