// polylock etcd kind — where an uncontended acquire+release spends its time
// on etcd's side (docs/etcd.md, "Reading them"): the same bare C++ gRPC
// client sends (a) polylock's two txns, (b) concurrency.Mutex's txn and
// delete, (c) one put, and prints the median of each, three times over.
//   bench_etcd_round_trips HOST:PORT [ROUNDS]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "bench_etcd_round_trips: %s failed\n", what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s HOST:PORT [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 300;
  const auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  const auto kv = pb::KV::NewStub(channel);
  const auto lease = pb::Lease::NewStub(channel);
  pb::LeaseGrantRequest grant;
  grant.set_ttl(10);
  pb::LeaseGrantResponse granted;
  {
    grpc::ClientContext context;
    if (!lease->LeaseGrant(&context, grant, &granted).ok()) fail("lease grant");
  }
  const auto txn = [&](const pb::TxnRequest& request, bool must_succeed) {
    grpc::ClientContext context;
    pb::TxnResponse response;
    if (!kv->Txn(&context, request, &response).ok() || (must_succeed && !response.succeeded()))
      fail("txn");
    return response;
  };
  // (a) etcd_lock.cpp's uncontended acquire and release.
  const auto polylock = [&] {
    pb::TxnRequest take;
    pb::Compare* compare = take.add_compare();
    compare->set_key("bench/p/holder");
    compare->set_target(pb::Compare::CREATE);
    compare = take.add_compare();
    compare->set_key("bench/p/q/");
    compare->set_range_end("bench/p/q0");
    compare->set_target(pb::Compare::CREATE);
    pb::PutRequest* put = take.add_success()->mutable_request_put();
    put->set_key("bench/p/q/1");
    put->set_lease(granted.id());
    put = take.add_success()->mutable_request_put();
    put->set_key("bench/p/holder");
    put->set_value("bench/p/q/1");
    const pb::TxnResponse taken = txn(take, true);
    pb::TxnRequest release;
    compare = release.add_compare();
    compare->set_key("bench/p/holder");
    compare->set_target(pb::Compare::MOD);
    compare->set_mod_revision(taken.header().revision());
    release.add_success()->mutable_request_delete_range()->set_key("bench/p/holder");
    release.add_success()->mutable_request_delete_range()->set_key("bench/p/q/1");
    txn(release, true);
  };
  // (b) clientv3/concurrency.Mutex's Lock (tryAcquire) and Unlock.
  const auto mutex = [&] {
    pb::TxnRequest take;
    pb::Compare* compare = take.add_compare();
    compare->set_key("bench/m/1");
    compare->set_target(pb::Compare::CREATE);
    pb::PutRequest* put = take.add_success()->mutable_request_put();
    put->set_key("bench/m/1");
    put->set_lease(granted.id());
    pb::RangeRequest owner;
    owner.set_key("bench/m/");
    owner.set_range_end("bench/m0");
    owner.set_sort_target(pb::RangeRequest::CREATE);
    owner.set_limit(1);
    *take.add_success()->mutable_request_range() = owner;
    take.add_failure()->mutable_request_range()->set_key("bench/m/1");
    *take.add_failure()->mutable_request_range() = owner;
    txn(take, true);
    pb::DeleteRangeRequest erase;
    erase.set_key("bench/m/1");
    grpc::ClientContext context;
    pb::DeleteRangeResponse erased;
    if (!kv->DeleteRange(&context, erase, &erased).ok()) fail("delete");
  };
  // (c) one write: one Raft commit.
  const auto one_put = [&] {
    pb::PutRequest put;
    put.set_key("bench/x");
    grpc::ClientContext context;
    pb::PutResponse response;
    if (!kv->Put(&context, put, &response).ok()) fail("put");
  };
  const auto median_us = [&](auto work) {
    std::vector<double> micros;
    for (int i = 0; i < rounds; ++i) {
      const Clock::time_point start = Clock::now();
      work();
      micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    std::sort(micros.begin(), micros.end());
    return micros[micros.size() / 2];
  };
  for (int pass = 0; pass < 3; ++pass)  // interleaved: the machine may be shared
    std::printf(
        "{\"polylock_txns_us\": %.0f, \"mutex_txn_and_delete_us\": %.0f, \"one_put_us\": %.0f}\n",
        median_us(polylock), median_us(mutex), median_us(one_put));
  return 0;
}
