// polylock etcd kind — the talk with etcd, each call bounded by the caller's
// deadline. Requests and answers are etcd's v3 API in the JSON of its gateway
// (/v3/kv/txn, /v3/lease/grant, ...). Unary calls go over gRPC straight to
// etcd where the library was built with gRPC (grpc_transport.hpp), and to
// the JSON gateway through libcurl otherwise; watches always go to the
// gateway through libcurl, where lock_interrupt and signals wake them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace polylock::etcd {

namespace grpc_transport {
struct Channels;
}

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// When the caller stops waiting; `forever` for LOCK_WAIT_FOREVER.
struct Deadline {
  Clock::time_point at;
  bool forever = false;

  static Deadline after(std::int64_t timeout_ns);
  bool passed() const { return !forever && Clock::now() >= at; }
  // Milliseconds left, clamped to [floor_ms, cap_ms] (cap_ms for forever).
  long budget_ms(long floor_ms, long cap_ms) const;
};

// Wakes the waits of one handle (lock_interrupt). A wait registers the curl
// multi handle it polls; `disturb` bumps the generation and wakes them all.
class Waker {
 public:
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void disturb();
  void enter(void* multi);
  void leave(void* multi);

 private:
  std::atomic<std::uint64_t> generation_{0};
  std::mutex mutex_;
  std::vector<void*> waiting_;
};

enum class Outcome {
  ok,         // etcd answered 200 with a JSON object (in `body`)
  refused,    // no endpoint accepted a connection (errno-like: ECONNREFUSED)
  timed_out,  // the deadline (or the call's own bound) passed first
  disturbed,  // lock_interrupt, or a signal handler ran on this thread
  rejected,   // etcd answered an error (`body` holds its {"error","code"})
  garbage,    // the answer was not the JSON etcd sends
  failed,     // any other transport failure (DNS, reset, TLS, ...)
};

struct Reply {
  Outcome outcome = Outcome::failed;
  Json body;
};

// One cluster's endpoints ("http://host:port" or "https://host:port"), with
// a pool of connections.
class Client {
 public:
  explicit Client(std::vector<std::string> endpoints);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POSTs `request` to `path` (e.g. "/v3/kv/txn"), within `budget_ms`.
  // Endpoints that refuse the connection are skipped for the next.
  Reply call(const char* path, const Json& request, long budget_ms, Waker* waker = nullptr);

  // Watches `key`, which existed at revision `seen_at`, for its deletion,
  // for at most `budget_ms`. ok: it was deleted, or etcd ended the watch (the
  // caller looks again either way); timed_out; disturbed: the waker's
  // generation moved on from `seen`, or a signal handler ran on this thread
  // (poll(2) cut short).
  Outcome watch_delete(const std::string& key, std::int64_t seen_at, long budget_ms, Waker* waker,
                       std::uint64_t seen);

 private:
  struct Channel;
  struct Watch {
    const std::string& key;
    std::int64_t seen_at;
    bool checked;
  };
  Channel* take();
  void give_back(Channel* channel, bool reusable);
  Outcome run(Channel* channel, const std::string& url, const std::string& body, long budget_ms,
              Waker* waker, std::uint64_t seen, long* http_status, Watch* watch = nullptr);

  std::vector<std::string> endpoints_;
  grpc_transport::Channels* grpc_ = nullptr;  // NULL: unary calls go to the gateway too
  std::atomic<std::size_t> current_{0};  // the endpoint that last answered
  std::mutex pool_mutex_;
  std::vector<Channel*> pool_;
};

// JSON helpers: etcd's gateway writes int64 as strings, and leaves out
// fields at their zero value.
std::string base64(const std::string& bytes);
std::optional<std::string> unbase64(const std::string& text);
std::int64_t int_field(const Json& object, const char* name);    // 0 when absent or bad
const Json* object_field(const Json& object, const char* name);  // NULL unless an object

}  // namespace polylock::etcd
