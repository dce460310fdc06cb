// polylock etcd kind — the protocol, etcd's own recipe for a mutex
// (clientv3/concurrency.Mutex) with Python's semantics (docs/etcd.md):
//
//   polylock/NAME/q/LEASE-SEQ  one key per acquire, bound to the handle's lease.
//                              The queue is FIFO by create revision: a waiter
//                              watches only its predecessor's key, so each
//                              release wakes one waiter and nobody starves.
//   polylock/NAME/holder       no lease. Exists exactly while the lock is held;
//                              its value is the holder's queue key, so any
//                              opener can release the hold (a binary semaphore,
//                              not a mutex), and its mod revision is the hold's
//                              fencing token: written once per hold, so it
//                              only grows.
//
// acquire: one txn takes a free, unwaited lock (no holder, empty queue) and
//   otherwise puts our queue key. At the front of the queue we claim the hold
//   by writing holder in a txn that checks our key still exists. A holder
//   record whose queue key has gone means its lease expired while it held
//   the lock (a release deletes both in one txn): the claim then returns
//   LOCK_OWNERDEAD.
// release: one txn deletes holder and the holder's queue key, guarded by
//   holder's mod revision.
//
// Every write of an acquire touches only that attempt's own queue key (and
// `holder`, naming that key). A write whose outcome we cannot know (a timeout
// mid-call) is withdrawn: one txn reads `holder` if it names our key (the
// claim happened: the hold is ours) and otherwise deletes our key, so that a
// claim still on its way finds no key and fails. The handle's lease, which
// other holds and waits of the handle rest on, is kept. Only when etcd does
// not answer the withdrawal either (withdraw_patience_ms) is the lease
// retired: no new key goes on it, and it is revoked, taking whatever it
// carries, as soon as no hold of this handle rests on it.
#include "etcd_lock.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>

