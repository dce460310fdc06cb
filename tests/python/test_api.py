"""The surface of the lock: arguments, errors, with, repr, weakrefs, pickling,
TIMEOUT_MAX and fork -- the same assertions on threading.Lock and polylock.Lock."""
import copy
import decimal
import fractions
import math
import os
import pickle
import sys
import threading
import time
import unittest
import warnings
import weakref

import polylock
from locks import for_each_lock

NEGATIVE_TIMEOUT = ("timeout value must be a non-negative number" if sys.version_info >= (3, 13)
                    else "timeout value must be positive")
NON_BLOCKING_TIMEOUT = "can't specify a timeout for a non-blocking call"


class Boom(Exception):
    pass


class ExplodingBool:
    def __bool__(self):
        raise Boom()

    def __index__(self):
        raise Boom()


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


class Api:
    Lock = None  # set by for_each_lock

    def held(self):
        lock = self.Lock()
        self.assertIs(lock.acquire(), True)
        return lock

    # -- construction and state ------------------------------------------------

    def test_starts_unlocked(self):
        lock = self.Lock()
        self.assertIs(lock.locked(), False)

    def test_constructor_takes_no_arguments(self):
        self.assertRaises(TypeError, self.Lock, 1)
        self.assertRaises(TypeError, self.Lock, blocking=True)

    def test_acquire_release_cycle(self):
        lock = self.Lock()
        self.assertIs(lock.acquire(), True)
        self.assertIs(lock.locked(), True)
        self.assertIsNone(lock.release())
        self.assertIs(lock.locked(), False)

    def test_not_reentrant(self):
        lock = self.held()
        self.assertIs(lock.acquire(False), False)
        self.assertIs(lock.acquire(True, 0), False)

    def test_release_unlocked_raises_and_changes_nothing(self):
        lock = self.Lock()
        with self.assertRaises(RuntimeError) as caught:
            lock.release()
        self.assertEqual(str(caught.exception), "release unlocked lock")
        self.assertIs(lock.locked(), False)
        self.assertIs(lock.acquire(False), True)

    def test_release_twice_raises(self):
        lock = self.held()
        lock.release()
        self.assertRaisesRegex(RuntimeError, "^release unlocked lock$", lock.release)

    def test_release_and_locked_take_no_arguments(self):
        lock = self.held()
        self.assertRaises(TypeError, lock.release, None)
        self.assertRaises(TypeError, lock.locked, None)
        self.assertIs(lock.locked(), True)

    def test_obsolete_synonyms(self):
        # _thread.lock's acquire_lock, release_lock and locked_lock.
        lock = self.Lock()
        self.assertIs(lock.acquire_lock(), True)
        self.assertIs(lock.locked_lock(), True)
        self.assertIs(lock.locked(), True)
        self.assertIs(lock.acquire_lock(False), False)
        self.assertIs(lock.acquire_lock(blocking=True, timeout=0.01), False)
        self.assertIsNone(lock.release_lock())
        self.assertIs(lock.locked_lock(), False)
        self.assertRaisesRegex(RuntimeError, "^release unlocked lock$", lock.release_lock)
        self.assertRaises(ValueError, lock.acquire_lock, False, 1)
        self.assertRaises(TypeError, lock.release_lock, None)
        self.assertRaises(TypeError, lock.locked_lock, None)

    # -- acquire's arguments ---------------------------------------------------

    def test_acquire_returns_bool(self):
        lock = self.Lock()
        self.assertIs(lock.acquire(blocking=False), True)
        self.assertIs(lock.acquire(blocking=False), False)
        self.assertIs(lock.acquire(False), False)
        self.assertIs(lock.acquire(0), False)
        self.assertIs(lock.acquire(timeout=0), False)
        self.assertIs(lock.acquire(True, 0.0), False)

    def test_keywords_and_positions(self):
        lock = self.Lock()
        self.assertIs(lock.acquire(blocking=True, timeout=-1), True)
        self.assertIs(lock.acquire(timeout=0.01, blocking=True), False)
        self.assertIs(lock.acquire(True, timeout=0.01), False)
        self.assertRaises(TypeError, lock.acquire, True, blocking=True)
        self.assertRaises(TypeError, lock.acquire, nonsense=1)
        self.assertRaises(TypeError, lock.acquire, True, 1, 2)

    def test_timeout_with_non_blocking_is_value_error(self):
        lock = self.Lock()
        for timeout in (0, 1, 0.5, -2):
            self.assertRaisesRegex(ValueError, "^" + NON_BLOCKING_TIMEOUT + "$",
                                   lock.acquire, False, timeout)
        # -1 is "no timeout", so it goes with blocking=False.
        self.assertIs(lock.acquire(False, -1), True)
        self.assertIs(lock.acquire(False, -1.0), False)

    def test_negative_timeout_is_value_error(self):
        lock = self.Lock()
        for timeout in (-2, -0.5, -1.5, -1.0000001, -10**9):
            self.assertRaisesRegex(ValueError, "^" + NEGATIVE_TIMEOUT + "$",
                                   lock.acquire, True, timeout)
        self.assertIs(lock.locked(), False)

    def test_minus_one_and_what_rounds_to_it_wait_forever(self):
        # The timeout rounds away from zero to whole nanoseconds: -0.9999999999 s is -1 s.
        for timeout in (-1, -1.0, -0.9999999999):
            lock = self.Lock()
            self.assertIs(lock.acquire(True, timeout), True)

    def test_timeout_types(self):
        lock = self.Lock()
        self.assertRaises(TypeError, lock.acquire, True, None)
        self.assertRaises(TypeError, lock.acquire, True, "1")
        self.assertRaises(TypeError, lock.acquire, timeout=[])
        self.assertRaisesRegex(ValueError, "NaN", lock.acquire, True, math.nan)
        for huge in (math.inf, -math.inf, 1e300, 10**30, -10**30):
            self.assertRaises(OverflowError, lock.acquire, True, huge)
        self.assertIs(lock.acquire(True, Index(0)), True)
        self.assertIs(lock.acquire(True, True), False)  # a bool is an int: 1 second
        self.assertIs(lock.locked(), True)

    def test_blocking_types(self):
        lock = self.Lock()
        self.assertIs(lock.acquire(1), True)
        self.assertIs(lock.acquire(0), False)
        if sys.version_info >= (3, 12):  # "p": any truth value
            self.assertIs(lock.acquire(""), False)
            self.assertIs(lock.acquire(None), False)
            self.assertRaises(Boom, lock.acquire, ExplodingBool())
        else:  # "i": an int
            self.assertRaises(TypeError, lock.acquire, 0.0)
            self.assertRaises(TypeError, lock.acquire, None)
            self.assertRaises(TypeError, lock.acquire, "")

    def test_validation_order(self):
        lock = self.held()
        # blocking is parsed before the timeout is converted...
        if sys.version_info >= (3, 12):
            self.assertRaises(Boom, lock.acquire, ExplodingBool(), None)
        else:
            self.assertRaises(TypeError, lock.acquire, 1.5, -5)
        # ...the timeout is converted before the non-blocking check...
        self.assertRaises(TypeError, lock.acquire, False, None)
        self.assertRaises(ValueError, lock.acquire, False, math.nan)
        # ...which comes before the sign check.
        self.assertRaisesRegex(ValueError, NON_BLOCKING_TIMEOUT, lock.acquire, False, -5)

    def test_timeout_max(self):
        self.assertEqual(polylock.TIMEOUT_MAX, threading.TIMEOUT_MAX)
        self.assertIsInstance(polylock.TIMEOUT_MAX, float)
        lock = self.Lock()
        self.assertIs(lock.acquire(True, polylock.TIMEOUT_MAX), True)
        self.assertRaises(OverflowError, lock.acquire, True, polylock.TIMEOUT_MAX * 2)
        self.assertRaises(OverflowError, lock.acquire, True, int(polylock.TIMEOUT_MAX) + 1)

    def test_timed_out_acquire_waits_at_least_the_timeout(self):
        lock = self.held()
        for timeout in (0.01, 0.1):
            began = time.monotonic()
            self.assertIs(lock.acquire(timeout=timeout), False)
            self.assertGreaterEqual(time.monotonic() - began, timeout * 0.99)

    # -- with ------------------------------------------------------------------

    def test_with_statement(self):
        lock = self.Lock()
        with lock as value:
            self.assertIs(value, True)
            self.assertIs(lock.locked(), True)
        self.assertIs(lock.locked(), False)

    def test_with_releases_on_exception(self):
        lock = self.Lock()
        with self.assertRaises(Boom):
            with lock:
                raise Boom()
        self.assertIs(lock.locked(), False)

    def test_enter_takes_acquires_arguments_and_exit_any(self):
        lock = self.held()
        self.assertIs(lock.__enter__(False), False)
        self.assertIs(lock.__enter__(blocking=True, timeout=0.01), False)
        self.assertRaises(ValueError, lock.__enter__, False, 1)
        self.assertIsNone(lock.__exit__(None, None, None))
        self.assertIs(lock.__enter__(), True)
        self.assertIsNone(lock.__exit__())
        self.assertRaises(RuntimeError, lock.__exit__, None, None, None)

    # -- object protocol ---------------------------------------------------------

    def test_repr_shows_state(self):
        lock = self.Lock()
        name = "%s.%s" % (type(lock).__module__, type(lock).__qualname__)
        self.assertEqual(repr(lock), "<unlocked %s object at %s>" % (name, hex(id(lock))))
        lock.acquire()
        self.assertEqual(repr(lock), "<locked %s object at %s>" % (name, hex(id(lock))))
        if self.is_polylock:
            self.assertTrue(repr(lock).startswith("<locked polylock.Lock object at 0x"))

    def test_weak_references(self):
        lock = self.Lock()
        died = []
        ref = weakref.ref(lock, died.append)
        self.assertIs(ref(), lock)
        del lock
        self.assertIsNone(ref())
        self.assertEqual(len(died), 1)

    def test_cannot_be_pickled_or_copied(self):
        lock = self.Lock()
        # polylock raises TypeError for every protocol; threading.Lock on 3.10,
        # 3.11 and 3.12 fails protocols 0 and 1 with PicklingError instead (it
        # cannot be found as _thread.lock), TypeError everywhere else.
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            refused = TypeError
            if not self.is_polylock and protocol < 2 and (3, 10) <= sys.version_info < (3, 13):
                refused = pickle.PicklingError
            with self.assertRaises(Exception) as caught:
                pickle.dumps(lock, protocol)
            self.assertIs(type(caught.exception), refused, protocol)
        self.assertRaises(TypeError, copy.copy, lock)
        self.assertRaises(TypeError, copy.deepcopy, lock)

    def test_cannot_be_subclassed(self):
        self.assertRaises(TypeError, type, "Sub", (type(self.Lock()),), {})

    def test_docstrings(self):
        lock = self.Lock()
        for name in ("acquire", "release", "locked", "__enter__", "__exit__"):
            self.assertTrue(getattr(lock, name).__doc__, name)

    # -- fork --------------------------------------------------------------------

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
    def test_at_fork_reinit_leaves_a_usable_unlocked_lock(self):
        lock = self.held()
        if not hasattr(lock, "_at_fork_reinit"):
            self.skipTest("this Python's threading.Lock has no _at_fork_reinit")
        pid = os.fork()
        if pid == 0:  # the child: its copy is held by nobody who still exists
            ok = lock.acquire(False) is False
            lock._at_fork_reinit()
            ok = ok and not lock.locked() and lock.acquire(False) and lock.locked()
            lock.release()
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0)
        self.assertIs(lock.locked(), True)  # the parent's lock is untouched


