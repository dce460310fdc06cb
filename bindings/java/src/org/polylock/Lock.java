package org.polylock;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * A lock with the semantics of Python's {@code threading.Lock}, usable wherever a
 * {@link java.util.concurrent.locks.Lock} fits.
 *
 * <p>It is a binary semaphore, not a mutex:
 * <ul>
 *   <li><b>not owned</b> &mdash; any thread may {@link #unlock()} a locked lock, not
 *       only the one that locked it;
 *   <li><b>not re-entrant</b> &mdash; a second {@link #lock()} by the thread that holds
 *       it waits like any other (and waits forever if nobody else unlocks);
 *   <li><b>eventually fair</b> &mdash; a newcomer may take a free lock ahead of
 *       sleeping waiters, but a waiter that has waited about 1 ms is handed the lock
 *       by the next unlock, so nobody starves.
 * </ul>
 * It has {@link java.util.concurrent.locks.ReentrantLock}'s surface without
 * re-entrancy or owner checks. Waiting threads sleep in the kernel.
 *
 * <pre>{@code
 * try (Lock lock = new Lock()) {
 *   try (Lock.Held held = lock.acquire()) {
 *     // critical section
 *   }
 * }
 * }</pre>
 *
 * <p><b>Where the state lives.</b> A new lock keeps its state in a field of
 * this object, so an uncontended {@code lock(); unlock()} is one
 * compare-and-swap each, as in {@code ReentrantLock}, and a lock that is never
 * contended needs no native memory and no cleanup at all. The first time a
 * thread has to wait for it, or {@link #handle()} is asked, the state moves,
 * once and for good, into a native lock of the C library, which then does the
 * waiting, the fairness hand-off and the interrupts; its uncontended path is
 * still a compare-and-swap from Java, on the word {@code lock_fast_word}
 * gives. Locks from {@link #fromHandle(long)} and {@link #open(String)} are
 * native from the start.
 *
 * <p><b>Closing.</b> {@link #close()} ends the lock's use from this object and
 * drops its reference to the native lock, if it has one; the native lock of a
 * lock nobody closed is reclaimed once the lock is unreachable. After {@code
 * close()} every method but {@code close()}, {@link #isClosed()} and {@link
 * #toString()} throws {@link IllegalStateException}. Closing a lock that threads
 * are waiting for is allowed and safe: those threads wake up and throw {@code
 * IllegalStateException}; {@code close()} waits (briefly) until they have left
 * the native code. A call racing {@code close()} on another thread either
 * completes as if it came first or throws {@code IllegalStateException}; it
 * never touches freed memory (the fast path's word stays mapped until this
 * object is unreachable).
 *
 * <p><b>Sharing.</b> {@link #handle()} lends the native {@code lock_t *} to C
 * code, and {@link #fromHandle(long)} wraps one made elsewhere (by C, C++,
 * Python, .NET or another copy of the library), with a reference of its own:
 * one lock, many owners, each closing only its own (design.md §7).
 *
 * <p><b>Named locks.</b> {@link #open(String)} opens a lock that processes share
 * by name; if its holder's process dies, the next acquirer gets the lock and an
 * {@link OwnerDiedException}.
 *
 * <p><b>Native libraries.</b> The jar carries the native libraries it needs and
 * copies them, on first use, into a private temporary directory to load them. To
 * load them from a directory of your own instead, set the system property
 * {@value #LIBRARY_PATH_PROPERTY} to that directory (it must hold the JNI glue
 * {@code libpolylock_jni.so} or {@code polylock_jni.dll}, and may hold
 * {@code libpolylock.so.1} or {@code polylock.dll}).
 */
public final class Lock implements java.util.concurrent.locks.Lock, AutoCloseable {
  /**
   * The system property naming a directory to load the native libraries from,
   * instead of the copies inside the jar: {@value}.
   */
  public static final String LIBRARY_PATH_PROPERTY = NativeLoader.PATH_PROPERTY;

  // The values of `state`. FREE and HELD: the state lives here, nobody waits.
  // NATIVE: it lives in `nativeLock` (for good). CLOSED: closed, from any of them.
  private static final int FREE = 0;
  private static final int HELD = 1;
  private static final int NATIVE = 2;
  private static final int CLOSED = 3;

  private static final VarHandle STATE;
  private static final VarHandle NATIVE_LOCK;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      STATE = lookup.findVarHandle(Lock.class, "state", int.class);
      NATIVE_LOCK = lookup.findVarHandle(Lock.class, "nativeLock", NativeLock.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
    // Load the native libraries now: a missing platform shows at the first
    // `new Lock()`, not at the first contended lock() in production.
    nativeVersion();
  }

  /** FREE, HELD, NATIVE or CLOSED; updated through {@link #STATE}. */
  private volatile int state;

  /** Set once, before {@code state} becomes NATIVE; read through {@link #nativeLock()}. */
  private volatile NativeLock nativeLock;

  /**
   * The native lock of a lock that is native from its constructor on ({@link
   * #fromHandle}, {@link #open}), else null. Final, so that a thread that got
   * this object through a data race still sees it, where it may see {@code
   * state} and {@code nativeLock} at their defaults (FREE, null): see {@link
   * #state()}.
   */
  private final NativeLock born;

  /**
   * Creates an unlocked lock. It allocates no native memory until it first has
   * to (see the class comment), so locks made and dropped at any rate cost
   * only their garbage.
   *
   * @throws UnsatisfiedLinkError if the native libraries cannot be loaded (the
   *     first time the class is used)
   */
  public Lock() {
    born = null;
  }

  private Lock(NativeLock nativeLock) {
    born = nativeLock;
    this.nativeLock = nativeLock;
    this.state = NATIVE;
  }

  /**
   * The state to act on. A lock born native never has a Java-side state; the
   * FREE a racy reader may still see for it means NATIVE (ReentrantLock is as
   * safe under a racy publication, through its final field).
   */
  private int state() {
    int s = state;
    return s == FREE && born != null ? NATIVE : s;
  }

  /** The native lock, once {@link #state()} has said NATIVE (or CLOSED after it). */
  private NativeLock nativeLock() {
    NativeLock fixed = born;
    return fixed != null ? fixed : nativeLock;
  }

  /**
   * Wraps a native lock made elsewhere &mdash; by C or C++ code, by Python's or
   * .NET's polylock, or by another copy of the library &mdash; so that Java
   * threads use the same lock. The new object takes a reference of its own with
   * {@code lock_ref}, which its {@link #close()} (or its reclamation, if
   * unreachable) drops; the caller keeps and frees its own, in either order. It
   * behaves exactly like a lock made with {@code new Lock()}.
   *
   * @param handle the address of a {@code lock_t} of polylock 1.2 or later, as
   *     another runtime's {@code handle()} gives it; it must stay valid until this
   *     call returns (a freed or wild address is the caller's bug, as in C)
   * @return a new lock sharing the native lock
   * @throws IllegalArgumentException if {@code handle} is 0, or is not the address
   *     of a polylock lock ({@code lock_ref} refuses it)
   */
  public static Lock fromHandle(long handle) {
    if (handle == 0) {
      throw new IllegalArgumentException("polylock: fromHandle(0): a null lock_t *");
    }
    long pointer = LockNative.lock_ref(handle);
    if (pointer == 0) {
      throw new IllegalArgumentException(
          "polylock: fromHandle(0x"
              + Long.toHexString(handle)
              + "): not a polylock 1.2+ lock_t * (lock_ref refused it)");
    }
    return new Lock(NativeLock.adopt(pointer));
  }

  /**
   * Opens the lock named {@code name}, shared by every process of this user that
   * opens the same name, creating it unlocked if it does not exist. Every method
   * works on it as on any other lock, across processes: any thread of any of
   * them may unlock it. {@link #close()} closes this process's handle; the lock
   * lives on in the others. If a process dies while holding it, the next
   * acquirer, here or elsewhere, takes it and gets an {@link OwnerDiedException}.
   *
   * @param name 1 to 200 characters of {@code A-Z a-z 0-9 . _ -}, not starting with
   *     {@code .}
   * @return a lock on the named lock
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is not a valid name
   *     ({@code LOCK_EINVAL})
   * @throws AccessDeniedException if the name exists but belongs to another user,
   *     is not a regular object, or does not hold a compatible polylock lock
   *     ({@code LOCK_EACCES})
   * @throws UnsupportedOperationException if this platform or this build of the
   *     library has no named locks ({@code LOCK_ENOTSUP})
   * @throws IOException for any other failure: out of (shared) memory, or a system
   *     call that failed, its errno's text in the message ({@code LOCK_ENOMEM},
   *     {@code LOCK_ESYS})
   */
  public static Lock open(String name) throws IOException {
    Objects.requireNonNull(name, "name");
    int[] status = {LockNative.LOCK_OK};
    int[] error = {0};
    long pointer = LockNative.openSavingErrno(name, status, error);
    if (pointer == 0) {
      throw namedLockError("open", name, status[0], error[0]);
    }
    return new Lock(NativeLock.adopt(pointer));
  }

  /**
   * Removes the name of a named lock: locks already open on it keep working, and
   * the next {@link #open(String)} of the name makes a fresh lock.
   *
   * @param name the name, as for {@link #open(String)}
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is not a valid name
   * @throws AccessDeniedException if the name belongs to another user
   * @throws UnsupportedOperationException if this platform or this build of the
   *     library has no named locks
   * @throws NoSuchFileException if no lock has that name (as {@link
   *     java.nio.file.Files#delete(java.nio.file.Path)}; {@code LOCK_ESYS} with errno
   *     {@code ENOENT})
   * @throws IOException for any other failure: out of memory or a system call that
   *     failed, its errno's text in the message ({@code LOCK_ENOMEM}, {@code
   *     LOCK_ESYS})
   */
  public static void unlink(String name) throws IOException {
    Objects.requireNonNull(name, "name");
    int[] error = {0};
    int status = LockNative.unlinkSavingErrno(name, error);
    if (status == LockNative.LOCK_ESYS && error[0] == LockNative.ERRNO_ENOENT) {
      throw new NoSuchFileException(
          name, null, "polylock: unlink " + quoted(name) + ": no lock has that name");
    }
    if (status != LockNative.LOCK_OK) {
      throw namedLockError("unlink", name, status, error[0]);
    }
  }

  /**
   * Takes the lock, waiting as long as it takes. Interrupting the waiting thread
   * does not end the wait (use {@link #lockInterruptibly()} for that); the thread's
   * interrupt status is left as it was.
   *
   * @throws OwnerDiedException if the lock is named and its previous holder's
   *     process died holding it; the lock is then held by this thread
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  @Override
  public void lock() {
    int s = state();
    if (s == FREE) {
      if (STATE.compareAndSet(this, FREE, HELD)) {
        return;
      }
    } else if (s == NATIVE && nativeLock().tryFastAcquire()) {
      return;
    }
    NativeLock waitOn = toNative(true);
    if (waitOn != null) {
      taken(waitOn.acquire());
    }
  }

  /**
   * Takes the lock, waiting until it is free or the thread is interrupted.
   *
   * @throws InterruptedException if the thread is interrupted before or while
   *     waiting; the lock is then not taken and the interrupt status is cleared
   * @throws OwnerDiedException if the lock is named and its previous holder's
   *     process died holding it; the lock is then held by this thread
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  @Override
  public void lockInterruptibly() throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    if (state() == FREE && STATE.compareAndSet(this, FREE, HELD)) {
      return;
    }
    NativeLock waitOn = toNative(true);
    if (waitOn != null) {
      taken(waitOn.acquireInterruptibly(LockNative.LOCK_WAIT_FOREVER));
    }
  }

  /**
   * Takes the lock if it is free right now; never waits.
   *
   * @return {@code true} if the lock was taken
   * @throws OwnerDiedException if the lock is named and its previous holder's
   *     process died holding it; the lock is then held by this thread (the call
   *     would have returned {@code true})
   * @throws IllegalStateException if the lock is closed
   */
  @Override
  public boolean tryLock() {
    for (;;) {
      switch (state()) {
        case FREE:
          if (STATE.compareAndSet(this, FREE, HELD)) {
            return true;
          }
          break; // it changed meanwhile: look again
        case HELD:
          return false;
        case NATIVE:
          return taken(nativeLock().tryAcquire());
        default:
          throw closed();
      }
    }
  }

  /**
   * Takes the lock, waiting at most the given time. As in {@code
   * java.util.concurrent}, a time of zero or less means "do not wait" (the lock is
   * still taken if it is free), and a huge time saturates instead of overflowing
   * ({@link TimeUnit#toNanos}: {@code Long.MAX_VALUE} nanoseconds, about 292
   * years). The deadline runs on a monotonic clock and is fixed when the call
   * starts. The interrupt status is checked first, as {@code ReentrantLock} does.
   *
   * @param time the longest time to wait, in {@code unit}s
   * @param unit the unit of {@code time}
   * @return {@code true} if the lock was taken, {@code false} if the time ran out
   * @throws InterruptedException if the thread is interrupted before or while
   *     waiting; the lock is then not taken and the interrupt status is cleared
   * @throws NullPointerException if {@code unit} is null
   * @throws OwnerDiedException if the lock is named and its previous holder's
   *     process died holding it; the lock is then held by this thread
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  @Override
  public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
    long timeoutNs = timeoutNanos(time, unit);
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    if (timeoutNs == 0) {
      return tryLock();
    }
    if (state() == FREE && STATE.compareAndSet(this, FREE, HELD)) {
      return true;
    }
    NativeLock waitOn = toNative(true);
    return waitOn == null || taken(waitOn.acquireInterruptibly(timeoutNs));
  }

  /**
   * The wait {@link #tryLock(long, TimeUnit)} passes to the C library, in
   * nanoseconds: 0 (try once) for a time of zero or less, else {@code
   * unit.toNanos(time)}, which saturates at {@code Long.MAX_VALUE}. The same rule
   * as {@code ReentrantLock}'s, which the tests check on a table of edge values.
   */
  static long timeoutNanos(long time, TimeUnit unit) {
    return Math.max(0, unit.toNanos(time));
  }

  /**
   * Unlocks the lock. Any thread may unlock it, not only the one that locked it;
   * one waiting thread, if any, is woken.
   *
   * @throws IllegalMonitorStateException if the lock is not locked (nothing changes)
   * @throws IllegalStateException if the lock is closed
   */
  @Override
  public void unlock() {
    int s = state();
    if (s == HELD) {
      if (STATE.compareAndSet(this, HELD, FREE)) {
        return;
      }
    } else if (s == NATIVE && nativeLock().tryFastRelease()) {
      return;
    }
    for (;;) {
      switch (state()) {
        case HELD:
          if (STATE.compareAndSet(this, HELD, FREE)) {
            return;
          }
          break; // it moved to native meanwhile: look again
        case FREE:
          throw unlockedUnlock();
        case NATIVE:
          nativeLock().release();
          return;
        default:
          throw closed();
      }
    }
  }

  /**
   * Whether the lock is locked right now. Only a snapshot: another thread may lock
   * or unlock it before the caller acts on the answer, so use it for monitoring
   * and tests, not to decide whether to lock.
   *
   * @return {@code true} if some thread (of any process, for a named lock) holds
   *     the lock
   * @throws IllegalStateException if the lock is closed
   */
  public boolean isLocked() {
    switch (state()) {
      case FREE:
        return false;
      case HELD:
        return true;
      case NATIVE:
        return nativeLock().isLocked();
      default:
        throw closed();
    }
  }

  /**
   * The native {@code lock_t *} behind this lock, for C code and other runtimes
   * that share it (design.md §7): pass it to {@code lock_ref} there, or to another
   * binding's {@code fromHandle}, to keep the lock beyond this object's life. The
   * handle is <em>borrowed</em>: it stays valid while this lock is open and
   * reachable, and the caller must not {@code lock_free} it. A lock that has
   * lived in Java so far moves its state into a native lock first (see the class
   * comment); the handle is then the same for the rest of the lock's life.
   *
   * @return the address of the native lock, never 0
   * @throws IllegalStateException if the lock is closed
   */
  public long handle() {
    return toNative(false).handle.pointer();
  }

  /**
   * The fencing token of the current hold of a lock served by a store that
   * several machines share (design.md §10, an {@code "etcd://"} name): a number that
   * only grows from one hold to the next. Pass it with every write to the
   * resource the lock guards, and let the resource refuse a token lower than one
   * it has seen, so that a holder whose hold expired unnoticed can do no harm.
   *
   * @return the token of the hold, from {@code lock_fence}
   * @throws UnsupportedOperationException for a kind of lock without tokens: an
   *     in-process lock (every {@code new Lock()}) or a named lock of this machine
   * @throws IllegalMonitorStateException if this handle does not hold the lock
   * @throws IllegalStateException if the lock is closed
   */
  public long fencingToken() {
    int s = state();
    if (s == CLOSED) {
      throw closed();
    }
    if (s != NATIVE) {
      throw new UnsupportedOperationException(
          "polylock: fencing tokens: " + LockNative.lock_strerror(LockNative.LOCK_ENOTSUP));
    }
    return nativeLock().fencingToken();
  }

  /**
   * Not supported: a {@link Condition} needs an owner to release and re-take the
   * lock for, and this lock has none. Use {@code java.util.concurrent} queues, or a
   * {@code ReentrantLock} where a condition is needed.
   *
   * @return never returns
   * @throws UnsupportedOperationException always
   */
  @Override
  public Condition newCondition() {
    throw new UnsupportedOperationException(
        "polylock: Lock is not owned by a thread, so it has no conditions");
  }

  /**
   * Takes the lock, as {@link #lock()} does, and returns a guard whose {@code
   * close()} unlocks it, for try-with-resources:
   *
   * <pre>{@code
   * try (Lock.Held held = lock.acquire()) {
   *   // critical section
   * }
   * }</pre>
   *
   * @return the guard of this acquisition
   * @throws OwnerDiedException if the lock is named and its previous holder's
   *     process died holding it; the lock is then held by this thread, without a
   *     guard: repair, then {@link #unlock()}
   * @throws IllegalStateException if the lock is closed, before or during the wait
   */
  public Held acquire() {
    lock();
    return new Held(this);
  }

  /**
   * Closes the lock and drops its reference to its native lock (if it has one;
   * the last reference frees the native lock). Idempotent: later calls do
   * nothing. Threads waiting for the lock are woken and throw {@link
   * IllegalStateException}; this method returns once they have left the native
   * code (a concurrent second {@code close()} may return before that). A lock may
   * be closed while it is locked; a shared lock then stays locked for its other
   * owners until one of them unlocks it.
   */
  @Override
  public void close() {
    STATE.getAndSet(this, CLOSED);
    NativeLock closing = nativeLock();
    if (closing != null) {
      closing.close();
    }
  }

  /**
   * Whether {@link #close()} has been called.
   *
   * @return {@code true} once the lock is closed
   */
  public boolean isClosed() {
    return state == CLOSED;
  }

  /**
   * The version of the native library in use, {@code "MAJOR.MINOR.PATCH"}.
   *
   * @return the value of the C function {@code lock_version()}
   * @throws UnsatisfiedLinkError if the native libraries cannot be loaded
   */
  public static String nativeVersion() {
    return LockNative.lock_version();
  }

  /**
   * The identity of this lock and its state, in {@code ReentrantLock}'s shape: for
   * example {@code org.polylock.Lock@1b6d3586[Unlocked]}, {@code [Locked]} or
   * {@code [Closed]}. Never throws.
   */
  @Override
  public String toString() {
    String shown;
    try {
      shown = isLocked() ? "[Locked]" : "[Unlocked]";
    } catch (IllegalStateException closed) {
      shown = "[Closed]";
    }
    return super.toString() + shown;
  }

  /**
   * Moves the state into the native lock, once and for good, and returns that;
   * or, when {@code takeIfFree} and the lock is free on the way, takes it here
   * and returns null.
   *
   * <p>The native lock is made <em>held</em> and published before the state
   * moves, so whichever state the compare-and-swap to NATIVE replaces is exact:
   * from HELD, the native hold is the Java holder's, which its unlock() then
   * gives back natively; from FREE, it is the mover's own, given back at once
   * unless it wanted the lock. Racing movers agree on the first published
   * native lock and one of them moves the state.
   *
   * @throws IllegalStateException if the lock is closed
   */
  private NativeLock toNative(boolean takeIfFree) {
    for (;;) {
      int s = state();
      if (s == NATIVE) {
        return nativeLock();
      }
      if (s == CLOSED) {
        NativeLock orphan = nativeLock(); // may be published after close() looked
        if (orphan != null) {
          orphan.close();
        }
        throw closed();
      }
      if (s == FREE && takeIfFree) {
        if (STATE.compareAndSet(this, FREE, HELD)) {
          return null;
        }
        continue;
      }
      NativeLock moving = nativeLock;
      if (moving == null) {
        NativeLock made = NativeLock.newHeld();
        if (!NATIVE_LOCK.compareAndSet(this, null, made)) {
          made.close(); // another mover published first; the Reclaimer drops the rest
        }
        continue;
      }
      if (STATE.compareAndSet(this, s, NATIVE)) {
        if (s == FREE) {
          moving.releaseQuietly();
        }
        return moving;
      }
    }
  }

  /** Whether an acquire's status took the lock; OwnerDiedException for LOCK_OWNERDEAD. */
  private static boolean taken(int status) {
    if (status == LockNative.LOCK_OWNERDEAD) {
      throw new OwnerDiedException();
    }
    return status == LockNative.LOCK_OK;
  }

  /** The rule a name refused with LOCK_EINVAL broke (lock.h, SPEC §8 and §10). */
  private static String nameRule(String name) {
    if (name.startsWith("etcd://")) {
      return "not an etcd lock name: etcd://HOST:PORT[,HOST:PORT...]/NAME[?ttl=SECONDS],"
          + " NAME as for a local lock";
    }
    String local = "1 to 200 characters of A-Z a-z 0-9 . _ -, not starting with '.'";
    return name.indexOf(':') < 0
        ? "not a lock name: " + local
        : "not a lock name: only etcd:// names may hold ':'; a local name is " + local;
  }

  /**
   * The name in double quotes, control characters and line separators escaped
   * as Java writes them, so that a message stays on one line.
   */
  private static String quoted(String name) {
    StringBuilder text = new StringBuilder(name.length() + 2).append('"');
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029) {
        text.append(String.format("\\u%04x", (int) c));
      } else {
        text.append(c);
      }
    }
    return text.append('"').toString();
  }

  /**
   * The exception for a named lock call that failed, from its status and the
   * errno the call left (0 if none), in java.nio.file's terms: the unchecked
   * ones are thrown from here, the checked one is returned for the caller to
   * throw.
   */
  private static IOException namedLockError(String call, String name, int status, int errno) {
    String what = "polylock: " + call + " " + quoted(name) + ": ";
    String reason = what + LockNative.lock_strerror(status);
    switch (status) {
      case LockNative.LOCK_EINVAL:
        // A name with ':' names a backend (etcd://...), judged by the library
        // alone; any other is refused for the rule of lock.h.
        throw new IllegalArgumentException(what + nameRule(name));
      case LockNative.LOCK_ENOTSUP:
        throw new UnsupportedOperationException(reason);
      case LockNative.LOCK_EACCES:
        return new AccessDeniedException(name, null, reason);
      case LockNative.LOCK_ESYS:
        return new IOException(
            errno == 0 ? reason : reason + " (" + LockNative.errnoText(errno) + ")");
      default:
        return new IOException(reason);
    }
  }

  /** The native side of this lock, or null while its state lives in Java, for the tests. */
  NativeHandle nativeHandle() {
    NativeLock current = nativeLock();
    return current == null ? null : current.handle;
  }

  /** How many native calls are using the lock right now (0 without one), for the tests. */
  int callsInFlight() {
    NativeHandle handle = nativeHandle();
    return handle == null ? 0 : handle.callsInFlight();
  }

  static IllegalStateException closed() {
    return new IllegalStateException("polylock: the lock is closed");
  }

  static IllegalStateException closedWhileWaiting() {
    return new IllegalStateException("polylock: the lock was closed while this thread waited");
  }

  static IllegalMonitorStateException unlockedUnlock() {
    return new IllegalMonitorStateException("polylock: unlock of an unlocked lock");
  }

  /**
   * The guard returned by {@link Lock#acquire()}: closing it unlocks the lock once.
   * It belongs to the scope that acquired it and is not meant to be shared between
   * threads.
   */
  public static final class Held implements AutoCloseable {
    private Lock lock;

    private Held(Lock lock) {
      this.lock = lock;
    }

    /**
     * Unlocks the lock this guard holds. Only the first call unlocks; later calls
     * do nothing.
     *
     * @throws IllegalMonitorStateException if someone else unlocked the lock
     *     meanwhile and it is not locked
     * @throws IllegalStateException if the lock was closed meanwhile
     */
    @Override
    public void close() {
      Lock held = lock;
      if (held != null) {
        lock = null;
        held.unlock();
      }
    }
  }
}
