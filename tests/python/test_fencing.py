"""Fencing tokens (design.md §10): polylock.Lock.fencing_token().

The token is the etcd revision of this handle's hold of an "etcd://" lock, an
int that only grows from one hold to the next (docs/python.md, "Fencing
tokens"). Python's side of lock_fence's statuses: a hold this handle does not
have is a RuntimeError, as release() of an unlocked lock is; a lock without
tokens (Lock(), a named lock of this machine) is OSError with errno ENOTSUP.

The etcd cases run when POLYLOCK_ETCD_ENDPOINTS_FILE names the endpoints file
of a running etcd (tests/etcd's fixture, as CTest's python-*-etcd sets it up)
and are SKIPPED, saying so, otherwise."""
import errno
import os
import unittest

import polylock

ENDPOINTS_FILE = os.environ.get("POLYLOCK_ETCD_ENDPOINTS_FILE", "")


def endpoints():
    if not ENDPOINTS_FILE:
        return ""
    with open(ENDPOINTS_FILE) as file:
        return file.readline().strip()


class WithoutTokens(unittest.TestCase):
    def assert_not_supported(self, lock):
        with self.assertRaises(OSError) as caught:
            lock.fencing_token()
        self.assertEqual(caught.exception.errno, errno.ENOTSUP)

    def test_an_in_process_lock_has_no_token_held_or_not(self):
        lock = polylock.Lock()
        self.assert_not_supported(lock)
        with lock:
            self.assert_not_supported(lock)

    def test_a_named_lock_has_no_token_held_or_not(self):
        name = "polylock-test-fence.%d" % os.getpid()
        try:
            lock = polylock.Lock.open(name)
        except OSError as error:
            if error.errno == errno.ENOTSUP:
                self.skipTest("no named locks here")
            raise
        self.addCleanup(polylock.unlink, name)
        self.assert_not_supported(lock)
        with lock:
            self.assert_not_supported(lock)

    def test_it_takes_no_arguments(self):
        self.assertRaises(TypeError, polylock.Lock().fencing_token, 1)


@unittest.skipUnless(ENDPOINTS_FILE, "no etcd: POLYLOCK_ETCD_ENDPOINTS_FILE is not set")
class EtcdTokens(unittest.TestCase):
    def name(self, what):
        return "etcd://%s/test-py-%d-%s" % (endpoints(), os.getpid(), what)

    def test_each_hold_has_a_greater_token_whichever_handle_holds(self):
        first = polylock.Lock.open(self.name("grows"))
        second = polylock.Lock.open(self.name("grows"))
        self.assertRaisesRegex(RuntimeError, "does not hold", first.fencing_token)
        previous = 0
        for holder, other in [(first, second), (second, first)] * 2:
            self.assertIs(holder.acquire(timeout=10), True)
            token = holder.fencing_token()
            self.assertIsInstance(token, int)
            self.assertGreater(token, previous)
            self.assertEqual(holder.fencing_token(), token)  # one hold, one token
            self.assertRaisesRegex(RuntimeError, "does not hold", other.fencing_token)
            previous = token
            holder.release()
            self.assertRaisesRegex(RuntimeError, "does not hold", holder.fencing_token)

    def test_the_token_of_a_with_block(self):
        lock = polylock.Lock.open(self.name("with"))
        with lock:
            inside = lock.fencing_token()
        with lock:
            self.assertGreater(lock.fencing_token(), inside)


if __name__ == "__main__":
    unittest.main()
