"""polylock: one lock with the semantics of threading.Lock.

``polylock.Lock`` is a drop-in for ``threading.Lock``: the same arguments,
errors, ``with`` statement and ``repr``; it works inside ``threading.Condition``,
and Ctrl-C interrupts a blocked ``acquire()``. The lock itself is polylock's C
library (``libpolylock.so.1``, carried inside this package), the same lock the
C, C++, Java and C# faces use.

    >>> import polylock
    >>> lock = polylock.Lock()
    >>> with lock:
    ...     pass

The same lock can be shared with C code and other runtimes in this process
(``Lock.from_handle``, ``lock.handle``, ``lock.capsule()``, ``Lock.from_capsule``)
and with other processes by name (``Lock.open(name)``, ``polylock.unlink(name)``).

``polylock.capi`` is the C ABI as SWIG generates it, for tests and the curious.
"""
from ._polylock import TIMEOUT_MAX, Lock, lock_version, unlink

__all__ = ["Lock", "TIMEOUT_MAX", "unlink"]

#: The version of the polylock C library in use ("MAJOR.MINOR.PATCH").
__version__ = lock_version()

del lock_version
