#!/usr/bin/python3
"""Sweeps one tuning constant of core/lock.cpp and measures each value.

For every value, builds a private libpolylock.so.1 from a copy of the sources
with the constant replaced, links the benchmark binary against it and runs the
chosen benchmarks. Nothing in the source tree changes. The medians go to a
JSON file that report.py turns into the evidence table of docs/benchmarks.md.

  bench/sweep.py --build-dir build-bench --constant spin_limit --values 0,50,100,200 \
      --filter 'contended/.*inside_ns:(0|50)/|fairness|ping_pong' --repetitions 3
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_SOURCES = ["main.cpp", "work.cpp", "uncontended.cpp", "contended.cpp", "fairness.cpp",
                 "ping_pong.cpp", "timeout.cpp"]


def run(command, **kwargs):
    print("+", " ".join(command), file=sys.stderr)
    return subprocess.run(command, check=True, **kwargs)


def build_bench(directory):
    """The benchmark binary, once: each variant gets a copy beside its library."""
    os.makedirs(directory, exist_ok=True)
    binary = os.path.join(directory, "polylock_bench")
    run(["g++", "-std=c++17", "-O2", "-g", "-pthread", "-I" + os.path.join(ROOT, "capi", "include"),
         *[os.path.join(HERE, name) for name in BENCH_SOURCES], "-L" + directory,
         "-l:libpolylock.so.1", "-Wl,-rpath,$ORIGIN", "-lbenchmark", "-o", binary])
    return binary


def build_variant(directory, source_path, constant, value, bench_binary):
    os.makedirs(directory, exist_ok=True)
    with open(source_path) as source:
        text = source.read()
    pattern = r"(constexpr\s+[\w:]+\s+%s\s*=\s*)[^;]+;" % re.escape(constant)
    text, replaced = re.subn(pattern, r"\g<1>%s;" % value, text)
    if replaced != 1:
        sys.exit("sweep: no single 'constexpr ... %s = ...;' in %s" % (constant, source_path))
    with open(os.path.join(directory, "lock.cpp"), "w") as patched:
        patched.write(text)
    include = ["-I" + os.path.join(ROOT, "core"), "-I" + os.path.join(ROOT, "capi", "include")]
    flags = ["-std=c++17", "-O2", "-g", "-pthread"]
    library = os.path.join(directory, "libpolylock.so.1")
    run(["g++", *flags, *include, "-fPIC", "-shared", "-fvisibility=hidden", "-fno-exceptions",
         "-fno-rtti", "-DPOLYLOCK_BUILDING", "-Wl,-soname,libpolylock.so.1",
         "-Wl,--version-script=" + os.path.join(ROOT, "capi", "libpolylock.map"),
         os.path.join(directory, "lock.cpp"), os.path.join(ROOT, "core", "wait_futex.cpp"),
         os.path.join(ROOT, "capi", "lock.cpp"), "-o", library])
    binary = os.path.join(directory, "polylock_bench")
    if bench_binary is None:
        return library
    shutil.copy(bench_binary, binary)
    return binary


def medians(results_path):
    with open(results_path) as results:
        report = json.load(results)
    out = {}
    for entry in report["benchmarks"]:
        if entry.get("aggregate_name", "median") != "median":
            continue
        name = entry.get("run_name", entry["name"])
        out[name] = {key: entry[key] for key in ("real_time", "time_unit", "acquires_per_s", "jain")
                     if key in entry}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--constant", default="spin_limit")
    parser.add_argument("--values", required=True, help="comma-separated")
    parser.add_argument("--source", action="append", metavar="NAME=PATH[@V1,V2]",
                        help="a variant of core/lock.cpp to sweep (default: the tree's), "
                        "with its own values if given")
    parser.add_argument("--filter", default="contended/.*inside_ns:(0|50)/|fairness|ping_pong")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--window-ms", type=int, default=300)
    parser.add_argument("--fairness-window-ms", type=int, default=1000)
    parser.add_argument("--describe", action="append", default=[], metavar="NAME=TEXT",
                        help="what a --source variant changes, for the report")
    parser.add_argument("--conclusion", help="the choice the sweep supports, for the report")
    parser.add_argument("--out", help="JSON file (default: <build-dir>/bench/sweep.json)")
    args = parser.parse_args()

    out_path = args.out or os.path.join(args.build_dir, "bench", "sweep.json")
    sweep = {"constant": args.constant, "filter": args.filter, "window_ms": args.window_ms,
             "fairness_window_ms": args.fairness_window_ms,
             "repetitions": args.repetitions, "command": " ".join(sys.argv),
             "descriptions": dict(d.split("=", 1) for d in args.describe),
             "conclusion": args.conclusion, "values": {}}
    sources = dict(s.split("=", 1) for s in args.source) if args.source else {
        "tree": os.path.join(ROOT, "core", "lock.cpp")}
    values, binaries = [], {}
    common = os.path.join(args.build_dir, "sweep", "common")
    build_variant(common, os.path.join(ROOT, "core", "lock.cpp"), args.constant,
                  args.values.split(",")[0], None)
    bench_binary = build_bench(common)
    for source_name, path in sources.items():
        path, _, own_values = path.partition("@")
        for value in (own_values or args.values).split(","):
            label = value if len(sources) == 1 else source_name + ":" + value
            values.append(label)
            binaries[label] = build_variant(
                os.path.join(args.build_dir, "sweep", source_name + "-" + args.constant + "-" + value),
                os.path.abspath(path), args.constant, value, bench_binary)
    # Values are measured round-robin, one repetition at a time, so that a
    # burst of load from elsewhere on the machine spreads over all of them.
    raw = {v: [] for v in values}
    for repetition in range(args.repetitions):
        for value in values:
            results = os.path.join(os.path.dirname(binaries[value]), "r%d.json" % repetition)
            run([binaries[value], "--benchmark_filter=" + args.filter,
                 "--window_ms=%d" % args.window_ms,
                 "--fairness_window_ms=%d" % args.fairness_window_ms, "--benchmark_out=" + results,
                 "--benchmark_out_format=json"], stdout=subprocess.DEVNULL)
            raw[value].append(medians(results))
    for value in values:
        merged = {}
        for name in raw[value][0]:
            runs = [r[name] for r in raw[value] if name in r]
            merged[name] = {}
            for key in ("real_time", "acquires_per_s", "jain"):
                numbers = sorted(r[key] for r in runs if key in r)
                if numbers:
                    merged[name][key] = numbers[len(numbers) // 2]
            merged[name]["time_unit"] = runs[0].get("time_unit", "ns")
        sweep["values"][value] = merged
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as out:
        json.dump(sweep, out, indent=1)
    print("sweep: wrote", out_path)


if __name__ == "__main__":
    main()
