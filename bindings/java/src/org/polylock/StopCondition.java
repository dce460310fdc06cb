package org.polylock;

/**
 * Asked by an interruptible native wait whether to give up. The JNI glue calls
 * {@link #stopRequested()} on the waiting thread each time the wait is disturbed
 * by {@code lock_interrupt} (see polylock.i); it is never asked otherwise.
 */
interface StopCondition {
  /** Whether the waiting thread should give up its wait, taking nothing. */
  boolean stopRequested();
}
