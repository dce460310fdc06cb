"""Type stubs for polylock._polylock: SWIG's C ABI functions and the Lock type."""
from types import TracebackType
from typing import Any, Optional, SupportsIndex, Type, Union

TIMEOUT_MAX: float
"""The largest timeout acquire() accepts, in seconds (equals threading.TIMEOUT_MAX)."""

class Lock:
    """A lock with the semantics of threading.Lock: not owned, not re-entrant."""

    def __init__(self) -> None: ...
    def acquire(self, blocking: bool = ..., timeout: Union[float, SupportsIndex] = ...) -> bool:
        """Take the lock, waiting at most `timeout` seconds (-1: no limit); True if taken."""
    def __enter__(self, blocking: bool = ..., timeout: Union[float, SupportsIndex] = ...) -> bool:
        """acquire(), for the with statement."""
    def release(self) -> None:
        """Release the lock (from any thread); RuntimeError if it is not locked."""
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """release(), for the with statement."""
    def locked(self) -> bool:
        """Whether the lock is held right now (a snapshot)."""
    def _at_fork_reinit(self) -> None:
        """Make the lock unlocked with no waiters, in a child after fork()."""

# The C ABI, as SWIG wraps <polylock/lock.h>. A handle is an opaque SWIG pointer
# object; C's rules apply (free a handle once, never use it afterwards).
_Handle = Any

LOCK_VERSION_MAJOR: int
LOCK_VERSION_MINOR: int
LOCK_VERSION_PATCH: int
LOCK_OK: int
LOCK_TIMEOUT: int
LOCK_EINVAL: int
LOCK_ENOTLOCKED: int
LOCK_EINTR: int
LOCK_WAIT_FOREVER: int

def lock_version() -> str:
    """The C library's version, "MAJOR.MINOR.PATCH"."""
def lock_strerror(status: int) -> str:
    """Static English text for a status code."""
def lock_new() -> _Handle:
    """A new unlocked lock handle (None if out of memory)."""
def lock_free(lock: _Handle) -> None:
    """Free a handle; None is a no-op."""
def lock_acquire(lock: _Handle, timeout_ns: int) -> int:
    """Take the lock (-1 waits forever, 0 tries, > 0 nanoseconds); a LOCK_* status."""
def lock_release(lock: _Handle) -> int:
    """Release the lock; LOCK_OK or LOCK_ENOTLOCKED."""
def lock_locked(lock: _Handle) -> int:
    """1 if locked, 0 if not."""
def lock_interrupt(lock: _Handle) -> int:
    """Disturb interruptible waiters on the lock."""
def lock_reinit(lock: _Handle) -> int:
    """Re-initialise the lock after fork()."""
