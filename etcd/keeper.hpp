// polylock etcd kind — one thread per process keeps the leases of its open
// etcd locks alive (etcd's lease keep-alive), started with the first lease.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "client.hpp"

namespace polylock::etcd {

// One lease of one handle. `lost` turns true when etcd says the lease is gone
// (it expired: this process was paused or cut off for longer than its TTL).
struct Lease {
  std::shared_ptr<Client> client;
  std::int64_t id = 0;
  std::int64_t ttl_s = 0;
  std::atomic<bool> lost{false};
};

// Keeps `lease` alive, a keep-alive every third of its TTL, until forget().
void keep_alive(const std::shared_ptr<Lease>& lease);
void forget(const std::shared_ptr<Lease>& lease);

}  // namespace polylock::etcd
