// polylock etcd kind — see grpc_transport.hpp.
#include "grpc_transport.hpp"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>

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

template <typename Message>
bool from_json(const std::string& text, Message& message) {
  return google::protobuf::util::JsonStringToMessage(text, &message).ok();
}

// The gateway's JSON: proto field names, int64 as strings, no zero values.
template <typename Message>
Reply to_reply(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  Reply reply;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) {
    reply.outcome = Outcome::garbage;
    return reply;
  }
  reply.body = Json::parse(text, nullptr, false);
  reply.outcome = reply.body.is_object() ? Outcome::ok : Outcome::garbage;
  return reply;
}

template <typename Stub, typename Request, typename Response>
Reply unary(Stub& stub,
            grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
            const std::string& text, system_clock::time_point deadline) {
  Request request;
  if (!from_json(text, request)) return Reply{};  // failed: not a request we make
  grpc::ClientContext context;
  context.set_deadline(deadline);
  Response response;
  const grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return from_status(status, deadline);
  return to_reply(response);
}

// LeaseKeepAlive is a stream; one keep-alive is one message each way.
// The gateway's answer wraps it in "result".
Reply keep_alive(pb::Lease::Stub& stub, const std::string& text,
                 system_clock::time_point deadline) {
  pb::LeaseKeepAliveRequest request;
  if (!from_json(text, request)) return Reply{};
  grpc::ClientContext context;
  context.set_deadline(deadline);
  const auto stream = stub.LeaseKeepAlive(&context);
  pb::LeaseKeepAliveResponse response;
  if (stream->Write(request) && stream->Read(&response)) {
    context.TryCancel();  // done: no need to wait for etcd to end the stream
    (void)stream->Finish();
    Reply reply = to_reply(response);
    if (reply.outcome == Outcome::ok) reply.body = Json{{"result", std::move(reply.body)}};
    return reply;
  }
  return from_status(stream->Finish(), deadline);
}

Reply invoke(Endpoint& endpoint, const char* path, const std::string& text,
             system_clock::time_point deadline) {
  if (std::strcmp(path, "/v3/kv/txn") == 0)
    return unary(*endpoint.kv, &pb::KV::Stub::Txn, text, deadline);
  if (std::strcmp(path, "/v3/kv/range") == 0)
    return unary(*endpoint.kv, &pb::KV::Stub::Range, text, deadline);
  if (std::strcmp(path, "/v3/lease/grant") == 0)
    return unary(*endpoint.lease, &pb::Lease::Stub::LeaseGrant, text, deadline);
  if (std::strcmp(path, "/v3/lease/revoke") == 0)
    return unary(*endpoint.lease, &pb::Lease::Stub::LeaseRevoke, text, deadline);
  if (std::strcmp(path, "/v3/lease/timetolive") == 0)
    return unary(*endpoint.lease, &pb::Lease::Stub::LeaseTimeToLive, text, deadline);
  if (std::strcmp(path, "/v3/lease/keepalive") == 0)
    return keep_alive(*endpoint.lease, text, deadline);
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
  const std::string text = request.dump();
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
    reply = invoke(endpoint, path, text, deadline);
    if (reply.outcome == Outcome::ok) current.store(index, std::memory_order_relaxed);
    break;
  }
  return reply;
}

bool serves(const Channels& channels) { return channels.pid == getpid(); }

}  // namespace polylock::etcd::grpc_transport
