package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Named locks from Java (design.md §8): bad names, two handles on one name, unlink,
 * and holder death surfacing as OwnerDiedException with the lock held.
 *
 * <p>Until the C library supports named locks, lock_open answers LOCK_ENOTSUP
 * and every test here but the null-name one is <em>skipped</em> (an aborted
 * assumption, reported as such by JUnit), never passed.
 */
class NamedLockTest {
  private static final String NAME_PREFIX = "polylock-java-test-" + ProcessHandle.current().pid();

  /** Skips the calling test, saying why, when lock_open answers LOCK_ENOTSUP. */
  private static void assumeNamedLocks() {
    int[] status = {LockNative.LOCK_OK};
    String probe = NAME_PREFIX + "-probe";
    long lock = LockNative.lock_open(probe, status);
    Assumptions.assumeTrue(
        status[0] != LockNative.LOCK_ENOTSUP,
        "named locks: lock_open answers LOCK_ENOTSUP in this build; skipped, not passed");
    if (lock != 0) {
      LockNative.lock_free(lock);
      LockNative.lock_unlink(probe);
    }
  }

  @Test
  void aNullNameIsANullPointerException() {
    assertThrows(NullPointerException.class, () -> Lock.open(null));
    assertThrows(NullPointerException.class, () -> Lock.unlink(null));
  }

  @Test
  void badNamesAreIllegalArgumentExceptions() {
    assumeNamedLocks();
    List<String> bad =
        List.of(
            "",
            ".hidden",
            "a/b",
            "with space",
            "tab\t",
            "nul\0byte",
            "caf\u00e9",
            "x".repeat(201),
            "nosuchscheme://host/name",
            "nosuchscheme://next\u0085line\u2028separator");
    for (String name : bad) {
      IllegalArgumentException error =
          assertThrows(IllegalArgumentException.class, () -> Lock.open(name), name);
      assertTrue(error.getMessage().startsWith("polylock: open"), error.getMessage());
      IllegalArgumentException unlinkError =
          assertThrows(IllegalArgumentException.class, () -> Lock.unlink(name), name);
      // The rule the name broke, not the C library's catch-all text, and the
      // name with its control characters escaped, on one line.
      for (IllegalArgumentException e : List.of(error, unlinkError)) {
        assertTrue(e.getMessage().contains("not a lock name: "), e.getMessage());
        assertTrue(e.getMessage().contains("1 to 200 characters"), e.getMessage());
        assertFalse(
            e.getMessage()
                .chars()
                .anyMatch(c -> Character.isISOControl(c) || c == 0x2028 || c == 0x2029),
            e.getMessage());
      }
      if (name.indexOf(':') >= 0) {
        assertTrue(error.getMessage().contains("only etcd:// names may hold ':'"), error.getMessage());
      }
    }
  }

  @Test
  void aNamedLockHasNoFencingTokensHeldOrNot() throws IOException {
    assumeNamedLocks();
    String name = NAME_PREFIX + "-fence";
    try (Lock lock = Lock.open(name)) {
      assertThrows(UnsupportedOperationException.class, lock::fencingToken);
      lock.lock();
      assertThrows(UnsupportedOperationException.class, lock::fencingToken);
      lock.unlock();
    } finally {
      Lock.unlink(name);
    }
  }

  @Test
  void twoHandlesOnOneNameAreOneLock() throws IOException, InterruptedException {
    assumeNamedLocks();
    String name = NAME_PREFIX + "-two";
    try (Lock first = Lock.open(name);
        Lock second = Lock.open(name)) {
      assertFalse(first.nativeHandle().isPinned(), "a named lock has no fast word");
      first.lock();
      assertTrue(second.isLocked());
      assertFalse(second.tryLock());
      assertFalse(second.tryLock(1, TimeUnit.MILLISECONDS));
      second.unlock(); // not owned: any handle may unlock
      assertFalse(first.isLocked());
      assertThrows(IllegalMonitorStateException.class, first::unlock);
    } finally {
      Lock.unlink(name);
    }
  }

