"""The lock between threads: mutual exclusion under contention with an exact
counter, release from another thread, waiting without the GIL, timeouts and
threading.Condition -- on threading.Lock and on polylock.Lock alike."""
import sys
import threading
import time
import unittest

from locks import for_each_lock, join, start_thread

THREADS = 8
ROUNDS = 20_000


class Threads:
    Lock = None  # set by for_each_lock

    def setUp(self):
        # Switch threads as often as the interpreter allows, so that an
        # unprotected read-modify-write below would lose updates.
        self.addCleanup(sys.setswitchinterval, sys.getswitchinterval())
        sys.setswitchinterval(1e-6)

    def test_contention_exact_counter_and_one_holder(self):
        lock = self.Lock()
        shared = {"count": 0, "holders": 0, "overlaps": 0}
        start_line = threading.Barrier(THREADS)

        def critical_section():
            shared["holders"] += 1
            if shared["holders"] != 1:
                shared["overlaps"] += 1
            count = shared["count"]
            if count % 97 == 0:
                time.sleep(0)  # give other threads a chance to barge in
            shared["count"] = count + 1
            shared["holders"] -= 1

        def worker(style):
            start_line.wait()
            for _ in range(ROUNDS):
                if style == 0:
                    with lock:
                        critical_section()
                elif style == 1:
                    lock.acquire()
                    try:
                        critical_section()
                    finally:
                        lock.release()
                else:
                    while not lock.acquire(timeout=0.5):
                        pass
                    critical_section()
                    lock.release()

        threads = [start_thread(worker, n % 3) for n in range(THREADS)]
        for thread in threads:
            join(self, thread, 300)
        self.assertEqual(shared["overlaps"], 0)
        self.assertEqual(shared["count"], THREADS * ROUNDS)
        self.assertIs(lock.locked(), False)

    def test_try_acquire_hammering(self):
        lock = self.Lock()
        taken = [0] * THREADS
        shared = {"holders": 0, "overlaps": 0}

        def worker(index):
            for _ in range(ROUNDS):
                if lock.acquire(False):
                    shared["holders"] += 1
                    if shared["holders"] != 1:
                        shared["overlaps"] += 1
                    taken[index] += 1
                    if taken[index] % 101 == 0:
                        time.sleep(0)  # give other threads a chance to barge in
                    shared["holders"] -= 1
                    lock.release()

        threads = [start_thread(worker, n) for n in range(THREADS)]
        for thread in threads:
            join(self, thread, 300)
        self.assertEqual(shared["overlaps"], 0)
        self.assertGreater(sum(taken), 0)

    def test_release_from_another_thread(self):
        lock = self.Lock()
        lock.acquire()
        join(self, start_thread(lock.release))
        self.assertIs(lock.locked(), False)
        # and the other way round: taken there, released here
        join(self, start_thread(lock.acquire))
        self.assertIs(lock.locked(), True)
        lock.release()
        self.assertIs(lock.locked(), False)

    def test_a_waiter_is_woken_by_release_and_the_gil_is_free_meanwhile(self):
        lock = self.Lock()
        lock.acquire()
        got = []
        waiter = start_thread(lambda: got.append(lock.acquire()))
        # This thread keeps running Python code while the waiter blocks: the
        # waiter must have let go of the GIL.
        deadline = time.monotonic() + 0.2
        spins = 0
        while time.monotonic() < deadline:
            spins += 1
        self.assertGreater(spins, 0)
        self.assertEqual(got, [])
        lock.release()
        join(self, waiter)
        self.assertEqual(got, [True])
        self.assertIs(lock.locked(), True)

    def test_each_release_lets_exactly_one_waiter_in(self):
        lock = self.Lock()
        lock.acquire()
        entered = []
        gate = threading.Semaphore(0)

        def waiter(index):
            lock.acquire()
            entered.append(index)
            gate.release()

        waiters = [start_thread(waiter, n) for n in range(4)]
        for expected in range(1, 5):
            lock.release()
            self.assertTrue(gate.acquire(timeout=60))
            self.assertEqual(len(entered), expected)
            self.assertIs(lock.locked(), True)
        for thread in waiters:
            join(self, thread)

    def test_timeout_is_a_lower_bound_while_another_thread_holds(self):
        lock = self.Lock()
        holding = threading.Event()
        done = threading.Event()

        def holder():
            lock.acquire()
            holding.set()
            done.wait(60)
            lock.release()

        thread = start_thread(holder)
        self.assertTrue(holding.wait(60))
        for timeout in (0.05, 0.2):
            began = time.monotonic()
            self.assertIs(lock.acquire(timeout=timeout), False)
            self.assertGreaterEqual(time.monotonic() - began, timeout * 0.99)
        done.set()
        self.assertIs(lock.acquire(timeout=60), True)
        join(self, thread)

    def test_condition_producers_and_consumers(self):
        condition = threading.Condition(self.Lock())
        items, consumed = [], []
        per_producer, producers, consumers = 2000, 4, 4
        total = per_producer * producers

        def produce():
            for n in range(per_producer):
                with condition:
                    items.append(n)
                    condition.notify()

        def consume():
            while True:
                with condition:
                    if not condition.wait_for(lambda: items or len(consumed) >= total, timeout=60):
                        return
                    if len(consumed) >= total and not items:
                        condition.notify_all()
                        return
                    consumed.append(items.pop())
                    if len(consumed) == total:
                        condition.notify_all()

        threads = [start_thread(consume) for _ in range(consumers)]
        threads += [start_thread(produce) for _ in range(producers)]
        for thread in threads:
            join(self, thread, 300)
        self.assertEqual(len(consumed), total)
        self.assertEqual(sorted(consumed), sorted(list(range(per_producer)) * producers))

    def test_condition_wait_timeout_and_notify(self):
        lock = self.Lock()
        condition = threading.Condition(lock)
        with condition:
            began = time.monotonic()
            self.assertIs(condition.wait(0.05), False)
            self.assertGreaterEqual(time.monotonic() - began, 0.049)
            self.assertIs(lock.locked(), True)
        self.assertIs(lock.locked(), False)
        self.assertRaises(RuntimeError, condition.notify)  # not held: Condition says so

        ready = threading.Event()
        woken = []

        def waiter():
            with condition:
                ready.set()
                woken.append(condition.wait(60))

        thread = start_thread(waiter)
        self.assertTrue(ready.wait(60))
        with condition:  # the waiter is inside wait() once we get the lock
            condition.notify()
        join(self, thread)
        self.assertEqual(woken, [True])


ThreadsThreading, ThreadsPolylock = for_each_lock(Threads)

if __name__ == "__main__":
    unittest.main()
