"""The two locks every behaviour is checked on, and helpers the suites share.

Each suite writes its assertions once, in a mixin, and runs them on
threading.Lock (the reference) and on polylock.Lock (the drop-in).
"""
import threading
import unittest

import polylock


def for_each_lock(contract):
    """Two TestCase classes from a mixin: one per lock, named after it."""
    reference = type(contract.__name__ + "_threading", (contract, unittest.TestCase),
                     {"Lock": staticmethod(threading.Lock), "is_polylock": False,
                      "__module__": contract.__module__})
    dropin = type(contract.__name__ + "_polylock", (contract, unittest.TestCase),
                  {"Lock": staticmethod(polylock.Lock), "is_polylock": True,
                   "__module__": contract.__module__})
    return reference, dropin


def start_thread(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def join(testcase, thread, timeout=60.0):
    """Joins with a very generous bound, so a hang fails instead of stalling CI."""
    thread.join(timeout)
    testcase.assertFalse(thread.is_alive(), "thread still running after %s s" % timeout)
