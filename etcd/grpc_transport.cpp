// polylock etcd kind — see grpc_transport.hpp.
#include "grpc_transport.hpp"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace polylock::etcd::grpc_transport {
namespace {

namespace pb = etcdserverpb;
using std::chrono::system_clock;

// The process that first used gRPC here; 0 while none has. gRPC's threads
// do not survive fork(), so a child of that process uses the gateway.
std::atomic<pid_t> owner{0};

bool ours() {
  const pid_t self = getpid();
  pid_t expected = 0;
  return owner.compare_exchange_strong(expected, self) || expected == self;
}

struct Endpoint {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
};

enum class Connected { ready, refused, timed_out };

// Waits for the channel to be connected, so that a failure after this point
// is known to be one of a request that may have been sent (Outcome::rejected
// with code 14, which the lock treats as an unknown outcome), and one before
// it one of a request that was not (Outcome::refused: the next endpoint may
// serve). A channel fails (TRANSIENT_FAILURE) when the TCP connection is
// refused or the HTTP/2 or TLS handshake fails.
Connected connect(grpc::Channel& channel, system_clock::time_point deadline) {
  grpc_connectivity_state state = channel.GetState(true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN)
      return Connected::refused;
    if (!channel.WaitForStateChange(state, deadline)) return Connected::timed_out;
    state = channel.GetState(true);
  }
  return Connected::ready;
}

Reply from_status(const grpc::Status& status, system_clock::time_point deadline) {
  Reply reply;
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      // Ours (the call's budget) or etcd's ("request timed out"): either
      // way the request may have been applied.
      reply.outcome = system_clock::now() >= deadline ? Outcome::timed_out : Outcome::rejected;
      break;
    case grpc::StatusCode::INTERNAL:       // a frame or message that did not parse
    case grpc::StatusCode::UNIMPLEMENTED:  // a gRPC server, but not etcd
    case grpc::StatusCode::DATA_LOSS:
      reply.outcome = Outcome::garbage;
      break;
    case grpc::StatusCode::CANCELLED:
      reply.outcome = Outcome::failed;
      break;
    default:
      reply.outcome = Outcome::rejected;  // etcd's own errors: NotFound, Unavailable, ...
  }
  // The shape etcd's gateway gives its errors.
  reply.body = Json{{"code", static_cast<int>(status.error_code())},
                    {"error", status.error_message()}};
  return reply;
}

// The JSON of client.hpp to etcd's messages and back, field by field for
// the fields the lock uses (protobuf's generic JSON mapping costs some 45 µs
// a call, a tenth of a round trip). Requests carry bytes in base64 and int64
// as strings or numbers, as the gateway takes them; answers give int64 as
// numbers, which int_field reads as well. A request with a field not mapped
// here is refused (Outcome::failed): it is a request this file must learn.

bool only(const Json& object, std::initializer_list<const char*> fields) {
  if (!object.is_object()) return false;
  for (const auto& item : object.items()) {
    bool known = false;
    for (const char* field : fields) known = known || item.key() == field;
    if (!known) return false;
  }
  return true;
}

bool bytes(const Json& object, const char* field, std::string* out) {
  const auto value = object.find(field);
  if (value == object.end()) return true;
  if (!value->is_string()) return false;
  std::optional<std::string> decoded = unbase64(value->get_ref<const std::string&>());
  if (!decoded) return false;
  *out = std::move(*decoded);
  return true;
}

std::string text_of(const Json& object, const char* field) {
  const auto value = object.find(field);
  return value != object.end() && value->is_string() ? value->get<std::string>() : std::string{};
}

