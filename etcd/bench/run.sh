#!/usr/bin/env bash
# polylock's etcd kind against etcd's own recipe (clientv3/concurrency.Mutex),
# same work, same single-member etcd on loopback (docs/etcd.md, "Numbers").
#   etcd/bench/run.sh BUILD_DIR [ROUNDS] [SECONDS]
# BUILD_DIR holds etcd/bench_etcd and etcd/libpolylock-etcd.so.1 (a build with
# POLYLOCK_BUILD_BENCH=ON). The Go side is built offline, in GOPATH mode, from
# Debian's golang-go and golang-etcd-server-dev (sources in /usr/share/gocode).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd) rounds=${2:-500} seconds=${3:-5}
work=$(mktemp -d)
trap '"$here/../../tests/etcd/etcd_fixture.sh" stop "$work/etcd"; rm -rf "$work"' EXIT
command -v go >/dev/null || { echo "needs go: apt-get install golang-go golang-etcd-server-dev" >&2; exit 1; }
cp "$here/mutex_bench.go" "$work/"
(cd "$work" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" GOFLAGS= \
  go build -o mutex_bench mutex_bench.go)
"$here/../../tests/etcd/etcd_fixture.sh" start "$work/etcd" 1 >&2
endpoints=$(cat "$work/etcd/endpoints")
export LD_LIBRARY_PATH="$build/etcd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for _ in 1 2 3; do  # interleaved, three times each: the machine may be shared
  "$build/etcd/bench_etcd" "$endpoints" uncontended "$rounds"
  "$work/mutex_bench" "$endpoints" uncontended "$rounds"
  "$build/etcd/bench_etcd" "$endpoints" contended 4 "$seconds"
  "$work/mutex_bench" "$endpoints" contended 4 "$seconds"
done
