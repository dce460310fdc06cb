using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolyLock;

/// <summary>One wait in <c>lock_acquire_interruptible</c> that a
/// <see cref="CancellationToken"/> can end.</summary>
/// <remarks>
/// Cancelling calls <c>lock_interrupt</c>, which disturbs the threads waiting
/// on the lock; each asks its stop function (<see cref="ShouldStop"/>, on the
/// waiting thread), and this one says "stop" once the token is cancelled.
/// <c>lock_interrupt</c> only reaches threads already queued in the lock, so a
/// Cancel that lands while this thread is still on its way into the queue
/// would be lost. The cancel callback therefore disturbs the lock until the
/// wait has ended; <see cref="_phase"/> tells it when, and a Dekker-style
/// exchange between the two threads closes the gap before the wait starts.
/// </remarks>
internal sealed unsafe class CancelableWait
{
    private const int NotWaiting = 0;
    private const int Waiting = 1;
    private const int Done = 2;

    private readonly IntPtr _native;
    private readonly CancellationToken _token;
    private int _phase = NotWaiting;

    private CancelableWait(IntPtr native, CancellationToken token)
    {
        _native = native;
        _token = token;
    }

    /// <summary>Waits as <c>lock_acquire_interruptible</c>; the caller keeps the
    /// handle alive (DangerousAddRef) for the whole call.</summary>
    /// <returns>LOCK_OK, LOCK_TIMEOUT, or LOCK_EINTR when the token was cancelled.</returns>
    public static int Run(IntPtr native, long timeoutNs, CancellationToken token)
    {
        var wait = new CancelableWait(native, token);
        GCHandle self = GCHandle.Alloc(wait);
        try
        {
            int status;
            // Disposing the registration waits for a Disturb that is running,
            // so lock_interrupt never outlives the caller's reference.
            using (token.UnsafeRegister(static state => ((CancelableWait)state!).Disturb(), wait))
            {
                // Full fence: either the Cancel sees Waiting and disturbs until
                // Done, or this thread sees the cancellation here.
                Interlocked.Exchange(ref wait._phase, Waiting);
                status = token.IsCancellationRequested
                    ? LockApi.LOCK_EINTR
                    : LockApi.lock_acquire_interruptible(native, timeoutNs, &ShouldStop, GCHandle.ToIntPtr(self));
                Volatile.Write(ref wait._phase, Done);
            }
            return status;
        }
        finally
        {
            self.Free();
        }
    }

    /// <summary>Runs on the thread that cancels the token.</summary>
    private void Disturb()
    {
        var spinner = new SpinWait();
        while (Volatile.Read(ref _phase) == Waiting)
        {
            LockApi.lock_interrupt(_native);
            spinner.SpinOnce();
        }
    }

    /// <summary>The stop function: runs on the waiting thread when its wait is
    /// disturbed. It must not throw, and it cannot: the context is always a
    /// live handle to a CancelableWait.</summary>
    [UnmanagedCallersOnly]
    private static int ShouldStop(IntPtr context)
    {
        var wait = Unsafe.As<CancelableWait>(GCHandle.FromIntPtr(context).Target)!;
        return wait._token.IsCancellationRequested ? 1 : 0;
    }
}
