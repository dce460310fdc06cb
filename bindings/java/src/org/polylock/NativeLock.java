package org.polylock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One native lock as the binding uses it: the frozen fast path of {@code
 * lock.h} (ABI 1.2) first, a call into the library when that fails.
 *
 * <p>The fast path is the two compare-and-swaps {@code lock_fast_word}'s
 * contract allows on the lock's 32-bit state word: {@code LOCK_FAST_FREE} to
 * {@code LOCK_FAST_HELD} to take it, back to give it back, each with volatile
 * (so acquire and release) ordering. The word is reached through a {@link
 * VarHandle} over a direct {@link ByteBuffer} that the JNI glue makes over its
 * address: Java 9's supported way to an atomic int in native memory. A lock
 * without a word (a named lock) always calls through.
 *
 * <p>Every thread that touches the word holds this object and keeps it
 * reachable until its compare-and-swap is done ({@link
 * Reference#reachabilityFence}); the {@link Reclaimer} drops the pin that keeps
 * the word's memory alive only once this object is unreachable (see {@link
 * NativeHandle}). Native calls go through the handle's in-flight count, as
 * before 1.2.
 */
final class NativeLock {
  private static final VarHandle WORD =
      MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());
  private static final int FAST_FREE = (int) LockNative.LOCK_FAST_FREE;
  private static final int FAST_HELD = (int) LockNative.LOCK_FAST_HELD;

  final NativeHandle handle;
  private final ByteBuffer word;

  private NativeLock(long pointer, ByteBuffer word) {
    this.handle = new NativeHandle(pointer, word != null);
    this.word = word;
    Reclaimer.track(this, handle);
  }

  /**
   * Takes over one reference to {@code pointer}; takes the pin (a second
   * reference) itself when the lock has a fast word.
   */
  static NativeLock adopt(long pointer) {
    ByteBuffer word = LockNative.lock_fast_word(pointer);
    if (word != null) {
      LockNative.lock_ref(pointer); // the pin: the same pointer, known good
    }
    return new NativeLock(pointer, word);
  }

  /** A new native lock, already held (see Lock's move to native). */
  static NativeLock newHeld() {
    long pointer = LockNative.lock_new();
    if (pointer == 0) {
      throw new OutOfMemoryError("polylock: lock_new could not allocate a lock");
    }
    LockNative.lock_acquire(pointer, 0); // a fresh lock: LOCK_OK
    return adopt(pointer);
  }

  /** The fast path's take: whether the word went from free to held. */
  boolean tryFastAcquire() {
    ByteBuffer w = word;
    boolean taken = w != null && WORD.compareAndSet(w, 0, FAST_FREE, FAST_HELD);
    Reference.reachabilityFence(this);
    return taken;
  }

  /** The fast path's give-back: whether the word went from held to free. */
  boolean tryFastRelease() {
    ByteBuffer w = word;
    boolean given = w != null && WORD.compareAndSet(w, 0, FAST_HELD, FAST_FREE);
    Reference.reachabilityFence(this);
    return given;
  }

  /**
   * Takes the lock if free, without waiting.
   *
   * @return {@code LOCK_OK}, {@code LOCK_OWNERDEAD} (taken) or {@code LOCK_TIMEOUT}
   * @throws IllegalStateException if the lock is closed
   */
  int tryAcquire() {
    if (tryFastAcquire()) {
      return LockNative.LOCK_OK;
    }
    return checked(call(lock -> LockNative.lock_acquire(lock, 0)));
  }

  /**
   * Takes the lock, waiting as long as it takes; only closing ends the wait.
   *
   * @return {@code LOCK_OK} or {@code LOCK_OWNERDEAD} (taken either way)
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  int acquire() {
    if (tryFastAcquire()) {
      return LockNative.LOCK_OK;
    }
    // One call, no separate try first: the library tries and spins before it
    // sleeps, and the stop function costs nothing until a disturbance
    // (polylock.i). The handle stops the wait only when the lock is closed.
    NativeHandle stop = handle;
    long forever = LockNative.LOCK_WAIT_FOREVER;
    int status = call(lock -> LockNative.lock_acquire_interruptible(lock, forever, stop));
    if (status == LockNative.LOCK_EINTR) {
      throw Lock.closedWhileWaiting();
    }
    return checked(status);
  }

  /**
   * Takes the lock, waiting at most {@code timeoutNs}, or until the thread is
   * interrupted.
   *
   * @param timeoutNs {@code LOCK_WAIT_FOREVER}, or a positive number of nanoseconds
   * @return {@code LOCK_OK}, {@code LOCK_OWNERDEAD} (taken) or {@code LOCK_TIMEOUT}
   * @throws InterruptedException if interrupted while waiting (status cleared)
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  int acquireInterruptibly(long timeoutNs) throws InterruptedException {
    if (tryFastAcquire()) {
      return LockNative.LOCK_OK;
    }
    NativeHandle stop = handle;
    return checked(
        call(lock -> {
              // Try first: a wait that must sleep registers with the interrupt watcher.
              int status = LockNative.lock_acquire(lock, 0);
              return status == LockNative.LOCK_TIMEOUT
                  ? InterruptibleWait.acquire(stop, lock, timeoutNs)
                  : status;
            }));
  }

  /**
   * Gives the lock back.
   *
   * @throws IllegalMonitorStateException if it is not locked (nothing changes)
   * @throws IllegalStateException if the lock is closed
   */
  void release() {
    if (tryFastRelease()) {
      return;
    }
    if (call(LockNative::lock_release) != LockNative.LOCK_OK) {
      throw Lock.unlockedUnlock();
    }
  }

  /**
   * Gives back a hold nobody asked for (see Lock's move to native); a release
   * another thread made meanwhile is fine.
   */
  void releaseQuietly() {
    if (!tryFastRelease()) {
      long lock = handle.tryEnter();
      if (lock != 0) {
        try {
          LockNative.lock_release(lock);
        } finally {
          handle.leave();
          Reference.reachabilityFence(this);
        }
      }
    }
  }

  /**
   * Whether the lock is held right now: bit 0 of the word, or {@code lock_locked}.
   *
   * @throws IllegalStateException if the lock is closed and has no word
   */
  boolean isLocked() {
    ByteBuffer w = word;
    if (w != null) {
      boolean held = ((int) WORD.getVolatile(w, 0) & FAST_HELD) != 0;
      Reference.reachabilityFence(this);
      return held;
    }
    return call(LockNative::lock_locked) == 1;
  }

  /**
   * The fencing token of the current hold ({@code lock_fence}).
   *
   * @throws UnsupportedOperationException for a kind without tokens
   * @throws IllegalMonitorStateException if this handle does not hold the lock
   * @throws IllegalStateException if the lock is closed
   */
  long fencingToken() {
    long[] token = {0};
    int status = call(lock -> LockNative.lock_fence(lock, token));
    switch (status) {
      case LockNative.LOCK_OK:
        return token[0];
      case LockNative.LOCK_ENOTSUP:
        throw new UnsupportedOperationException(
            "polylock: fencing tokens: " + LockNative.lock_strerror(status));
      case LockNative.LOCK_ENOTLOCKED:
        throw new IllegalMonitorStateException(
            "polylock: fencing token of a lock this handle does not hold");
      default:
        throw new IllegalStateException("polylock: " + LockNative.lock_strerror(status));
    }
  }

  /** Closes the handle: no native call gets in any more, waiters leave, our reference goes. */
  void close() {
    handle.close();
    Reference.reachabilityFence(this);
  }

  /** One native call on the lock; the pointer is valid only inside it. */
  private interface NativeCall<E extends Exception> {
    int on(long lock) throws E;
  }

  /**
   * Makes one native call on the lock inside the handle's in-flight count, so
   * that close() cannot free the lock under it (NativeHandle).
   *
   * @throws IllegalStateException if the lock is closed
   */
  private <E extends Exception> int call(NativeCall<E> nativeCall) throws E {
    long lock = handle.enter();
    try {
      return nativeCall.on(lock);
    } finally {
      handle.leave();
      Reference.reachabilityFence(this);
    }
  }

  /** An acquire's status, passed on when the lock was taken or the time ran out. */
  private static int checked(int status) {
    if (status == LockNative.LOCK_OK
        || status == LockNative.LOCK_OWNERDEAD
        || status == LockNative.LOCK_TIMEOUT) {
      return status;
    }
    throw new IllegalStateException("polylock: " + LockNative.lock_strerror(status));
  }
}
