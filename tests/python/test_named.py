"""Named locks (design.md §8): polylock.Lock.open(name) and polylock.unlink(name).

Python's side of the contract: a name that is not a str is a TypeError, a bad
name a ValueError, another user's or a foreign object a PermissionError, a
missing name to unlink a FileNotFoundError; a named lock is a polylock.Lock in
every way (test_api's whole contract runs on one); processes share it with an
exact counter; and when the holder's process dies the next acquire() returns
True with lock.owner_died set (see docs/python.md, "A holder that died").

Until the C library implements named locks, lock_open answers LOCK_ENOTSUP
(Lock.open raises OSError with errno ENOTSUP): every test that needs a named
lock is then SKIPPED, and says so -- none passes without running. The checks
the binding makes itself (types, NUL) run either way."""
import errno
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import polylock
from locks import join, start_thread
from test_api import Api

NOT_YET = ("named locks are not supported by this libpolylock "
           "(lock_open answers LOCK_ENOTSUP)")
_serial = itertools.count()


def fresh_name():
    return "polylock-test.%d.%d" % (os.getpid(), next(_serial))


def unlink_quietly(name):
    try:
        polylock.unlink(name)
    except FileNotFoundError:
        pass


def not_supported(error):
    return isinstance(error, OSError) and error.errno == errno.ENOTSUP


def named_locks_supported():
    name = fresh_name()
    try:
        polylock.Lock.open(name)
    except OSError as error:
        if not_supported(error):
            return False
        raise
    unlink_quietly(name)
    return True


SUPPORTED = named_locks_supported()


