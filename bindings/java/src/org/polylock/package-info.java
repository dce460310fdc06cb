/**
 * polylock for Java: {@link org.polylock.Lock}, one lock with the semantics of
 * Python's {@code threading.Lock} (a binary semaphore: not owned, not re-entrant),
 * behind the {@link java.util.concurrent.locks.Lock} interface.
 *
 * <p>The jar carries its native libraries and loads them on first use; see
 * {@link org.polylock.Lock} for the system property that points it at another copy.
 */
package org.polylock;
