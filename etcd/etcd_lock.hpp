// polylock etcd kind — one handle on a lock held in an etcd cluster: the
// protocol (the comment at the top of etcd_lock.cpp) over client.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client.hpp"
#include "keeper.hpp"
#include "name.hpp"
#include "polylock/lock.h"

namespace polylock::etcd {

class EtcdLock {
 public:
  explicit EtcdLock(const Name& name);
  ~EtcdLock();

  int acquire(std::int64_t timeout_ns, lock_stop_fn stop, void* context);
  int release();
  int locked();
  int fence(std::uint64_t* token);
  void interrupt() { waker_.disturb(); }

 private:
  struct Hold;  // one acquire's place in the queue
  enum class Withdrawal { claimed, withdrawn, unknown };
  int take_lease(const Deadline& deadline, std::shared_ptr<Lease>& lease);
  void abandon(const std::shared_ptr<Lease>& lease);
  void retire(const std::shared_ptr<Lease>& lease);
  void drop_retired();
  Withdrawal withdraw(Hold& hold, std::int64_t* revision);
  int release_hold();
  int enqueue(Hold& hold, const Deadline& deadline);
  Json key_ahead(std::int64_t created) const;
  int leave(Hold& hold, int status);
  int held(const Hold& hold, std::int64_t revision, int status);
  int release_holder(const Deadline& deadline);
  Reply patient_call(const char* path, const Json& request, const Deadline& deadline,
                     bool* unknown);

  std::shared_ptr<Client> client_;
  std::string holder_key_;    // "polylock/NAME/holder": the queue key of the current hold
  std::string queue_prefix_;  // "polylock/NAME/q/": one key per acquire, with its lease
  std::int64_t ttl_s_;
  Waker waker_;

  std::mutex mutex_;  // guards what follows
  std::shared_ptr<Lease> lease_;
  std::uint64_t sequence_ = 0;
  bool holding_ = false;  // this handle took the current hold
  std::string held_key_;
  std::int64_t token_ = 0;
  std::shared_ptr<Lease> held_lease_;
  std::vector<std::shared_ptr<Lease>> retired_;  // see EtcdLock::retire

  std::mutex releasing_;  // one release at a time through this handle
};

}  // namespace polylock::etcd
