// polylock C ABI — the lock object every copy of the library agrees on.
//
// A process may hold several copies of libpolylock (the wheel's, the jar's,
// the NuGet package's, the host's own), of different 1.x releases, each with
// its own private layout of the lock. So that a lock made by one copy works
// when passed to another, every lock_t starts with this header, frozen for
// every 1.x release from 1.2 on, as sqlite's sqlite3_file starts with its
// io_methods: the header names the table of functions of the copy that made
// the lock, and every other copy forwards each call to that table. The copy
// that made a lock recognises its own tables and takes its inline fast paths.
//
// Frozen means: members are never removed, moved or retyped; LockOps only
// grows at its end, with `version` telling how far a given table goes.
#pragma once

#include <atomic>
#include <cstdint>

#include "polylock/lock.h"

namespace polylock::capi {

// "PLK2" in the first word of every 1.2+ lock: lock_ref's best-effort check
// that a handle a binding was given is a lock at all.
inline constexpr std::uint32_t lock_magic = 0x324b4c50u;

// The functions that operate one kind of lock, in the copy that made it.
// Arguments are checked by the calling copy before it forwards (a non-NULL
// lock, a timeout >= -1), so the table's functions may rely on them.
struct LockOps {
  std::uint32_t version;  // 1: the members below, as of 1.2
  std::uint32_t reserved;
  int (*acquire)(lock_t* lock, std::int64_t timeout_ns, lock_stop_fn stop, void* context);
  int (*release)(lock_t* lock);
  int (*locked)(const lock_t* lock);
  int (*interrupt)(lock_t* lock);
  int (*reinit)(lock_t* lock);
  void (*destroy)(lock_t* lock);  // the last reference is gone
  // lock_fence; NULL for a kind without fencing tokens (LOCK_ENOTSUP).
  int (*fence)(lock_t* lock, std::uint64_t* token);
};

}  // namespace polylock::capi

// The frozen header. Each kind's object starts with it (as its first member).
struct lock {
  std::uint32_t magic;                    // lock_magic
  std::atomic<std::uint32_t> references;  // lock_ref adds one, lock_free drops one
  const polylock::capi::LockOps* ops;     // the table of the copy that made it
  // The word of lock.h's fast-path contract, or NULL for a kind without one.
  // Every copy takes and gives back an uncontended foreign lock through it,
  // so a lock from another copy costs what an own one does (lock_fast_word
  // returns it).
  std::atomic<std::uint32_t>* fast_word;
};
