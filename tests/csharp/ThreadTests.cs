using System.Diagnostics;
using Xunit;

namespace PolyLock.Tests;

// Several threads: waiting, cross-thread Exit, timeouts, and a counter that
// must come out exact.
public class ThreadTests
{
    // Generous: only a hang (a lost wake-up) should ever reach it.
    internal static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    internal static Thread Start(Action body)
    {
        var thread = new Thread(() => body()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    [Fact]
    public void AnotherThreadMayExit()
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        Exception? error = null;
        Start(() => error = Record.Exception(l.Exit)).Join();
        Assert.Null(error);
        Assert.False(l.IsLocked);
        Assert.True(l.TryEnter());
    }

    [Fact]
    public void EnterWaitsUntilAnotherThreadExits()
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        bool entered = false;
        var waiter = Start(() => { l.Enter(); Volatile.Write(ref entered, true); });
        Assert.False(waiter.Join(200), "Enter returned while the lock was held");
        Assert.False(Volatile.Read(ref entered));
        l.Exit();
        Assert.True(waiter.Join(Hang));
        Assert.True(entered);
        Assert.True(l.IsLocked); // the waiter holds it now
        l.Exit();
    }

    [Fact]
    public void ATimedWaitGetsALockReleasedDuringIt()
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        bool got = false;
        var waiter = Start(() => got = l.TryEnter(TimeSpan.FromSeconds(60)));
        Assert.False(waiter.Join(100));
        l.Exit();
        Assert.True(waiter.Join(Hang));
        Assert.True(got);
        Assert.True(l.IsLocked);
    }

    [Theory]
    [InlineData(50)]
    [InlineData(120)]
    public void ATimedOutWaitReturnsFalseAfterTheTimeout(int milliseconds)
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        bool got = true;
        var clock = Stopwatch.StartNew();
        Start(() => got = l.TryEnter(milliseconds)).Join();
        Assert.False(got);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(milliseconds), $"returned after {clock.Elapsed}");

        clock.Restart();
        Assert.False(l.TryEnter(TimeSpan.FromMilliseconds(milliseconds)));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(milliseconds), $"returned after {clock.Elapsed}");

        clock.Restart();
        Assert.False(l.TryEnter(TimeSpan.FromMilliseconds(milliseconds), new CancellationTokenSource().Token));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(milliseconds), $"returned after {clock.Elapsed}");
        Assert.True(l.IsLocked);
    }

    // Every way in, from many threads: the counter is exact and no two threads
    // are ever inside together.
    [Fact]
    public void StressCountsExactlyAndNeverAdmitsTwo()
    {
        const int threads = 8;
        const int rounds = 40_000;
        using var l = new PolyLock.Lock();
        using var cancel = new CancellationTokenSource();
        long counter = 0;
        int inside = 0;
        int overlaps = 0;
        void Critical()
        {
            if (Interlocked.Increment(ref inside) != 1) Interlocked.Increment(ref overlaps);
            counter++;
            Interlocked.Decrement(ref inside);
        }
        var workers = Enumerable.Range(0, threads).Select(t => Start(() =>
        {
            for (int i = 0; i < rounds; i++)
            {
                switch ((i + t) % 5)
                {
                    case 0:
                        l.Enter(); Critical(); l.Exit();
                        break;
                    case 1:
                        using (l.EnterScope()) Critical();
                        break;
                    case 2:
                        while (!l.TryEnter()) Thread.Yield();
                        Critical(); l.Exit();
                        break;
                    case 3:
                        while (!l.TryEnter(TimeSpan.FromMilliseconds(1))) { }
                        Critical(); l.Exit();
                        break;
                    default:
                        l.Enter(cancel.Token); Critical(); l.Exit();
                        break;
                }
            }
        })).ToList();
        foreach (var worker in workers) Assert.True(worker.Join(Hang));
        Assert.Equal(0, overlaps);
        Assert.Equal((long)threads * rounds, counter);
        Assert.False(l.IsLocked);
    }

    // Not owned: one thread enters, another exits, round after round. Each
    // side waits for the other, so a lost wake-up hangs and a double exit throws.
    [Fact]
    public void HandOffBetweenThreadsStaysExact()
    {
        const int rounds = 20_000;
        using var entered = new PolyLock.Lock();
        using var exited = new PolyLock.Lock();
        using var l = new PolyLock.Lock();
        entered.Enter();
        exited.Enter();
        Exception? error = null;
        var exiter = Start(() => error = Record.Exception(() =>
        {
            for (int i = 0; i < rounds; i++)
            {
                entered.Enter(); // the other thread holds l now
                l.Exit();
                exited.Exit();
            }
        }));
        for (int i = 0; i < rounds; i++)
        {
            l.Enter();
            entered.Exit();
            exited.Enter(); // l was exited by the other thread
        }
        Assert.True(exiter.Join(Hang));
        Assert.Null(error);
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void DisposeWhileAThreadWaitsDoesNotFreeTheLockUnderIt()
    {
        for (int round = 0; round < 20; round++)
        {
            var l = new PolyLock.Lock();
            l.Enter();
            bool? got = null;
            var waiter = Start(() => got = l.TryEnter(TimeSpan.FromMilliseconds(100)));
            Assert.False(waiter.Join(20));
            l.Dispose(); // the waiter's reference keeps the native lock alive
            Assert.True(waiter.Join(Hang));
            Assert.False(got);
            Assert.Throws<ObjectDisposedException>(() => l.TryEnter());
        }
    }

    // csharp.xunit.poison runs this class over the test-only library whose freed
    // locks are inaccessible: make sure it is the one in use there, and only there.
    [Fact]
    public void ThePoisoningLibraryIsInUseExactlyWhenAsked()
    {
        using (new PolyLock.Lock()) { }
        string maps = File.ReadAllText("/proc/self/maps");
        if (Resolver.PoisonLibrary is null)
        {
            Assert.DoesNotContain("libpolylock_csharp_poison.so", maps);
        }
        else
        {
            Assert.Contains("libpolylock_csharp_poison.so", maps);
        }
    }

    [Fact]
    public void DisposeRacingCallsOnOtherThreads()
    {
        // Threads keep calling while another disposes: each call either works
        // or throws ObjectDisposedException, never anything else, and once the
        // lock is disposed every call throws. A lock freed under a call in
        // flight -- the fast path's compare-and-swap on the native word
        // included -- is a crash under the poisoning library (csharp.xunit.poison),
        // and a status that makes no sense otherwise.
        var handles = new List<WeakReference>();
        for (int round = 0; round < 200; round++)
        {
            handles.Add(DisposeWhileCalling(round));
        }
        // ...and the native lock was freed, once nothing could still call it:
        // the SafeHandle has been finalized (lock_free) and collected.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.All(handles, h => Assert.False(h.IsAlive));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference DisposeWhileCalling(int round)
    {
        const int threads = 4;
        var l = new PolyLock.Lock();
        var errors = new Exception?[threads];
        using var started = new CountdownEvent(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = Start(() =>
            {
                started.Signal();
                try
                {
                    for (;;)
                    {
                        if (l.TryEnter())
                        {
                            l.Exit();
                        }
                        _ = l.IsLocked;
                    }
                }
                catch (ObjectDisposedException)
                {
                    // the one way out (an Enter could wait for ever on a lock
                    // whose holder's Exit met the disposed lock)
                }
                catch (Exception e)
                {
                    errors[index] = e;
                }
            });
        }
        started.Wait();
        Thread.SpinWait(round * 50);
        l.Dispose();
        foreach (var worker in workers)
        {
            Assert.True(worker.Join(Hang));
        }
        Assert.All(errors, Assert.Null);
        Assert.Throws<ObjectDisposedException>(() => l.Enter());
        var handle = typeof(PolyLock.Lock)
            .GetField("_handle", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(l)!;
        return new WeakReference(handle, trackResurrection: true);
    }
}
