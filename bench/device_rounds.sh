#!/bin/sh
# One shot of polylock_rounds on a bigger machine (the device machine: 16
# cores, no Google Benchmark, nothing to fetch), for issue 16's 2-16 thread
# record. Builds the library and polylock_rounds alone, runs 40 rounds of
# 2, 4, 8 and 16 threads x 0, 50, 1000 ns inside, the four locks and a second
# std::mutex as a control (its spread is the run's noise floor), at 120 ms
# windows after 30 ms of warm-up and a 10 ms probe of the CPUs' speeds each
# (not counted; 30 ms, not polylock_rounds' default 300, for the device's
# short time): about 6.5 minutes of measuring, 8 in all. Leaves in $OUT (default
# ./out):
#   rounds-device.json   every sample (bench/rounds_report.py reads it)
#   rounds-device.md     the rendered section, to paste into docs/benchmarks.md
#   rounds-device.log    the build and run log, with uptime before and after
#
# Usage, from the repository root:
#   [OUT=dir] [ROUNDS=40] [WINDOW_MS=120] [WARMUP_MS=30] [PROBE_MS=10] [CMAKE_ARGS=...] \
#     sh bench/device_rounds.sh
set -eu
out=${OUT:-out}
rounds=${ROUNDS:-40}
window_ms=${WINDOW_MS:-120}
warmup_ms=${WARMUP_MS:-30}
probe_ms=${PROBE_MS:-10}
build=${BUILD_DIR:-build-device-rounds}
mkdir -p "$out"
log="$out/rounds-device.log"

{
  echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, $(uname -r)"
  grep -m1 'model name' /proc/cpuinfo || true
  git rev-parse HEAD 2>/dev/null || true
  # BENCH=AUTO: without Google Benchmark the other benchmarks are skipped,
  # and polylock_rounds, which needs none, is still defined.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLYLOCK_BUILD_PYTHON=OFF -DPOLYLOCK_BUILD_JAVA=OFF -DPOLYLOCK_BUILD_CSHARP=OFF \
    -DPOLYLOCK_BUILD_TESTS=OFF -DPOLYLOCK_BUILD_EXAMPLES=OFF -DPOLYLOCK_BUILD_BENCH=AUTO \
    ${CMAKE_ARGS:-}
  cmake --build "$build" --target polylock_rounds
  echo "== before: $(uptime)"
} >"$log" 2>&1 || { tail -30 "$log"; exit 1; }

command="$build/bench/polylock_rounds --rounds=$rounds --window_ms=$window_ms --warmup_ms=$warmup_ms --probe_ms=$probe_ms --threads=2,4,8,16 --inside_ns=0,50,1000 --control --out=$out/rounds-device.json"
$command 2>>"$log" || { tail -30 "$log"; exit 1; }
echo "== after: $(uptime)" >>"$log"

python3 bench/rounds_report.py --results "$out/rounds-device.json" \
  --markdown "$out/rounds-device.md" --command "bench/device_rounds.sh ($command)" \
  --note "device machine, $(nproc) CPUs; nothing else of ours running"
tail -3 "$log"
