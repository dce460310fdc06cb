package org.polylock;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads libpolylock and the JNI glue, once, before the first native call.
 *
 * <p>The jar carries them as resources under {@code /org/polylock/native/<platform>/}
 * (platform as in {@code linux-x86-64}, {@code win32-x86-64}), next to a file
 * {@code libraries.list} that names them in load order, the C library first. The
 * build writes that list, so a platform is added to the jar without touching
 * this class. They are copied into a new private temporary directory and loaded
 * from there: the C library first, so that the glue's dependency on it is already
 * satisfied (the glue also finds it through its {@code $ORIGIN} run path).
 *
 * <p>With the system property {@value #PATH_PROPERTY} set to a directory, the
 * libraries are loaded from that directory instead and the jar's copies are
 * ignored.
 */
final class NativeLoader {
  static final String PATH_PROPERTY = "polylock.library.path";
  private static final String RESOURCE_ROOT = "/org/polylock/native/";
  private static final String GLUE = "polylock_jni";
  private static final String[] C_LIBRARY_NAMES = {"libpolylock.so.1", "polylock.dll"};

  private NativeLoader() {}

  static void load() {
    String directory = System.getProperty(PATH_PROPERTY);
    if (directory != null && !directory.isEmpty()) {
      loadFrom(Paths.get(directory).toAbsolutePath());
    } else {
      loadFromJar(platform());
    }
  }

  /** The name of this platform's resource folder, in JNA's spelling. */
  static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String osName;
    if (os.startsWith("windows")) {
      osName = "win32";
    } else if (os.startsWith("mac") || os.startsWith("darwin")) {
      osName = "darwin";
    } else {
      osName = os.replaceAll("[^a-z0-9]", "");
    }
    String archName;
    switch (arch) {
      case "amd64":
      case "x86_64":
        archName = "x86-64";
        break;
      case "x86":
      case "i386":
      case "i686":
        archName = "x86";
        break;
      case "arm64":
        archName = "aarch64";
        break;
      default:
        archName = arch;
    }
    return osName + "-" + archName;
  }

  private static void loadFrom(Path directory) {
    for (String name : C_LIBRARY_NAMES) {
      Path library = directory.resolve(name);
      if (Files.isRegularFile(library)) {
        System.load(library.toString());
        break;
      }
    }
    // Without a C library in the directory, the glue's own run path and the
    // system's library path find libpolylock.
    System.load(directory.resolve(System.mapLibraryName(GLUE)).toString());
  }

  private static void loadFromJar(String platform) {
    String folder = RESOURCE_ROOT + platform + "/";
    List<String> libraries = listOf(folder);
    Path directory = null;
    List<Path> copies = new ArrayList<>();
    try {
      directory = Files.createTempDirectory("polylock-"); // owner-only on POSIX
      for (String name : libraries) {
        Path copy = directory.resolve(name);
        try (InputStream in = NativeLoader.class.getResourceAsStream(folder + name)) {
          if (in == null) {
            throw failure("the jar lists " + folder + name + " but does not carry it", null);
          }
          Files.copy(in, copy);
        }
        copies.add(copy);
      }
      for (Path copy : copies) {
        System.load(copy.toString());
      }
    } catch (IOException e) {
      throw failure("cannot copy the native libraries to a temporary directory", e);
    } finally {
      cleanUp(directory, copies);
    }
  }

  private static List<String> listOf(String folder) {
    InputStream list = NativeLoader.class.getResourceAsStream(folder + "libraries.list");
    if (list == null) {
      throw failure(
          "this jar carries no native libraries for "
              + folder.substring(RESOURCE_ROOT.length(), folder.length() - 1)
              + "; build polylock for it and set -D"
              + PATH_PROPERTY
              + "=<directory holding "
              + System.mapLibraryName(GLUE)
              + ">",
          null);
    }
    List<String> names = new ArrayList<>();
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(list, StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (!line.isBlank()) {
          names.add(line.strip());
        }
      }
    } catch (IOException e) {
      throw failure("cannot read " + folder + "libraries.list", e);
    }
    return names;
  }

  /**
   * Loaded libraries stay mapped after their files are deleted on POSIX systems,
   * so the copies go at once; Windows keeps loaded DLLs open, so there they go
   * when the JVM exits, if they can.
   */
  private static void cleanUp(Path directory, List<Path> copies) {
    if (directory == null) {
      return;
    }
    if (System.getProperty("os.name", "").startsWith("Windows")) {
      directory.toFile().deleteOnExit(); // deleted in reverse order: the copies first
      for (Path copy : copies) {
        copy.toFile().deleteOnExit();
      }
      return;
    }
    try {
      for (Path copy : copies) {
        Files.deleteIfExists(copy);
      }
      Files.deleteIfExists(directory);
    } catch (IOException ignored) {
      // a leftover file in the temporary directory is harmless
    }
  }

  private static UnsatisfiedLinkError failure(String message, Throwable cause) {
    UnsatisfiedLinkError error = new UnsatisfiedLinkError("polylock: " + message);
    if (cause != null) {
      error.initCause(cause);
    }
    return error;
  }
}
