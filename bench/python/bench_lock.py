"""polylock.Lock against threading.Lock, in one run, as ratios (design.md §6).

    python bench_lock.py [--number N] [--repeat R] [--contended N] [--second-copy LIB]

Uncontended: `with l: pass` and `l.acquire(); l.release()`, timed with timeit;
each repeat times both locks back to back and the best repeat of each counts,
so that noise from the machine hits both alike. Contended: 4 threads each take
the lock N times around a shared counter; the counter is checked exactly.
A ratio below 1.0 means polylock is faster. Goal: <= 1.15 uncontended.

Then polylock.Lock against itself (design.md §6): `with l: pass` on a lock made by
another copy of libpolylock (--second-copy, opened by path) and wrapped with
Lock.from_handle, and on a named lock (Lock.open), each against a lock the
wheel made. Goals: <= 1.1 and <= 1.2.
"""
import ctypes
import os
import argparse
import json
import sys
import threading
import time
import timeit

import polylock

STATEMENTS = {
    "with l: pass": "with l: pass",
    "l.acquire(); l.release()": "l.acquire(); l.release()",
}
LOCKS = {"threading.Lock": threading.Lock, "polylock.Lock": polylock.Lock}


def best_ns_per_op(statement, number, repeat):
    """{lock name: best ns per statement}, the locks timed alternately."""
    best = {name: float("inf") for name in LOCKS}
    for _ in range(repeat):
        for name, factory in LOCKS.items():
            timer = timeit.Timer(statement, globals={"l": factory()})
            best[name] = min(best[name], timer.timeit(number) / number * 1e9)
    return best


def against_own_lock(factory, number, repeat):
    """Best ns per `with l: pass` of factory()'s lock over polylock.Lock()'s."""
    best = {"own": float("inf"), "other": float("inf")}
    for _ in range(repeat):
        for name, lock in (("own", polylock.Lock()), ("other", factory())):
            timer = timeit.Timer("with l: pass", globals={"l": lock})
            best[name] = min(best[name], timer.timeit(number) / number * 1e9)
    return best


def lock_of_another_copy(path):
    """A polylock.Lock wrapping a lock that the library at `path` made."""
    library = ctypes.CDLL(path)
    library.lock_new.restype = ctypes.c_void_p
    library.lock_free.argtypes = [ctypes.c_void_p]
    handle = library.lock_new()
    lock = polylock.Lock.from_handle(handle)
    library.lock_free(handle)  # the wrapper's reference keeps it
    return lock


def named_lock():
    name = "polylock-bench.%d" % os.getpid()
    try:
        lock = polylock.Lock.open(name)
    except OSError as error:
        print("named lock: skipped (%s)" % error.strerror)
        return None
    polylock.unlink(name)  # the open lock keeps working
    return lock


def contended_seconds(factory, threads, per_thread):
    """Wall time for `threads` threads to take the lock `per_thread` times each."""
    lock = factory()
    counter = [0]
    start_line = threading.Barrier(threads + 1)

    def hammer():
        start_line.wait()
        for _ in range(per_thread):
            with lock:
                counter[0] += 1

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if counter[0] != threads * per_thread:
        sys.exit("lost updates: %d != %d" % (counter[0], threads * per_thread))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=1_000_000, help="statements per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings per lock (best counts)")
    parser.add_argument("--contended", type=int, default=200_000,
                        help="acquisitions per thread, 4 threads")
    parser.add_argument("--second-copy", metavar="LIB",
                        help="another libpolylock.so.1, for the wrapped-lock row")
    parser.add_argument("--json", metavar="FILE", help="also write the ratios to FILE as JSON")
    args = parser.parse_args()
    results = {"python": sys.version.split()[0]}

    print("Python %s, polylock %s" % (sys.version.split()[0], polylock.__version__))
    print("%-28s %14s %14s %8s" % ("uncontended", "threading ns", "polylock ns", "ratio"))
    for label, statement in STATEMENTS.items():
        best = best_ns_per_op(statement, args.number, args.repeat)
        ratio = best["polylock.Lock"] / best["threading.Lock"]
        print("%-28s %14.1f %14.1f %8.3f" % (label, best["threading.Lock"],
                                             best["polylock.Lock"], ratio))
        results["ratio " + label] = round(ratio, 3)

    threads = 4
    seconds = {name: float("inf") for name in LOCKS}
    for _ in range(max(1, args.repeat // 2)):
        for name, factory in LOCKS.items():
            seconds[name] = min(seconds[name],
                                contended_seconds(factory, threads, args.contended))
    ratio = seconds["polylock.Lock"] / seconds["threading.Lock"]
    print("%-28s %14.3f %14.3f %8.3f" % ("4 threads contending (s)", seconds["threading.Lock"],
                                         seconds["polylock.Lock"], ratio))
    results["ratio 4 threads contending"] = round(ratio, 3)

    print("%-28s %14s %14s %8s" % ("with l: pass", "own lock ns", "this lock ns", "ratio"))
    others = {"named (Lock.open)": named_lock}
    if args.second_copy:
        others["another copy's, wrapped"] = lambda: lock_of_another_copy(args.second_copy)
    for label, make in others.items():
        if make() is None:
            continue
        best = against_own_lock(make, args.number, args.repeat)
        ratio = best["other"] / best["own"]
        print("%-28s %14.1f %14.1f %8.3f" % (label, best["own"], best["other"], ratio))
        results["ratio " + label] = round(ratio, 3)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
