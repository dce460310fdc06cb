namespace PolyLock;

/// <summary>Keeps threads that make locks and drop them undisposed from outrunning the
/// finalizer thread, which frees every native lock (<see cref="LockHandle"/>).</summary>
/// <remarks>
/// <para>.NET runs all finalizers on one thread. Four threads looping
/// <c>new Lock(); Enter(); Exit();</c> on two CPUs made locks faster than it freed them:
/// the SafeHandles waiting for it piled up in the GC heap (1.6 million, 52 MB) until a
/// 64 MB <c>DOTNET_GCHeapHardLimit</c> ended the process with "Out of memory."
/// (<c>csharp.churn</c>). Java's binding has the same problem and lets the making threads
/// free the dropped locks themselves; .NET gives no way to run another object's finalizer,
/// so here a making thread waits instead, while the finalizer thread catches up.</para>
/// <para>The backlog is estimated as the locks made minus the locks freed, which also
/// counts the locks still in use. Every 256 locks a thread makes it compares that estimate
/// with a limit: an eighth of the memory the GC may use, at 128 bytes a lock (65,536 locks
/// under a 64 MB limit; tens of millions on an ordinary machine, where no thread waits). Above it the
/// thread sleeps 1 ms at a time while the finalizer frees locks, until the estimate is half
/// the limit. When 10 ms pass with nothing freed, what remains is taken to be in use and the
/// limit moves to twice it, so a program that keeps many locks does not wait again until it
/// has made as many more (the growing threshold of .NET's <c>HandleCollector</c>); the
/// limit returns to its floor once the estimate falls back under it. The waits never wait
/// for the finalizer itself (as <see cref="GC.WaitForPendingFinalizers"/> would): a
/// finalizer blocked on something the making thread holds costs that thread at most 10 ms
/// per check, never a deadlock.</para>
/// </remarks>
internal static class FinalizerBacklog
{
    private const int Batch = 256;
    private const int NoProgressMilliseconds = 10;

    // One lock's share of the GC heap while it waits for the finalizer, rounded up: the
    // Lock (48 bytes) and its SafeHandle (32).
    private const long BytesPerLock = 128;

    // The backlog may take an eighth of the memory the GC may use.
    private static readonly long s_floor =
        Math.Max(4096, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8 / BytesPerLock);

    // Locks made, in whole batches per thread; locks freed, one by one.
    private static long s_made;
    private static long s_freed;
    private static long s_limit = s_floor;

    [ThreadStatic]
    private static int t_unpublished;

    /// <summary>Counts a lock that a <see cref="Lock"/> took over; may wait (see
    /// remarks).</summary>
    internal static void Made()
    {
        if (++t_unpublished < Batch)
        {
            return;
        }
        t_unpublished = 0;
        long made = Interlocked.Add(ref s_made, Batch);
        long backlog = made - Volatile.Read(ref s_freed);
        long limit = Volatile.Read(ref s_limit);
        if (backlog > limit)
        {
            WaitForFinalizer(limit);
        }
        else if (backlog < s_floor && limit != s_floor)
        {
            Volatile.Write(ref s_limit, s_floor);
        }
    }

    /// <summary>Counts a lock freed by <see cref="LockHandle.ReleaseHandle"/>.</summary>
    internal static void Freed() => Interlocked.Increment(ref s_freed);

    private static void WaitForFinalizer(long limit)
    {
        long freed = Volatile.Read(ref s_freed);
        long backlog = Volatile.Read(ref s_made) - freed;
        int idle = 0;
        while (backlog > limit / 2 && idle < NoProgressMilliseconds)
        {
            Thread.Sleep(1);
            long now = Volatile.Read(ref s_freed);
            idle = now == freed ? idle + 1 : 0;
            freed = now;
            backlog = Volatile.Read(ref s_made) - freed;
        }
        if (backlog > limit / 2)
        {
            // What is left is in use (or not yet found unreachable by a collection).
            long raised = Math.Max(s_floor, 2 * backlog);
            long seen = Volatile.Read(ref s_limit);
            while (seen < raised)
            {
                long previous = Interlocked.CompareExchange(ref s_limit, raised, seen);
                if (previous == seen)
                {
                    break;
                }
                seen = previous;
            }
        }
    }
}
