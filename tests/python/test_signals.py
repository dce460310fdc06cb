"""Signals reach a thread blocked in acquire(), as with threading.Lock: a handler
that raises (Ctrl-C: KeyboardInterrupt) ends the wait with its exception and
the lock is not taken; a handler that returns lets the wait go on to its
original deadline. The main thread waits; a helper thread sends the signals
until the wait is over, so no test depends on guessing when the wait began."""
import os
import signal
import threading
import time
import unittest

from locks import for_each_lock, join, start_thread

HAS_SIGNALS = hasattr(signal, "pthread_kill") and hasattr(signal, "SIGUSR1")


class Interrupted(Exception):
    pass


@unittest.skipUnless(HAS_SIGNALS, "needs POSIX signals")
class Signals:
    Lock = None  # set by for_each_lock

    def handle(self, signum, handler):
        self.addCleanup(signal.signal, signum, signal.signal(signum, handler))

    def keep_signalling(self, send, every=0.02):
        """Calls send() every `every` seconds until the returned event is set."""
        stop = threading.Event()

        def loop():
            while not stop.wait(every):
                send()

        thread = start_thread(loop)
        self.addCleanup(join, self, thread)
        self.addCleanup(stop.set)
        return stop

    def to_main_thread(self, signum):
        main = threading.main_thread().ident
        return lambda: signal.pthread_kill(main, signum)

    def assert_free_after_one_release(self, lock):
        """The interrupted acquire took nothing: one release frees the lock."""
        self.assertIs(lock.locked(), True)
        lock.release()
        self.assertIs(lock.locked(), False)
        self.assertIs(lock.acquire(False), True)
        lock.release()

    def test_raising_handler_ends_a_wait_without_limit(self):
        calls = []

        def raise_once(signum, frame):
            calls.append(signum)
            if len(calls) == 1:
                raise Interrupted()

        self.handle(signal.SIGUSR1, raise_once)
        lock = self.Lock()
        lock.acquire()
        stop = self.keep_signalling(self.to_main_thread(signal.SIGUSR1))
        try:
            with self.assertRaises(Interrupted):
                lock.acquire()
        finally:
            stop.set()
        self.assert_free_after_one_release(lock)

    def test_raising_handler_ends_a_timed_wait_before_its_deadline(self):
        def raise_always(signum, frame):
            raise Interrupted()

        self.handle(signal.SIGUSR1, raise_always)
        lock = self.Lock()
        lock.acquire()
        stop = self.keep_signalling(self.to_main_thread(signal.SIGUSR1), every=0.05)
        began = time.monotonic()
        try:
            # Not interrupted, this would return False after 120 s.
            with self.assertRaises(Interrupted):
                lock.acquire(timeout=120)
        finally:
            stop.set()
            self.handle(signal.SIGUSR1, signal.SIG_IGN)
        self.assertLess(time.monotonic() - began, 60)
        self.assert_free_after_one_release(lock)

    def test_ctrl_c_raises_keyboard_interrupt(self):
        self.handle(signal.SIGINT, signal.default_int_handler)
        lock = self.Lock()
        lock.acquire()
        sent = []

        def ctrl_c_once():  # to the process, as a terminal does
            if not sent:
                sent.append(True)
                os.kill(os.getpid(), signal.SIGINT)

        stop = self.keep_signalling(ctrl_c_once, every=0.1)
        try:
            with self.assertRaises(KeyboardInterrupt):
                lock.acquire(timeout=120)
        finally:
            stop.set()
        self.assert_free_after_one_release(lock)

    @unittest.skipUnless(hasattr(signal, "setitimer"), "needs setitimer")
    def test_alarm_raising_handler_ends_the_wait(self):
        def raise_always(signum, frame):
            raise Interrupted()

        self.handle(signal.SIGALRM, raise_always)
        lock = self.Lock()
        lock.acquire()
        signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
        try:
            with self.assertRaises(Interrupted):
                lock.acquire()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.handle(signal.SIGALRM, signal.SIG_IGN)
        self.assert_free_after_one_release(lock)

    def test_returning_handler_lets_the_wait_run_to_its_deadline(self):
        calls = []
        self.handle(signal.SIGUSR1, lambda signum, frame: calls.append(signum))
        lock = self.Lock()
        lock.acquire()
        stop = self.keep_signalling(self.to_main_thread(signal.SIGUSR1))
        timeout = 0.5
        began = time.monotonic()
        try:
            taken = lock.acquire(timeout=timeout)
        finally:
            stop.set()
        elapsed = time.monotonic() - began
        self.assertIs(taken, False)
        self.assertGreaterEqual(elapsed, timeout * 0.99)  # the deadline did not move
        self.assertGreater(len(calls), 0)  # the handlers ran during the wait
        self.assert_free_after_one_release(lock)

    def test_returning_handler_then_release_the_wait_takes_the_lock(self):
        calls = []
        self.handle(signal.SIGUSR1, lambda signum, frame: calls.append(signum))
        lock = self.Lock()
        lock.acquire()
        send = self.to_main_thread(signal.SIGUSR1)

        def signal_then_release():
            # Signal until a handler has run (so the wait was disturbed), then release.
            deadline = time.monotonic() + 60
            while len(calls) < 3 and time.monotonic() < deadline:
                send()
                time.sleep(0.02)
            lock.release()

        helper = start_thread(signal_then_release)
        self.assertIs(lock.acquire(timeout=120), True)
        join(self, helper)
        self.assertGreaterEqual(len(calls), 3)
        self.assertIs(lock.locked(), True)
        lock.release()

    def handler_takes_the_lock_its_thread_waits_for(self, handler_timeout):
        """Code run inside a wait -- here a signal handler, on the waiting
        thread itself -- may take the lock that thread waits for, and behaves
        as it would outside the wait (issue 14 §1). The main thread waits for a
        lock another thread holds; a SIGALRM handler on the main thread then
        waits for the same lock; the holder releases. The handler gets the
        lock (and gives it back), and only then does the outer wait get it.

        The order of events is the assertion, not their times. Broken, the
        release goes to the suspended outer wait: a handler with a timeout
        runs out and gets False; one without would hang, so a watchdog
        releases the lock a second time after WATCHDOG seconds (any thread may
        release), and its event in the list fails the test instead."""
        lock = self.Lock()
        events = []
        handler_waits = threading.Event()
        handler_done = threading.Event()

        def handler(signum, frame):
            handler_waits.set()
            if handler_timeout is None:
                taken = lock.acquire()
            else:
                taken = lock.acquire(timeout=handler_timeout)
            events.append(("handler", taken))
            handler_done.set()
            if taken:
                lock.release()

        self.handle(signal.SIGALRM, handler)
        main = threading.main_thread().ident
        outer_waits = threading.Event()

        def holder():
            lock.acquire()
            outer_waits.wait(60)
            time.sleep(SETTLE)  # the main thread is now asleep in its acquire
            signal.pthread_kill(main, signal.SIGALRM)
            handler_waits.wait(60)
            time.sleep(SETTLE)  # and now the handler is asleep in its own
            events.append(("released", None))
            lock.release()
            if not handler_done.wait(WATCHDOG):
                events.append(("watchdog released it again", None))
                lock.release()

        thread = start_thread(holder)
        outer_waits.set()
        taken = lock.acquire(timeout=OUTER_TIMEOUT)
        events.append(("outer", taken))
        join(self, thread, 2 * WATCHDOG)
        self.assertEqual(events, [("released", None), ("handler", True), ("outer", True)])
        self.assertIs(lock.locked(), True)
        lock.release()

    @unittest.skipUnless(hasattr(signal, "SIGALRM"), "needs SIGALRM")
    def test_handler_takes_the_lock_its_thread_waits_for_timed(self):
        self.handler_takes_the_lock_its_thread_waits_for(HANDLER_TIMEOUT)

    @unittest.skipUnless(hasattr(signal, "SIGALRM"), "needs SIGALRM")
    def test_handler_takes_the_lock_its_thread_waits_for_without_limit(self):
        self.handler_takes_the_lock_its_thread_waits_for(None)


# The handler's and the outer wait's limits: far beyond the holder's SETTLE
# pauses, so only a lock that gives the release to the wrong wait runs out.
HANDLER_TIMEOUT = 20
WATCHDOG = 30
OUTER_TIMEOUT = 120
SETTLE = 0.3

SignalsThreading, SignalsPolylock = for_each_lock(Signals)

if __name__ == "__main__":
    unittest.main()
