"""One lock shared across the border (design.md §7): a polylock.Lock and a C library
in the same process use the same lock_t -- Python wraps a lock C made
(Lock.from_handle), C uses a lock Python made (lock.handle, an address for
ctypes and cffi; lock.capsule(), a PyCapsule for C extensions) -- and each side
frees only what it owns, in either order. Native threads and Python threads
hammer one lock with an exact counter. The C side is tests/python/peer/, built
by CMake, whose paths CTest passes in the environment."""
import ctypes
import gc
import importlib
import os
import platform
import sys
import unittest

import polylock
from locks import join, start_thread
from test_api import Api

PEER = os.environ.get("POLYLOCK_TEST_PEER")
EXTENSIONS = os.environ.get("POLYLOCK_TEST_EXTENSIONS")
SECOND_COPY = os.environ.get("POLYLOCK_TEST_SECOND_COPY")
NEEDS_PEER = "needs the test library tests/python/peer (CTest passes POLYLOCK_TEST_PEER)"

NATIVE_THREADS = 3
PYTHON_THREADS = 3
ROUNDS = 3000
LOCK_OK = 0


def load_peer():
    peer = ctypes.CDLL(PEER)
    peer.peer_new.restype = ctypes.c_void_p
    peer.peer_new.argtypes = []
    peer.peer_free.restype = None
    peer.peer_free.argtypes = [ctypes.c_void_p]
    peer.peer_hammer.restype = ctypes.c_int
    peer.peer_hammer.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_int),
                                 ctypes.POINTER(ctypes.c_int)]
    return peer


def load_copy(path):
    """The raw C ABI of one copy of libpolylock, through ctypes."""
    library = ctypes.CDLL(path)  # RTLD_LOCAL: its symbols stay its own
    library.lock_new.restype = ctypes.c_void_p
    library.lock_new.argtypes = []
    library.lock_free.restype = None
    library.lock_free.argtypes = [ctypes.c_void_p]
    library.lock_ref.restype = ctypes.c_void_p
    library.lock_ref.argtypes = [ctypes.c_void_p]
    for name in ("lock_acquire", "lock_release", "lock_locked"):
        getattr(library, name).restype = ctypes.c_int
    library.lock_acquire.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    library.lock_release.argtypes = [ctypes.c_void_p]
    library.lock_locked.argtypes = [ctypes.c_void_p]
    return library


def package_library():
    return os.path.join(os.path.dirname(os.path.abspath(polylock.__file__)), "libpolylock.so.1")


class Tally:
    """The counter every thread adds to under the lock, in memory C can reach,
    and the check that no two threads hold the lock at once."""

    def __init__(self):
        self.counter = ctypes.c_long(0)
        self.holders = ctypes.c_int(0)
        self.overlaps = ctypes.c_int(0)

    def pointers(self):
        return (ctypes.byref(self.counter), ctypes.byref(self.holders),
                ctypes.byref(self.overlaps))

    def addresses(self):
        return tuple(ctypes.addressof(x) for x in (self.counter, self.holders, self.overlaps))

    def add_one(self):  # with the lock held
        if self.holders.value != 0:
            self.overlaps.value += 1
        self.holders.value += 1
        self.counter.value = self.counter.value + 1
        self.holders.value -= 1


def python_rounds(lock, tally, rounds):
    """`rounds` increments through a polylock.Lock: with, try, timed in turn."""
    for round in range(rounds):
        kind = round % 3
        if kind == 0:
            with lock:
                tally.add_one()
            continue
        if kind == 1:
            while not lock.acquire(False):
                pass
        else:
            while not lock.acquire(timeout=0.1):
                pass
        try:
            tally.add_one()
        finally:
            lock.release()


def copy_rounds(library, handle, tally, rounds):
    """`rounds` increments through one copy's raw C ABI (ctypes drops the GIL)."""
    for round in range(rounds):
        timeout = (-1, 0, 100_000_000)[round % 3]
        while library.lock_acquire(handle, timeout) != LOCK_OK:
            pass
        try:
            tally.add_one()
        finally:
            if library.lock_release(handle) != LOCK_OK:
                raise AssertionError("lock_release failed")