bool parse(const Json& json, pb::RangeRequest& request) {
  if (!only(json, {"key", "range_end", "sort_target", "sort_order", "limit", "max_create_revision",
                   "count_only"}))
    return false;
  if (!bytes(json, "key", request.mutable_key()) ||
      !bytes(json, "range_end", request.mutable_range_end()))
    return false;
  if (json.contains("sort_target")) {
    pb::RangeRequest_SortTarget target = pb::RangeRequest::KEY;
    if (!pb::RangeRequest_SortTarget_Parse(text_of(json, "sort_target"), &target)) return false;
    request.set_sort_target(target);
  }
  if (json.contains("sort_order")) {
    pb::RangeRequest_SortOrder order = pb::RangeRequest::NONE;
    if (!pb::RangeRequest_SortOrder_Parse(text_of(json, "sort_order"), &order)) return false;
    request.set_sort_order(order);
  }
  request.set_limit(int_field(json, "limit"));
  request.set_max_create_revision(int_field(json, "max_create_revision"));
  request.set_count_only(json.value("count_only", false));
  return true;
}

bool parse(const Json& json, pb::PutRequest& request) {
  return only(json, {"key", "value", "lease"}) && bytes(json, "key", request.mutable_key()) &&
         bytes(json, "value", request.mutable_value()) &&
         (request.set_lease(int_field(json, "lease")), true);
}

bool parse(const Json& json, pb::DeleteRangeRequest& request) {
  return only(json, {"key", "range_end"}) && bytes(json, "key", request.mutable_key()) &&
         bytes(json, "range_end", request.mutable_range_end());
}

bool parse(const Json& json, pb::Compare& compare) {
  if (!only(json,
            {"key", "range_end", "target", "result", "create_revision", "mod_revision", "value"}))
    return false;
  pb::Compare_CompareTarget target = pb::Compare::VERSION;
  pb::Compare_CompareResult result = pb::Compare::EQUAL;
  if (!pb::Compare_CompareTarget_Parse(text_of(json, "target"), &target) ||
      !pb::Compare_CompareResult_Parse(text_of(json, "result"), &result))
    return false;
  compare.set_target(target);
  compare.set_result(result);
  if (target == pb::Compare::CREATE)
    compare.set_create_revision(int_field(json, "create_revision"));
  else if (target == pb::Compare::MOD)
    compare.set_mod_revision(int_field(json, "mod_revision"));
  else if (target == pb::Compare::VALUE)
    return bytes(json, "value", compare.mutable_value()) &&
           bytes(json, "key", compare.mutable_key()) &&
           bytes(json, "range_end", compare.mutable_range_end());
  else
    return false;
  return bytes(json, "key", compare.mutable_key()) &&
         bytes(json, "range_end", compare.mutable_range_end());
}

bool parse_ops(const Json& json, const char* field,
               google::protobuf::RepeatedPtrField<pb::RequestOp>* ops) {
  const auto list = json.find(field);
  if (list == json.end()) return true;
  if (!list->is_array()) return false;
  for (const Json& item : *list) {
    pb::RequestOp* op = ops->Add();
    if (!item.is_object() || item.size() != 1) return false;
    const auto first = item.begin();  // the one member: its name is the op's kind
    const std::string& kind = first.key();
    const Json& body = first.value();
    const bool ok = kind == "request_range"          ? parse(body, *op->mutable_request_range())
                    : kind == "request_put"          ? parse(body, *op->mutable_request_put())
                    : kind == "request_delete_range" ? parse(body, *op->mutable_request_delete_range())
                                                     : false;
    if (!ok) return false;
  }
  return true;
}

bool parse(const Json& json, pb::TxnRequest& request) {
  if (!only(json, {"compare", "success", "failure"})) return false;
  if (const auto list = json.find("compare"); list != json.end()) {
    if (!list->is_array()) return false;
    for (const Json& item : *list)
      if (!parse(item, *request.add_compare())) return false;
  }
  return parse_ops(json, "success", request.mutable_success()) &&
         parse_ops(json, "failure", request.mutable_failure());
}

bool parse(const Json& json, pb::LeaseGrantRequest& request) {
  request.set_ttl(int_field(json, "TTL"));
  return only(json, {"TTL"});
}

bool parse(const Json& json, pb::LeaseRevokeRequest& request) {
  request.set_id(int_field(json, "ID"));
  return only(json, {"ID"});
}

