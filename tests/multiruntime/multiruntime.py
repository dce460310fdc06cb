"""The Python side of the multi-runtime test (host.cpp runs it in CPython
embedded in a process that also hosts a JVM and .NET).

polylock comes from the wheel only: install() extracts it to a temporary
directory and puts that first on sys.path. The host's counter and checks are
C functions of the host program, reached through ctypes.CDLL(None) (the host
is linked with -rdynamic). Every function returns an int to the host: 0 or a
phase-specific value; an exception is reported by the host as a failure.
"""
import ctypes
import gc
import os
import random
import shutil
import sys
import tempfile
import threading
import zipfile

PYTHON = 2

_host = ctypes.CDLL(None)
_host.mr_enter.argtypes = [ctypes.c_int]
_host.mr_enter.restype = ctypes.c_int
_host.mr_leave.argtypes = [ctypes.c_int]
_host.mr_leave.restype = None
_host.mr_post.argtypes = [ctypes.c_int]
_host.mr_post.restype = None
_host.mr_take.argtypes = [ctypes.c_int]
_host.mr_take.restype = ctypes.c_int
_host.mr_done.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
_host.mr_done.restype = None
_host.mr_fail.argtypes = [ctypes.c_char_p]
_host.mr_fail.restype = None
_host.mr_released.argtypes = [ctypes.c_int]
_host.mr_released.restype = ctypes.c_int

polylock = None
_dir = None
_lock = None  # the host's lock, wrapped with a reference of our own
_probe = None  # a lock this binding made, to tell which copy of the library it uses
_seed = 0
_iterations = 0
_workers = []
_waiter = None
_waiter_state = {"waiting": False, "acquired": False}


def _fail(text):
    _host.mr_fail(text.encode("utf-8", "replace"))


def install(wheel):
    """Extracts the wheel and imports polylock from it (and from nowhere else)."""
    global polylock, _dir
    _dir = tempfile.mkdtemp(prefix="polylock-multiruntime-")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(_dir)
    sys.path.insert(0, _dir)
    import polylock as module

    where = os.path.realpath(module.__file__)
    if not where.startswith(os.path.realpath(_dir) + os.sep):
        raise RuntimeError("polylock was imported from %s, not from the wheel" % where)
    polylock = module
    return 0


def probe_lock():
    global _probe
    _probe = polylock.Lock()
    return _probe.handle


def wrap(handle, seed, iterations):
    global _lock, _seed, _iterations
    _lock = polylock.Lock.from_handle(handle)
    if _lock.handle != handle:
        raise RuntimeError("from_handle(%#x).handle is %#x" % (handle, _lock.handle))
    _seed, _iterations = seed, iterations
    return 0


def _work(index):
    rng = random.Random(_seed * 31 + 1000 * PYTHON + index)
    ok = given = 0
    lock = _lock
    try:
        while ok < _iterations:
            if _host.mr_take(PYTHON):  # another runtime's holder left it to us
                _host.mr_leave(PYTHON)
                lock.release()
                given += 1
            kind = rng.randrange(3)
            if kind == 0:
                got = lock.acquire()
                if not got:
                    _fail("python: a blocking acquire returned False")
            elif kind == 1:
                got = lock.acquire(False)
            else:
                got = lock.acquire(True, rng.randrange(1, 2000) / 1e6)
            if not got:
                continue
            _host.mr_enter(PYTHON)
            ok += 1
            if rng.randrange(8) == 0:
                _host.mr_post(PYTHON)  # still held: a thread of another runtime releases it
            else:
                _host.mr_leave(PYTHON)
                lock.release()
    except BaseException as error:  # reported, never raised into threading
        _fail("python worker %d: %r" % (index, error))
    finally:
        _host.mr_done(PYTHON, ok, given)


def start():
    _workers[:] = [threading.Thread(target=_work, args=(i,), name="mr-python-%d" % i)
                   for i in range(2)]
    for worker in _workers:
        worker.start()
    return 0


def join(timeout):
    for worker in _workers:
        worker.join(timeout)
    return 0 if any(worker.is_alive() for worker in _workers) else 1


# ---- gil: this thread waits for the lock that a Java thread holds; the Java
# thread then calls probe() (PyGILState_Ensure) before it releases.
def _wait_for_the_java_holder():
    _waiter_state["waiting"] = True
    got = _lock.acquire(True, 120)
    _waiter_state["acquired"] = got
    if not got:
        _fail("gil: the Python waiter timed out")
        return
    _host.mr_enter(PYTHON)
    _host.mr_leave(PYTHON)
    _lock.release()


def gil_waiter_start():
    global _waiter
    _waiter_state["waiting"] = False
    _waiter_state["acquired"] = False
    _waiter = threading.Thread(target=_wait_for_the_java_holder, name="mr-python-waiter")
    _waiter.start()
    return 0


def probe():
    """Runs on a Java or native thread that holds the lock, while our waiter waits."""
    waiting = _waiter_state["waiting"] and not _waiter_state["acquired"] and _waiter.is_alive()
    if not waiting:
        _fail("gil: the Python waiter was not waiting when the holder called in")
        return 0
    return 42


def gil_waiter_join(timeout):
    _waiter.join(timeout)
    return 0 if _waiter.is_alive() or not _waiter_state["acquired"] else 1


def drop(target):
    """Drops this binding's reference to the host's lock (and the probe lock);
    1 if the lock then has `target` references left (0: it was freed)."""
    global _lock, _probe
    _lock = None
    _probe = None
    gc.collect()
    return _host.mr_released(target)


def cleanup():
    if _dir is not None:
        shutil.rmtree(_dir, ignore_errors=True)
    return 0