def child(script, *args):
    """A Python process running `script` with the same polylock installed."""
    return subprocess.Popen([sys.executable, "-I", "-c", script] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


HOLD_AND_WAIT = """
import sys, time, polylock
lock = polylock.Lock.open(sys.argv[1])
assert lock.acquire(timeout=60)
print("held", flush=True)
if sys.argv[2] == "exit":
    import os; os._exit(0)        # exits holding the lock, without releasing
time.sleep(600)                   # until killed
"""

RELEASE = """
import sys, polylock
polylock.Lock.open(sys.argv[1]).release()
print("released", flush=True)
"""

HAMMER = """
import sys, polylock
lock, path, rounds = polylock.Lock.open(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for round in range(rounds):
    with lock:
        with open(path, "r+") as counter:
            value = int(counter.read())
            counter.seek(0)
            counter.write(str(value + 1))
            counter.truncate()
print("done", flush=True)
"""


class NamesAndTypes(unittest.TestCase):
    """What the binding checks before the C library sees a name: these run
    whether or not named locks are supported."""

    def test_name_must_be_a_str(self):
        for bad in (None, b"name", 1, ["name"], object()):
            with self.subTest(name=bad):
                with self.assertRaises(TypeError) as caught:
                    polylock.Lock.open(bad)
                self.assertIn("must be str", str(caught.exception))
                self.assertRaises(TypeError, polylock.unlink, bad)

    def test_a_nul_in_the_name_is_value_error(self):
        for function in (polylock.Lock.open, polylock.unlink):
            with self.assertRaises(ValueError) as caught:
                function("a\0b")
            self.assertIn("invalid lock name", str(caught.exception))

    def test_a_name_that_cannot_be_utf8_is_value_error(self):
        self.assertRaises(ValueError, polylock.Lock.open, "a\udc80b")

    def test_bad_names_are_value_error(self):
        bad_names = ["", ".hidden", ".", "..", "a b", "a/b", "/abs", "a\\b", "a:b", "a\nb",
                     "é", "x" * 201, "tab\t", "star*", "foo://bar"]
        for name in bad_names:
            for function in (polylock.Lock.open, polylock.unlink):
                with self.subTest(name=name, function=function.__name__):
                    try:
                        function(name)
                    except ValueError as error:
                        self.assertIn("invalid lock name", str(error))
                        continue
                    except OSError as error:
                        if not_supported(error):
                            self.skipTest(NOT_YET)
                        raise
                    self.fail("%s(%r) was accepted" % (function.__name__, name))

    def test_unsupported_is_an_os_error_with_enotsup(self):
        if SUPPORTED:
            self.skipTest("named locks are supported here")
        with self.assertRaises(OSError) as caught:
            polylock.Lock.open(fresh_name())
        self.assertEqual(caught.exception.errno, errno.ENOTSUP)


@unittest.skipUnless(SUPPORTED, NOT_YET)
class NamedLocks(unittest.TestCase):
    def open(self, name=None):
        name = name or fresh_name()
        lock = polylock.Lock.open(name)
        self.addCleanup(unlink_quietly, name)
        return name, lock

    def test_a_named_lock_is_a_polylock_lock(self):
        name, lock = self.open()
        self.assertIs(type(lock), polylock.Lock)
        self.assertIs(lock.locked(), False)
        self.assertIs(lock.owner_died, False)
        with lock:
            self.assertIs(lock.locked(), True)
            self.assertTrue(repr(lock).startswith("<locked polylock.Lock object at 0x"))
        self.assertRaisesRegex(RuntimeError, "^release unlocked lock$", lock.release)

    def test_names_up_to_200_characters_of_the_alphabet(self):
        unique = "%d.%d" % (os.getpid(), next(_serial))
        for name in ("a" + unique, "AZ-az_09." + unique, "-" + unique, "_" + unique,
                     "0" + unique, unique + "x" * (200 - len(unique))):
            with self.subTest(name=name):
                _, lock = self.open(name)
                self.assertIs(lock.acquire(False), True)
                lock.release()

    def test_two_opens_of_one_name_are_one_lock(self):
        name, first = self.open()
        second = polylock.Lock.open(name)
        self.assertIs(first.acquire(False), True)
        self.assertIs(second.locked(), True)
        self.assertIs(second.acquire(False), False)
        second.release()  # any owner may release
        self.assertIs(first.locked(), False)

    def test_unlink_then_open_makes_a_fresh_lock(self):
        name, old = self.open()
        old.acquire()
        polylock.unlink(name)
        self.assertRaises(FileNotFoundError, polylock.unlink, name)
        new = polylock.Lock.open(name)
        self.assertIs(new.locked(), False)
        self.assertIs(old.locked(), True)  # the open handle keeps working
        old.release()

    def test_unlink_of_a_missing_name_is_file_not_found(self):
        with self.assertRaises(FileNotFoundError) as caught:
            polylock.unlink(fresh_name())
        self.assertEqual(caught.exception.errno, errno.ENOENT)

    def test_release_from_another_process(self):
        name, lock = self.open()
        lock.acquire()
        releaser = child(RELEASE, name)
        out, err = releaser.communicate(timeout=60)
        self.assertEqual((releaser.returncode, out.strip()), (0, "released"), err)
        self.assertIs(lock.locked(), False)

    def test_processes_and_threads_hammer_with_an_exact_counter(self):
        name, lock = self.open()
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), name + ".counter")
        with open(path, "w") as counter:
            counter.write("0")
        self.addCleanup(os.unlink, path)
        processes, threads, rounds = 3, 2, 300
        children = [child(HAMMER, name, path, rounds) for _ in range(processes)]

        def in_this_process():
            for _ in range(rounds):
                with lock:
                    with open(path, "r+") as counter:
                        value = int(counter.read())
                        counter.seek(0)
                        counter.write(str(value + 1))
                        counter.truncate()

        workers = [start_thread(in_this_process) for _ in range(threads)]
        for worker in workers:
            join(self, worker, 300)
        for process in children:
            out, err = process.communicate(timeout=300)
            self.assertEqual((process.returncode, out.strip()), (0, "done"), err)
        with open(path) as counter:
            self.assertEqual(int(counter.read()), rounds * (processes + threads))

    def start_holder(self, name, how="wait"):
        holder = child(HOLD_AND_WAIT, name, how)
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        self.assertEqual(holder.stdout.readline().strip(), "held")
        return holder

    def test_holder_killed_next_acquire_gets_the_lock_with_owner_died(self):
        name, lock = self.open()
        holder = self.start_holder(name)
        self.assertIs(lock.acquire(False), False)
        holder.send_signal(signal.SIGKILL)
        holder.wait(60)
        self.assertIs(lock.acquire(timeout=60), True)
        self.assertIs(lock.owner_died, True)
        self.assertIs(lock.locked(), True)
        lock.release()
        self.assertIs(lock.acquire(timeout=60), True)  # a plain acquisition again
        self.assertIs(lock.owner_died, False)
        lock.release()

    def test_holder_that_exits_without_releasing_is_dead_too(self):
        name, lock = self.open()
        holder = self.start_holder(name, "exit")
        holder.wait(60)
        self.assertIs(lock.acquire(timeout=60), True)
        self.assertIs(lock.owner_died, True)
        lock.release()

    def test_a_blocked_waiter_recovers_when_the_holder_is_killed(self):
        name, lock = self.open()
        holder = self.start_holder(name)
        result = []
        waiter = start_thread(lambda: result.append((lock.acquire(timeout=120), lock.owner_died)))
        time.sleep(0.1)  # most likely asleep in acquire by now; either way it must recover
        holder.send_signal(signal.SIGKILL)
        holder.wait(60)
        join(self, waiter, 180)
        self.assertEqual(result, [(True, True)])
        lock.release()

    def test_with_runs_its_body_and_releases_after_a_holder_died(self):
        name, lock = self.open()
        holder = self.start_holder(name)
        holder.send_signal(signal.SIGKILL)
        holder.wait(60)
        ran = []
        with lock:  # no exception: the body runs, and the exit releases
            ran.append(lock.owner_died)
        self.assertEqual(ran, [True])
        self.assertIs(lock.locked(), False)

    def test_a_thread_that_exits_holding_it_is_not_a_dead_process(self):
        name, lock = self.open()
        join(self, start_thread(lock.acquire))
        self.assertIs(lock.acquire(False), False)
        self.assertIs(lock.locked(), True)
        lock.release()
        self.assertIs(lock.owner_died, False)

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork()")
    def test_a_fork_child_shares_the_named_lock(self):
        name, lock = self.open()
        lock.acquire()
        pid = os.fork()
        if pid == 0:
            lock._at_fork_reinit()  # changes nothing on a named lock
            ok = lock.locked()
            lock.release()  # the parent's hold, released from the child
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0)
        self.assertIs(lock.locked(), False)


