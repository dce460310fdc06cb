#!/usr/bin/python3
"""Writes docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks-contended.png.

Reads the Google Benchmark JSON of the C/C++ run (medians of its repetitions),
the spin sweep (build/bench/sweep.json, or the one recorded in an earlier
docs/benchmarks.json) and whatever JSON the language benchmarks left in the
build tree, and turns them into the design.md §6 table. Python 3 standard library
only; the plot is drawn by gnuplot.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys

from rounds_report import kept_section

PEERS = ["polylock", "std_mutex", "pthread_adaptive", "raw_futex"]
PEER_TITLES = {"polylock": "polylock (C ABI)", "std_mutex": "std::mutex",
               "pthread_adaptive": "pthread mutex, ADAPTIVE_NP", "raw_futex": "raw futex"}
THREADS = [1, 2, 4, 8, 16]
INSIDE = [0, 50, 1000]
SHORT_INSIDE = 50  # the "short critical section" of design.md §6
STDDEVS = {}  # benchmark name -> its stddev entry, to show how far to trust a median
LANGUAGES = {"python": "Python", "java": "Java", "csharp": "C#"}
LANGUAGE_GOALS = {
    "python": ("Python `with l:` and `l.acquire(); l.release()`", "`threading.Lock`", 1.15),
    "java": ("Java `lock(); unlock()`", "`ReentrantLock`", 1.5),
    "csharp": ("C# `Enter(); Exit()`", "`System.Threading.Lock`", 1.25),
}
# Ratios a language benchmark reports beside its goal's (contended runs, the
# cost of a bare JNI call) are shown in full below the table, not judged.
NOT_THE_GOAL = ("contending", "floor")


def short_name(run_name):
    return re.sub(r"/(iterations:\d+|manual_time|real_time)", "", run_name)


def load_medians(path):
    """{benchmark name: its median entry} from a Google Benchmark JSON file."""
    with open(path) as results:
        report = json.load(results)
    medians = {}
    for entry in report["benchmarks"]:
        if entry.get("aggregate_name") == "stddev":
            STDDEVS[short_name(entry.get("run_name", entry["name"]))] = entry
        if entry.get("run_type") == "aggregate" and entry.get("aggregate_name") != "median":
            continue
        if "error_occurred" in entry and entry["error_occurred"]:
            sys.exit("report: %s failed: %s" % (entry["name"], entry.get("error_message")))
        medians[short_name(entry.get("run_name", entry["name"]))] = entry
    return report.get("context", {}), medians


def nanoseconds(entry):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[entry.get("time_unit", "ns")]
    return entry["real_time"] * scale


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def find_language_results(build_dir, language):
    """Ratios a language benchmark left as JSON in the build tree, if any.

    Nothing is agreed on with the bindings' benchmarks: any JSON file under
    the build tree's bench/ folder whose path names the language is read, and
    every number whose key mentions "ratio" is taken, with its key. (Only
    bench/: the rest of the build tree holds package caches and a Wine prefix,
    far too many files to walk.)"""
    found = {}
    pattern = os.path.join(build_dir, "bench", "**", "*.json")
    for path in sorted(glob.glob(pattern, recursive=True)):
        relative = os.path.relpath(path, build_dir).lower()
        if language not in relative or "bench" not in relative or "sweep" in relative:
            continue
        try:
            with open(path) as results:
                data = json.load(results)
        except (OSError, ValueError):
            continue

        def walk(node, prefix):
            if isinstance(node, dict):
                for key, value in node.items():
                    walk(value, prefix + [str(key)])
            elif isinstance(node, (int, float)) and any(
                    re.search(r"(^|[^a-z])ratio", p.lower()) for p in prefix):  # not "iterations"
                found[".".join(prefix)] = float(node)

        walk(data, [])
        if found:
            found["_file"] = os.path.relpath(path, build_dir)
            return found
    return found


def spec_rows(medians, languages):
    """The design.md §6 table: (what, peer, goal text, measured text, met or None)."""
    rows = []

    def get(name):
        return medians.get(name)

    uncontended = get("uncontended/polylock"), get("uncontended/std_mutex")
    if all(uncontended):
        ratio = nanoseconds(uncontended[0]) / nanoseconds(uncontended[1])
        rows.append(("uncontended acquire+release, C ABI", "`std::mutex` lock+unlock",
                     "≤ 1.0×", "%.2f× (%.1f ns vs %.1f ns)" % (
                         ratio, nanoseconds(uncontended[0]), nanoseconds(uncontended[1])),
                     ratio <= 1.0, ratio))
    foreign = get("uncontended/polylock_foreign_copy"), get("uncontended/polylock")
    if all(foreign):
        ratio = nanoseconds(foreign[0]) / nanoseconds(foreign[1])
        rows.append(("a lock made by another library copy, uncontended", "the same lock used by "
                     "the copy that made it", "≤ 1.1×", "%.2f× (%.1f ns vs %.1f ns)" % (
                         ratio, nanoseconds(foreign[0]), nanoseconds(foreign[1])),
                     ratio <= 1.1, ratio))
    for threads in (2, 4, 8):
        ours = get("contended/polylock/threads:%d/inside_ns:%d" % (threads, SHORT_INSIDE))
        peer = get("contended/std_mutex/threads:%d/inside_ns:%d" % (threads, SHORT_INSIDE))
        if ours and peer:
            ratio = ours["acquires_per_s"] / peer["acquires_per_s"]
            rows.append(("%d-thread contended throughput, ~%d ns critical section%s" % (
                threads, SHORT_INSIDE, " (oversubscribed)" if threads > 2 else ""),
                "`std::mutex`", "≥ 1.0×", "%.2f× (%.2f M/s vs %.2f M/s)" % (
                    ratio, ours["acquires_per_s"] / 1e6, peer["acquires_per_s"] / 1e6),
                ratio >= 1.0, ratio))
    jains, spread = {}, {}
    for threads in (2, 4, 8):
        ours = get("fairness/polylock/threads:%d" % threads)
        peer = get("fairness/std_mutex/threads:%d" % threads)
        if ours and peer:
            jains[threads] = (ours["jain"], peer["jain"])
            spread[threads] = tuple(STDDEVS.get(n, {}).get("jain") for n in (
                "fairness/polylock/threads:%d" % threads, "fairness/std_mutex/threads:%d" % threads))
    if jains:
        worst = min(ours for ours, _ in jains.values())
        met = worst >= 0.95 and all(ours >= peer for ours, peer in jains.values())
        rows.append(("Jain's fairness index, 2–8 threads hammering", "`std::mutex`",
                     "≥ 0.95, never below the peer",
                     "; ".join("%d threads %.3f vs %.3f%s" % (t, o, p, (
                         " (sd %.3f, %.3f)" % spread[t]) if None not in spread[t] else "")
                               for t, (o, p) in sorted(jains.items())), met, worst))
    ping = get("ping_pong/polylock"), get("ping_pong/raw_futex")
    if all(ping):
        ratio = nanoseconds(ping[0]) / nanoseconds(ping[1])
        rows.append(("ping-pong hand-off (release → waiter returns)", "raw futex wake",
                     "≤ 1.2×", "%.2f× (%.1f µs vs %.1f µs per hand-off)" % (
                         ratio, nanoseconds(ping[0]) / 2e3, nanoseconds(ping[1]) / 2e3),
                     ratio <= 1.2, ratio))
    for language, (what, peer, goal) in LANGUAGE_GOALS.items():
        found = languages.get(language, {})
        ratios = {key: value for key, value in found.items()
                  if not key.startswith("_") and not any(word in key for word in NOT_THE_GOAL)}
        if ratios:
            worst = max(ratios.values())
            rows.append((what, peer, "≤ %g×" % goal, "; ".join(
                "%s %.2f×" % (key, value) for key, value in ratios.items()), worst <= goal, worst))
        else:
            rows.append((what, peer, "≤ %g×" % goal,
                         "not in this report: see the `bench-%s` output of the same run" % language,
                         None, None))
    timeout = get("timeout/polylock/50ms")
    if timeout:
        median = timeout["median_ms"]
        rows.append(("timed-out `acquire(50 ms)` on a held lock returns after", "50 ms",
                     "50–55 ms (median)", "%.2f ms (median of %d)" % (median, timeout["samples"]),
                     50 <= median <= 55, median))
    return rows


def draw_plot(gnuplot, medians, png_path):
    blocks, plots = [], []
    for index, inside in enumerate(INSIDE):
        lines = []
        for peer in PEERS:
            points = []
            for threads in THREADS:
                entry = medians.get("contended/%s/threads:%d/inside_ns:%d" % (peer, threads, inside))
                if entry:
                    points.append("%d %.4f" % (threads, entry["acquires_per_s"] / 1e6))
            block = "$d%d_%s" % (index, peer)
            blocks.append("%s << EOD\n%s\nEOD" % (block, "\n".join(points)))
            lines.append("%s with linespoints lw 2 title '%s'" % (block, PEER_TITLES[peer]))
        plots.append("set title 'critical section ~%d ns'\nplot %s" % (inside, ", ".join(lines)))
    script = "\n".join([
        "set terminal pngcairo size 1500,520 font 'sans,10' noenhanced",
        "set output '%s'" % png_path,
        *blocks,
        "set multiplot layout 1,3 title 'polylock: contended throughput on %d CPUs "
        "(higher is better; 200 ns of work outside the lock)'" % (os.cpu_count() or 0),
        "set logscale x 2", "set xrange [0.8:20]", "set xtics (1, 2, 4, 8, 16)",
        "set xlabel 'threads'", "set ylabel 'million acquisitions / s'", "set yrange [0:*]",
        "set key below maxrows 2 width 2", "set grid",
        *plots,
        "unset multiplot",
    ])
    subprocess.run([gnuplot], input=script.encode(), check=True)


def fmt_sweep(sweep):
    """The evidence table for the spin limit, from sweep.py's JSON."""
    out = []
    values = sweep["values"]
    first = next(iter(values.values()))
    names = sorted({re.sub(r"/(polylock|std_mutex|raw_futex|pthread_adaptive)(/|$)", r"/*\2",
                           short_name(n)) for n in first})

    def ratio(result, name):
        ours = result.get(name.replace("/*", "/polylock"))
        if name.startswith("ping_pong"):
            peer = result.get(name.replace("/*", "/raw_futex"))
            return "%.2f×" % (ours["real_time"] / peer["real_time"]) if ours and peer else "–"
        peer = result.get(name.replace("/*", "/std_mutex"))
        if not (ours and peer):
            return "–"
        if name.startswith("fairness"):
            return "%.3f" % ours["jain"]
        return "%.2f×" % (ours["acquires_per_s"] / peer["acquires_per_s"])

    shown = [n for n in names if n.startswith(("contended", "fairness", "ping_pong"))]
    titles = [n.replace("contended/*/", "tput ").replace("fairness/*/", "Jain ")
              .replace("ping_pong/*", "ping-pong").replace("threads:", "").replace(
                  "/inside_ns:", "t/") + ("ns" if "inside_ns" in n else "") for n in shown]
    out.append("| variant | " + " | ".join(titles) + " |")
    out.append("|---|" + "---|" * len(shown))
    for label, result in values.items():
        fixed = {short_name(k): v for k, v in result.items()}
        described = sweep.get("descriptions", {}).get(label.split(":")[0], "")
        out.append("| %s%s | " % (label, " (%s)" % described if described else "") +
                   " | ".join(ratio(fixed, n) for n in shown) + " |")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="Google Benchmark JSON")
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--docs", required=True)
    parser.add_argument("--gnuplot", default="gnuplot")
    parser.add_argument("--command", default="cmake --build build --target bench")
    args = parser.parse_args()

    context, medians = load_medians(args.results)
    languages = {language: find_language_results(args.build_dir, language)
                 for language in LANGUAGES}
    json_path = os.path.join(args.docs, "benchmarks.json")
    sweep_path = os.path.join(args.build_dir, "bench", "sweep.json")
    sweep = None
    if os.path.exists(sweep_path):
        with open(sweep_path) as source:
            sweep = json.load(source)
    elif os.path.exists(json_path):  # keep the evidence of the last sweep
        with open(json_path) as source:
            sweep = json.load(source).get("spin_sweep")

    machine = {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": args.command,
        "repetitions": next((e.get("repetitions") for e in medians.values()
                             if e.get("repetitions")), 1),
        "window_ms": context.get("polylock_window_ms"),
        "load_average": context.get("load_avg"),
    }
    rows = spec_rows(medians, languages)
    os.makedirs(args.docs, exist_ok=True)
    png_name = "benchmarks-contended.png"
    draw_plot(args.gnuplot, medians, os.path.join(args.docs, png_name))

    md = []
    md += [
        "# polylock benchmarks",
        "",
        "<!-- Generated by bench/report.py from `%s`; do not edit by hand. -->" % args.command,
        "",
        "## In short (for the README)",
        "",
    ]
    md += readme_section(rows, machine, png_name, medians)
    md += ["", "## design.md §6: every ratio, from one run", ""]
    md += ["| what | peer | goal | measured | met |", "|---|---|---|---|---|"]
    for what, peer, goal, measured, met, _ in rows:
        md.append("| %s | %s | %s | %s | %s |" % (
            what, peer, goal, measured, "—" if met is None else ("yes" if met else "**no**")))
    md += [
        "",
        "Machine: %s, %d CPUs online, Linux %s. Run on %s; %s repetitions of each "
        "benchmark, interleaved at random with the others', medians shown; ratios compare "
        "results of the same run." % (
            machine["cpu"], machine["cpus"], machine["kernel"], machine["date"],
            machine["repetitions"]),
        "",
        "Command: `%s` (C/C++ part alone: `build/bench/polylock_bench "
        "--benchmark_repetitions=5 --benchmark_enable_random_interleaving=true`)." % args.command,
        "",
        "## Contended throughput",
        "",
        "Each thread loops: acquire, about 0, 50 or 1000 ns of work, release, about 200 ns of "
        "work. Million acquisitions per second, all threads together (Jain's index of the "
        "per-thread counts in brackets).",
        "",
        "![contended throughput against threads](%s)" % png_name,
        "",
    ]
    md += ["| critical section | threads | " + " | ".join(PEER_TITLES[p] for p in PEERS) +
           " | polylock ÷ std::mutex |", "|---|---|" + "---|" * (len(PEERS) + 1)]
    for inside in INSIDE:
        for threads in THREADS:
            cells, ours, std = [], None, None
            for peer in PEERS:
                entry = medians.get("contended/%s/threads:%d/inside_ns:%d" % (peer, threads, inside))
                if not entry:
                    cells.append("–")
                    continue
                cells.append("%.2f (%.2f)" % (entry["acquires_per_s"] / 1e6, entry["jain"]))
                if peer == "polylock":
                    ours = entry["acquires_per_s"]
                if peer == "std_mutex":
                    std = entry["acquires_per_s"]
            md.append("| ~%d ns | %d | %s | %s |" % (
                inside, threads, " | ".join(cells), "%.2f×" % (ours / std) if ours and std else "–"))
    md += ["", "## Fairness", "",
           "Threads hammer the lock (50 ns inside, nothing outside) for %s ms; Jain's index of "
           "acquisitions per thread (1 = equal shares, 1/n = one thread had them all), and the "
           "throughput in M/s." % context.get("polylock_fairness_window_ms", "1000"), "",
           "| threads | " + " | ".join(PEER_TITLES[p] for p in PEERS) + " |",
           "|---|" + "---|" * len(PEERS)]
    for threads in (2, 4, 8):
        cells = []
        for peer in PEERS:
            entry = medians.get("fairness/%s/threads:%d" % (peer, threads))
            cells.append("%.3f (%.1f)" % (entry["jain"], entry["acquires_per_s"] / 1e6)
                         if entry else "–")
        md.append("| %d | %s |" % (threads, " | ".join(cells)))
    md += ["", "## Uncontended and hand-off", "",
           "| benchmark | " + " | ".join(PEER_TITLES[p] for p in PEERS) + " |",
           "|---|" + "---|" * len(PEERS)]
    for family, title, scale, unit in (("uncontended", "acquire + release", 1, "ns"),
                                       ("ping_pong", "ping-pong, per hand-off", 2e3, "µs")):
        cells = []
        for peer in PEERS:
            entry = medians.get("%s/%s" % (family, peer))
            cells.append("%.2f %s" % (nanoseconds(entry) / scale, unit) if entry else "–")
        md.append("| %s | %s |" % (title, " | ".join(cells)))
    timeout = medians.get("timeout/polylock/50ms")
    if timeout:
        md += ["", "A timed-out `lock_acquire(l, 50 ms)` on a held lock returned after %.2f ms "
               "(median of %d; the slowest took %.2f ms)." % (
                   timeout["median_ms"], timeout["samples"], timeout["max_ms"])]
    md += ["", "## Language bindings", ""]
    for language, title in LANGUAGES.items():
        found = languages.get(language) or {}
        if found:
            md.append("- %s (from `%s`): %s" % (title, found["_file"], ", ".join(
                "%s = %.3f" % (k, v) for k, v in found.items() if not k.startswith("_"))))
        else:
            md.append("- %s: the `bench-%s` target prints its ratios when it runs as part of "
                      "`bench`; no result file of it was found in the build tree." % (
                          title, language))
    md += ["", "## Choosing the spin limit", ""]
    if sweep:
        md += [
            "Before it parks, a waiter polls the lock a bounded number of times (`spin_limit` "
            "in `core/lock.cpp`, one `pause` per poll, about %s on this CPU). The sweep "
            "below rebuilt the library with each value and measured them round-robin, "
            "%d rounds, %s ms windows (fairness: %s ms); cells are medians: throughput as "
            "polylock ÷ std::mutex at `threads/critical section`, Jain's index, and "
            "ping-pong as polylock ÷ raw futex." % (
                sweep.get("pause_ns", "35 ns"), sweep["repetitions"], sweep.get("window_ms"),
                sweep.get("fairness_window_ms")),
            "",
        ]
        md += fmt_sweep(sweep)
        md += ["", "Command: `%s`" % sweep["command"]]
        if sweep.get("conclusion"):
            md += ["", sweep["conclusion"]]
    else:
        md.append("No sweep recorded yet: run `bench/sweep.py` (see its --help).")
    md.append("")
    # Sections from runs of their own, carried over unchanged: the named locks'
    # (bench/named.cpp, by hand), etcd's (etcd/bench/run.sh, by hand) and the
    # round-by-round one (bench/rounds_report.py, target bench-rounds).
    for section in ("named", "etcd", "rounds"):
        kept = kept_section(os.path.join(args.docs, "benchmarks.md"), section)
        if kept:
            md += kept + [""]

    with open(os.path.join(args.docs, "benchmarks.md"), "w") as out:
        out.write("\n".join(md))
    with open(json_path, "w") as out:
        json.dump({
            "machine": machine,
            "spec": [{"what": r[0], "peer": r[1], "goal": r[2], "measured": r[3], "met": r[4],
                      "value": r[5]} for r in rows],
            "c": {name: {k: v for k, v in entry.items()
                         if k in ("real_time", "cpu_time", "time_unit", "acquires_per_s", "jain",
                                  "median_ms", "max_ms", "samples", "repetitions")}
                  for name, entry in sorted(medians.items())},
            "languages": languages,
            "spin_sweep": sweep,
        }, out, indent=1, ensure_ascii=False)
        out.write("\n")
    for what, _, goal, measured, met, _ in rows:
        print("%-4s %s: %s (goal %s)" % ("" if met is None else ("ok" if met else "MISS"),
                                          what, measured, goal))
    print("report: wrote %s" % os.path.join(args.docs, "benchmarks.md"))