@unittest.skipUnless(PEER and os.path.isfile(PEER), NEEDS_PEER)
class SharedWithC(unittest.TestCase):
    def setUp(self):
        self.peer = load_peer()

    def hammer(self, handle, python_workers, native=True):
        """Native threads (peer_hammer on `handle`) and every (function, args)
        of python_workers, all at once on one tally; checks it is exact."""
        tally = Tally()
        statuses = []
        threads = []
        if native:
            threads.append(start_thread(lambda: statuses.append(self.peer.peer_hammer(
                handle, NATIVE_THREADS, ROUNDS, *tally.pointers()))))
        for work, args in python_workers:
            threads.append(start_thread(work, *args, tally, ROUNDS))
        for thread in threads:
            join(self, thread, 300)
        self.assertEqual(statuses, [LOCK_OK] * native)
        self.assertEqual(tally.overlaps.value, 0, "two holders at once")
        expected = ROUNDS * (NATIVE_THREADS * native + len(python_workers))
        self.assertEqual(tally.counter.value, expected)

    def test_python_wraps_a_lock_c_made_and_c_frees_first(self):
        handle = self.peer.peer_new()
        lock = polylock.Lock.from_handle(handle)
        self.assertEqual(lock.handle, handle)
        self.hammer(handle, [(python_rounds, (lock,))] * PYTHON_THREADS)
        self.peer.peer_free(handle)  # C drops its reference; Python's keeps the lock
        self.assertIs(lock.acquire(False), True)
        self.assertIs(lock.locked(), True)
        lock.release()
        del lock  # the last reference: frees it

    def test_python_wraps_a_lock_c_made_and_python_frees_first(self):
        handle = self.peer.peer_new()
        lock = polylock.Lock.from_handle(handle)
        self.hammer(handle, [(python_rounds, (lock,))] * PYTHON_THREADS)
        del lock
        gc.collect()
        self.hammer(handle, [])  # C's reference still works, alone
        self.peer.peer_free(handle)

    def test_c_uses_a_lock_python_made(self):
        lock = polylock.Lock()
        self.hammer(lock.handle, [(python_rounds, (lock,))] * PYTHON_THREADS)
        self.assertIs(lock.locked(), False)

    def test_c_takes_its_own_reference_and_outlives_the_python_lock(self):
        library = load_copy(package_library())  # the wheel's copy, as a C library would link it
        lock = polylock.Lock()
        handle = library.lock_ref(lock.handle)
        self.assertEqual(handle, lock.handle)
        lock.acquire()
        del lock
        gc.collect()
        self.assertEqual(library.lock_locked(handle), 1)  # alive, and still held
        self.assertEqual(library.lock_release(handle), LOCK_OK)
        library.lock_free(handle)

    def test_both_wrappers_see_one_state(self):
        lock = polylock.Lock()
        other = polylock.Lock.from_handle(lock.handle)
        self.assertIsNot(other, lock)
        self.assertEqual(other.handle, lock.handle)
        self.assertIs(other.acquire(False), True)
        self.assertIs(lock.locked(), True)
        self.assertIs(lock.acquire(False), False)
        self.assertIn("<locked polylock.Lock object at 0x", repr(lock))
        lock.release()  # any owner may release (not owned)
        self.assertIs(other.locked(), False)
        with self.assertRaises(RuntimeError) as caught:
            other.release()
        self.assertEqual(str(caught.exception), "release unlocked lock")

    def test_a_wrapped_lock_can_be_dropped_many_times_without_leaking(self):
        if not os.path.exists("/proc/self/statm"):
            self.skipTest("needs Linux /proc")

        def resident():
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

        def churn(cycles, c_frees_first):
            for _ in range(cycles):
                handle = self.peer.peer_new()
                lock = polylock.Lock.from_handle(handle)
                if c_frees_first:
                    self.peer.peer_free(handle)
                    del lock
                else:
                    del lock
                    self.peer.peer_free(handle)

        churn(20_000, True)
        churn(20_000, False)
        before = resident()
        churn(200_000, True)
        churn(200_000, False)
        grown = resident() - before
        # A lost reference would keep 400 000 locks (over 12 MB) alive.
        self.assertLess(grown, 4 * 1024 * 1024, "grew by %d bytes" % grown)


