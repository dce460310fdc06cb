package org.polylock;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Uncontended {@code lock(); unlock()}: org.polylock.Lock against ReentrantLock,
 * in one run (SPEC §6 goal: at most 2x). JMH is not available offline, so it is
 * the classic shape: warm-up rounds, then timed rounds alternating between the
 * two, and the median of each.
 *
 * <p>It also times the same two native calls made straight through the SWIG
 * plumbing, without Lock's closed check and in-flight count: the floor a JNI
 * binding can reach, which shows where the time goes. That is why this class is
 * in package org.polylock: LockNative is package-private.
 *
 * <p>Usage: {@code java -cp polylock-<version>.jar:polylock-bench.jar
 * org.polylock.LockBench [iterations-per-round [rounds [results.json]]]}; the JSON
 * file, if named, gets the numbers for bench/report.py.
 */
public final class LockBench {
  private static long sink;

  private LockBench() {}

  public static void main(String[] args) throws IOException {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 5_000_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    try (Lock polylock = new Lock()) {
      ReentrantLock reentrant = new ReentrantLock();
      long raw = LockNative.lock_new();
      try {
        for (int warm = 0; warm < Math.max(3, rounds / 3); warm++) {
          polylock(polylock, iterations);
          reentrant(reentrant, iterations);
          raw(raw, iterations);
        }
        double[] polylockNs = new double[rounds];
        double[] reentrantNs = new double[rounds];
        double[] rawNs = new double[rounds];
        for (int round = 0; round < rounds; round++) {
          polylockNs[round] = polylock(polylock, iterations);
          reentrantNs[round] = reentrant(reentrant, iterations);
          rawNs[round] = raw(raw, iterations);
        }
        double p = median(polylockNs);
        double r = median(reentrantNs);
        double f = median(rawNs);
        System.out.printf(
            "uncontended lock(); unlock(), median of %d rounds x %d, Java %s%n",
            rounds, iterations, System.getProperty("java.version"));
        System.out.printf("  org.polylock.Lock          %7.2f ns%n", p);
        System.out.printf("  ReentrantLock              %7.2f ns%n", r);
        System.out.printf("  JNI floor (2 bare calls)   %7.2f ns%n", f);
        System.out.printf("  ratio polylock/ReentrantLock = %.2fx (goal <= 2x)%n", p / r);
        System.out.printf("  ratio JNI floor/ReentrantLock = %.2fx%n", f / r);
        if (args.length > 2) {
          String json =
              String.format(
                  Locale.ROOT,
                  "{\"polylock_ns\": %.3f, \"reentrantlock_ns\": %.3f, \"jni_floor_ns\": %.3f,"
                      + " \"ratio_polylock_vs_reentrantlock\": %.3f,"
                      + " \"ratio_jni_floor_vs_reentrantlock\": %.3f}%n",
                  p, r, f, p / r, f / r);
          Files.write(Paths.get(args[2]), json.getBytes(StandardCharsets.UTF_8));
        }
      } finally {
        LockNative.lock_free(raw);
      }
    }
    if (sink == 42) {
      System.out.println(); // keeps the loops' results alive
    }
  }

  private static double polylock(Lock lock, int iterations) {
    long start = System.nanoTime();
    for (int i = 0; i < iterations; i++) {
      lock.lock();
      lock.unlock();
    }
    return (System.nanoTime() - start) / (double) iterations;
  }

  private static double reentrant(ReentrantLock lock, int iterations) {
    long start = System.nanoTime();
    for (int i = 0; i < iterations; i++) {
      lock.lock();
      lock.unlock();
    }
    return (System.nanoTime() - start) / (double) iterations;
  }

  private static double raw(long lock, int iterations) {
    long start = System.nanoTime();
    long status = 0;
    for (int i = 0; i < iterations; i++) {
      status += LockNative.lock_acquire(lock, 0);
      status += LockNative.lock_release(lock);
    }
    sink += status;
    return (System.nanoTime() - start) / (double) iterations;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
