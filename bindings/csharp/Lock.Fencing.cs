namespace PolyLock;

// Fencing tokens (lock.h 1.2, lock_fence), for locks served by etcd.
public sealed partial class Lock
{
    /// <summary>The fencing token of this handle's current hold of a lock served by a store
    /// that several machines share (an <c>etcd://</c> name, see <see cref="Open"/>): the etcd
    /// revision at which the hold was taken, a number that only grows from one hold to the
    /// next.</summary>
    /// <remarks>
    /// <para>Pass it with every write to the resource the lock guards, and let the resource
    /// refuse a token lower than one it has seen: a holder whose lease expired while it was
    /// paused or cut off, and that has not noticed yet, then can do no harm (docs/etcd.md,
    /// "Fencing tokens"). A stale holder still gets its old token here; that is the token the
    /// resource refuses.</para>
    /// <para>The token is kept by this handle: reading it costs no round trip. A hold taken
    /// through another <see cref="Lock"/> object (or another process) has its own token, which
    /// only that holder can read.</para>
    /// </remarks>
    /// <returns>The token of this handle's hold (unitless; greater than every earlier hold's).</returns>
    /// <exception cref="SynchronizationLockException">This handle does not hold the lock
    /// (<c>LOCK_ENOTLOCKED</c>): nobody holds it, another handle does, or this handle's hold
    /// was released.</exception>
    /// <exception cref="NotSupportedException">The lock has no fencing tokens
    /// (<c>LOCK_ENOTSUP</c>): a lock made by <see cref="Lock()"/> or wrapped by
    /// <see cref="FromHandle"/>, or a named lock of this machine.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public unsafe ulong GetFencingToken()
    {
        IntPtr native = Use();
        ulong token = 0;
        int status;
        try
        {
            status = LockApi.lock_fence(native, &token);
        }
        finally
        {
            Done();
        }
        return status switch
        {
            LockApi.LOCK_OK => token,
            LockApi.LOCK_ENOTLOCKED => throw new SynchronizationLockException(
                "polylock: a fencing token was asked of a handle that does not hold the lock."),
            LockApi.LOCK_ENOTSUP => throw new NotSupportedException(
                "polylock: this kind of lock has no fencing tokens (only etcd:// locks do)."),
            _ => throw Unexpected(status),
        };
    }
}
