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
/// <para>An uncontended <see cref="Enter()"/>, <see cref="TryEnter()"/> or <see cref="Exit"/>
/// is one <see cref="Interlocked.CompareExchange(ref uint, uint, uint)"/> on the native
/// lock's state word (the fast-path contract of <c>lock.h</c>); only a contended call goes
/// into the native library.</para>
/// <para>The native lock is owned by a <see cref="System.Runtime.InteropServices.SafeHandle"/>.
/// Every member is thread-safe, and <see cref="Dispose"/> racing calls on other threads never
/// frees memory a call is using (see <see cref="Dispose"/> for when the memory goes). After
/// <see cref="Dispose"/>, every member but <see cref="Dispose"/> throws
/// <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed unsafe partial class Lock : IDisposable
{
    private const long WaitForever = -1;
    private const long NanosecondsPerMillisecond = 1_000_000;

    private readonly LockHandle _handle;

    // The same pointer as _handle's, read without a call. It is only passed to
    // native code between Use() and Done(), while the SafeHandle's reference
    // count keeps the lock from being freed.
    private readonly IntPtr _native;

    // The fast-path word (lock_fast_word), or null for a kind of lock without
    // one (a named lock) and after Dispose. A call that read it non-null may
    // still use it after Dispose: the word lives until the finalizer frees the
    // lock, and that cannot happen while a call runs, because every fast path
    // ends in GC.KeepAlive(this).
    private uint* _word;

    private int _disposed;

    // Takes over one reference to a native lock (lock_new, lock_ref or lock_open
    // made it); the handle must be valid.
    private Lock(LockHandle handle)
    {
        _handle = handle;
        _native = handle.DangerousGetHandle();
        _word = LockApi.lock_fast_word(_native);
        FinalizerBacklog.Made();
    }

    /// <summary>Creates an unlocked lock.</summary>
    /// <exception cref="OutOfMemoryException">The native lock could not be allocated.</exception>
    public Lock()
        : this(Valid(LockApi.lock_new()))
    {
    }

    private static LockHandle Valid(LockHandle handle)
    {
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw new OutOfMemoryException("polylock: lock_new could not allocate a lock");
        }
        return handle;
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
            uint* word = _word;
            if (word != null)
            {
                // Bit 0 is set exactly while the lock is held (lock.h).
                bool held = (Volatile.Read(ref *word) & LockApi.LOCK_FAST_HELD) != 0;
                GC.KeepAlive(this);
                return held;
            }
            return IsLockedSlow();
        }
    }

    /// <summary>Enters the lock, waiting as long as it takes.</summary>
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enter()
    {
        if (!TryTakeFast())
        {
            Acquire(WaitForever);
        }
    }

    /// <summary>Enters the lock, waiting until it is free or <paramref name="cancellationToken"/>
    /// is cancelled.</summary>
    /// <param name="cancellationToken">Ends the wait; the lock is then not entered.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the lock
    /// was entered; the lock was not entered.</exception>
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public void Enter(CancellationToken cancellationToken) => AcquireCancelable(WaitForever, cancellationToken);

    /// <summary>Enters the lock if it is free right now, without waiting.</summary>
    /// <returns><see langword="true"/> if the lock was entered.</returns>
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter() => TryTakeFast() || Acquire(0);

    /// <summary>Enters the lock, waiting at most <paramref name="millisecondsTimeout"/>
    /// milliseconds.</summary>
    /// <param name="millisecondsTimeout">How long to wait, in milliseconds: 0 does not wait,
    /// -1 (<see cref="Timeout.Infinite"/>) waits as long as it takes.</param>
    /// <returns><see langword="true"/> if the lock was entered.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="millisecondsTimeout"/> is
    /// less than -1 (the rule of <see cref="System.Threading.Lock.TryEnter(int)"/>); checked
    /// before anything else.</exception>
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter(int millisecondsTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(millisecondsTimeout, -1);
        return TryTakeFast() ||
               Acquire(millisecondsTimeout == -1 ? WaitForever : millisecondsTimeout * NanosecondsPerMillisecond);
    }

    /// <summary>Enters the lock, waiting at most <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to wait: <see cref="TimeSpan.Zero"/> does not wait,
    /// <see cref="Timeout.InfiniteTimeSpan"/> (-1 ms) waits as long as it takes. The wait keeps
    /// the full resolution of the <see cref="TimeSpan"/> (100 ns ticks).</param>
    /// <returns><see langword="true"/> if the lock was entered.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/>, in whole
    /// milliseconds (truncated toward zero), is less than -1 or greater than
    /// <see cref="int.MaxValue"/> (the rule of
    /// <see cref="System.Threading.Lock.TryEnter(TimeSpan)"/>); checked before anything
    /// else.</exception>
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter(TimeSpan timeout)
    {
        long timeoutNs = ToNanoseconds(timeout);
        return TryTakeFast() || Acquire(timeoutNs);
    }

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
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public bool TryEnter(TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireCancelable(ToNanoseconds(timeout), cancellationToken);

    /// <summary>Exits the lock. Any thread may exit a locked lock; one waiting thread, if
    /// there is one, is woken.</summary>
    /// <exception cref="SynchronizationLockException">The lock is not locked; nothing
    /// changed.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Exit()
    {
        uint* word = _word;
        if (word != null &&
            Interlocked.CompareExchange(ref *word, LockApi.LOCK_FAST_FREE, LockApi.LOCK_FAST_HELD) == LockApi.LOCK_FAST_HELD)
        {
            GC.KeepAlive(this);
            return;
        }
        ExitSlow();
    }

    /// <summary>Enters the lock and returns a scope whose <see cref="Scope.Dispose"/> exits
    /// it, for <c>using (l.EnterScope()) { ... }</c>.</summary>
    /// <returns>The scope that exits the lock when disposed.</returns>
    /// <exception cref="AbandonedLockException">The lock was entered, but its previous
    /// holder's process died while holding it (named locks only); the lock is held and no
    /// scope is returned, so the catch block must <see cref="Exit"/> it.</exception>
    /// <exception cref="ObjectDisposedException">The lock has been disposed.</exception>
    public Scope EnterScope()
    {
        Enter();
        return new Scope(this);
    }

    /// <summary>Ends this object's use of the native lock. Calling it again does nothing;
    /// every other member then throws <see cref="ObjectDisposedException"/>. A held lock may
    /// be disposed.</summary>
    /// <remarks>
    /// <para>A call already running on another thread finishes on a live lock: Dispose
    /// never frees memory a call is using. For a lock with a fast-path word (one made by
    /// <see cref="Lock()"/> or wrapped by <see cref="FromHandle"/>) that word is read without a
    /// native call, so this object's reference to the native lock is dropped
    /// (<c>lock_free</c>) by the finalizer once the garbage collector finds the object
    /// unreachable -- then no call can be running on it. A named lock (<see cref="Open"/>)
    /// has no such word: its handle is closed as soon as no call is inside the native
    /// library (a thread blocked in <see cref="Enter()"/> keeps it open until it
    /// returns).</para>
    /// <para>A thread blocked in <see cref="Enter()"/> on a disposed lock can no longer be
    /// released through this object: use a timeout or a token if you might dispose a lock
    /// that threads wait on.</para>
    /// </remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        bool fast = _word != null;
        _word = null;
        if (!fast)
        {
            _handle.Dispose();
        }
    }

    // The fast path of lock.h: one compare-and-swap, free -> held, with the
    // full fence of a locked instruction (acquire ordering, or stronger).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryTakeFast()
    {
        uint* word = _word;
        if (word != null &&
            Interlocked.CompareExchange(ref *word, LockApi.LOCK_FAST_HELD, LockApi.LOCK_FAST_FREE) == LockApi.LOCK_FAST_FREE)
        {
            GC.KeepAlive(this);
            return true;
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
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
            LockApi.LOCK_OWNERDEAD => throw new AbandonedLockException(this),
            _ => throw Unexpected(status),
        };
    }

    private bool AcquireCancelable(long timeoutNs, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return TryTakeFast() || Acquire(timeoutNs);
        }
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (TryTakeFast())
        {
            return true;
        }
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
            LockApi.LOCK_OWNERDEAD => throw new AbandonedLockException(this),
            LockApi.LOCK_EINTR => throw new OperationCanceledException(cancellationToken),
            _ => throw Unexpected(status),
        };
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExitSlow()
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool IsLockedSlow()
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

    // Takes a reference on the handle for the length of one native call, so that a
    // Dispose on another thread cannot close a named lock's handle under it. (A lock
    // with a fast-path word is only freed by the finalizer; the reference costs
    // nothing that matters next to a wait.)
    private IntPtr Use()
    {
        bool added = false;
        if (Volatile.Read(ref _disposed) != 0)
        {
            ThrowDisposed();
        }
        _handle.DangerousAddRef(ref added);
        return _native;
    }

    private void Done() => _handle.DangerousRelease();

    // Same validation, exception and parameter name as System.Threading.Lock; the wait
    // itself keeps the TimeSpan's full resolution.
    private static long ToNanoseconds(TimeSpan timeout)
    {
        // The checks and messages of System.Threading.Lock.TryEnter(TimeSpan)
        // (WaitHandle.ToTimeoutMilliseconds in .NET's sources).
        long milliseconds = (long)timeout.TotalMilliseconds;
        ArgumentOutOfRangeException.ThrowIfLessThan(milliseconds, -1, nameof(timeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(milliseconds, int.MaxValue, nameof(timeout));
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
