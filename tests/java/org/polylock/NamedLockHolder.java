package org.polylock;

/**
 * Run in a child JVM by {@link NamedLockTest}: opens the named lock given as
 * the argument, takes it, says "held", and waits to be killed.
 */
public final class NamedLockHolder {
  private NamedLockHolder() {}

  public static void main(String[] args) throws Exception {
    Lock lock = Lock.open(args[0]);
    try {
      lock.lock();
    } catch (OwnerDiedException previousDied) {
      // held either way
    }
    System.out.println("held");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