namespace polylock::etcd {
namespace {

constexpr long first_call_floor_ms = 1000;           // a try (timeout 0) still gets a round trip
constexpr long call_cap_ms = 10000;                  // one call of a wait without deadline
constexpr long cleanup_ms = 1000;                    // revoking a lease we give up
constexpr std::int64_t withdraw_patience_ms = 2000;  // withdrawing a key, retries and all
constexpr long release_ms = 5000;                    // each call of release and locked
constexpr std::int64_t release_patience_ms = 10000;  // release and locked, retries and all
constexpr long watch_slice_ms = 5000;                // look again at least this often

Json put(const std::string& key, const std::string& value, std::int64_t lease) {
  Json request = {{"key", base64(key)}, {"value", base64(value)}};
  if (lease) request["lease"] = std::to_string(lease);
  return {{"request_put", request}};
}

Json erase(const std::string& key) { return {{"request_delete_range", {{"key", base64(key)}}}}; }

Json get(const std::string& key) { return {{"request_range", {{"key", base64(key)}}}}; }

Json compare(const std::string& key, const char* target, std::int64_t revision) {
  const std::string field = std::string(target) == "CREATE" ? "create_revision" : "mod_revision";
  return {{"key", base64(key)},
          {"target", target},
          {"result", "EQUAL"},
          {field, std::to_string(revision)}};
}

std::string range_end(const std::string& prefix) {
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

// The i-th response of a txn, of the given kind ("response_range", ...).
const Json* txn_response(const Json& body, std::size_t i, const char* kind) {
  const auto responses = body.find("responses");
  if (responses == body.end() || !responses->is_array() || responses->size() <= i) return nullptr;
  return object_field((*responses)[i], kind);
}

// The first key-value of a range response, or NULL when it found none.
const Json* first_kv(const Json* range) {
  if (!range) return nullptr;
  const auto kvs = range->find("kvs");
  if (kvs == range->end() || !kvs->is_array() || kvs->empty() || !(*kvs)[0].is_object())
    return nullptr;
  return &(*kvs)[0];
}

std::string kv_string(const Json& kv, const char* field) {
  const auto value = kv.find(field);
  if (value == kv.end() || !value->is_string()) return {};
  return unbase64(value->get<std::string>()).value_or(std::string{});
}

std::int64_t revision_of(const Json& body) {
  const Json* header = object_field(body, "header");
  return header ? int_field(*header, "revision") : 0;
}

bool transient(const Reply& reply) {
  if (reply.outcome == Outcome::timed_out || reply.outcome == Outcome::refused) return true;
  if (reply.outcome != Outcome::rejected) return false;
  const std::int64_t code = int_field(reply.body, "code");
  if (code == 14 || code == 4) return true;  // Unavailable (no leader yet), DeadlineExceeded
  // A request whose deadline (ours, which gRPC passes on) ran out inside etcd
  // is answered with Go's context error as Unknown (2): an unknown outcome.
  const auto error = reply.body.find("error");
  return code == 2 && error != reply.body.end() && error->is_string() &&
         *error == "context deadline exceeded";
}

// LOCK_ESYS with errno telling why.
int failure(const Reply& reply) {
  errno = reply.outcome == Outcome::refused     ? ECONNREFUSED
          : reply.outcome == Outcome::timed_out ? ETIMEDOUT
          : reply.outcome == Outcome::garbage   ? EPROTO
                                                : EIO;
  return LOCK_ESYS;
}

int garbage() {
  errno = EPROTO;
  return LOCK_ESYS;
}

void pause_briefly(const Deadline& deadline) {
  const auto step = std::chrono::milliseconds(100);
  if (deadline.forever || deadline.at - Clock::now() > step)
    std::this_thread::sleep_for(step);
  else
    std::this_thread::sleep_until(deadline.at);
}

}  // namespace

struct EtcdLock::Hold {
  std::shared_ptr<Lease> lease;
  std::string key;
  std::int64_t created = 0;  // our key's create revision; 0 while not queued
  // A dead holder's record, seen by a claim at the front of the queue: its mod
  // revision (0: none seen). The next claim takes over exactly that record.
  std::int64_t dead_record = 0;
  // What the last claim sent answers if it took the lock (LOCK_OWNERDEAD when
  // it took over a dead holder's record): what a withdrawal that finds the
  // claim happened returns.
  int claim_status = LOCK_OK;
};

EtcdLock::EtcdLock(const Name& name)
    : client_(std::make_shared<Client>(name.endpoints)),
      holder_key_("polylock/" + name.lock + "/holder"),
      queue_prefix_("polylock/" + name.lock + "/q/"),
      ttl_s_(name.ttl_s) {}

EtcdLock::~EtcdLock() {
  std::lock_guard<std::mutex> guard(mutex_);
  // A held lock stays held when its handle closes, as a named lock does: the
  // lease lives on with the process (the keeper holds it).
  if (lease_) retired_.push_back(lease_);
  for (const auto& lease : retired_) {
    if (holding_ && held_lease_ == lease) continue;
    forget(lease);
    client_->call("/v3/lease/revoke", Json{{"ID", std::to_string(lease->id)}}, cleanup_ms);
  }
}

int EtcdLock::take_lease(const Deadline& deadline, std::shared_ptr<Lease>& lease) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (lease_ && !lease_->lost.load(std::memory_order_acquire)) {
    lease = lease_;
    return LOCK_OK;
  }
  Reply reply;
  for (;;) {
    reply = client_->call("/v3/lease/grant", Json{{"TTL", ttl_s_}},
                          deadline.budget_ms(first_call_floor_ms, call_cap_ms));
    // Refused by every endpoint: a clear error at once. A lease granted
    // without our hearing of it expires by itself.
    if (reply.outcome == Outcome::ok || reply.outcome == Outcome::refused || !transient(reply))
      break;
    if (deadline.passed()) return LOCK_TIMEOUT;
    pause_briefly(deadline);
  }
  if (reply.outcome != Outcome::ok) return failure(reply);
  auto granted = std::make_shared<Lease>();
  granted->client = client_;
  granted->id = int_field(reply.body, "ID");
  granted->ttl_s = int_field(reply.body, "TTL");
  if (granted->id == 0 || granted->ttl_s <= 0) return garbage();
  keep_alive(granted);
  lease_ = lease = granted;
  return LOCK_OK;
}

void EtcdLock::abandon(const std::shared_ptr<Lease>& lease) {
  forget(lease);
  lease->lost.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (lease_ == lease) lease_.reset();
  }
  // Best effort: revoking deletes its keys now rather than after the TTL.
  client_->call("/v3/lease/revoke", Json{{"ID", std::to_string(lease->id)}}, cleanup_ms);
}

// A lease that may carry a key we lost track of (a write never answered, and
// its withdrawal neither). No new key goes on it; it is revoked, so that what
// it carries goes, once no hold of this handle rests on it (drop_retired).
void EtcdLock::retire(const std::shared_ptr<Lease>& lease) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (lease_ == lease) lease_.reset();
    if (std::find(retired_.begin(), retired_.end(), lease) == retired_.end())
      retired_.push_back(lease);
  }
  drop_retired();
}