@unittest.skipUnless(PEER and SECOND_COPY and os.path.isfile(SECOND_COPY), NEEDS_PEER)
class SharedWithAnotherCopy(unittest.TestCase):
    """A second copy of libpolylock in the process (the build tree's, opened by
    path with RTLD_LOCAL beside the wheel's): a lock made by either copy works
    through the other, with Python threads on each copy and native threads."""

    def setUp(self):
        self.peer = load_peer()
        self.copy = load_copy(SECOND_COPY)
        self.assertNotEqual(os.path.realpath(SECOND_COPY), os.path.realpath(package_library()))
        if os.path.exists("/proc/self/maps"):
            with open("/proc/self/maps") as maps:
                loaded = {os.path.realpath(line.split()[-1]) for line in maps
                          if "libpolylock.so" in line}
            self.assertEqual(len(loaded), 2, loaded)

    def hammer_through_both(self, lock, handle):
        tally = Tally()
        statuses = []
        threads = [start_thread(lambda: statuses.append(self.peer.peer_hammer(
            handle, NATIVE_THREADS, ROUNDS, *tally.pointers())))]
        for _ in range(2):
            threads.append(start_thread(python_rounds, lock, tally, ROUNDS))
            threads.append(start_thread(copy_rounds, self.copy, handle, tally, ROUNDS))
        for thread in threads:
            join(self, thread, 300)
        self.assertEqual(statuses, [LOCK_OK])
        self.assertEqual(tally.overlaps.value, 0, "two holders at once")
        self.assertEqual(tally.counter.value, ROUNDS * (NATIVE_THREADS + 4))

    def test_a_lock_the_wheel_made_used_by_the_other_copy(self):
        lock = polylock.Lock()
        handle = self.copy.lock_ref(lock.handle)
        self.assertEqual(handle, lock.handle)
        self.hammer_through_both(lock, handle)
        lock.acquire()
        self.assertEqual(self.copy.lock_locked(handle), 1)
        self.assertEqual(self.copy.lock_release(handle), LOCK_OK)
        self.copy.lock_free(handle)
        self.assertIs(lock.locked(), False)

    def test_a_lock_the_other_copy_made_wrapped_by_python(self):
        handle = self.copy.lock_new()
        lock = polylock.Lock.from_handle(handle)
        self.hammer_through_both(lock, handle)
        self.copy.lock_free(handle)
        self.assertIs(lock.acquire(False), True)
        lock.release()
        self.assertRaisesRegex(RuntimeError, "^release unlocked lock$", lock.release)


def capsule_peer():
    if not EXTENSIONS or not os.path.isdir(EXTENSIONS):
        raise unittest.SkipTest("needs the test extension polylock_capsule_peer "
                                "(CTest passes POLYLOCK_TEST_EXTENSIONS)")
    if EXTENSIONS not in sys.path:
        sys.path.insert(0, EXTENSIONS)
    return importlib.import_module("polylock_capsule_peer")


