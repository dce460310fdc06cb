/* polylock — one lock with the semantics of Python's threading.Lock.
 *
 * This header is the whole C ABI. It only grows: a function, once released,
 * never changes meaning or signature, and status values never change.
 *
 *   Lifetime        lock_new, lock_free
 *   Locking         lock_acquire, lock_release, lock_locked
 *   Since 1.1       lock_acquire_interruptible, lock_interrupt, lock_reinit
 *   Errors          LOCK_OK ... LOCK_EINTR, lock_strerror
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
#define LOCK_VERSION_MINOR 1
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

/* Static English text for every status; "unknown" for any other value. */
POLYLOCK_API const char *lock_strerror(int status);

/* ---- Lifetime ------------------------------------------------------------- */

/* Timeout for lock_acquire: wait without limit. 0 tries once; > 0 waits at
 * most that many nanoseconds (any int64_t value works, without overflow). */
#define LOCK_WAIT_FOREVER ((int64_t)-1)

typedef struct lock lock_t; /* opaque; only pointers cross the ABI */

/* A new, unlocked lock, or NULL if out of memory. */
POLYLOCK_API lock_t *lock_new(void);

/* Frees a lock. NULL is a no-op. A held lock may be freed; freeing a lock that
 * threads are waiting on is the caller's bug, as is any use after free. */
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
 * It may call back into polylock, but must not wait on `lock` itself, nor
 * call lock_interrupt(lock): that would disturb its own wait, and so ask
 * again, for ever. */
typedef int (*lock_stop_fn)(void *context);

/* lock_acquire, with a wait that can be given up. `stop(context)` is asked
 * when the thread is about to sleep for the first time, and then each time
 * the wait is disturbed -- a signal handler ran on this thread, or another
 * thread called lock_interrupt(lock), even while this one was between two
 * sleeps; if it returns nonzero the call returns LOCK_EINTR and nothing is
 * taken. (So a stop condition set before a lock_interrupt is heard even when
 * the wait had not begun yet.) Otherwise the wait goes on to the same
 * deadline, keeping its place among the waiters. A NULL `stop` never gives
 * up (the call is then lock_acquire). */
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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* POLYLOCK_LOCK_H */