// Revokes the retired leases that no hold of this handle rests on.
void EtcdLock::drop_retired() {
  std::vector<std::shared_ptr<Lease>> dropping;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (retired_.empty()) return;
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (holding_ && held_lease_ == *it) {
        ++it;
      } else {
        dropping.push_back(*it);
        it = retired_.erase(it);
      }
    }
  }
  for (const auto& lease : dropping) abandon(lease);
}

// Makes known the outcome of a write of `hold` whose answer never came (see
// the top of this file): claimed, with the hold's token in *revision, when
// `holder` names our key; otherwise our key is deleted (withdrawn). unknown:
// etcd answered none of the attempts within withdraw_patience_ms; the lease
// is then retired.
EtcdLock::Withdrawal EtcdLock::withdraw(Hold& hold, std::int64_t* revision) {
  const Json txn = {{"compare",
                     {{{"key", base64(holder_key_)},
                       {"target", "VALUE"},
                       {"result", "EQUAL"},
                       {"value", base64(hold.key)}}}},
                    {"success", {get(holder_key_)}},
                    {"failure", {erase(hold.key)}}};
  hold.created = 0;
  const Deadline patience = Deadline::after(withdraw_patience_ms * 1000000);
  for (;;) {
    const Reply reply =
        client_->call("/v3/kv/txn", txn, patience.budget_ms(1, withdraw_patience_ms));
    if (reply.outcome == Outcome::ok) {
      if (!reply.body.value("succeeded", false)) return Withdrawal::withdrawn;
      const Json* record = first_kv(txn_response(reply.body, 0, "response_range"));
      *revision = record ? int_field(*record, "mod_revision") : 0;
      if (*revision > 0) return Withdrawal::claimed;
      break;  // not etcd's answer: as if none came
    }
    if (!transient(reply) || patience.passed()) break;
    pause_briefly(patience);
  }
  retire(hold.lease);
  return Withdrawal::unknown;
}

// Puts a new queue key for `hold` (after a lost lease or a disturbance).
int EtcdLock::enqueue(Hold& hold, const Deadline& deadline) {
  hold.dead_record = 0;
  hold.claim_status = LOCK_OK;
  for (;;) {
    if (deadline.passed()) return LOCK_TIMEOUT;
    const int status = take_lease(deadline, hold.lease);
    if (status != LOCK_OK) return status;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      char suffix[48];
      std::snprintf(suffix, sizeof suffix, "%llx-%llx",
                    static_cast<unsigned long long>(hold.lease->id),
                    static_cast<unsigned long long>(++sequence_));
      hold.key = queue_prefix_ + suffix;
    }
    const Json txn = {{"success", {put(hold.key, "", hold.lease->id)}}};
    const Reply reply =
        client_->call("/v3/kv/txn", txn, deadline.budget_ms(first_call_floor_ms, call_cap_ms));
    if (reply.outcome == Outcome::ok) {
      hold.created = revision_of(reply.body);
      return hold.created > 0 ? LOCK_OK : garbage();
    }
    if (reply.outcome == Outcome::rejected && int_field(reply.body, "code") == 5) {
      abandon(hold.lease);  // the lease expired under us: take a new one
      continue;
    }
    if (!transient(reply)) return failure(reply);
    std::int64_t revision = 0;
    withdraw(hold, &revision);  // the put may or may not have happened (it never claims)
    pause_briefly(deadline);
  }
}

// Gives up the wait: deletes our queue key and returns `status` — or the
// hold, when a claim of ours whose answer was lost (a transient rejection)
// had taken it after all.
int EtcdLock::leave(Hold& hold, int status) {
  if (hold.created == 0) return status;
  std::int64_t revision = 0;
  if (withdraw(hold, &revision) == Withdrawal::claimed)
    return held(hold, revision, hold.claim_status);
  return status;
}

int EtcdLock::held(const Hold& hold, std::int64_t revision, int status) {
  if (revision <= 0) return garbage();
  std::lock_guard<std::mutex> guard(mutex_);
  holding_ = true;
  held_key_ = hold.key;
  token_ = revision;
  held_lease_ = hold.lease;
  return status;
}