def brief(row):
    """The measured text of a row without its details in brackets."""
    return re.sub(r" \([^()]*\)", "", row[3])


def readme_section(rows, machine, png_name, medians):
    met = [r for r in rows if r[4] is True]
    missed = [r for r in rows if r[4] is False]
    lines = [
        "`cmake --build build --target bench` runs every benchmark — C and C++ with Google "
        "Benchmark against `std::mutex`, glibc's adaptive mutex and a raw futex; each "
        "binding against its language's own lock when that binding is built — and rewrites "
        "this page, [docs/benchmarks.json](benchmarks.json) and the plot. It takes about "
        "five minutes and wants an otherwise idle machine; every figure is a median of "
        "several repetitions, and every ratio compares results of the same run.",
        "",
        "On %s (%d CPUs), %s: %d of the %d design.md §6 goals measured here are met%s." % (
            machine["cpu"], machine["cpus"], machine["date"], len(met),
            len(met) + len(missed), "" if not missed else "; missed: " + "; ".join(
                "%s (%s, goal %s)" % (r[0], brief(r), r[2]) for r in missed)),
        "",
        "| what | goal | measured |",
        "|---|---|---|",
    ]
    for what, peer, goal, measured, met_, _ in rows:
        if met_ is None:
            continue
        lines.append("| %s vs %s | %s | %s |" % (what, peer, goal, brief(
            (what, peer, goal, measured))))
    slower = []
    for inside in INSIDE:
        for threads in (2, 4, 8):
            ours = medians.get("contended/polylock/threads:%d/inside_ns:%d" % (threads, inside))
            peer = medians.get("contended/std_mutex/threads:%d/inside_ns:%d" % (threads, inside))
            if ours and peer and ours["acquires_per_s"] < peer["acquires_per_s"]:
                slower.append("%d threads, ~%d ns inside (%.2f×)" % (
                    threads, inside, ours["acquires_per_s"] / peer["acquires_per_s"]))
    if slower:
        lines += ["", "Outside the rows of design.md §6, polylock's contended throughput was below "
                  "std::mutex's in this run at: %s (the full table is below)." % "; ".join(slower)]
    lines += ["", "![contended throughput against threads](%s)" % png_name]
    return lines


if __name__ == "__main__":
    main()
