using System.Runtime.InteropServices;

namespace PolyLock;

/// <summary>Owns one native <c>lock_t</c>: <see cref="ReleaseHandle"/> frees it once
/// the last user has let go (Dispose, or the finalizer of an undisposed lock).</summary>
internal sealed class LockHandle : SafeHandle
{
    /// <summary>Called by the P/Invoke marshaller for <c>lock_new</c>'s result.</summary>
    public LockHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        LockApi.lock_free(handle);
        FinalizerBacklog.Freed();
        return true;
    }
}
