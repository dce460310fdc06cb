/* polylock — one lock with the semantics of Python's threading.Lock.
 *
 * This header is the whole C ABI. It only grows: a function, once released,
 * never changes meaning or signature, and status values never change.
 *
 *   Lifetime        lock_new, lock_free
 *   Locking         lock_acquire, lock_release, lock_locked
 *   Since 1.1       lock_acquire_interruptible, lock_interrupt, lock_reinit
 *   Since 1.2       lock_ref (one lock, many owners), lock_open and
 *                   lock_unlink (named locks), lock_fast_word (the binding
 *                   fast-path contract), lock_fence (fencing tokens)
 *   Errors          LOCK_OK ... LOCK_ESYS, lock_strerror
 *   Version         LOCK_VERSION_*, lock_version
 *
 * Semantics, in short: a lock is locked or unlocked and starts unlocked. Any
 * thread may release a locked lock (it is a binary semaphore, not a mutex),
 * and it is not recursive: a second acquire by the holder waits like any
 * other. Timeouts run on the monotonic clock. A waiter that has waited about
 * 1 ms is handed the lock by the next release, so no waiter starves.
 */
#ifndef POLYLOCK_LOCK_H
#define POLYLOCK_LOCK_H

#include <stdint.h>

#include "polylock/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------ */

#define LOCK_VERSION_MAJOR 1
#define LOCK_VERSION_MINOR 2
#define LOCK_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the library actually loaded; equals the macros above
 * when the header and the library come from the same release. */
POLYLOCK_API const char *lock_version(void);

/* ---- Status codes --------------------------------------------------------- */

#define LOCK_OK 0          /* done */
#define LOCK_TIMEOUT 1     /* not acquired in time (or held, for a try) */
#define LOCK_EINVAL (-1)   /* NULL lock, or a timeout that is neither -1 nor >= 0 */
#define LOCK_ENOTLOCKED (-2) /* release of an unlocked lock; nothing changed */
#define LOCK_EINTR (-3)    /* (1.1) an interruptible wait was stopped; nothing taken */
#define LOCK_OWNERDEAD 2   /* (1.2) acquired; the previous holder's process died holding it */
#define LOCK_ENOTSUP (-4)  /* (1.2) not supported by this kind of lock or on this platform,
                              or a name whose backend library is missing */
#define LOCK_ENOMEM (-5)   /* (1.2) out of memory (or of shared memory) */
#define LOCK_EACCES (-6)   /* (1.2) the name exists but is not ours to use: another user's,
                              not a regular object, or not a compatible polylock lock */
#define LOCK_ESYS (-7)     /* (1.2) a system call failed unexpectedly; errno tells which */

/* Static English text for every status; "unknown" for any other value. */
POLYLOCK_API const char *lock_strerror(int status);

/* ---- Lifetime ------------------------------------------------------------- */

/* Timeout for lock_acquire: wait without limit. 0 tries once; > 0 waits at
 * most that many nanoseconds (any int64_t value works, without overflow). */
#define LOCK_WAIT_FOREVER ((int64_t)-1)

typedef struct lock lock_t; /* opaque; only pointers cross the ABI */

/* A new, unlocked lock, or NULL if out of memory. */
POLYLOCK_API lock_t *lock_new(void);

/* Drops one reference to a lock (see lock_ref, since 1.2); the last one frees
 * it. A program that never calls lock_ref sees this as 1.0's "frees the lock".
 * NULL is a no-op. A held lock may be freed; freeing the last reference to a
 * lock that threads are waiting on is the caller's bug, as is any use after
 * free. For a named lock (lock_open) it closes this handle; the lock itself
 * lives on in the other processes that opened it. */
POLYLOCK_API void lock_free(lock_t *lock);

/* ---- Locking -------------------------------------------------------------- */

/* Takes the lock, waiting as `timeout_ns` says (see LOCK_WAIT_FOREVER).
 * Returns LOCK_OK when taken, LOCK_TIMEOUT when not, LOCK_EINVAL for a NULL
 * lock or a negative timeout other than -1. The deadline is fixed when the
 * call starts; signals and spurious wake-ups do not extend it. */