// The key just ahead of ours in the queue: the greatest create revision
// below `created` (or, with created 0, the last key before a put in the same txn).
Json EtcdLock::key_ahead(std::int64_t created) const {
  Json range = {{"key", base64(queue_prefix_)},
                {"range_end", base64(range_end(queue_prefix_))},
                {"sort_target", "CREATE"},
                {"sort_order", "DESCEND"},
                {"limit", 1}};
  if (created > 0) range["max_create_revision"] = std::to_string(created - 1);
  return {{"request_range", range}};
}

int EtcdLock::acquire(std::int64_t timeout_ns, lock_stop_fn stop, void* context) {
  const Deadline deadline = Deadline::after(timeout_ns);
  std::uint64_t seen = waker_.generation();
  drop_retired();
  Hold hold;
  int status = take_lease(deadline, hold.lease);
  if (status != LOCK_OK) return status;

  // One round trip for a free lock nobody waits for; otherwise (without a
  // stop function to ask first) the same txn queues us and reads the key
  // ahead of ours.
  {
    std::lock_guard<std::mutex> guard(mutex_);
    char suffix[48];
    std::snprintf(suffix, sizeof suffix, "%llx-%llx",
                  static_cast<unsigned long long>(hold.lease->id),
                  static_cast<unsigned long long>(++sequence_));
    hold.key = queue_prefix_ + suffix;
  }
  Json txn = {{"compare",
               {compare(holder_key_, "CREATE", 0),
                {{"key", base64(queue_prefix_)},
                 {"range_end", base64(range_end(queue_prefix_))},
                 {"target", "CREATE"},
                 {"result", "EQUAL"},
                 {"create_revision", "0"}}}},
              {"success", {put(hold.key, "", hold.lease->id), put(holder_key_, hold.key, 0)}},
              {"failure", Json::array()}};
  if (!stop && timeout_ns != 0) {
    txn["failure"].push_back(key_ahead(0));
    txn["failure"].push_back(put(hold.key, "", hold.lease->id));
  }
  const Reply first =
      client_->call("/v3/kv/txn", txn, deadline.budget_ms(first_call_floor_ms, call_cap_ms));
  std::string ahead;            // the key we wait on; empty: look (or claim) first
  std::int64_t watch_from = 0;  // the revision at which it was seen
  if (first.outcome != Outcome::ok) {
    // Nothing was written when nobody took the connection: a clear error.
    if (first.outcome == Outcome::refused) return failure(first);
    const bool lease_gone =
        first.outcome == Outcome::rejected && int_field(first.body, "code") == 5;
    if (!transient(first) && !lease_gone) return failure(first);
    if (lease_gone) {
      abandon(hold.lease);  // nothing was written; a fresh lease
    } else {
      // It may have been written (a timeout, or a leader that changed under
      // it): taken the free lock, or queued us.
      std::int64_t revision = 0;
      if (withdraw(hold, &revision) == Withdrawal::claimed)
        return held(hold, revision, LOCK_OK);
    }
    if (deadline.passed()) return LOCK_TIMEOUT;
    status = enqueue(hold, deadline);
    if (status != LOCK_OK) return status;
  } else if (first.body.value("succeeded", false)) {
    return held(hold, revision_of(first.body), LOCK_OK);
  } else if (timeout_ns == 0) {
    return LOCK_TIMEOUT;  // a try: taken only when free and unwaited
  } else if (stop) {
    // lock.h: asked before the first sleep, out of the queue.
    if (stop(context)) return LOCK_EINTR;
    status = enqueue(hold, deadline);
    if (status != LOCK_OK) return status;
  } else {
    hold.created = revision_of(first.body);
    if (hold.created <= 0 || !txn_response(first.body, 0, "response_range")) return garbage();
    if (const Json* kv = first_kv(txn_response(first.body, 0, "response_range"))) {
      ahead = kv_string(*kv, "key");
      watch_from = hold.created;
      if (ahead.empty()) return leave(hold, garbage());
    }
  }

  for (;;) {
    if (deadline.passed()) return leave(hold, LOCK_TIMEOUT);
    if (hold.lease->lost.load(std::memory_order_acquire)) {
      hold.created = 0;  // our key went with the lease
      ahead.clear();
      status = enqueue(hold, deadline);
      if (status != LOCK_OK) return status;
      continue;
    }
    if (ahead.empty()) {
      // Claim the hold if our key is the oldest in the queue; otherwise read
      // the key ahead of ours. A holder record found by a claim belongs to a
      // holder whose lease expired while it held the lock (a release deletes
      // it with the holder's key, and a live holder's key would be older
      // than ours): LOCK_OWNERDEAD.
      // The claim also names the holder record it replaces (none, or the
      // dead holder's seen by the last look), so that the status it answers
      // is known before it is sent: a withdrawal that finds it happened
      // returns the same.
      hold.claim_status = hold.dead_record ? LOCK_OWNERDEAD : LOCK_OK;
      const Json claim = {{"compare",
                           {compare(hold.key, "CREATE", hold.created),
                            {{"key", base64(queue_prefix_)},
                             {"range_end", base64(range_end(queue_prefix_))},
                             {"target", "CREATE"},
                             {"result", "GREATER"},
                             {"create_revision", std::to_string(hold.created - 1)}},
                            hold.dead_record ? compare(holder_key_, "MOD", hold.dead_record)
                                             : compare(holder_key_, "CREATE", 0)}},
                          {"success", {get(holder_key_), put(holder_key_, hold.key, 0)}},
                          {"failure", {get(hold.key), key_ahead(hold.created), get(holder_key_)}}};
      const Reply answer = client_->call("/v3/kv/txn", claim, deadline.budget_ms(1, call_cap_ms));
      if (answer.outcome == Outcome::ok) {
        const Json* first_range = txn_response(answer.body, 0, "response_range");
        if (!first_range) return leave(hold, garbage());
        if (answer.body.value("succeeded", false)) {
          // A record of our own is a claim of ours whose answer was lost.
          const Json* record = first_kv(first_range);
          const bool dead = record && kv_string(*record, "value") != hold.key;
          return held(hold, revision_of(answer.body), dead ? LOCK_OWNERDEAD : LOCK_OK);
        }
        const Json* ours = first_kv(first_range);
        if (!ours || int_field(*ours, "create_revision") != hold.created) {
          // Our key went: our lease expired while we waited (the put of a new
          // key on it then says so, and a fresh lease is taken).
          hold.created = 0;
          status = enqueue(hold, deadline);
          if (status != LOCK_OK) return status;
          continue;
        }
        const Json* kv = first_kv(txn_response(answer.body, 1, "response_range"));
        if (!kv) {
          // At the front of the queue, yet not claimed: a holder record
          // other than the one the claim named. Ours: a claim of ours whose
          // answer was lost took the lock. Another's: its holder's lease
          // expired while it held the lock (a live holder's key would be
          // ahead of ours); the next claim takes it over, LOCK_OWNERDEAD.
          const Json* record = first_kv(txn_response(answer.body, 2, "response_range"));
          if (record && kv_string(*record, "value") == hold.key)
            return held(hold, int_field(*record, "mod_revision"), hold.claim_status);
          hold.dead_record = record ? int_field(*record, "mod_revision") : 0;
          continue;
        }
        hold.dead_record = 0;
        ahead = kv_string(*kv, "key");
        watch_from = revision_of(answer.body);
        if (ahead.empty()) return leave(hold, garbage());
      } else if (!transient(answer)) {
        return leave(hold, failure(answer));
      } else {
        if (answer.outcome == Outcome::timed_out) {
          // The claim may have happened: find out, deleting our key unless it
          // did (a timed acquire may so return up to withdraw_patience_ms
          // late, with the hold when the claim took it).
          std::int64_t revision = 0;
          if (withdraw(hold, &revision) == Withdrawal::claimed)
            return held(hold, revision, hold.claim_status);
          if (deadline.passed()) return LOCK_TIMEOUT;
          status = enqueue(hold, deadline);
          if (status != LOCK_OK) return status;
        } else {
          pause_briefly(deadline);
        }
        continue;
      }
    }
    // Wait for the key ahead of ours to go (released, given up, or expired).
    const long slice = deadline.forever
                           ? watch_slice_ms
                           : std::min(watch_slice_ms, deadline.budget_ms(1, watch_slice_ms));
    const Outcome watched = client_->watch_delete(ahead, watch_from, slice, &waker_, seen);
    ahead.clear();  // look again, whatever the watch said
    if (watched == Outcome::disturbed) {
      seen = waker_.generation();
      if (!stop) continue;
      // Asked out of the queue, so the stop function may use this very lock
      // (lock.h); going on costs our place.
      std::int64_t revision = 0;
      if (hold.created > 0 && withdraw(hold, &revision) == Withdrawal::claimed)
        return held(hold, revision, hold.claim_status);
      if (stop(context)) return LOCK_EINTR;
      status = enqueue(hold, deadline);
      if (status != LOCK_OK) return status;
    } else if (watched != Outcome::ok && watched != Outcome::timed_out) {
      pause_briefly(deadline);  // etcd cut the watch: look again shortly
    }
  }
}