bool parse(const Json& json, pb::LeaseTimeToLiveRequest& request) {
  request.set_id(int_field(json, "ID"));
  return only(json, {"ID"});
}

bool parse(const Json& json, pb::LeaseKeepAliveRequest& request) {
  request.set_id(int_field(json, "ID"));
  return only(json, {"ID"});
}

Json header(const pb::ResponseHeader& header) {
  return {{"cluster_id", header.cluster_id()}, {"member_id", header.member_id()},
          {"revision", header.revision()},     {"raft_term", header.raft_term()}};
}

Json to_json(const pb::RangeResponse& response) {
  Json kvs = Json::array();
  for (const mvccpb::KeyValue& kv : response.kvs())
    kvs.push_back({{"key", base64(kv.key())},
                   {"create_revision", kv.create_revision()},
                   {"mod_revision", kv.mod_revision()},
                   {"version", kv.version()},
                   {"value", base64(kv.value())},
                   {"lease", kv.lease()}});
  return {{"header", header(response.header())},
          {"kvs", std::move(kvs)},
          {"more", response.more()},
          {"count", response.count()}};
}

Json to_json(const pb::TxnResponse& response) {
  Json ops = Json::array();
  for (const pb::ResponseOp& op : response.responses()) {
    if (op.has_response_range())
      ops.push_back({{"response_range", to_json(op.response_range())}});
    else if (op.has_response_put())
      ops.push_back({{"response_put", {{"header", header(op.response_put().header())}}}});
    else if (op.has_response_delete_range())
      ops.push_back({{"response_delete_range",
                      {{"header", header(op.response_delete_range().header())},
                       {"deleted", op.response_delete_range().deleted()}}}});
    else
      ops.push_back(Json::object());  // a kind the lock never asks for
  }
  return {{"header", header(response.header())},
          {"succeeded", response.succeeded()},
          {"responses", std::move(ops)}};
}

Json to_json(const pb::LeaseGrantResponse& response) {
  return {{"header", header(response.header())},
          {"ID", response.id()},
          {"TTL", response.ttl()},
          {"error", response.error()}};
}

Json to_json(const pb::LeaseRevokeResponse& response) {
  return {{"header", header(response.header())}};
}

Json to_json(const pb::LeaseTimeToLiveResponse& response) {
  return {{"header", header(response.header())},
          {"ID", response.id()},
          {"TTL", response.ttl()},
          {"grantedTTL", response.grantedttl()}};
}

// The gateway's answer to a keep-alive wraps it in "result".
Json to_json(const pb::LeaseKeepAliveResponse& response) {
  return {{"result",
           {{"header", header(response.header())}, {"ID", response.id()}, {"TTL", response.ttl()}}}};
}

template <typename Message>
Reply to_reply(const Message& message) {
  Reply reply;
  reply.outcome = Outcome::ok;
  reply.body = to_json(message);
  return reply;
}

template <typename Stub, typename Request, typename Response>
Reply unary(Stub& stub,
            grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
            const Json& json, system_clock::time_point deadline) {
  Request request;
  if (!parse(json, request)) return Reply{};  // failed: not a request this file knows
  grpc::ClientContext context;
  context.set_deadline(deadline);
  Response response;
  const grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return from_status(status, deadline);
  return to_reply(response);
}

// LeaseKeepAlive is a stream; one keep-alive is one message each way.
Reply keep_alive(pb::Lease::Stub& stub, const Json& json, system_clock::time_point deadline) {
  pb::LeaseKeepAliveRequest request;
  if (!parse(json, request)) return Reply{};
  grpc::ClientContext context;
  context.set_deadline(deadline);
  const auto stream = stub.LeaseKeepAlive(&context);
  pb::LeaseKeepAliveResponse response;
  if (stream->Write(request) && stream->Read(&response)) {
    context.TryCancel();  // done: no need to wait for etcd to end the stream
    (void)stream->Finish();
    return to_reply(response);
  }
  return from_status(stream->Finish(), deadline);
}

