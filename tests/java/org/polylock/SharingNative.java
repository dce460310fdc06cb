package org.polylock;

/**
 * The C side of {@link SharingTest}: tests/java/native/sharing.c, a JNI library
 * linked against libpolylock like any C host (its path comes from the system
 * property {@code polylock.test.sharing}, set by CTest).
 */
final class SharingNative {
  static {
    System.load(System.getProperty("polylock.test.sharing"));
  }

  private SharingNative() {}

  static native long newLock();

  static native long ref(long lock);

  static native void free(long lock);

  static native int acquire(long lock, long timeoutNs);

  static native int release(long lock);

  static native int locked(long lock);

  static native long notALock();

  static native void criticalSection();

  static native long counter();

  static native int overlaps();

  static native void reset();

  static native long startHammers(long lock, int threads, int iterations);

  static native void joinHammers(long token);
}
