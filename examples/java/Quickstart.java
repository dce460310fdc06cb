import java.util.concurrent.TimeUnit;
import org.polylock.Lock;

/** polylock's Java quick start: run with `java -cp polylock-<version>.jar:. Quickstart`. */
public class Quickstart {
  private static long counter; // guarded by the lock

  public static void main(String[] args) throws InterruptedException {
    try (Lock lock = new Lock()) {
      // A guard for try-with-resources: unlocked at the end of the block.
      Thread[] workers = new Thread[4];
      for (int t = 0; t < workers.length; t++) {
        workers[t] =
            new Thread(() -> {
                  for (int i = 0; i < 100_000; i++) {
                    try (Lock.Held held = lock.acquire()) {
                      counter++;
                    }
                  }
                });
        workers[t].start();
      }
      for (Thread worker : workers) {
        worker.join();
      }
      System.out.println("counter = " + counter + " (4 threads x 100000)");

      // It is a java.util.concurrent.locks.Lock, with timeouts...
      lock.lock();
      boolean again = lock.tryLock(10, TimeUnit.MILLISECONDS); // not re-entrant: false
      System.out.println("locked: " + lock.isLocked() + ", second tryLock: " + again);

      // ...and, unlike ReentrantLock, any thread may unlock it.
      Thread other = new Thread(lock::unlock);
      other.start();
      other.join();
      System.out.println("unlocked by another thread: " + !lock.isLocked());
      System.out.println(lock + ", native library " + Lock.nativeVersion());
    }
  }
}
