#!/usr/bin/python3
"""Unit tests of rounds_report.py's pooling (--pool), on made-up runs.

Run by CTest (bench.rounds_report.unit) or directly: python3 test_rounds_report.py.
Python 3 standard library only, as the script it tests.
"""
import json
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rounds_report  # noqa: E402


def run(seed, rounds, rate_of, threads=(4,), inside_ns=(0,), outside_ns=200,
        locks=("polylock", "std_mutex", "std_mutex_control"), started="2026-11-30 12:00 UTC",
        warmup_ms=None):
    """A polylock_rounds result: every lock in every round and shape, with
    acquisitions/s rate_of(lock, round) spread evenly over the threads.
    warmup_ms None: a run from before polylock_rounds had --warmup_ms."""
    samples = []
    for r in range(rounds):
        for t in threads:
            for i in inside_ns:
                for lock in locks:
                    samples.append({"round": r, "threads": t, "inside_ns": i, "lock": lock,
                                    "start_s": 0.0, "seconds": 1.0, "cpu_seconds": 2.0,
                                    "counts": [rate_of(lock, r) // t] * t})
    made = {"context": {"started": started, "cpus": 2, "rounds": rounds, "window_ms": 200,
                        "threads": list(threads), "inside_ns": list(inside_ns),
                        "outside_ns": outside_ns, "seed": seed, "work_1000_ns": 1000.0,
                        "seconds": 10.0},
            "rounds": [{"round": r, "start_s": float(r), "load_average": 1.0,
                        "others_runnable": 0} for r in range(rounds)],
            "samples": samples}
    if warmup_ms is not None:
        made["context"]["warmup_ms"] = warmup_ms
    return made


def steady(rate):
    return lambda lock, r: rate


class PoolTest(unittest.TestCase):
    def test_rounds_of_every_run_add_up_per_shape(self):
        # Numbered on from run to run: were the second run's rounds 0..2
        # again, they would overwrite the first's and the shape would have 3.
        pooled = rounds_report.pool([run(1, 3, steady(4000)), run(2, 3, steady(4000))])
        summary = rounds_report.compute(pooled)
        self.assertEqual(pooled["context"]["rounds"], 6)
        self.assertEqual([s["rounds"] for s in summary["shapes"]], [6])
        self.assertEqual(summary["shapes"][0]["phases"]["all"]["rounds"], 6)

    def test_phases_are_told_against_all_the_runs(self):
        # One run in each phase: alone, each run's rounds are all "fast" (each
        # against its own 90th percentile); pooled, the slow run's are slow.
        fast, slow = run(1, 4, steady(10000)), run(2, 4, steady(4000))
        self.assertNotIn("slow", rounds_report.compute(slow)["shapes"][0]["phases"])
        phases = rounds_report.compute(rounds_report.pool([fast, slow]))["shapes"][0]["phases"]
        self.assertEqual(phases["fast"]["rounds"], 4)
        self.assertEqual(phases["slow"]["rounds"], 4)

    def test_runs_of_another_population_are_refused(self):
        base = run(1, 2, steady(4000))
        for other, what in ((run(2, 2, steady(4000), outside_ns=0), "outside_ns"),
                            (run(2, 2, steady(4000), threads=(8,)), "threads"),
                            (run(2, 2, steady(4000), inside_ns=(0, 50)), "inside_ns"),
                            (run(2, 2, steady(4000), locks=("polylock", "std_mutex")), "locks"),
                            (run(2, 2, steady(4000), warmup_ms=50), "warmup_ms")):
            with self.assertRaisesRegex(ValueError, "runs differ in " + what):
                rounds_report.pool([base, other])

    def test_the_pooled_header_names_every_run(self):
        pooled = rounds_report.pool([run(11, 2, steady(4000)),
                                     run(22, 2, steady(4000), started="2026-11-30 13:00 UTC")])
        header = rounds_report.render(rounds_report.compute(pooled), "cmd")
        self.assertEqual(header[0], "### 2 runs pooled, started 2026-11-30 12:00 UTC to "
                                    "2026-11-30 13:00 UTC")
        self.assertIn("4 rounds × 200 ms windows (no warm-up)", header[2])
        self.assertIn("seeds 11, 22 in that order; 20 s", header[2])

    def test_the_header_gives_the_warm_up(self):
        pooled = rounds_report.pool([run(1, 2, steady(4000), warmup_ms=50),
                                     run(2, 2, steady(4000), warmup_ms=50)])
        header = rounds_report.render(rounds_report.compute(pooled), "cmd")
        self.assertIn("4 rounds × 200 ms windows (each after 50 ms of warm-up, not counted)",
                      header[2])


class PerCpuTest(unittest.TestCase):
    def test_a_count_splits_into_cpu_time_and_acquisitions_per_cpu_second(self):
        sample = {"counts": [200, 100, 100], "thread_cpu_seconds": [0.2, 0.1, 0.1]}
        self.assertLess(rounds_report.jain(sample["counts"]), 0.95)
        cpu_split, per_cpu = rounds_report.cpu_jains(sample)
        self.assertAlmostEqual(per_cpu, 1.0)
        self.assertAlmostEqual(cpu_split, rounds_report.jain(sample["counts"]))
        # The same CPU time for all: as unfair per CPU-second as by count.
        sample["thread_cpu_seconds"] = [0.1, 0.1, 0.1]
        cpu_split, per_cpu = rounds_report.cpu_jains(sample)
        self.assertAlmostEqual(cpu_split, 1.0)
        self.assertAlmostEqual(per_cpu, rounds_report.jain(sample["counts"]))

    def test_runs_without_threads_cpu_time_have_no_per_cpu_index(self):
        self.assertEqual(rounds_report.cpu_jains({"counts": [1, 2]}), (None, None))
        self.assertEqual(rounds_report.cpu_jains({"counts": [1, 2],
                                                  "thread_cpu_seconds": [0.1, 0.0]}),
                         (None, None))

    def test_pooled_with_a_run_without_it_there_is_none(self):
        timed, untimed = run(1, 2, steady(4000)), run(2, 2, steady(4000))
        for sample in timed["samples"]:
            sample["thread_cpu_seconds"] = [0.1] * len(sample["counts"])
        summary = rounds_report.compute(rounds_report.pool([timed, untimed]))
        for lock in summary["shapes"][0]["phases"]["all"]["locks"].values():
            self.assertIsNone(lock["jain_per_cpu_median"])
            self.assertIsNone(lock["jain_cpu_time_median"])

    def test_the_table_shows_it_when_the_run_has_it(self):
        data = run(1, 2, steady(4000))
        plain = rounds_report.render(rounds_report.compute(data), "cmd")
        self.assertFalse(any("per CPU-second" in line for line in plain))
        for sample in data["samples"]:
            sample["thread_cpu_seconds"] = [0.1] * len(sample["counts"])
        table = rounds_report.render(rounds_report.compute(data), "cmd")
        self.assertTrue(any("| Jain of acquisitions per CPU-second, median (same order) |" in line
                            for line in table))
        self.assertTrue(any("(of CPU time 1.000 vs 1.000, per CPU-second 1.000 vs 1.000)" in line
                            for line in table))

    def test_windows_that_began_with_the_cpus_uneven_are_told_apart(self):
        data = run(1, 4, steady(4000))
        plain = rounds_report.render(rounds_report.compute(data), "cmd")
        self.assertFalse(any("CPUs even" in line or "speeds" in line for line in plain))
        # Rounds 0 and 1 began with one CPU at 0.4x the other's, and in them
        # polylock's threads split 3:1; rounds 2 and 3 even, split 1:1.
        for sample in data["samples"]:
            uneven = sample["round"] < 2
            sample["cpu_speeds"] = [1.0, 0.4] if uneven else [1.0, 0.98]
            if sample["lock"] == "polylock" and uneven:
                sample["counts"] = [1500, 500, 1500, 500]
        summary = rounds_report.compute(data)
        self.assertEqual(summary["cpu_evenness"]["uneven"], 6)  # 2 rounds x 3 locks
        self.assertAlmostEqual(summary["cpu_evenness"]["min"], 0.4)
        ours = summary["shapes"][0]["phases"]["all"]["locks"]["polylock"]
        self.assertEqual(ours["even_windows"], 2)
        self.assertAlmostEqual(ours["jain_even_median"], 1.0)
        self.assertLess(ours["jain_median"], 1.0)
        lines = rounds_report.render(summary, "cmd")
        self.assertTrue(any("below 0.7 in 6 of 12 windows probed;" in line or
                            "below 0.7 in 6 of 12 windows probed." in line for line in lines))
        self.assertTrue(any("in the windows that began with the CPUs even (2 and 2 of 4) "
                            "Jain 1.000 vs 1.000" in line for line in lines))

    def test_windows_not_probed_are_neither_even_nor_uneven(self):
        data = run(1, 2, steady(4000))
        data["samples"][0]["cpu_speeds"] = [1.0, 1.0]  # polylock, round 0
        data["samples"][1]["cpu_speeds"] = [0.0, 0.0]  # a probe that told nothing
        summary = rounds_report.compute(data)
        self.assertEqual(summary["cpu_evenness"]["windows"], 1)
        self.assertEqual(summary["cpu_evenness"]["unprobed"], 5)
        locks = summary["shapes"][0]["phases"]["all"]["locks"]
        self.assertEqual(locks["polylock"]["even_windows"], 1)
        self.assertEqual(locks["std_mutex"]["even_windows"], 0)
        self.assertFalse(any("CPUs even" in line
                             for line in rounds_report.render(summary, "cmd")))


class SleepsTest(unittest.TestCase):
    def test_sleeps_per_thread_per_second_where_the_run_recorded_them(self):
        data = run(1, 4, steady(4000), threads=(4,))
        for sample in data["samples"]:  # windows of half a second
            sample["seconds"] = 0.5
            sample["thread_sleeps"] = [150, 150, 140, 160] if sample["lock"] == "std_mutex" \
                else [40, 40, 40, 40]
        summary = rounds_report.compute(data)
        locks = summary["shapes"][0]["phases"]["all"]["locks"]
        self.assertEqual(locks["std_mutex"]["sleeps_per_second_median"], 300)
        self.assertEqual(locks["polylock"]["sleeps_per_second_median"], 80)
        lines = rounds_report.render(summary, "cmd")
        self.assertTrue(any("| sleeps (voluntary context switches) per thread per second" in line
                            for line in lines))
        # In the table's lock order: polylock, std::mutex, the control.
        self.assertTrue(any(line.startswith("| 4 |") and line.endswith("| 80 / 300 / 80 |")
                            for line in lines))

    def test_runs_without_them_show_none(self):
        summary = rounds_report.compute(run(1, 4, steady(4000), threads=(4,)))
        locks = summary["shapes"][0]["phases"]["all"]["locks"]
        self.assertIsNone(locks["polylock"]["sleeps_per_second_median"])
        self.assertFalse(any("voluntary context switches" in line
                             for line in rounds_report.render(summary, "cmd")))


class MovesTest(unittest.TestCase):
    def test_moves_and_lopsided_windows_where_the_run_recorded_them(self):
        data = run(1, 4, steady(4000), threads=(4,))
        for sample in data["samples"]:  # windows of half a second
            sample["seconds"] = 0.5
            if sample["lock"] == "polylock":
                # One thread with twice the others' CPU time: lopsided.
                sample["thread_cpu_seconds"] = [0.4, 0.2, 0.2, 0.2]
                sample["thread_migrations"] = [0, 1, 1, 0]
            else:
                # 1.4x the median: not lopsided (the bar is 1.5x).
                sample["thread_cpu_seconds"] = [0.28, 0.2, 0.2, 0.2]
                sample["thread_migrations"] = [3, 3, 2, 4]
        summary = rounds_report.compute(data)
        locks = summary["shapes"][0]["phases"]["all"]["locks"]
        self.assertEqual(locks["polylock"]["migrations_per_second_median"], 1)
        self.assertEqual(locks["std_mutex"]["migrations_per_second_median"], 6)
        self.assertEqual(locks["polylock"]["lopsided_windows"], 4)
        self.assertEqual(locks["std_mutex"]["lopsided_windows"], 0)
        lines = rounds_report.render(summary, "cmd")
        self.assertTrue(any("| moves between CPUs per thread per second" in line for line in lines))
        # In the table's lock order: polylock, std::mutex, the control.
        self.assertTrue(any(line.startswith("| 4 |") and
                            line.endswith("| 1.0 / 6.0 / 6.0 | 4 / 0 / 0 |") for line in lines))

    def test_lopsided_is_against_the_median_thread_from_one_and_a_half_times(self):
        def window(cpu):
            return {"counts": [1] * len(cpu), "thread_cpu_seconds": cpu}
        self.assertTrue(rounds_report.lopsided(window([0.75, 0.5, 0.5, 0.5])))  # exactly 1.5x
        self.assertFalse(rounds_report.lopsided(window([0.74, 0.5, 0.5, 0.5])))
        # 1.55x the median thread's, 1.31x the mean: the median decides.
        self.assertTrue(rounds_report.lopsided(window([0.31, 0.29, 0.29] + [0.2] * 5)))
        self.assertFalse(rounds_report.lopsided(window([0.0, 0.0, 0.0, 0.1])))  # no median
        self.assertIsNone(rounds_report.lopsided({"counts": [1, 1]}))

    def test_lopsided_windows_without_moves_still_show(self):
        data = run(1, 4, steady(4000), threads=(4,))
        for sample in data["samples"]:  # CPU time recorded, moves not (before 10:34 UTC)
            sample["thread_cpu_seconds"] = [0.4, 0.2, 0.2, 0.2] \
                if sample["lock"] == "polylock" else [0.2] * 4
        lines = rounds_report.render(rounds_report.compute(data), "cmd")
        self.assertFalse(any("moves between CPUs" in line for line in lines))
        self.assertTrue(any(line.startswith("| 4 |") and line.endswith("| 4 / 0 / 0 |")
                            for line in lines))

    def test_runs_without_them_show_none(self):
        summary = rounds_report.compute(run(1, 4, steady(4000), threads=(4,)))
        locks = summary["shapes"][0]["phases"]["all"]["locks"]
        self.assertIsNone(locks["polylock"]["migrations_per_second_median"])
        self.assertIsNone(locks["polylock"]["lopsided_windows"])
        lines = rounds_report.render(summary, "cmd")
        self.assertFalse(any("moves between CPUs" in line for line in lines))
        self.assertFalse(any("lopsided windows" in line for line in lines))


class VariantTest(unittest.TestCase):
    def test_the_variant_is_a_lock_of_its_own_and_the_header_names_its_build(self):
        data = run(1, 4, steady(4000), threads=(4,),
                   locks=("polylock", "polylock_variant", "std_mutex"))
        data["context"]["variant"] = "/tmp/other/libpolylock.so"
        summary = rounds_report.compute(data)
        self.assertIn("polylock_variant", summary["locks"])
        lines = rounds_report.render(summary, "cmd")
        self.assertTrue(any("`/tmp/other/libpolylock.so`" in line for line in lines))
        self.assertTrue(any("polylock variant (--variant) ÷ std::mutex" in line for line in lines))

    def test_runs_with_another_variant_are_not_pooled(self):
        first = run(1, 4, steady(4000), locks=("polylock", "polylock_variant", "std_mutex"))
        second = run(2, 4, steady(4000), locks=("polylock", "polylock_variant", "std_mutex"))
        first["context"]["variant"] = "/a/libpolylock.so"
        second["context"]["variant"] = "/b/libpolylock.so"
        with self.assertRaisesRegex(ValueError, "runs differ in variant"):
            rounds_report.pool([first, second])


def spread_counts(data, spread_of):
    """Sets each window's counts to 1000 +- spread_of(lock, round) on two of
    four threads: Jain's index falls as the spread grows."""
    for sample in data["samples"]:
        spread = spread_of(sample["lock"], sample["round"])
        sample["counts"] = [1000 + spread, 1000 - spread, 1000, 1000]


class JainAgainstTheNoiseTest(unittest.TestCase):
    # Rounds in which the machine set every lock's spread alike, and a little
    # noise of each window's own (a fixed pseudo-random pattern).
    MACHINE = [60, 250, 20, 120, 310, 40, 90, 180, 10, 220, 70, 140, 30, 260, 100, 50,
               200, 0, 160, 80]
    OWN = [7, -11, 3, 13, -5, 9, -2, -13, 11, 1, -7, 5, 12, -3, -9, 6, -12, 2, 8, -6]

    def verdict(self, spread_of):
        data = run(1, len(self.MACHINE), steady(4000), threads=(4,))
        spread_counts(data, spread_of)
        summary = rounds_report.compute(data)
        return summary["shapes"][0]["phases"]["all"]["goal"], rounds_report.render(summary, "cmd")

    def test_a_median_below_by_less_than_the_noise_is_not_below(self):
        # polylock's windows as noisy as std::mutex's, the noise the other way
        # round: its median comes out a little below, within the interval.
        def spread_of(lock, r):
            own = self.OWN[r] if lock == "std_mutex" else -self.OWN[r]
            return self.MACHINE[r] + own + (3 if lock == "polylock" else 0)
        goal, lines = self.verdict(spread_of)
        self.assertLess(goal["jain_differences"]["polylock"]["difference"], 0)
        self.assertLessEqual(goal["jain_differences"]["polylock"]["low"], goal["jain_differences"]["polylock"]["difference"])
        self.assertGreaterEqual(goal["jain_differences"]["polylock"]["high"], 0)
        self.assertTrue(goal["jain_met"])
        self.assertTrue(goal["jain_below_within_noise"])
        self.assertTrue(any("— met (Jain's median below std::mutex's, within the noise)" in line
                            for line in lines))

    def test_a_lock_below_in_every_round_is_below(self):
        goal, lines = self.verdict(
            lambda lock, r: self.MACHINE[r] + (60 if lock == "polylock" else 0))
        self.assertLess(goal["jain_differences"]["polylock"]["high"], 0)
        self.assertFalse(goal["jain_met"])
        self.assertFalse(goal["jain_below_within_noise"])
        self.assertTrue(any("— **missed** (Jain)" in line for line in lines))

    def test_the_control_is_judged_by_the_same_rule(self):
        goal, _ = self.verdict(lambda lock, r: self.MACHINE[r] +
                               (self.OWN[r] if lock == "std_mutex_control" else 0))
        control = goal["jain_differences"]["std_mutex_control"]
        self.assertLess(control["low"], 0)
        self.assertGreater(control["high"], 0)
        self.assertEqual(goal["jain_differences"]["polylock"], {"difference": 0, "low": 0, "high": 0})

    def test_every_other_lock_is_judged_by_the_same_rule(self):
        data = run(1, len(self.MACHINE), steady(4000), threads=(4,),
                   locks=("polylock", "std_mutex", "pthread_adaptive", "raw_futex",
                          "std_mutex_control"))
        spread_counts(data, lambda lock, r: self.MACHINE[r] + (60 if lock == "raw_futex" else 0))
        summary = rounds_report.compute(data)
        goal = summary["shapes"][0]["phases"]["all"]["goal"]
        self.assertTrue(rounds_report.is_below(goal["jain_differences"]["raw_futex"]))
        self.assertFalse(rounds_report.is_below(goal["jain_differences"]["polylock"]))
        self.assertFalse(rounds_report.is_below(goal["jain_differences"]["pthread_adaptive"]))
        self.assertNotIn("std_mutex", goal["jain_differences"])
        line = next(line for line in rounds_report.render(summary, "cmd")
                    if "the other locks' by the same rule" in line)
        self.assertIn("pthread adaptive +0.000 (+0.000 to +0.000), raw futex -0.", line)
        self.assertRegex(line, r"raw futex -0\.\d+ \(-0\.\d+ to -0\.\d+, below\)")

    def test_below_needs_the_difference_itself_below_zero(self):
        # A percentile interval of a few distinct values may lie below a
        # difference of zero: that is not below.
        self.assertFalse(rounds_report.is_below({"difference": 0.0, "low": -0.02, "high": -0.01}))
        self.assertFalse(rounds_report.is_below({"difference": -0.01, "low": -0.02,
                                                 "high": 0.001}))
        self.assertTrue(rounds_report.is_below({"difference": -0.01, "low": -0.02,
                                                "high": -0.001}))

    def test_the_interval_is_reproducible(self):
        draw = random.Random(7)
        pairs = [(draw.uniform(0.90, 1.0), draw.uniform(0.90, 1.0)) for _ in range(40)]
        first = rounds_report.median_difference(pairs)
        self.assertEqual(first, rounds_report.median_difference(pairs))
        # The seed, not the data alone, fixes the interval.
        other = rounds_report.median_difference(pairs, seed=17)
        self.assertEqual(first["difference"], other["difference"])
        self.assertNotEqual((first["low"], first["high"]), (other["low"], other["high"]))
        self.assertIsNone(rounds_report.median_difference([]))


@unittest.skipUnless(os.environ.get("POLYLOCK_ROUNDS_JSON"),
                     "set POLYLOCK_ROUNDS_JSON to a polylock_rounds result (CTest does)")
class RealRunTest(unittest.TestCase):
    """A real run's per-thread measures (bench.rounds.smoke.thread_measures)."""

    def setUp(self):
        with open(os.environ["POLYLOCK_ROUNDS_JSON"]) as results:
            self.samples = json.load(results)["samples"]
        self.assertTrue(self.samples)

    def test_each_thread_runs_and_waits_within_its_counted_time(self):
        has_schedstat = os.path.exists("/proc/thread-self/schedstat")
        has_sched = os.path.exists("/proc/thread-self/sched")
        for sample in self.samples:
            threads = len(sample["counts"])
            # Left out, not made up, where /proc lacks the file.
            self.assertEqual("thread_migrations" in sample, has_sched)
            if has_sched:
                self.assertEqual(len(sample["thread_migrations"]), threads)
                self.assertTrue(all(moves >= 0 for moves in sample["thread_migrations"]))
            self.assertEqual("thread_queue_seconds" in sample, has_schedstat)
            if not has_schedstat:
                continue
            cpu = sample["thread_cpu_seconds"]
            queue = sample["thread_queue_seconds"]
            counted = sample["thread_seconds"]
            self.assertEqual(len(queue), threads)
            self.assertEqual(len(counted), threads)
            for t in range(threads):
                self.assertGreaterEqual(queue[t], 0)
                # Counted from the thread's own view of the window (later than
                # the window by as long as the thread waited to see it start
                # or end: no bound on a loaded machine), but never negative.
                self.assertGreater(counted[t], 0)
                # Running and waiting for a CPU fit in the time counted: both
                # are read between the clock readings that bound it (1 ms for
                # the clocks' and the kernel's rounding). A measure in the
                # wrong unit is 1000x off.
                self.assertLessEqual(cpu[t] + queue[t], counted[t] + 0.001,
                                     "thread %d of %s, round %d" % (t, sample["lock"],
                                                                     sample["round"]))

if __name__ == "__main__":
    unittest.main()
