package org.polylock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * Run by CTest in a JVM of its own (see CMakeLists.txt): uses a lock, then
 * prints where the two native libraries were mapped from, as /proc/self/maps
 * tells, so the test can check that they came from the jar (a private
 * temporary directory) or from -Dpolylock.library.path.
 */
public final class LoaderCheck {
  private LoaderCheck() {}

  public static void main(String[] args) throws IOException {
    try (Lock lock = new Lock()) {
      lock.lock();
      lock.unlock();
    }
    System.out.println("polylock " + Lock.nativeVersion() + " on " + NativeLoader.platform());
    Files.lines(Paths.get("/proc/self/maps"))
        .map(line -> line.replaceFirst("^\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+", ""))
        .filter(path -> path.contains("libpolylock"))
        .distinct()
        .sorted()
        .forEach(path -> System.out.println("mapped " + path));
  }
}