class SharedWithACExtension(unittest.TestCase):
    """A C extension takes the lock as a PyCapsule named "polylock.lock_t"."""

    def setUp(self):
        self.ext = capsule_peer()

    def test_native_threads_hammer_the_capsules_lock_with_python_threads(self):
        lock = polylock.Lock()
        capsule = lock.capsule()
        tally = Tally()
        statuses = []
        threads = [start_thread(lambda: statuses.append(self.ext.hammer(
            capsule, NATIVE_THREADS, ROUNDS, *tally.addresses())))]
        threads += [start_thread(python_rounds, lock, tally, ROUNDS)
                    for _ in range(PYTHON_THREADS)]
        for thread in threads:
            join(self, thread, 300)
        self.assertEqual(statuses, [LOCK_OK])
        self.assertEqual(tally.overlaps.value, 0, "two holders at once")
        self.assertEqual(tally.counter.value, ROUNDS * (NATIVE_THREADS + PYTHON_THREADS))

    def test_the_capsule_is_named_and_holds_the_handle(self):
        lock = polylock.Lock()
        capsule = lock.capsule()
        self.assertEqual(type(capsule).__name__, "PyCapsule")
        self.assertIn('"polylock.lock_t"', repr(capsule))
        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype = ctypes.c_void_p
        get.argtypes = [ctypes.py_object, ctypes.c_char_p]
        self.assertEqual(get(capsule, b"polylock.lock_t"), lock.handle)

    def test_the_capsule_keeps_the_lock_alive_after_the_python_lock_dies(self):
        lock = polylock.Lock()
        capsule = lock.capsule()
        lock.acquire()
        del lock
        gc.collect()
        self.assertEqual(self.ext.locked(capsule), 1)
        self.assertEqual(self.ext.release(capsule), LOCK_OK)
        self.assertEqual(self.ext.try_acquire(capsule), LOCK_OK)

    def test_python_wraps_a_capsule_the_extension_made(self):
        capsule = self.ext.make()
        lock = polylock.Lock.from_capsule(capsule)
        self.assertEqual(self.ext.try_acquire(capsule), LOCK_OK)
        self.assertIs(lock.locked(), True)
        del capsule  # the extension's reference goes; the Lock's stays
        gc.collect()
        self.assertIs(lock.acquire(False), False)
        lock.release()
        self.assertIs(lock.acquire(False), True)
        lock.release()

    def test_from_capsule_of_capsule_round_trip(self):
        lock = polylock.Lock()
        same = polylock.Lock.from_capsule(lock.capsule())
        self.assertEqual(same.handle, lock.handle)
        with lock:
            self.assertIs(same.locked(), True)

    def test_bad_capsules(self):
        with self.assertRaises(ValueError) as caught:
            polylock.Lock.from_capsule(self.ext.wrong_name())
        self.assertIn("'polylock.not_a_lock'", str(caught.exception))
        for bad in (None, 1, "polylock.lock_t", polylock.Lock()):
            self.assertRaises(TypeError, polylock.Lock.from_capsule, bad)


class BadHandles(unittest.TestCase):
    """A handle that is not a lock is a clear error, never a crash."""

    def test_not_an_int_is_type_error(self):
        for bad in (None, True, False, 1.5, "4096", b"\x00", ctypes.c_void_p(8), [], object()):
            with self.subTest(handle=bad):
                with self.assertRaises(TypeError) as caught:
                    polylock.Lock.from_handle(bad)
                self.assertIn("must be int", str(caught.exception))

    def test_null_negative_huge_or_not_a_lock_is_value_error(self):
        zeros = ctypes.create_string_buffer(256)  # readable memory that is not a lock
        not_a_lock = (ctypes.addressof(zeros) + 7) // 8 * 8
        for bad in (0, -1, -4096, 2**64, 2**100, 1, 8, 4095, 2**63, 2**64 - 8,
                    not_a_lock + 1, not_a_lock, id(object())):
            with self.subTest(handle=bad):
                self.assertRaises(ValueError, polylock.Lock.from_handle, bad)

    def test_addresses_never_mapped_are_value_error(self):
        # Past the first page but in the first 64 KiB, and on x86-64 past 47-bit
        # user space: refused without being read (reading them would crash).
        unmapped = [4096, 65528]
        if platform.machine() in ("x86_64", "AMD64"):
            unmapped += [2**47, 0x0000800000001000]
        for bad in unmapped:
            with self.subTest(handle=hex(bad)):
                with self.assertRaises(ValueError) as caught:
                    polylock.Lock.from_handle(bad)
                self.assertIn("not the address of a polylock lock_t", str(caught.exception))

    def test_handle_is_a_read_only_int(self):
        lock = polylock.Lock()
        self.assertIsInstance(lock.handle, int)
        self.assertGreater(lock.handle, 0)
        self.assertEqual(lock.handle, lock.handle)
        with self.assertRaises(AttributeError):
            lock.handle = 0
        self.assertNotEqual(polylock.Lock().handle, lock.handle)


@unittest.skipUnless(PEER and os.path.isfile(PEER), NEEDS_PEER)
class ApiOnAWrappedLock(Api, unittest.TestCase):
    """Every assertion of test_api's contract, on a lock C made and Python
    wrapped, whose maker has already dropped its reference: it behaves exactly
    like a lock Python made (errors, locked(), repr, with, weakrefs)."""

    is_polylock = True
    peer = None

    @classmethod
    def setUpClass(cls):
        cls.peer = load_peer()

    @classmethod
    def Lock(cls):
        handle = cls.peer.peer_new()
        lock = polylock.Lock.from_handle(handle)
        cls.peer.peer_free(handle)
        return lock


if __name__ == "__main__":
    unittest.main()