// A call that retries transient failures (no leader during an election, a
// refused endpoint) until `deadline`. `*unknown` turns true when an attempt
// may have been applied without our hearing of it.
Reply EtcdLock::patient_call(const char* path, const Json& request, const Deadline& deadline,
                             bool* unknown) {
  for (;;) {
    Reply reply = client_->call(path, request, deadline.budget_ms(1, release_ms));
    if (reply.outcome == Outcome::ok || !transient(reply) || deadline.passed()) return reply;
    if (reply.outcome != Outcome::refused) *unknown = true;
    pause_briefly(deadline);
  }
}

// Releases the current hold, whoever took it: deletes holder and the
// holder's queue key, guarded by holder's mod revision.
int EtcdLock::release_holder(const Deadline& deadline) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    bool unknown = false;
    const Reply seen =
        patient_call("/v3/kv/txn", Json{{"success", {get(holder_key_)}}}, deadline, &unknown);
    if (seen.outcome != Outcome::ok) return failure(seen);
    const Json* range = txn_response(seen.body, 0, "response_range");
    if (!range) return garbage();
    const Json* holder = first_kv(range);
    if (!holder) return LOCK_ENOTLOCKED;
    const Json txn = {
        {"compare", {compare(holder_key_, "MOD", int_field(*holder, "mod_revision"))}},
        {"success", {erase(holder_key_), erase(kv_string(*holder, "value"))}}};
    const Reply done = patient_call("/v3/kv/txn", txn, deadline, &unknown);
    if (done.outcome != Outcome::ok) return failure(done);
    // After an attempt we never heard back from, a failed compare most
    // likely means that attempt released it: never release the next hold.
    if (done.body.value("succeeded", false) || unknown) return LOCK_OK;
  }
  errno = EAGAIN;  // the hold changed hands under us sixteen times
  return LOCK_ESYS;
}