ApiThreading, ApiPolylock = for_each_lock(Api)


class SameAsThreadingLock(unittest.TestCase):
    """polylock.Lock.acquire answers every input exactly as threading.Lock does:
    the same value, or the same exception type and message."""

    INPUTS = [
        (), (True,), (False,), (1,), (0,), (2,), (-1,), (2**40,), (1.5,), (0.0,), (None,),
        ("x",), ("",), ([],), (ExplodingBool(),), (Index(1),),
        (True, -1), (False, -1), (False, -1.0), (False, 0), (False, 1), (False, -2),
        (True, -2), (True, -0.5), (True, -1.5), (True, -0.9999999999), (True, -1.0000000001),
        (True, None), (False, None), (True, "1"), (False, "1"), (True, math.nan),
        (False, math.nan), (True, math.inf), (True, -math.inf), (False, math.inf),
        (True, threading.TIMEOUT_MAX), (True, threading.TIMEOUT_MAX * 2),
        (True, threading.TIMEOUT_MAX + 1), (True, int(threading.TIMEOUT_MAX)),
        (True, int(threading.TIMEOUT_MAX) + 1), (True, 10**30), (True, -10**30),
        (False, 10**30), (True, 1e300), (True, -1e300), (True, 0), (True, 0.0), (True, 1e-10),
        (True, Index(0)), (True, Index(2**70)), (True, True), (True, 3 + 0j), (1, 2, 3),
        (ExplodingBool(), None), (ExplodingBool(), "x"), (False, "x"), (None, "x"), ("x", -5),
        (False, -5),
    ]
    KEYWORDS = [
        {"blocking": False}, {"timeout": 0}, {"timeout": -1}, {"blocking": False, "timeout": 0},
        {"foo": 1}, {"blocking": None}, {"timeout": None}, {"blocking": 0, "timeout": -1},
    ]

    @staticmethod
    def outcome(lock, args, kwargs):
        try:
            return ("returned", lock.acquire(*args, **kwargs))
        except Exception as error:  # the comparison is the test
            return (type(error), str(error))

    def test_every_input(self):
        calls = [(args, {}) for args in self.INPUTS] + [((), kw) for kw in self.KEYWORDS]
        calls.append(((True,), {"blocking": True}))
        for args, kwargs in calls:
            with self.subTest(args=args, kwargs=kwargs):
                # Unlocked: a valid call takes the lock at once, an invalid one raises.
                reference = self.outcome(threading.Lock(), args, kwargs)
                self.assertEqual(self.outcome(polylock.Lock(), args, kwargs), reference)
                if reference[0] != "returned":
                    # Held: the same error, before any waiting.
                    held = polylock.Lock()
                    held.acquire()
                    self.assertEqual(self.outcome(held, args, kwargs), reference)


