"""Type stubs for polylock._polylock: SWIG's C ABI functions and the Lock type."""
from types import TracebackType
from typing import Any, Optional, SupportsIndex, Tuple, Type, TypeVar, Union

_L = TypeVar("_L", bound="Lock")

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
    def acquire_lock(
        self, blocking: bool = ..., timeout: Union[float, SupportsIndex] = ...
    ) -> bool:
        """An obsolete synonym of acquire(), as threading.Lock has."""
    def release_lock(self) -> None:
        """An obsolete synonym of release(), as threading.Lock has."""
    def locked_lock(self) -> bool:
        """An obsolete synonym of locked(), as threading.Lock has."""
    def _at_fork_reinit(self) -> None:
        """Make the lock unlocked with no waiters, in a child after fork()."""
    @classmethod
    def from_handle(cls: Type[_L], handle: int) -> _L:
        """Wrap a foreign lock_t * address, taking a reference of its own."""
    @classmethod
    def from_capsule(cls: Type[_L], capsule: Any) -> _L:
        """Wrap the lock_t * of a 'polylock.lock_t' capsule, taking a reference of its own."""
    def capsule(self) -> Any:
        """A 'polylock.lock_t' capsule; it holds a reference of its own."""
    @classmethod
    def open(cls: Type[_L], name: str) -> _L:
        """The named lock `name`, shared by this user's processes; created if needed."""
    def fencing_token(self) -> int:
        """The token of this handle's hold of an etcd:// lock (only grows); RuntimeError if not held, OSError(ENOTSUP) for other kinds."""
    @property
    def handle(self) -> int:
        """The lock_t * address (borrowed: valid while this Lock lives)."""
    @property
    def owner_died(self) -> bool:
        """The acquire that took the lock found its previous holder's process dead."""

def unlink(name: str) -> None:
    """Remove the named lock `name`; open handles keep working."""

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
LOCK_OWNERDEAD: int
LOCK_ENOTSUP: int
LOCK_ENOMEM: int
LOCK_EACCES: int
LOCK_ESYS: int
LOCK_FAST_FREE: int
LOCK_FAST_HELD: int
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
def lock_ref(lock: _Handle) -> _Handle:
    """Take another reference (each is dropped by one lock_free); None for a non-lock."""
def lock_open(name: str) -> Tuple[_Handle, int]:
    """Open (creating if needed) the named lock: (handle or None, LOCK_* status)."""
def lock_unlink(name: str) -> int:
    """Remove a named lock's name; a LOCK_* status."""
def lock_fence(lock: _Handle) -> Tuple[int, int]:
    """The fencing token of this hold of a lock in a shared store: (LOCK_* status, token)."""