int EtcdLock::release() {
  const int status = release_hold();
  drop_retired();  // a retired lease the released hold rested on
  return status;
}

int EtcdLock::release_hold() {
  std::lock_guard<std::mutex> one_at_a_time(releasing_);
  const Deadline deadline = Deadline::after(release_patience_ms * 1000000);
  std::string key;
  std::int64_t token = 0;
  std::shared_ptr<Lease> lease;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (holding_) key = held_key_, token = token_, lease = held_lease_;
  }
  if (lease) {
    const Json txn = {{"compare", {compare(holder_key_, "MOD", token)}},
                      {"success", {erase(holder_key_), erase(key)}}};
    bool unknown = false;
    const Reply done = patient_call("/v3/kv/txn", txn, deadline, &unknown);
    if (done.outcome != Outcome::ok)
      return failure(done);  // maybe still ours: the caller may retry
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (holding_ && token_ == token) holding_ = false, held_lease_.reset();
    }
    if (done.body.value("succeeded", false) || unknown) return LOCK_OK;
    // Our hold is gone. If our lease expired, the lock may now be another's,
    // taken with LOCK_OWNERDEAD: a stale holder must not release that. (Ask
    // etcd: after a pause the keep-alive thread may not have noticed yet.)
    if (lease->lost.load(std::memory_order_acquire)) return LOCK_ENOTLOCKED;
    const Reply alive = patient_call("/v3/lease/timetolive",
                                     Json{{"ID", std::to_string(lease->id)}}, deadline, &unknown);
    if (alive.outcome != Outcome::ok) return failure(alive);
    if (int_field(alive.body, "TTL") <= 0) {
      lease->lost.store(true, std::memory_order_release);
      return LOCK_ENOTLOCKED;
    }
  }
  return release_holder(deadline);
}

int EtcdLock::locked() {
  const Json range = {{"key", base64(holder_key_)}, {"count_only", true}};
  bool unknown = false;
  const Reply reply =
      patient_call("/v3/kv/range", range, Deadline::after(release_patience_ms * 1000000), &unknown);
  if (reply.outcome != Outcome::ok) return failure(reply);
  return int_field(reply.body, "count") > 0 ? 1 : 0;
}

int EtcdLock::fence(std::uint64_t* token) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!holding_) return LOCK_ENOTLOCKED;
  *token = static_cast<std::uint64_t>(token_);
  return LOCK_OK;
}

}  // namespace polylock::etcd
