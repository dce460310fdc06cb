#!/usr/bin/env bash
# The etcd the etcd tests talk to (CTest fixture): loopback only, random free
# ports, data on tmpfs when there is one, every wait bounded.
#   etcd_fixture.sh start DIR [NODES]  starts NODES members (1 or 3); writes
#                                      DIR/endpoints ("127.0.0.1:PORT,...") and
#                                      DIR/nN.pid, DIR/nN.port for each member
#   etcd_fixture.sh stop DIR           stops them and removes their data
set -euo pipefail
command=$1 dir=$2 nodes=${3:-1}

stop() {
  for pidfile in "$dir"/n*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
  [ -e "$dir/data" ] && rm -rf "$(cat "$dir/data")"
  rm -f "$dir/data"
}

# Starts the members once; false when one is not healthy within 30 s (a port
# taken by someone else between our choosing it and etcd's binding it).
start_once() {
  data=$(mktemp -d "$([ -d /dev/shm ] && echo /dev/shm || echo /tmp)/polylock-etcd.XXXXXX")
  echo "$data" >"$dir/data"
  # Free ports, two per member (client, peer), found by binding port 0.
  read -r -a ports <<<"$(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(2 * int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$nodes")"
  cluster="" endpoints=""
  for ((i = 0; i < nodes; i++)); do
    cluster+="${cluster:+,}n$i=http://127.0.0.1:${ports[2 * i + 1]}"
    endpoints+="${endpoints:+,}127.0.0.1:${ports[2 * i]}"
  done
  for ((i = 0; i < nodes; i++)); do
    client=${ports[2 * i]} peer=${ports[2 * i + 1]}
    echo "$client" >"$dir/n$i.port"
    setsid etcd --name "n$i" --data-dir "$data/n$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "polylock-$$" \
      --log-level warn >"$dir/n$i.log" 2>&1 </dev/null &
    echo $! >"$dir/n$i.pid"
  done
  echo "$endpoints" >"$dir/endpoints"
  for ((i = 0; i < nodes; i++)); do
    port=$(cat "$dir/n$i.port")
    for attempt in $(seq 150); do
      curl -s -m 1 "http://127.0.0.1:$port/health" | grep -q '"health":"true"' && break
      if [ "$attempt" = 150 ]; then
        echo "etcd member n$i did not become healthy in 30 s:" >&2
        cat "$dir/n$i.log" >&2
        stop
        return 1
      fi
      sleep 0.2
    done
  done
  echo "etcd up: $endpoints"
}

case $command in
start)
  command -v etcd >/dev/null || { echo "etcd not found: apt-get install etcd-server" >&2; exit 1; }
  mkdir -p "$dir"
  stop
  for try in 1 2 3; do
    start_once && exit 0
    [ "$try" = 3 ] || echo "== starting etcd again (try $((try + 1)) of 3)" >&2
  done
  exit 1
  ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR [NODES]" >&2; exit 2 ;;
esac
