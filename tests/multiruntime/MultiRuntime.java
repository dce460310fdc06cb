// The Java side of the multi-runtime test (host.cpp runs it in a JVM created
// with JNI_CreateJavaVM, in a process that also hosts CPython and .NET).
//
// org.polylock comes from the jar on the class path, with the native library
// it carries. The host registers the native methods below (RegisterNatives):
// the shared counter and its checks live in the host. Every method the host
// calls is static long name(long, long, long).

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.polylock.Lock;

public final class MultiRuntime {
  private static final int JAVA = 3;

  static native int enter(int who);

  static native void leave(int who);

  static native void post(int who);

  static native boolean take(int who);

  static native void done(int who, long ok, long given);

  static native void fail(String message);

  static native int references();

  static native void signal(int what);

  static native boolean waitForWaiter(int milliseconds);

  static native long callPython();

  static native boolean released(int target);

  private static Lock lock; // the host's lock, wrapped with a reference of our own
  private static Lock probe; // a lock of this binding, to tell which copy it uses
  private static long seed;
  private static long iterations;
  private static Thread[] workers;
  private static Thread holder;
  private static volatile long holderResult = -1;
  private static Thread gcWaiter;
  private static volatile boolean gcWaiterGot;
  private static int gcBase;

  private MultiRuntime() {}

  public static long probeLock(long a, long b, long c) {
    probe = new Lock();
    return probe.handle();
  }

  public static long wrap(long handle, long seedValue, long count) {
    lock = Lock.fromHandle(handle);
    if (lock.handle() != handle) {
      fail("fromHandle(" + handle + ").handle() is " + lock.handle());
      return 1;
    }
    seed = seedValue;
    iterations = count;
    return 0;
  }

  private static void work(int index) {
    Random random = new Random(seed * 31 + 1000 * JAVA + index);
    long ok = 0;
    long given = 0;
    try {
      while (ok < iterations) {
        if (take(JAVA)) { // another runtime's holder left it to us
          leave(JAVA);
          lock.unlock();
          given++;
        }
        int kind = random.nextInt(3);
        boolean got;
        if (kind == 0) {
          lock.lock();
          got = true;
        } else if (kind == 1) {
          got = lock.tryLock();
        } else {
          got = lock.tryLock(1 + random.nextInt(2000), TimeUnit.MICROSECONDS);
        }
        if (!got) {
          continue;
        }
        enter(JAVA);
        ok++;
        if (random.nextInt(8) == 0) {
          post(JAVA); // still held: a thread of another runtime releases it
        } else {
          leave(JAVA);
          lock.unlock();
        }
      }
    } catch (Throwable t) {
      fail("java worker " + index + ": " + t);
    } finally {
      done(JAVA, ok, given);
    }
  }

  public static long start(long a, long b, long c) {
    workers = new Thread[2];
    for (int i = 0; i < workers.length; i++) {
      final int index = i;
      workers[i] = new Thread(() -> work(index), "mr-java-" + i);
      workers[i].start();
    }
    return 0;
  }

  private static boolean joinAll(long milliseconds, Thread... threads)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(milliseconds);
    for (Thread thread : threads) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      thread.join(Math.max(1, left));
      if (thread.isAlive()) {
        return false;
      }
    }
    return true;
  }

  public static long join(long milliseconds, long b, long c) throws InterruptedException {
    return joinAll(milliseconds, workers) ? 1 : 0;
  }

  // ---- gil: hold the lock, let a Python thread wait for it, call Python ----
  public static long gilHolderStart(long a, long b, long c) {
    holder = new Thread(() -> {
      try {
        lock.lock();
        enter(JAVA);
        signal(1);
        long result = 0;
        if (waitForWaiter(60000)) {
          result = callPython(); // PyGILState_Ensure while a Python thread waits
        } else {
          fail("gil: no Python thread came to wait for the lock");
        }
        leave(JAVA);
        lock.unlock();
        holderResult = result;
      } catch (Throwable t) {
        fail("gil: java holder: " + t);
      }
    }, "mr-java-gil-holder");
    holder.start();
    return 0;
  }

  public static long gilHolderJoin(long milliseconds, long b, long c)
      throws InterruptedException {
    return joinAll(milliseconds, holder) ? holderResult : -1;
  }

  // ---- gc: a long wait across a full collection -----------------------------
  private static void dropUnclosedWrappers(int count) {
    for (int i = 0; i < count; i++) {
      Lock.fromHandle(lock.handle()); // not closed: the Cleaner gives its reference back
    }
  }

  public static long gcWaiterStart(long milliseconds, long b, long c) {
    gcBase = references();
    dropUnclosedWrappers(64);
    if (references() < gcBase + 64) {
      fail("gc: " + references() + " references with 64 unclosed wrappers, not "
          + (gcBase + 64) + " or more");
    }
    gcWaiter = new Thread(() -> {
      try {
        if (lock.tryLock(milliseconds, TimeUnit.MILLISECONDS)) {
          enter(JAVA);
          leave(JAVA);
          lock.unlock();
          gcWaiterGot = true;
        } else {
          fail("gc: the Java waiter timed out");
        }
      } catch (Throwable t) {
        fail("gc: java waiter: " + t);
      }
    }, "mr-java-gc-waiter");
    gcWaiter.start();
    return 0;
  }

  /** Full collections until the unclosed wrappers' references are back (1), or 0. */
  public static long fullGc(long milliseconds, long b, long c) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(milliseconds);
    do {
      byte[][] garbage = new byte[256][];
      for (int i = 0; i < garbage.length; i++) {
        garbage[i] = new byte[16384];
      }
      System.gc();
      if (references() == gcBase) {
        return gcWaiter.isAlive() ? 1 : 0;
      }
      Thread.sleep(10);
    } while (System.nanoTime() < deadline);
    fail("gc: " + references() + " references after Java's collections, not " + gcBase);
    return 0;
  }

  public static long gcWaiterJoin(long milliseconds, long b, long c)
      throws InterruptedException {
    return joinAll(milliseconds, gcWaiter) && gcWaiterGot ? 1 : 0;
  }

  /**
   * Closes the wrapper and lets it go, then collects until the lock has {@code
   * target} references left (0: freed), as the reclaimer drops the pin (1), or 0.
   */
  public static long drop(long target, long milliseconds, long c) throws InterruptedException {
    lock.close();
    lock = null;
    probe.close();
    probe = null;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(milliseconds);
    while (!released((int) target)) {
      if (System.nanoTime() > deadline) {
        return 0;
      }
      System.gc();
      Thread.sleep(5);
    }
    return 1;
  }
}
