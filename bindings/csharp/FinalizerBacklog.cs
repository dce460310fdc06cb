using System.Diagnostics;
using System.Runtime.InteropServices;

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
/// with a limit, which starts at its floor: as many locks as fill 1/32 of the memory the GC
/// may use at 32 bytes each (a SafeHandle waiting for the finalizer; the <see cref="Lock"/>
/// itself has no finalizer and goes at once): 65,536 under a 64 MB limit, millions
/// on a machine with gigabytes, where only a finalizer far behind makes anyone wait. Above
/// the limit the thread sleeps 1 ms at a time while the finalizer frees locks, until the
/// estimate is half the limit or 100 ms have passed.</para>
/// <para>When 10 ms pass with nothing freed, the thread collects generations 0 and 1
/// (<see cref="GC.Collect(int)"/>): locks dropped since the last collection are not yet the
/// finalizer's, and while every making thread sleeps nothing allocates, so no collection
/// would come to find them (up to a generation-0 budget of them, as many as the floor
/// under 64 MB). When 10 ms more pass with nothing freed, what remains is taken to be in
/// use (or held up by another finalizer) and the limit moves to twice it, so that a program that keeps many
/// locks does not wait at every check (the growing threshold of .NET's
/// <c>HandleCollector</c>); but never above its ceiling, a quarter of the GC's memory in
/// waiting SafeHandles (524,288 locks under 64 MB), so a finalizer held up again and again
/// cannot raise it until the heap runs out: past the ceiling a making thread waits about
/// 20 ms and a collection of generations 0 and 1 per 256 locks instead. The limit halves, down to its floor, whenever a check finds
/// the estimate under a quarter of it.</para>
/// <para>The thread never waits <em>for</em> the finalizer (as
/// <see cref="GC.WaitForPendingFinalizers"/> would), so a finalizer blocked on something the
/// making thread holds costs that thread at most 100 ms per check, never a deadlock. An
/// interrupt (<see cref="Thread.Interrupt"/>) that arrives during the wait is kept for the
/// thread's next blocking call rather than thrown from a constructor.</para>
/// </remarks>
internal static class FinalizerBacklog
{
    private const int CheckEvery = 256;
    private const long PendingBytes = 32;
    private const long NoProgressMilliseconds = 10;
    private const long LongestWaitMilliseconds = 100;

    private static readonly long s_heap = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    private static readonly long s_floor = Math.Max(4096, s_heap / 32 / PendingBytes);
    private static readonly long s_ceiling = Math.Max(4 * s_floor, s_heap / 4 / PendingBytes);

    // Made is counted by every making thread, Freed by the finalizer thread: on
    // lines of their own, so that neither count's writers slow the other's.
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private struct Counts
    {
        [FieldOffset(64)]
        public long Made;

        [FieldOffset(128)]
        public long Freed;
    }

    private static Counts s_counts;
    private static long s_limit = s_floor;

    [ThreadStatic]
    private static int t_sinceCheck;

    /// <summary>Locks made minus locks freed: the estimate of the backlog.</summary>
    private static long Outstanding =>
        Volatile.Read(ref s_counts.Made) - Volatile.Read(ref s_counts.Freed);

    /// <summary>Counts a lock that a <see cref="Lock"/> took over; may wait (see
    /// remarks).</summary>
    internal static void Made()
    {
        Interlocked.Increment(ref s_counts.Made);
        if (++t_sinceCheck < CheckEvery)
        {
            return;
        }
        t_sinceCheck = 0;
        long backlog = Outstanding;
        long limit = Volatile.Read(ref s_limit);
        if (backlog > limit)
        {
            WaitForFinalizer(limit);
        }
        else if (backlog < limit / 4 && limit > s_floor)
        {
            // A race with another thread's raise costs one more wait at most.
            Volatile.Write(ref s_limit, Math.Max(s_floor, limit / 2));
        }
    }

    /// <summary>Counts a lock freed by <see cref="LockHandle.ReleaseHandle"/>.</summary>
    internal static void Freed() => Interlocked.Increment(ref s_counts.Freed);

    private static void WaitForFinalizer(long limit)
    {
        var clock = Stopwatch.StartNew();
        long freed = Volatile.Read(ref s_counts.Freed);
        long lastFreedAt = 0;
        bool interrupted = false;
        bool collected = false;
        bool idle = false;
        while (Outstanding > limit / 2 && clock.ElapsedMilliseconds < LongestWaitMilliseconds)
        {
            try
            {
                Thread.Sleep(1);
            }
            catch (ThreadInterruptedException)
            {
                interrupted = true;
            }
            long now = Volatile.Read(ref s_counts.Freed);
            long elapsed = clock.ElapsedMilliseconds;
            if (now != freed)
            {
                freed = now;
                lastFreedAt = elapsed;
            }
            else if (elapsed - lastFreedAt >= NoProgressMilliseconds)
            {
                if (collected)
                {
                    idle = true;
                    break;
                }
                // The finalizer may have freed all it was given: locks dropped since
                // the last collection are not its yet, and while every making thread
                // sleeps nothing allocates, so no collection comes to find them.
                GC.Collect(1);
                collected = true;
                lastFreedAt = clock.ElapsedMilliseconds;
            }
        }
        if (interrupted)
        {
            Thread.CurrentThread.Interrupt();
        }
        if (idle)
        {
            Raise(Math.Min(s_ceiling, Math.Max(s_floor, 2 * Outstanding)));
        }
    }

    private static void Raise(long raised)
    {
        long seen = Volatile.Read(ref s_limit);
        while (seen < raised)
        {
            long previous = Interlocked.CompareExchange(ref s_limit, raised, seen);
            if (previous == seen)
            {
                return;
            }
            seen = previous;
        }
    }
}
