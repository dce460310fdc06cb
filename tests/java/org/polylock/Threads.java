package org.polylock;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Helpers for the tests: threads that report what they threw, and generous waits. */
final class Threads {
  /** The most any single step may take before a test calls it hung. Very generous. */
  static final long HANG_SECONDS = 30;

  private Threads() {}

  /** Runs {@code body} on a new thread; the future holds its result or what it threw. */
  static <T> Started<T> start(String name, Callable<T> body) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                result.complete(body.call());
              } catch (Throwable t) {
                result.completeExceptionally(t);
              }
            },
            name);
    thread.setDaemon(true);
    thread.start();
    return new Started<>(thread, result);
  }

  /** A started thread and its outcome. */
  static final class Started<T> {
    final Thread thread;
    final CompletableFuture<T> result;

    Started(Thread thread, CompletableFuture<T> result) {
      this.thread = thread;
      this.result = result;
    }

    /** The value returned, failing the test if the thread threw or hung. */
    T value() throws InterruptedException {
      try {
        return result.get(HANG_SECONDS, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        throw new AssertionError("thread " + thread.getName() + " threw", e.getCause());
      } catch (TimeoutException e) {
        throw new AssertionError("thread " + thread.getName() + " hung");
      }
    }

    /** What the thread threw, failing the test if it returned or hung. */
    Throwable thrown() throws InterruptedException {
      try {
        T value = result.get(HANG_SECONDS, TimeUnit.SECONDS);
        throw new AssertionError("thread " + thread.getName() + " returned " + value);
      } catch (ExecutionException e) {
        return e.getCause();
      } catch (TimeoutException e) {
        throw new AssertionError("thread " + thread.getName() + " hung");
      }
    }

    /** Whether it is still running after {@code millis}: it is blocked, not finished. */
    void assertStillRunningAfter(long millis) throws InterruptedException {
      thread.join(millis);
      assertFalse(result.isDone(), () -> thread.getName() + " finished: " + result);
    }
  }

  /**
   * Waits until {@code lock} has a thread inside a native call (the in-flight
   * count of its handle), then a little more so that the thread is most likely
   * asleep in the kernel rather than still spinning. The tests are correct
   * either way; the pause only makes them cover the sleeping case too.
   */
  static void awaitWaiter(Lock lock) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
    while (lock.callsInFlight() == 0) {
      if (System.nanoTime() > deadline) {
        fail("no thread started waiting for the lock");
      }
      Thread.sleep(1);
    }
    Thread.sleep(20);
  }
}
