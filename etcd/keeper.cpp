// polylock etcd kind — see keeper.hpp.
#include "keeper.hpp"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace polylock::etcd {
namespace {

struct Entry {
  std::shared_ptr<Lease> lease;
  Clock::time_point due;
};

// Never destroyed, and its thread is detached: a process may exit (and the
// library is linked -z nodelete, so never unloaded) while leases are kept.
struct Keeper {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Entry> entries;
  bool started = false;

  void loop() {
    std::unique_lock<std::mutex> guard(mutex);
    for (;;) {
      if (entries.empty()) {
        changed.wait(guard);
        continue;
      }
      auto next = std::min_element(entries.begin(), entries.end(),
                                   [](const Entry& a, const Entry& b) { return a.due < b.due; });
      // A copy: wait_until reads its argument while the mutex is free, and
      // another thread's push_back may move the entries meanwhile.
      const Clock::time_point due = next->due;
      if (Clock::now() < due) {
        changed.wait_until(guard, due);
        continue;
      }
      std::shared_ptr<Lease> lease = next->lease;
      const auto period =
          std::chrono::milliseconds(std::max<std::int64_t>(lease->ttl_s * 1000 / 3, 200));
      next->due = Clock::now() + period;
      guard.unlock();
      // Bounded by the period, so one slow endpoint cannot make the others'
      // leases late by more than that.
      const Reply reply =
          lease->client->call("/v3/lease/keepalive", Json{{"ID", std::to_string(lease->id)}},
                              static_cast<long>(period.count()));
      bool gone = false;
      if (reply.outcome == Outcome::ok) {
        const Json* result = object_field(reply.body, "result");
        gone = !result || int_field(*result, "TTL") <= 0;
      } else if (reply.outcome == Outcome::rejected) {
        gone = int_field(reply.body, "code") == 5;  // NotFound: the lease expired
      }
      guard.lock();
      if (gone) {
        lease->lost.store(true, std::memory_order_release);
        entries.erase(std::remove_if(entries.begin(), entries.end(),
                                     [&](const Entry& e) { return e.lease == lease; }),
                      entries.end());
      } else if (reply.outcome != Outcome::ok) {
        // Unreachable for now: try again soon, well within the TTL.
        for (Entry& entry : entries)
          if (entry.lease == lease) entry.due = Clock::now() + std::chrono::milliseconds(250);
      }
    }
  }
};

Keeper& keeper();

// A fork child has no keep-alive thread, and the parent's leases are not its
// own: it starts afresh, so that the handles it opens keep their leases.
void before_fork() { keeper().mutex.lock(); }
void after_fork_in_parent() { keeper().mutex.unlock(); }
void after_fork_in_child() {
  Keeper& k = keeper();
  k.entries.clear();
  k.started = false;
  // The condition variable still counts the parent's sleeping keep-alive
  // thread, which does not exist here: signalling it would wait for ever.
  // Fresh ones (the old are abandoned, never destroyed).
  new (&k.changed) std::condition_variable;
  new (&k.mutex) std::mutex;
}

Keeper& keeper() {
  static Keeper* const instance = [] {
    auto* made = new Keeper;
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    return made;
  }();
  return *instance;
}

}  // namespace

void keep_alive(const std::shared_ptr<Lease>& lease) {
  Keeper& k = keeper();
  std::lock_guard<std::mutex> guard(k.mutex);
  const auto period =
      std::chrono::milliseconds(std::max<std::int64_t>(lease->ttl_s * 1000 / 3, 200));
  k.entries.push_back(Entry{lease, Clock::now() + period});
  if (!k.started) {
    std::thread([&k] { k.loop(); }).detach();
    k.started = true;
  }
  k.changed.notify_one();
}

void forget(const std::shared_ptr<Lease>& lease) {
  Keeper& k = keeper();
  std::lock_guard<std::mutex> guard(k.mutex);
  k.entries.erase(std::remove_if(k.entries.begin(), k.entries.end(),
                                 [&](const Entry& e) { return e.lease == lease; }),
                  k.entries.end());
  k.changed.notify_one();
}

}  // namespace polylock::etcd