Reply invoke(Endpoint& endpoint, const char* path, const Json& json,
             system_clock::time_point deadline) {
  if (std::strcmp(path, "/v3/kv/txn") == 0)
    return unary(*endpoint.kv, &pb::KV::Stub::Txn, json, deadline);
  if (std::strcmp(path, "/v3/kv/range") == 0)
    return unary(*endpoint.kv, &pb::KV::Stub::Range, json, deadline);
  if (std::strcmp(path, "/v3/lease/grant") == 0)
    return unary(*endpoint.lease, &pb::Lease::Stub::LeaseGrant, json, deadline);
  if (std::strcmp(path, "/v3/lease/revoke") == 0)
    return unary(*endpoint.lease, &pb::Lease::Stub::LeaseRevoke, json, deadline);
  if (std::strcmp(path, "/v3/lease/timetolive") == 0)
    return unary(*endpoint.lease, &pb::Lease::Stub::LeaseTimeToLive, json, deadline);
  if (std::strcmp(path, "/v3/lease/keepalive") == 0)
    return keep_alive(*endpoint.lease, json, deadline);
  return Reply{};  // failed: a path this transport does not serve
}

}  // namespace

struct Channels {
  pid_t pid;
  std::vector<Endpoint> endpoints;
};

Channels* open(const std::vector<std::string>& endpoints) {
  if (!ours()) return nullptr;
  auto* channels = new Channels{getpid(), {}};
  for (const std::string& url : endpoints) {
    const bool tls = url.compare(0, 8, "https://") == 0;
    const std::string target = url.substr(url.find("://") + 3);
    grpc::ChannelArguments arguments;
    // Reconnect soon after an endpoint comes back (gRPC's default backoff
    // grows to 120 s): a member restarted after a fault serves again
    // within a second.
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC uses it as the time a
    // connection gets for its handshake, 20 s by default; the call's own
    // deadline bounds that wait.)
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // A connection of the handle's own (as each handle had its own pool of
    // HTTP connections): one handle's failed endpoint, waiting out its
    // backoff, is not another's.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    Endpoint endpoint;
    endpoint.channel = grpc::CreateCustomChannel(
        target,
        tls ? grpc::SslCredentials(grpc::SslCredentialsOptions{})
            : grpc::InsecureChannelCredentials(),
        arguments);
    endpoint.kv = pb::KV::NewStub(endpoint.channel);
    endpoint.lease = pb::Lease::NewStub(endpoint.channel);
    channels->endpoints.push_back(std::move(endpoint));
  }
  return channels;
}

void close(Channels* channels) {
  // In a fork child, gRPC's objects are the parent's: left alone.
  if (channels && channels->pid == getpid()) delete channels;
}

Reply call(Channels& channels, const char* path, const Json& request, long budget_ms,
           std::atomic<std::size_t>& current) {
  const system_clock::time_point deadline =
      system_clock::now() + std::chrono::milliseconds(budget_ms);
  const std::size_t count = channels.endpoints.size();
  const std::size_t first = current.load(std::memory_order_relaxed);
  Reply reply;
  reply.outcome = Outcome::refused;
  for (std::size_t tried = 0; tried < count; ++tried) {
    const std::size_t index = (first + tried) % count;
    Endpoint& endpoint = channels.endpoints[index];
    const Connected connected = connect(*endpoint.channel, deadline);
    if (connected == Connected::refused) continue;  // nothing was sent: the next may serve
    if (connected == Connected::timed_out) {
      reply.outcome = Outcome::timed_out;
      break;
    }
    reply = invoke(endpoint, path, request, deadline);
    if (reply.outcome == Outcome::ok) current.store(index, std::memory_order_relaxed);
    break;
  }
  return reply;
}

bool serves(const Channels& channels) { return channels.pid == getpid(); }

}  // namespace polylock::etcd::grpc_transport
