package org.polylock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * {@link Lock#fencingToken()} on an etcd lock (design.md §10): the etcd revision of this
 * handle's hold, growing from one hold to the next whichever handle holds;
 * IllegalMonitorStateException from a handle that does not hold the lock. (Locks without
 * tokens are LockBasicsTest's.) Runs when POLYLOCK_ETCD_ENDPOINTS_FILE names the endpoints
 * file of a running etcd (tests/etcd's fixture, which CTest starts for java_binding where etcd
 * is installed); JUnit reports it as skipped otherwise.
 */
@EnabledIfEnvironmentVariable(named = "POLYLOCK_ETCD_ENDPOINTS_FILE", matches = ".+")
class FencingTokenTest {
  private static String etcdName(String what) throws IOException {
    Path file = Path.of(System.getenv("POLYLOCK_ETCD_ENDPOINTS_FILE"));
    String endpoints = Files.readAllLines(file, StandardCharsets.UTF_8).get(0).trim();
    return "etcd://" + endpoints + "/test-java-" + ProcessHandle.current().pid() + "-" + what;
  }

  @Test
  void eachHoldHasAGreaterTokenWhicheverHandleHolds() throws Exception {
    String name = etcdName("grows");
    try (Lock first = Lock.open(name);
        Lock second = Lock.open(name)) {
      assertThrows(IllegalMonitorStateException.class, first::fencingToken);
      long previous = 0;
      for (int round = 0; round < 4; ++round) {
        Lock holder = round % 2 == 0 ? first : second;
        Lock other = round % 2 == 0 ? second : first;
        assertTrue(holder.tryLock(10, TimeUnit.SECONDS));
        long token = holder.fencingToken();
        // Unsigned in C (uint64_t); etcd revisions stay far below 2^63.
        assertTrue(Long.compareUnsigned(token, previous) > 0, token + " after " + previous);
        assertEquals(token, holder.fencingToken(), "one hold, one token");
        assertThrows(IllegalMonitorStateException.class, other::fencingToken);
        previous = token;
        holder.unlock();
        assertThrows(IllegalMonitorStateException.class, holder::fencingToken);
      }
    }
  }
}
