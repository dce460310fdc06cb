package org.polylock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The native lock behind one {@link Lock}, and the rule that keeps its memory
 * alive while any thread is inside a native call on it.
 *
 * <p>One int says it all: the sign bit means "closed", the other bits count the
 * native calls in flight. A call adds one before it reads the pointer and takes
 * it away when the native call has returned; a call that finds the closed bit
 * takes its one away again and never touches the pointer. Closing sets the bit,
 * so no new call gets in, then disturbs the threads still waiting in the lock
 * (each asks {@link #stopRequested()}, sees the bit and leaves with
 * {@code LOCK_EINTR}) until the count is zero, and only then frees. So a thread
 * blocked in {@code lock()} while another closes gets an exception, never a
 * freed futex word.
 *
 * <p>{@link #run()} is the close: {@link Lock#close()} runs it through its
 * {@code Cleaner.Cleanable}, and the Cleaner runs it for a lock nobody closed,
 * so it runs at most once. It must not refer to the {@link Lock}, or the Cleaner
 * would never see it unreachable.
 */
final class NativeHandle implements Runnable, StopCondition {
  private static final int CLOSED = Integer.MIN_VALUE;
  private static final int IN_FLIGHT = Integer.MAX_VALUE;
  private static final VarHandle USES;

  /** How long {@link #run()} sleeps between disturbing waiters that have not left yet. */
  private static final long CLOSE_RETRY_NS = 100_000;

  static {
    try {
      USES = MethodHandles.lookup().findVarHandle(NativeHandle.class, "uses", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final long pointer;

  private volatile boolean nativeFreed;

  /** Closed bit and calls in flight; updated through {@link #USES}. */
  @SuppressWarnings("unused")
  private volatile int uses;

  NativeHandle() {
    long created = LockNative.lock_new();
    if (created == 0) {
      throw new OutOfMemoryError("polylock: lock_new could not allocate a lock");
    }
    pointer = created;
  }

  /**
   * Starts a native call: the pointer, valid until the matching {@link #leave()}.
   *
   * @throws IllegalStateException if the lock is closed
   */
  long enter() {
    long lock = tryEnter();
    if (lock == 0) {
      throw new IllegalStateException("polylock: the lock is closed");
    }
    return lock;
  }

  /** Like {@link #enter()}, but 0 (and no call started) when the lock is closed. */
  long tryEnter() {
    if ((int) USES.getAndAdd(this, 1) < 0) {
      USES.getAndAdd(this, -1);
      return 0;
    }
    return pointer;
  }

  /** Ends a native call started by {@link #enter()} or a successful {@link #tryEnter()}. */
  void leave() {
    USES.getAndAdd(this, -1);
  }

  /** Whether the native lock has been freed (by close or by the Cleaner), for the tests. */
  boolean isFreed() {
    return nativeFreed;
  }

  /** How many native calls are using the lock right now, for the tests. */
  int callsInFlight() {
    return uses & IN_FLIGHT;
  }

  boolean isClosed() {
    return uses < 0;
  }

  /** Asked by a waiter in {@code lock()}: only closing stops that wait. */
  @Override
  public boolean stopRequested() {
    return isClosed();
  }

  /** Closes: no new calls, waiters woken, then the native lock freed. */
  @Override
  public void run() {
    USES.getAndBitwiseOr(this, CLOSED);
    // A waiter may still be on its way into the lock's queue, where one
    // lock_interrupt would miss it; so disturb again until everyone has left.
    // The native lock is ours to touch here: nobody frees it but this method.
    while ((uses & IN_FLIGHT) != 0) {
      LockNative.lock_interrupt(pointer);
      LockSupport.parkNanos(CLOSE_RETRY_NS);
    }
    LockNative.lock_free(pointer);
    nativeFreed = true;
  }
}