POLYLOCK_API int lock_acquire(lock_t *lock, int64_t timeout_ns);

/* Unlocks a locked lock, from any thread, and wakes one waiter if there is
 * one. LOCK_ENOTLOCKED if it was not locked (nothing changes), LOCK_EINVAL for
 * NULL. */
POLYLOCK_API int lock_release(lock_t *lock);

/* 1 if locked, 0 if not, LOCK_EINVAL for NULL. Only a snapshot: another
 * thread may change the state before the caller acts on the answer. */
POLYLOCK_API int lock_locked(const lock_t *lock);

/* ---- Since 1.1 ------------------------------------------------------------ */

/* Asked on the waiting thread whether to give up the wait; nonzero gives up.
 * (1.2) It is asked only while its thread is out of the lock's queue and holds
 * nothing, so it may do what code outside the wait may do, including taking
 * and releasing `lock` itself (as a Python signal handler that uses the lock
 * its interrupted acquire waits on). It must not call lock_interrupt(lock):
 * that would make its own wait ask again, for ever. */
typedef int (*lock_stop_fn)(void *context);

/* lock_acquire, with a wait that can be given up. `stop(context)` is asked
 * when the thread is about to sleep for the first time, and then each time
 * the wait is disturbed -- a signal handler ran on this thread, or another
 * thread called lock_interrupt(lock), even while this one was between two
 * sleeps; if it returns nonzero the call returns LOCK_EINTR and nothing is
 * taken. (So a stop condition set before a lock_interrupt is heard even when
 * the wait had not begun yet.) Otherwise the wait goes on to the same
 * deadline, keeping its place among the waiters (the order of first park) and
 * its waiting time for the hand-off. A NULL `stop` never gives up (the call
 * is then lock_acquire). */
POLYLOCK_API int lock_acquire_interruptible(lock_t *lock, int64_t timeout_ns,
                                            lock_stop_fn stop, void *context);

/* Disturbs every thread currently waiting in lock_acquire_interruptible on
 * `lock`, so that each asks its stop function. LOCK_OK, or LOCK_EINVAL. */
POLYLOCK_API int lock_interrupt(lock_t *lock);

/* Re-initialises `lock` as unlocked with no waiters, for a child process after
 * fork(), where the threads that held or waited on it no longer exist. Never
 * call it while other threads of this process may use the lock.
 * LOCK_OK, or LOCK_EINVAL. */
POLYLOCK_API int lock_reinit(lock_t *lock);

/* ---- Since 1.2: one lock, many owners ----------------------------------- */

/* Takes another reference to `lock` and returns `lock`; each reference is
 * dropped with one lock_free, and the last one frees the lock. Counting is
 * exact under any race between lock_ref and lock_free on other threads.
 * Returns NULL for NULL, and for a pointer that does not look like a polylock
 * 1.2+ lock (a best-effort check for bindings that wrap foreign handles:
 * addresses in the first 64 KiB or the last 4096 bytes, misaligned ones and,
 * on x86-64, those at or above 2^47 (past user space) are refused without
 * being read; any other address is read, and refused unless it starts with a
 * lock's header. A freed or wild pointer, unmapped or not, is still the
 * caller's bug, as with free()).
 *
 * Several copies of the library in one process (a wheel's, a jar's, a NuGet
 * package's, the host's own) may all operate one lock: every lock records the
 * table of functions of the copy that made it, and any other copy of 1.2 or
 * later forwards each call on that lock to that table. Pass a lock_t * freely
 * between copies, runtimes and languages; only the fast path below bypasses
 * the table, and only through the frozen contract it states. */
POLYLOCK_API lock_t *lock_ref(lock_t *lock);

/* ---- Since 1.2: named locks, shared by processes ------------------------- */