def shared_object_of(name):
    """The file in /dev/shm that holds the named lock `name`, if it is one."""
    try:
        entries = os.listdir("/dev/shm")
    except OSError:
        return None
    found = [e for e in entries if e.endswith("." + name) and "polylock" in e]
    return os.path.join("/dev/shm", found[0]) if len(found) == 1 else None


@unittest.skipUnless(SUPPORTED, NOT_YET)
class HostileObjects(unittest.TestCase):
    """An object of the lock's name that is not ours, not a regular file, or not
    a polylock lock: PermissionError, nothing used, nothing changed. Where the C
    library keeps its objects is found by opening a lock and looking in /dev/shm."""

    def setUp(self):
        probe = fresh_name()
        polylock.Lock.open(probe)
        path = shared_object_of(probe)
        unlink_quietly(probe)
        if not path:
            self.skipTest("the named lock's object is not a file in /dev/shm named after it")
        self.prefix = path[:-len(probe)]

    def planted(self, make):
        name = fresh_name()
        path = self.prefix + name
        make(path)
        self.addCleanup(lambda: os.path.isdir(path) and os.rmdir(path) or
                        os.path.lexists(path) and os.unlink(path))
        return name, path

    def assert_refused(self, name):
        with self.assertRaises(PermissionError) as caught:
            polylock.Lock.open(name)
        self.assertEqual(caught.exception.errno, errno.EACCES)
        self.assertEqual(caught.exception.filename, name)

    def write(self, data):
        def make(path):
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o600)
        return make

    def test_garbage_or_truncated_objects_are_refused(self):
        for data in (b"", b"\x00" * 7, b"\xff" * 64, b"not a polylock lock" * 10):
            with self.subTest(data=data[:8]):
                name, path = self.planted(self.write(data))
                self.assert_refused(name)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), data)  # nothing changed

    def test_a_directory_or_a_symlink_is_refused(self):
        name, _ = self.planted(os.mkdir)
        self.assert_refused(name)
        target, _ = self.planted(self.write(b"x"))
        name, _ = self.planted(lambda path: os.symlink(self.prefix + target, path))
        self.assert_refused(name)

    @unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0, "needs root to chown")
    def test_another_users_lock_is_refused(self):
        real = fresh_name()
        polylock.Lock.open(real)
        path = self.prefix + real
        self.addCleanup(lambda: os.path.lexists(path) and os.unlink(path))
        os.chown(path, 65534, 65534)  # nobody's now
        self.assert_refused(real)
        self.assertRaises(PermissionError, polylock.unlink, real)  # not ours to remove
        self.assertTrue(os.path.exists(path))


@unittest.skipUnless(SUPPORTED, NOT_YET)
class ApiOnANamedLock(Api, unittest.TestCase):
    """Every assertion of test_api's contract, on a named lock whose name is
    already removed (open handles keep working)."""

    is_polylock = True

    @classmethod
    def Lock(cls):
        name = fresh_name()
        lock = polylock.Lock.open(name)
        polylock.unlink(name)
        return lock

    def test_at_fork_reinit_leaves_a_usable_unlocked_lock(self):
        self.skipTest("a fork child shares a named lock by design: "
                      "NamedLocks.test_a_fork_child_shares_the_named_lock")


if __name__ == "__main__":
    unittest.main()
