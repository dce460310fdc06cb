package org.polylock;

/**
 * One wait in {@link Lock#lockInterruptibly()} or {@link Lock#tryLock(long,
 * java.util.concurrent.TimeUnit)}, which {@link Thread#interrupt()} must end.
 *
 * <p>{@code Thread.interrupt()} sets a flag and cannot wake a thread sleeping in
 * native code, and Java has no public hook that runs when a thread is
 * interrupted and is free of races. So while the wait lasts it is registered
 * with the {@link InterruptWatcher}, which looks at the waiting thread's
 * interrupt status every millisecond and, once it is set, calls {@code
 * lock_interrupt}. That disturbs the native wait, which asks {@link
 * #stopRequested()} on the waiting thread (an upcall through JNI); the answer
 * is yes, and the wait ends with {@code LOCK_EINTR}, having taken nothing.
 *
 * <p>The watcher keeps calling {@code lock_interrupt} until the wait has ended:
 * a call that comes while the waiter is still on its way into the lock's queue
 * reaches nobody, and the next one will. Only waits that actually sleep get
 * here; the uncontended paths of {@link Lock} never do.
 */
final class InterruptibleWait implements StopCondition {
  private final NativeHandle handle;
  private final Thread waiter = Thread.currentThread();
  private volatile boolean ended;

  private InterruptibleWait(NativeHandle handle) {
    this.handle = handle;
  }

  /**
   * Waits for the lock, within an enter/leave of {@code handle} by the caller.
   *
   * @param lock the native lock, from {@code handle.enter()}
   * @param timeoutNs {@code LOCK_WAIT_FOREVER}, or a positive number of nanoseconds
   * @return the status of the wait: {@code LOCK_OK} or {@code LOCK_OWNERDEAD}
   *     (taken) or {@code LOCK_TIMEOUT}; any other is the caller's to report
   * @throws InterruptedException if the thread was interrupted while waiting
   *     (its interrupt status is then cleared)
   * @throws IllegalStateException if the lock was closed while waiting
   */
  static int acquire(NativeHandle handle, long lock, long timeoutNs)
      throws InterruptedException {
    InterruptibleWait wait = new InterruptibleWait(handle);
    InterruptWatcher.watch(wait);
    int status;
    try {
      status = LockNative.lock_acquire_interruptible(lock, timeoutNs, wait);
    } finally {
      wait.ended = true; // the watcher forgets it on its next round
    }
    if (status != LockNative.LOCK_EINTR) {
      return status; // taken: an interrupt that came too late stays set, as in ReentrantLock
    }
    if (handle.isClosed()) {
      throw Lock.closedWhileWaiting();
    }
    Thread.interrupted(); // the exception carries the interrupt now
    throw new InterruptedException("polylock: interrupted while waiting for the lock");
  }

  /** Asked on the waiting thread when the wait is disturbed. */
  @Override
  public boolean stopRequested() {
    return handle.isClosed() || waiter.isInterrupted();
  }

  /**
   * Run by the watcher: disturbs the wait if its thread is interrupted.
   *
   * @return whether the wait is still going on and must be watched further
   */
  boolean watch() {
    if (ended) {
      return false;
    }
    if (waiter.isInterrupted()) {
      long lock = handle.tryEnter();
      if (lock == 0) {
        return false; // closing wakes every waiter itself
      }
      try {
        LockNative.lock_interrupt(lock);
      } finally {
        handle.leave();
      }
    }
    return !ended;
  }
}