def next_float(x, direction):
    """The float next to x towards direction (math.nextafter, which 3.8 lacks)."""
    if hasattr(math, "nextafter"):
        return math.nextafter(x, direction)
    import struct
    bits = struct.unpack("<q", struct.pack("<d", x))[0]
    bits += 1 if (direction > x) == (x >= 0) else -1
    return struct.unpack("<d", struct.pack("<q", bits))[0]


class TimeoutEdgesSameAsThreadingLock(unittest.TestCase):
    """Issue 14 §3: every edge of the conversion from a Python timeout to
    polylock's nanoseconds, against threading.Lock as the peer. Each value is
    passed as acquire(True, t), acquire(False, t), acquire(timeout=t),
    acquire(blocking=False, timeout=t) and __enter__(True, t); the outcome --
    the value returned, or the exception's type and message, and any warning --
    must be the same, on a free lock and, where no wait can follow, a held one."""

    TIMEOUT_MAX = threading.TIMEOUT_MAX
    NS_LIMIT_SECONDS = 2**63 // 10**9  # the largest whole second in int64 nanoseconds
    EDGES = [
        # zero, and what rounds to it or away from it
        0, 0.0, -0.0, 5e-324, 1e-300, 1e-10, 4.9e-10, 5e-10, 1e-9, 1.5e-9, 1e-6, 1e-3,
        -5e-324, -1e-300, -1e-10, -1e-9,
        # "unset" (-1) and its neighbours: rounding is away from zero, to whole ns
        -1, -1.0, -0.9999999999, -0.99999999999, -1.0000000001, -1.00000000001,
        next_float(-1.0, 0), next_float(-1.0, -2), -0.5, -1.5, -2, -2.0, -10**9,
        # not numbers and infinities
        math.nan, -math.nan, math.inf, -math.inf,
        # huge: the limit of int64 nanoseconds, and of PY_TIMEOUT_MAX microseconds
        1e300, -1e300, 1e18, 9.2e9, 9.3e9, float(NS_LIMIT_SECONDS), NS_LIMIT_SECONDS,
        NS_LIMIT_SECONDS + 1, -NS_LIMIT_SECONDS, -NS_LIMIT_SECONDS - 1,
        TIMEOUT_MAX, next_float(TIMEOUT_MAX, math.inf), next_float(TIMEOUT_MAX, 0),
        TIMEOUT_MAX + 1, TIMEOUT_MAX * 2, int(TIMEOUT_MAX), int(TIMEOUT_MAX) + 1,
        # PY_TIMEOUT_MAX microseconds itself (refused by 3.8-3.10, taken by 3.11+), the
        # float just under it, and 2^63 ns exactly (3.8, 3.9 and Debian's 3.11.2 let it
        # through and convert it as the CPU does: negative on x86)
        9223372036.854774, 9223372036.854773, 9223372036.854776,
        2**31, 2**32, 2**63, 2**64, -2**63, 10**30, -10**30,
        # small ints, bools (ints: True is one second), other number types
        1, 2, True, False, Index(0), Index(1), Index(-1), Index(-2), Index(2**70),
        fractions.Fraction(1, 2), decimal.Decimal("0.5"), decimal.Decimal("nan"), 1 + 0j,
        # not numbers at all
        None, "1", b"1", [], float,
    ]
    TINY = 1e-3  # a valid timeout this small may also be tried on a held lock

    @staticmethod
    def outcome(call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = ("returned", call())
            except Exception as error:  # the comparison is the test
                result = (type(error), str(error))
        return result + (tuple((w.category, str(w.message)) for w in caught),)

    @staticmethod
    def calls(timeout):
        return [
            ("acquire(True, t)", lambda lock: lock.acquire(True, timeout)),
            ("acquire(False, t)", lambda lock: lock.acquire(False, timeout)),
            ("acquire(timeout=t)", lambda lock: lock.acquire(timeout=timeout)),
            ("acquire(blocking=False, timeout=t)",
             lambda lock: lock.acquire(blocking=False, timeout=timeout)),
            ("__enter__(True, t)", lambda lock: lock.__enter__(True, timeout)),
        ]

    def small_enough_to_wait(self, timeout):
        try:
            return 0 <= timeout <= self.TINY
        except TypeError:
            return False

    def test_edge_values(self):
        for timeout in self.EDGES:
            for name, call in self.calls(timeout):
                with self.subTest(call=name, timeout=timeout):
                    reference = self.outcome(lambda: call(threading.Lock()))
                    self.assertEqual(self.outcome(lambda: call(polylock.Lock())), reference)
                    if reference[0] != "returned" or self.small_enough_to_wait(timeout):
                        held = {}
                        for kind, Lock in (("threading", threading.Lock),
                                           ("polylock", polylock.Lock)):
                            lock = Lock()
                            lock.acquire()
                            held[kind] = self.outcome(lambda: call(lock))
                        self.assertEqual(held["polylock"], held["threading"])

    def test_the_table_covers_each_kind_of_outcome(self):
        """The table is not vacuous: it holds values each lock accepts and each
        exception type threading.Lock raises for a timeout."""
        seen = set()
        for timeout in self.EDGES:
            seen.add(self.outcome(lambda: threading.Lock().acquire(True, timeout))[0])
        for kind in ("returned", ValueError, OverflowError, TypeError):
            self.assertIn(kind, seen)


if __name__ == "__main__":
    unittest.main()
