package org.polylock;

/**
 * Thrown by the acquiring methods of a named lock ({@link Lock#open(String)})
 * when the process that held it died while holding it: <b>the lock has been
 * acquired</b> and the calling thread now holds it, as if the method had
 * returned normally (or {@code true}).
 *
 * <p>The model is .NET's {@code AbandonedMutexException}: the caller is told,
 * once, that the data the lock guards may have been left half-changed by the
 * dead holder, can repair it, and must then {@link Lock#unlock()} as usual.
 * The next acquirer gets the lock normally. A typical use:
 *
 * <pre>{@code
 * try {
 *   lock.lock();
 * } catch (OwnerDiedException e) {
 *   repairSharedState(); // the lock is held here
 * }
 * try {
 *   // critical section
 * } finally {
 *   lock.unlock();
 * }
 * }</pre>
 *
 * <p>It is unchecked because {@link java.util.concurrent.locks.Lock#lock()}
 * declares no checked exception; locks that are not named never throw it.
 */
public final class OwnerDiedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Made by {@link Lock}, with the message of {@code LOCK_OWNERDEAD}. */
  OwnerDiedException() {
    super(
        "polylock: acquired, but the previous holder's process died holding the lock; "
            + "the lock is now held by this thread");
  }
}
