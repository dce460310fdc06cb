package org.polylock;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * A lock with the semantics of Python's {@code threading.Lock}, usable wherever a
 * {@link java.util.concurrent.locks.Lock} fits.
 *
 * <p>It is a binary semaphore, not a mutex:
 * <ul>
 *   <li><b>not owned</b> &mdash; any thread may {@link #unlock()} a locked lock, not
 *       only the one that locked it;
 *   <li><b>not re-entrant</b> &mdash; a second {@link #lock()} by the thread that holds
 *       it waits like any other (and waits forever if nobody else unlocks);
 *   <li><b>eventually fair</b> &mdash; a newcomer may take a free lock ahead of
 *       sleeping waiters, but a waiter that has waited about 1 ms is handed the lock
 *       by the next unlock, so nobody starves.
 * </ul>
 * It has {@link java.util.concurrent.locks.ReentrantLock}'s surface without
 * re-entrancy or owner checks. Waiting threads sleep in the kernel.
 *
 * <pre>{@code
 * try (Lock lock = new Lock()) {
 *   try (Lock.Held held = lock.acquire()) {
 *     // critical section
 *   }
 * }
 * }</pre>
 *
 * <p><b>Closing.</b> A lock owns a native lock; {@link #close()} frees it, and a
 * {@link java.lang.ref.Cleaner} frees it for a lock that becomes unreachable
 * without being closed. After {@code close()} every method but {@code close()},
 * {@link #isClosed()} and {@link #toString()} throws {@link IllegalStateException}.
 * Closing a lock that threads are waiting for is allowed and safe: those threads
 * wake up and throw {@code IllegalStateException}; {@code close()} waits (briefly)
 * until they have left the native code, then frees it.
 *
 * <p><b>Native libraries.</b> The jar carries the native libraries it needs and
 * copies them, on first use, into a private temporary directory to load them. To
 * load them from a directory of your own instead, set the system property
 * {@value #LIBRARY_PATH_PROPERTY} to that directory (it must hold the JNI glue
 * {@code libpolylock_jni.so} or {@code polylock_jni.dll}, and may hold
 * {@code libpolylock.so.1} or {@code polylock.dll}).
 */
public final class Lock implements java.util.concurrent.locks.Lock, AutoCloseable {
  /**
   * The system property naming a directory to load the native libraries from,
   * instead of the copies inside the jar: {@value}.
   */
  public static final String LIBRARY_PATH_PROPERTY = NativeLoader.PATH_PROPERTY;

  private static final Cleaner CLEANER = Cleaner.create();

  private final NativeHandle handle;
  private final Cleaner.Cleanable cleanable;

  /**
   * Creates an unlocked lock.
   *
   * @throws OutOfMemoryError if the native lock cannot be allocated
   * @throws UnsatisfiedLinkError if the native libraries cannot be loaded
   */
  public Lock() {
    handle = new NativeHandle();
    cleanable = CLEANER.register(this, handle);
  }

  /**
   * Takes the lock, waiting as long as it takes. Interrupting the waiting thread
   * does not end the wait (use {@link #lockInterruptibly()} for that); the thread's
   * interrupt status is left as it was.
   *
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  @Override
  public void lock() {
    long lock = handle.enter();
    try {
      if (LockNative.lock_acquire(lock, 0) != LockNative.LOCK_OK) {
        waitUninterruptibly(lock);
      }
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
  }

  private void waitUninterruptibly(long lock) {
    // The handle stops the wait only when the lock is closed meanwhile.
    int status =
        LockNative.lock_acquire_interruptible(lock, LockNative.LOCK_WAIT_FOREVER, handle);
    if (status == LockNative.LOCK_EINTR) {
      throw closedWhileWaiting();
    }
    if (status != LockNative.LOCK_OK) {
      throw new IllegalStateException("polylock: " + LockNative.lock_strerror(status));
    }
  }

  /**
   * Takes the lock, waiting until it is free or the thread is interrupted.
   *
   * @throws InterruptedException if the thread is interrupted before or while
   *     waiting; the lock is then not taken and the interrupt status is cleared
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  @Override
  public void lockInterruptibly() throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    long lock = handle.enter();
    try {
      if (LockNative.lock_acquire(lock, 0) != LockNative.LOCK_OK) {
        InterruptibleWait.acquire(handle, lock, LockNative.LOCK_WAIT_FOREVER);
      }
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Takes the lock if it is free right now; never waits.
   *
   * @return {@code true} if the lock was taken
   * @throws IllegalStateException if the lock is closed
   */
  @Override
  public boolean tryLock() {
    long lock = handle.enter();
    try {
      return LockNative.lock_acquire(lock, 0) == LockNative.LOCK_OK;
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Takes the lock, waiting at most the given time. As in {@code
   * java.util.concurrent}, a time of zero or less means "do not wait" (the lock is
   * still taken if it is free), and a huge time saturates instead of overflowing.
   * The deadline runs on a monotonic clock and is fixed when the call starts.
   *
   * @param time the longest time to wait
   * @param unit the unit of {@code time}
   * @return {@code true} if the lock was taken, {@code false} if the time ran out
   * @throws InterruptedException if the thread is interrupted before or while
   *     waiting; the lock is then not taken and the interrupt status is cleared
   * @throws NullPointerException if {@code unit} is null
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  @Override
  public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
    long timeoutNs = unit.toNanos(time); // saturates at Long.MAX_VALUE
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    long lock = handle.enter();
    try {
      if (LockNative.lock_acquire(lock, 0) == LockNative.LOCK_OK) {
        return true;
      }
      return timeoutNs > 0 && InterruptibleWait.acquire(handle, lock, timeoutNs);
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Unlocks the lock. Any thread may unlock it, not only the one that locked it;
   * one waiting thread, if any, is woken.
   *
   * @throws IllegalMonitorStateException if the lock is not locked (nothing changes)
   * @throws IllegalStateException if the lock is closed
   */
  @Override
  public void unlock() {
    long lock = handle.enter();
    int status;
    try {
      status = LockNative.lock_release(lock);
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
    if (status != LockNative.LOCK_OK) {
      throw new IllegalMonitorStateException("polylock: unlock of an unlocked lock");
    }
  }

  /**
   * Whether the lock is locked right now. Only a snapshot: another thread may lock
   * or unlock it before the caller acts on the answer, so use it for monitoring
   * and tests, not to decide whether to lock.
   *
   * @return {@code true} if some thread holds the lock
   * @throws IllegalStateException if the lock is closed
   */
  public boolean isLocked() {
    long lock = handle.enter();
    try {
      return LockNative.lock_locked(lock) == 1;
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Not supported: a {@link Condition} needs an owner to release and re-take the
   * lock for, and this lock has none. Use {@code java.util.concurrent} queues, or a
   * {@code ReentrantLock} where a condition is needed.
   *
   * @return never returns
   * @throws UnsupportedOperationException always
   */
  @Override
  public Condition newCondition() {
    throw new UnsupportedOperationException(
        "polylock: Lock is not owned by a thread, so it has no conditions");
  }

  /**
   * Takes the lock, as {@link #lock()} does, and returns a guard whose {@code
   * close()} unlocks it, for try-with-resources:
   *
   * <pre>{@code
   * try (Lock.Held held = lock.acquire()) {
   *   // critical section
   * }
   * }</pre>
   *
   * @return the guard of this acquisition
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  public Held acquire() {
    lock();
    return new Held(this);
  }

  /**
   * Closes the lock and frees its native lock. Idempotent: later calls do nothing.
   * Threads waiting for the lock are woken and throw {@link
   * IllegalStateException}; this method returns once they have left the native
   * code (a concurrent second {@code close()} may return before that). A lock may
   * be closed while it is locked.
   */
  @Override
  public void close() {
    cleanable.clean();
  }

  /**
   * Whether {@link #close()} has been called (or the lock was reclaimed).
   *
   * @return {@code true} once the lock is closed
   */
  public boolean isClosed() {
    return handle.isClosed();
  }

  /**
   * The version of the native library in use, {@code "MAJOR.MINOR.PATCH"}.
   *
   * @return the value of the C function {@code lock_version()}
   * @throws UnsatisfiedLinkError if the native libraries cannot be loaded
   */
  public static String nativeVersion() {
    return LockNative.lock_version();
  }

  /**
   * The identity of this lock and its state, in {@code ReentrantLock}'s shape: for
   * example {@code org.polylock.Lock@1b6d3586[Unlocked]}, {@code [Locked]} or
   * {@code [Closed]}. Never throws.
   */
  @Override
  public String toString() {
    String state;
    long lock = handle.tryEnter();
    if (lock == 0) {
      state = "[Closed]";
    } else {
      try {
        state = LockNative.lock_locked(lock) == 1 ? "[Locked]" : "[Unlocked]";
      } finally {
        handle.leave();
      }
    }
    return super.toString() + state;
  }

  /** The native side of this lock, for the tests (it does not keep the lock reachable). */
  NativeHandle nativeHandle() {
    return handle;
  }

  static IllegalStateException closedWhileWaiting() {
    return new IllegalStateException("polylock: the lock was closed while this thread waited");
  }

  /**
   * The guard returned by {@link Lock#acquire()}: closing it unlocks the lock once.
   * It belongs to the scope that acquired it and is not meant to be shared between
   * threads.
   */
  public static final class Held implements AutoCloseable {
    private Lock lock;

    private Held(Lock lock) {
      this.lock = lock;
    }

    /**
     * Unlocks the lock this guard holds. Only the first call unlocks; later calls
     * do nothing.
     *
     * @throws IllegalMonitorStateException if someone else unlocked the lock
     *     meanwhile and it is not locked
     * @throws IllegalStateException if the lock was closed meanwhile
     */
    @Override
    public void close() {
      Lock held = lock;
      if (held != null) {
        lock = null;
        held.unlock();
      }
    }
  }
}
