using System.Runtime.CompilerServices;

namespace PolyLock;

/// <summary>
/// A lock with the semantics of Python's <c>threading.Lock</c>, shaped like .NET 9's
/// <see cref="System.Threading.Lock"/>: <see cref="Enter()"/>, <see cref="TryEnter()"/>,
/// <see cref="Exit"/> and <see cref="EnterScope"/>, plus <see cref="IsLocked"/> and
/// waits that a <see cref="CancellationToken"/> can end.
/// </summary>
/// <remarks>
/// <para>The lock is not owned: any thread may <see cref="Exit"/> a locked lock, not
/// only the one that entered it (it is a binary semaphore, not a monitor). It is not
/// recursive: a second <see cref="Enter()"/> by the thread that holds it waits like any
/// other.</para>
/// <para>Timeouts run on a monotonic clock, with one deadline fixed when the call
/// starts. Newcomers may take a free lock ahead of sleeping waiters, but a waiter that
/// has waited about 1 ms is handed the lock by the next <see cref="Exit"/>.</para>
/// <para>The native lock is owned by a <see cref="System.Runtime.InteropServices.SafeHandle"/>:
/// <see cref="Dispose"/> frees it once no thread is inside a call, and an undisposed lock is
/// freed by the finalizer. Every member is thread-safe; after <see cref="Dispose"/>, every
/// member but <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed partial class Lock : IDisposable
{
    private const long WaitForever = -1;
    private const long NanosecondsPerMillisecond = 1_000_000;

    private readonly LockHandle _handle;

    // The same pointer as _handle's, read without a call. It is only passed to
    // native code between Use() and Done(), while the SafeHandle's reference
    // count keeps the lock from being freed.
    private readonly IntPtr _native;

    /// <summary>Creates an unlocked lock.</summary>
    /// <exception cref="OutOfMemoryException">The native lock could not be allocated.</exception>
    public Lock()
    {
        _handle = LockApi.lock_new();
        if (_handle.IsInvalid)
        {
            _handle.Dispose();
            throw new OutOfMemoryException("polylock: lock_new could not allocate a lock");
        }
        _native = _handle.DangerousGetHandle();
    }

    /// <summary>The version of the native polylock library in use, "MAJOR.MINOR.PATCH".</summary>
    public static string NativeVersion => LockApi.lock_version();

    /// <summary>Whether the lock is held right now, by any thread.</summary>
    /// <remarks>Only a snapshot: another thread may enter or exit the lock before the
    /// caller acts on the answer.</remarks>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool IsLocked
    {
        get
        {
            IntPtr native = Use();
            try
            {
                return LockApi.lock_locked(native) == 1;
            }
            finally
            {
                Done();
            }
        }
    }

    /// <summary>Enters the lock, waiting as long as it takes.</summary>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public void Enter() => Acquire(WaitForever);

    /// <summary>Enters the lock, waiting until it is free or <paramref name="cancellationToken"/>
    /// is cancelled.</summary>
    /// <param name="cancellationToken">Ends the wait; the lock is then not entered.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the lock
    /// was entered; the lock was not entered.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public void Enter(CancellationToken cancellationToken) => AcquireCancelable(WaitForever, cancellationToken);

    /// <summary>Enters the lock if it is free right now, without waiting.</summary>
    /// <returns><see langword="true"/> if the lock was entered.</returns>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter() => Acquire(0);

    /// <summary>Enters the lock, waiting at most <paramref name="millisecondsTimeout"/>.</summary>
    /// <param name="millisecondsTimeout">How long to wait: 0 does not wait, -1
    /// (<see cref="Timeout.Infinite"/>) waits as long as it takes.</param>
    /// <returns><see langword="true"/> if the lock was entered.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="millisecondsTimeout"/> is
    /// less than -1.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter(int millisecondsTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(millisecondsTimeout, -1);
        return Acquire(millisecondsTimeout == -1 ? WaitForever : millisecondsTimeout * NanosecondsPerMillisecond);
    }

    /// <summary>Enters the lock, waiting at most <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to wait: <see cref="TimeSpan.Zero"/> does not wait,
    /// <see cref="Timeout.InfiniteTimeSpan"/> (-1 ms) waits as long as it takes.</param>
    /// <returns><see langword="true"/> if the lock was entered.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/>, in whole
    /// milliseconds, is less than -1 or greater than <see cref="int.MaxValue"/> (the rule of
    /// <see cref="System.Threading.Lock.TryEnter(TimeSpan)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter(TimeSpan timeout) => Acquire(ToNanoseconds(timeout));

    /// <summary>Enters the lock, waiting at most <paramref name="timeout"/> or until
    /// <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="timeout">How long to wait, as for <see cref="TryEnter(TimeSpan)"/>.</param>
    /// <param name="cancellationToken">Ends the wait; the lock is then not entered.</param>
    /// <returns><see langword="true"/> if the lock was entered, <see langword="false"/> if
    /// the time ran out.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is out of
    /// range, as for <see cref="TryEnter(TimeSpan)"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the lock
    /// was entered; the lock was not entered.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter(TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireCancelable(ToNanoseconds(timeout), cancellationToken);

    /// <summary>Exits the lock. Any thread may exit a locked lock; one waiting thread, if
    /// there is one, is woken.</summary>
    /// <exception cref="SynchronizationLockException">The lock is not locked; nothing
    /// changed.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public void Exit()
    {
        IntPtr native = Use();
        int status;
        try
        {
            status = LockApi.lock_release(native);
        }
        finally
        {
            Done();
        }
        if (status != LockApi.LOCK_OK)
        {
            ThrowExitFailed(status);
        }
    }

    /// <summary>Enters the lock and returns a scope whose <see cref="Scope.Dispose"/> exits
    /// it, for <c>using (l.EnterScope()) { ... }</c>.</summary>
    /// <returns>The scope that exits the lock when disposed.</returns>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public Scope EnterScope()
    {
        Enter();
        return new Scope(this);
    }

    /// <summary>Frees the native lock once no thread is inside a call on it (a thread
    /// blocked in <see cref="Enter()"/> keeps it alive until it returns). Calling it again
    /// does nothing; every other member then throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose() => _handle.Dispose();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Acquire(long timeoutNs)
    {
        IntPtr native = Use();
        int status;
        try
        {
            status = LockApi.lock_acquire(native, timeoutNs);
        }
        finally
        {
            Done();
        }
        return status switch
        {
            LockApi.LOCK_OK => true,
            LockApi.LOCK_TIMEOUT => false,
            _ => throw Unexpected(status),
        };
    }

    private bool AcquireCancelable(long timeoutNs, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return Acquire(timeoutNs);
        }
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        cancellationToken.ThrowIfCancellationRequested();
        IntPtr native = Use();
        int status;
        try
        {
            status = LockApi.lock_acquire(native, 0);
            if (status == LockApi.LOCK_TIMEOUT && timeoutNs != 0)
            {
                status = CancelableWait.Run(native, timeoutNs, cancellationToken);
            }
        }
        finally
        {
            Done();
        }
        return status switch
        {
            LockApi.LOCK_OK => true,
            LockApi.LOCK_TIMEOUT => false,
            LockApi.LOCK_EINTR => throw new OperationCanceledException(cancellationToken),
            _ => throw Unexpected(status),
        };
    }

    // Takes a reference on the handle for the length of one native call, so that a
    // Dispose on another thread cannot free the lock under it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private IntPtr Use()
    {
        bool added = false;
        if (_handle.IsClosed)
        {
            ThrowDisposed();
        }
        _handle.DangerousAddRef(ref added);
        return _native;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Done() => _handle.DangerousRelease();

    // Same validation, exception and parameter name as System.Threading.Lock; the wait
    // itself keeps the TimeSpan's full resolution.
    private static long ToNanoseconds(TimeSpan timeout)
    {
        long milliseconds = (long)timeout.TotalMilliseconds;
        if (milliseconds < -1 || milliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout,
                "The timeout must be between -1 and Int32.MaxValue milliseconds.");
        }
        return milliseconds == -1 ? WaitForever : Math.Max(0, timeout.Ticks) * 100;
    }

    private void ThrowDisposed() => throw new ObjectDisposedException(GetType().FullName);

    private static void ThrowExitFailed(int status)
    {
        if (status == LockApi.LOCK_ENOTLOCKED)
        {
            throw new SynchronizationLockException("polylock: Exit was called on a lock that is not locked.");
        }
        throw Unexpected(status);
    }

    private static InvalidOperationException Unexpected(int status) =>
        new($"polylock: {LockApi.lock_strerror(status)} (status {status})");
}