  @Test
  void unlinkLeavesOpenHandlesWorkingAndTheNextOpenIsFresh() throws IOException {
    assumeNamedLocks();
    String name = NAME_PREFIX + "-unlink";
    try (Lock old = Lock.open(name)) {
      old.lock();
      Lock.unlink(name);
      try (Lock fresh = Lock.open(name)) {
        assertFalse(fresh.isLocked(), "a fresh lock after unlink");
        assertTrue(old.isLocked());
        old.unlock();
      } finally {
        Lock.unlink(name);
      }
    }
    // As Files.delete: the missing name (errno ENOENT, which the JNI glue read
    // right after the call) is a NoSuchFileException naming it.
    NoSuchFileException missing =
        assertThrows(NoSuchFileException.class, () -> Lock.unlink(name), "no such name any more");
    assertEquals(name, missing.getFile());
    assertEquals(
        "polylock: unlink \"" + name + "\": no lock has that name", missing.getReason());
  }

  /**
   * A child JVM opens the lock, takes it and is killed (SIGKILL). The next
   * lock() here, then a tryLock() after a second death, each take the lock and
   * throw OwnerDiedException with it held; the acquire after that is normal.
   */
  @Test
  void aHolderThatDiesHandsTheLockOverWithOwnerDiedException()
      throws IOException, InterruptedException {
    assumeNamedLocks();
    String name = NAME_PREFIX + "-death";
    try (Lock lock = Lock.open(name)) {
      killAHolderOf(name);
      assertThrows(OwnerDiedException.class, lock::lock);
      assertTrue(lock.isLocked(), "OwnerDiedException leaves the lock held");
      lock.unlock();
      lock.lock(); // a normal acquire now
      lock.unlock();

      killAHolderOf(name);
      assertThrows(OwnerDiedException.class, lock::tryLock);
      assertTrue(lock.isLocked());
      lock.unlock();
      assertTrue(lock.tryLock());
      lock.unlock();

      killAHolderOf(name);
      assertThrows(OwnerDiedException.class, () -> lock.tryLock(1, TimeUnit.MINUTES));
      lock.unlock();
    } finally {
      Lock.unlink(name);
    }
  }

  /**
   * A thread already blocked in lockInterruptibly() when the holder is killed
   * wakes up holding the lock, with OwnerDiedException.
   */
  @Test
  void aWaiterBlockedWhenTheHolderDiesGetsOwnerDiedException()
      throws IOException, InterruptedException {
    assumeNamedLocks();
    String name = NAME_PREFIX + "-blocked";
    try (Lock lock = Lock.open(name)) {
      Process holder = startHolder(name);
      Threads.Started<Void> waiter =
          Threads.start("blocked on " + name, () -> {
                lock.lockInterruptibly();
                return null;
              });
      Threads.awaitWaiter(lock);
      holder.destroyForcibly();
      assertTrue(holder.waitFor(Threads.HANG_SECONDS, TimeUnit.SECONDS));
      assertInstanceOf(OwnerDiedException.class, waiter.thrown());
      assertTrue(lock.isLocked(), "the waiter took the lock");
      lock.unlock(); // any thread may
    } finally {
      Lock.unlink(name);
    }
  }

  private static void killAHolderOf(String name) throws IOException, InterruptedException {
    Process holder = startHolder(name);
    holder.destroyForcibly(); // SIGKILL: no chance to unlock
    assertTrue(holder.waitFor(Threads.HANG_SECONDS, TimeUnit.SECONDS));
  }

  /** A child JVM that holds the named lock once this returns. */
  private static Process startHolder(String name) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process holder =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("polylock.test.classpath"), // the jar and the tests
                NamedLockHolder.class.getName(),
                name)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
    assertEquals("held", out.readLine(), "the child took the lock");
    return holder;
  }
}
