namespace PolyLock;

// One lock, many owners (lock.h 1.2, lock_ref): handing the native lock out,
// and wrapping one made elsewhere.
public sealed partial class Lock
{
    /// <summary>Wraps a native <c>lock_t*</c> made elsewhere -- by C or C++ code, another
    /// runtime or another copy of libpolylock -- taking a reference of its own with
    /// <c>lock_ref</c>.</summary>
    /// <remarks>The new <see cref="Lock"/> behaves exactly like one made by
    /// <see cref="Lock()"/>, fast path included, and owns only its own reference: its
    /// <see cref="Dispose"/> (or finalizer) drops that one with <c>lock_free</c>, and the
    /// maker frees its own, in either order. The last reference frees the lock.</remarks>
    /// <param name="handle">The address of a live polylock 1.2+ lock (a <c>lock_t*</c>); the
    /// caller must hold a reference to it for the length of this call.</param>
    /// <returns>A lock sharing the native lock.</returns>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is 0, or
    /// <c>lock_ref</c> found no polylock 1.2+ lock there (a best-effort check: a freed or wild
    /// pointer is still the caller's bug, as with <c>free</c>).</exception>
    public static Lock FromHandle(nint handle)
    {
        if (handle == 0)
        {
            throw new ArgumentException("polylock: a handle of 0 is not a lock", nameof(handle));
        }
        LockHandle own = LockApi.lock_ref(handle);
        if (own.IsInvalid)
        {
            own.Dispose();
            throw new ArgumentException(
                $"polylock: 0x{handle:x} is not a polylock lock_t* of ABI 1.2 or later (lock_ref refused it)",
                nameof(handle));
        }
        return new Lock(own);
    }

    /// <summary>The native <c>lock_t*</c>, borrowed: for C code that takes a lock, or for
    /// <see cref="FromHandle"/> in another runtime.</summary>
    /// <remarks>The handle stays valid while this object is neither disposed nor
    /// collected: keep the object alive (<see cref="GC.KeepAlive"/>) while native code uses
    /// the handle, or have the native code take its own reference with <c>lock_ref</c> and
    /// drop it with <c>lock_free</c>.</remarks>
    /// <returns>The address of the native lock.</returns>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public nint DangerousGetHandle()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _native;
    }
}
