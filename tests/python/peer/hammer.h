/* A C library that shares a lock with Python (tests/python/test_sharing.py):
 * it makes locks, and hammers a lock it is given from native threads. Loaded
 * by ctypes, and linked into the capsule test extension (capsule_peer.c). */
#ifndef POLYLOCK_TEST_PEER_HAMMER_H
#define POLYLOCK_TEST_PEER_HAMMER_H

#include "polylock/lock.h"

#if defined(__GNUC__)
#define PEER_API __attribute__((visibility("default")))
#else
#define PEER_API
#endif

/* lock_new and lock_free, as a library that makes its own locks calls them. */
PEER_API lock_t *peer_new(void);
PEER_API void peer_free(lock_t *lock);

/* Runs `threads` native threads, each taking `lock` `rounds` times -- in turn
 * a blocking, a trying and a timed acquire -- and, while holding it, adding 1
 * to *counter with a read, a pause and a write (a lost update shows up as a
 * short count) and checking through *holders that no one else holds it (a
 * second holder adds 1 to *overlaps). Python threads do the same on the same
 * three ints. Returns LOCK_OK, or the first unexpected status. */
PEER_API int peer_hammer(lock_t *lock, int threads, int rounds, long *counter, int *holders,
                         int *overlaps);

#endif /* POLYLOCK_TEST_PEER_HAMMER_H */