/* Opens the named lock `name`, creating it (unlocked) if it does not exist,
 * and returns a handle that every lock_* function accepts; lock_free closes
 * it. On error returns NULL and stores the reason in *status (when `status`
 * is not NULL); on success *status is LOCK_OK.
 *
 * A name is 1-200 bytes of A-Z a-z 0-9 . _ - not starting with '.', and is
 * private to the user that runs the process; anything else is LOCK_EINVAL.
 * Names holding ':' name other backends: "etcd://..." needs the library
 * libpolylock-etcd.so.1 (LOCK_ENOTSUP if it cannot be loaded); other schemes
 * are LOCK_EINVAL. Errors: LOCK_EINVAL (bad name), LOCK_EACCES (the name
 * exists but belongs to another user, is not a regular object, or does not
 * hold a polylock lock of a compatible layout), LOCK_ENOMEM, LOCK_ENOTSUP
 * (no named locks on this platform), LOCK_ESYS.
 *
 * Across processes a named lock keeps every rule of this header, and adds
 * holder death: if the process holding it dies (killed, crashed, exited
 * without releasing), the next acquire -- a waiter already blocked or a
 * newcomer -- takes it and returns LOCK_OWNERDEAD instead of LOCK_OK, so the
 * caller can repair what the dead holder left half-done. The lock is held
 * either way. Death is proved by process id and start time, never guessed
 * from a timeout, so a reused process id never fools it. lock_reinit on a
 * named lock changes nothing and returns LOCK_ENOTSUP. */
POLYLOCK_API lock_t *lock_open(const char *name, int *status);

/* Removes the name; handles already open keep working on the old lock, and the
 * next lock_open of the name makes a fresh one. Returns LOCK_OK, LOCK_EINVAL
 * (bad name), LOCK_EACCES (another user's object), LOCK_ENOTSUP, or LOCK_ESYS
 * (also for a name that does not exist; errno is then ENOENT). */
POLYLOCK_API int lock_unlink(const char *name);

/* The fencing token of the caller's current hold of a lock served by a
 * store shared by machines (an "etcd://" name): a number that only grows from
 * one hold to the next, stored in *token. Pass it with every write to the
 * resource the lock guards, and let the resource refuse a token lower than
 * one it has seen: a holder that lost its hold (its lease expired while it
 * was paused or cut off) and has not noticed yet then cannot do harm.
 * Returns LOCK_OK, LOCK_ENOTLOCKED (this handle does not hold the lock),
 * LOCK_ENOTSUP (a kind of lock without tokens: in-process and named locks),
 * or LOCK_EINVAL (NULL lock or token). */
POLYLOCK_API int lock_fence(lock_t *lock, uint64_t *token);

/* ---- Since 1.2: the binding fast path (frozen for every 1.x) ------------- */

/* Values of the fast-path word. */
#define LOCK_FAST_FREE 0u /* unlocked, and nobody is waiting */
#define LOCK_FAST_HELD 1u /* locked, and nobody is waiting */

/* The address of `lock`'s 32-bit state word, for a binding that wants to take
 * and give back an uncontended lock without a call into the library; NULL for
 * a NULL lock and for a kind of lock that has no such word (a named lock, and
 * any later kind that needs to know its holder): the binding then always calls
 * lock_acquire and lock_release. The address is 4-byte aligned and stays valid
 * while the caller holds a reference to the lock.
 *
 * The contract, frozen for every 1.x release of every copy of the library:
 *   - the word is only ever accessed with atomic operations;
 *   - a binding may take the lock with one compare-and-swap of the word from
 *     LOCK_FAST_FREE to LOCK_FAST_HELD, with acquire ordering (or stronger);
 *     this has exactly the effect of a lock_acquire that returned LOCK_OK;
 *   - a binding may give the lock back with one compare-and-swap from
 *     LOCK_FAST_HELD to LOCK_FAST_FREE, with release ordering (or stronger);
 *     this has exactly the effect of a lock_release that returned LOCK_OK;
 *   - when either compare-and-swap fails, the binding calls lock_acquire or
 *     lock_release (other bits mean waiters, a hand-off in progress or the
 *     library's own bookkeeping, which only the library may change);
 *   - bit 0 (LOCK_FAST_HELD) of a plain atomic load is set exactly while the
 *     lock is held: what lock_locked returns, as a snapshot;
 *   - nothing else is ever written to the word by a binding. */
POLYLOCK_API uint32_t *lock_fast_word(lock_t *lock);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* POLYLOCK_LOCK_H */
