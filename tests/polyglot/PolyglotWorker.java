import java.io.FileOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.polylock.Lock;
import org.polylock.OwnerDiedException;

/**
 * polylock polyglot hammer, the Java worker (store.md says what every worker does; driver.py
 * starts and checks them). The lock through org.polylock.Lock from the jar: open, lock and
 * tryLock (OwnerDiedException), unlock, fencingToken. The etcd store through java.net.http.
 */
public final class PolyglotWorker {
  private static final int FIELD = 32;
  private static final int MAX_SLOTS = 128;
  private static final List<String> HEADER =
      List.of(
          "count",
          "pending",
          "pending_count",
          "pending_slot",
          "pending_slot_value",
          "owner_dead",
          "repaired",
          "holder",
          "handoff",
          "stop",
          "fence");

  private interface Store {
    long get(String field) throws IOException, InterruptedException;

    void put(String field, long value) throws IOException, InterruptedException;
  }

  private static void fail(String why) {
    System.err.println("FAIL: Java worker " + ProcessHandle.current().pid() + ": " + why);
    System.exit(1);
  }

  private static int fieldIndex(String field) {
    if (field.startsWith("slot.")) {
      return 16 + Integer.parseInt(field.substring(5));
    }
    if (field.startsWith("dead.")) {
      return 16 + MAX_SLOTS + Integer.parseInt(field.substring(5));
    }
    return HEADER.indexOf(field);
  }

  private static final class FileStore implements Store {
    private final FileChannel channel;

    FileStore(String path) throws IOException {
      channel = FileChannel.open(Path.of(path), StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    @Override
    public long get(String field) throws IOException {
      ByteBuffer record = ByteBuffer.allocate(FIELD);
      long at = (long) FIELD * fieldIndex(field);
      while (record.hasRemaining() && channel.read(record, at + record.position()) > 0) {}
      String text = new String(record.array(), StandardCharsets.US_ASCII);
      if (!text.matches("[0-9]{31}\n")) {
        fail("torn field " + field);
      }
      return Long.parseLong(text.substring(0, FIELD - 1));
    }

    @Override
    public void put(String field, long value) throws IOException {
      ByteBuffer record =
          ByteBuffer.wrap(String.format("%031d\n", value).getBytes(StandardCharsets.US_ASCII));
      channel.write(record, (long) FIELD * fieldIndex(field)); // one pwrite
    }
  }

  private static final class EtcdStore implements Store {
    // The one member named "value" of etcd's range answer (the JDK has no JSON parser).
    private static final Pattern VALUE = Pattern.compile("\"value\":\"([A-Za-z0-9+/=]*)\"");
    private final HttpClient client =
        HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
    private final String url;
    private final String prefix;

    EtcdStore(String spec) {
      int slash = spec.indexOf('/');
      url = "http://" + spec.substring(0, slash);
      prefix = spec.substring(slash + 1);
    }

    private static String base64(String text) {
      return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private String call(String path, String body) throws IOException, InterruptedException {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(url + path))
              .timeout(Duration.ofSeconds(10))
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        fail("etcd answered " + response.statusCode() + ": " + response.body());
      }
      return response.body();
    }

    @Override
    public long get(String field) throws IOException, InterruptedException {
      String answer = call("/v3/kv/range", "{\"key\":\"" + base64(prefix + "/" + field) + "\"}");
      Matcher value = VALUE.matcher(answer);
      if (!answer.contains("\"kvs\"") || !value.find()) {
        return 0;
      }
      return Long.parseLong(
          new String(Base64.getDecoder().decode(value.group(1)), StandardCharsets.UTF_8));
    }

    @Override
    public void put(String field, long value) throws IOException, InterruptedException {
      call(
          "/v3/kv/put",
          "{\"key\":\""
              + base64(prefix + "/" + field)
              + "\",\"value\":\""
              + base64(Long.toString(value))
              + "\"}");
    }
  }

  private final Store store;
  private final Lock lock;
  private final boolean etcd;
  private final int slot;
  private final FileOutputStream log;
  private final Random random = new Random();
  private int increments;
  private int ownerDead;
  private int handoffs;
  private int released;

  private PolyglotWorker(String spec, String name, int slot, String logPath) throws IOException {
    etcd = spec.startsWith("etcd:");
    store = etcd ? new EtcdStore(spec.substring(5)) : new FileStore(spec.substring(5));
    lock = Lock.open(name);
    this.slot = slot;
    log = new FileOutputStream(logPath, true); // O_APPEND; unbuffered
    if (!etcd) {
      try {
        lock.fencingToken();
        fail("fencingToken() on a named lock returned");
      } catch (UnsupportedOperationException expected) {
        // a named lock of this machine has no fencing tokens
      }
    }
  }

