// polylock etcd kind — the gRPC transport (built when libgrpc++ and protoc's
// gRPC plugin are found): etcd's own protocol, HTTP/2 straight to etcd's gRPC
// services, with no JSON gateway in between. It serves client.hpp's unary
// calls (same paths, same JSON in and out, converted with protobuf's
// standard proto3 JSON mapping, which the gateway uses too); watches stay on
// the gateway (client.cpp), where lock_interrupt and signals reach them.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "client.hpp"

namespace polylock::etcd::grpc_transport {

struct Channels;  // one gRPC channel per endpoint

// NULL when gRPC cannot serve this process: it was first used by a process
// this one was forked from (gRPC's threads did not survive the fork); the
// caller then uses the gateway.
Channels* open(const std::vector<std::string>& endpoints);
void close(Channels* channels);

// Whether `channels` serve this process (not a fork child of its opener).
bool serves(const Channels& channels);

// As Client::call. `current` is the index of the endpoint that last answered.
Reply call(Channels& channels, const char* path, const Json& request, long budget_ms,
           std::atomic<std::size_t>& current);

}  // namespace polylock::etcd::grpc_transport
