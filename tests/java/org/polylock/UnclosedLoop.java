package org.polylock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Issue 14 §2, run by CTest in a JVM of its own with a 64 MB heap: threads
 * loop {@code new Lock(); lock(); unlock();} and never close. Before 1.2 this
 * died with OutOfMemoryError in Cleaner.register, holding millions of native
 * locks. In mode {@code java} the loop is exactly the report's; in mode {@code
 * native} each lock also moves its state into a native lock ({@code handle()}),
 * so every lock has native memory to reclaim: the same kind of fault with
 * cleanup on every iteration.
 *
 * <p>Prints the most native locks the binding held at once (sampled) and the
 * resident memory growth; exits nonzero if the native locks held are not
 * bounded by what the heap can keep alive, or are not all reclaimed at the end.
 *
 * <p>Usage: {@code UnclosedLoop java|native threads locks-per-thread}
 */
public final class UnclosedLoop {
  /** Far below the 3.3 million the report's run held, far above what 64 MB of heap keeps. */
  private static final int MOST_TRACKED = 600_000;

  private UnclosedLoop() {}

  public static void main(String[] args) throws Exception {
    boolean moveToNative = args[0].equals("native");
    int threads = Integer.parseInt(args[1]);
    int perThread = Integer.parseInt(args[2]);
    AtomicInteger finished = new AtomicInteger();
    List<Thread> workers = new ArrayList<>();
    long rssBefore = residentKb();
    for (int t = 0; t < threads; t++) {
      Thread worker =
          new Thread(
              () -> {
                for (int i = 0; i < perThread; i++) {
                  Lock lock = new Lock();
                  if (moveToNative) {
                    lock.handle();
                  }
                  lock.lock();
                  lock.unlock();
                }
                finished.incrementAndGet();
              });
      worker.start();
      workers.add(worker);
    }
    int mostTracked = 0;
    while (finished.get() < threads) {
      mostTracked = Math.max(mostTracked, Reclaimer.tracked());
      Thread.sleep(5);
    }
    for (Thread worker : workers) {
      worker.join();
    }
    long rssAfter = residentKb();
    while (Reclaimer.tracked() > 0) { // the rest, once the collector has seen them
      System.gc();
      Thread.sleep(10);
    }
    System.out.printf(
        "%s: %d threads x %d locks, at most %d native locks held, resident %d -> %d kB%n",
        args[0], threads, perThread, mostTracked, rssBefore, rssAfter);
    if (mostTracked > MOST_TRACKED) {
      System.out.println("FAILED: native locks outran their reclamation");
      System.exit(1);
    }
    System.out.println("all reclaimed");
  }

  private static long residentKb() throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }
}