  private void napSometimes(boolean victim) {
    if (victim) {
      LockSupport.parkNanos(random.nextInt(1_000_000));
    }
  }

  /** Takes the lock; true when its previous holder died holding it. */
  private boolean take(boolean timed) throws InterruptedException {
    try {
      if (!timed) {
        lock.lock();
        return false;
      }
      while (!lock.tryLock(1 + random.nextInt(20), TimeUnit.MILLISECONDS)) {}
      return false;
    } catch (OwnerDiedException previousHolderDied) {
      return true; // held
    }
  }

  private void enter(boolean timed) throws IOException, InterruptedException {
    if (take(timed)) {
      ++ownerDead;
      store.put("owner_dead", store.get("owner_dead") + 1);
      long holder = store.get("holder");
      if (holder != 0) {
        store.put("dead." + (holder - 1), 1);
      }
      store.put("holder", 0);
      if (store.get("pending") != 0) {
        store.put("count", store.get("pending_count"));
        store.put("slot." + store.get("pending_slot"), store.get("pending_slot_value"));
        store.put("pending", 0);
        store.put("repaired", store.get("repaired") + 1);
      }
    } else if (store.get("holder") != 0) {
      fail("acquired without OwnerDiedException, but another holder is inside"
          + " (or a dead one was not reported)");
    } else if (store.get("pending") != 0) {
      fail("acquired without OwnerDiedException, but a dead holder's increment was half-done");
    }
  }

  private void increment(boolean victim) throws IOException, InterruptedException {
    store.put("holder", 1 + slot);
    napSometimes(victim);
    if (etcd) { // the token of this hold grows
      long token = lock.fencingToken();
      if (token <= store.get("fence")) {
        fail("fencing token " + token + " did not grow");
      }
      store.put("fence", token);
    }
    long count = store.get("count");
    long mine = store.get("slot." + slot);
    store.put("pending_count", count + 1);
    store.put("pending_slot", slot);
    store.put("pending_slot_value", mine + 1);
    store.put("pending", 1);
    napSometimes(victim);
    store.put("count", count + 1);
    napSometimes(victim);
    store.put("slot." + slot, mine + 1);
    store.put("pending", 0);
    store.put("holder", 0);
    napSometimes(victim);
    log.write('+');
    ++increments;
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 5) {
      System.exit(2);
    }
    PolyglotWorker worker =
        new PolyglotWorker(args[0], args[1], Integer.parseInt(args[3]), args[4]);
    String role = args[2];
    if (role.equals("hammer") && args.length == 9) {
      worker.hammer(
          Integer.parseInt(args[5]), args[6].equals("timed"), Integer.parseInt(args[7]), args[8]);
    } else if (role.equals("victim") && args.length == 6) {
      worker.victim(args[5].equals("both"));
    } else if (role.equals("releaser")) {
      worker.releaser();
    } else if (role.equals("hold")) {
      worker.enter(false);
      worker.store.put("holder", 1 + worker.slot);
      System.out.println("held");
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE); // until killed
    } else if (role.equals("wait-once")) {
      System.out.println("waiting");
      System.out.flush();
      worker.enter(false);
      worker.lock.unlock();
    } else {
      System.exit(2);
    }
    System.out.println(
        "RESULT increments="
            + worker.increments
            + " ownerdead="
            + worker.ownerDead
            + " handoffs="
            + worker.handoffs
            + " released="
            + worker.released);
    System.exit(0);
  }

  private void hammer(int n, boolean timed, int every, String releaserList)
      throws IOException, InterruptedException {
    List<Integer> releasers = new ArrayList<>();
    for (String item : releaserList.split(",")) {
      if (!item.equals("-")) {
        releasers.add(Integer.parseInt(item));
      }
    }
    for (int i = 1; i <= n; ++i) {
      enter(timed);
      increment(false);
      if (every > 0 && !releasers.isEmpty() && i % every == 0 && i < n) {
        store.put("handoff", 1 + releasers.get((i / every - 1) % releasers.size()));
        ++handoffs; // the lock stays held, for the releaser
      } else {
        lock.unlock();
      }
    }
  }

  private void victim(boolean both) throws IOException, InterruptedException {
    for (; ; ) {
      enter(both && random.nextBoolean());
      increment(true);
      lock.unlock();
    }
  }

  private void releaser() throws IOException, InterruptedException {
    for (; ; ) {
      if (store.get("handoff") == 1 + slot) {
        store.put("handoff", 0);
        lock.unlock(); // a hold another process took
        ++released;
        continue;
      }
      if (store.get("stop") != 0) {
        return;
      }
      Thread.sleep(1);
    }
  }
}
