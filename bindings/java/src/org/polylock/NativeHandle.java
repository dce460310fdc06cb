package org.polylock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The references the binding owns on one native lock, and the rule that keeps
 * its memory alive while any thread is inside a native call on it.
 *
 * <p>One int says it all: the sign bit means "closed", the other bits count the
 * native calls in flight. A call adds one before it reads the pointer and takes
 * it away when the native call has returned; a call that finds the closed bit
 * takes its one away again and never touches the pointer. Closing sets the bit,
 * so no new call gets in, then disturbs the threads still waiting in the lock
 * (each asks {@link #stopRequested()}, sees the bit and leaves with
 * {@code LOCK_EINTR}) until the count is zero, and only then drops the
 * binding's reference. So a thread blocked in {@code lock()} while another
 * closes gets an exception, never a freed futex word.
 *
 * <p>The fast path ({@link NativeLock}) touches the lock's state word without
 * a native call and without this count: counting would cost two more atomic
 * instructions per call, as much as the lock itself. For a lock with a fast
 * word the binding therefore holds a second reference, the <em>pin</em>, which
 * only {@link #reclaim()} drops, once the {@link NativeLock} that every fast
 * path goes through is unreachable: no thread can then be between reading
 * "open" and its compare-and-swap of the word, so the word's memory outlives
 * every fast path, whenever {@link #close()} ran.
 *
 * <p>This object must not refer to its {@code NativeLock}, or the {@link
 * Reclaimer} would never see that unreachable.
 */
final class NativeHandle implements StopCondition {
  private static final int CLOSED = Integer.MIN_VALUE;
  private static final int IN_FLIGHT = Integer.MAX_VALUE;
  private static final VarHandle USES;

  /** How long {@link #close()} sleeps between disturbing waiters that have not left yet. */
  private static final long CLOSE_RETRY_NS = 100_000;

  static {
    try {
      USES = MethodHandles.lookup().findVarHandle(NativeHandle.class, "uses", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final long pointer;
  private final boolean pinned;

  private volatile boolean released;
  private volatile boolean unpinned;

  /** Closed bit and calls in flight; updated through {@link #USES}. */
  @SuppressWarnings("unused")
  private volatile int uses;

  /**
   * Takes over one reference to {@code pointer} (dropped by {@link #close()}),
   * and, when {@code pinned}, a second one (dropped by {@link #reclaim()}).
   */
  NativeHandle(long pointer, boolean pinned) {
    this.pointer = pointer;
    this.pinned = pinned;
  }

  /** The native lock, borrowed: for {@link Lock#handle()}, never for a call. */
  long pointer() {
    return pointer;
  }

  /**
   * Starts a native call: the pointer, valid until the matching {@link #leave()}.
   *
   * @throws IllegalStateException if the lock is closed
   */
  long enter() {
    long lock = tryEnter();
    if (lock == 0) {
      throw Lock.closed();
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

  /** Whether {@link #close()} has dropped the binding's reference, for the tests. */
  boolean isReleased() {
    return released;
  }

  /** Whether the pin (if any) has been dropped too: nothing of the binding's is left. */
  boolean isUnpinned() {
    return unpinned;
  }

  /** Whether this handle holds a pin, i.e. its lock has a fast-path word. */
  boolean isPinned() {
    return pinned;
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

  /**
   * Closes: no new calls, waiters woken, then the binding's reference dropped.
   * Only the first call does it; a concurrent second one returns at once.
   */
  void close() {
    if (((int) USES.getAndBitwiseOr(this, CLOSED) & CLOSED) != 0) {
      return;
    }
    // A waiter may still be on its way into the lock's queue, where one
    // lock_interrupt would miss it; so disturb again until everyone has left.
    // The native lock is ours to touch here: nobody drops our reference but
    // this method.
    while ((uses & IN_FLIGHT) != 0) {
      LockNative.lock_interrupt(pointer);
      LockSupport.parkNanos(CLOSE_RETRY_NS);
    }
    LockNative.lock_free(pointer);
    released = true;
  }

  /**
   * Run by the {@link Reclaimer} once the {@code NativeLock} is unreachable:
   * closes it if nobody did, then drops the pin.
   */
  void reclaim() {
    close();
    if (pinned) {
      LockNative.lock_free(pointer);
    }
    unpinned = true;
  }
}
