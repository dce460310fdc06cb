// The .NET side of the multi-runtime test (host.cpp loads this class library
// through nethost/hostfxr, in a process that also hosts a JVM and CPython).
//
// PolyLock comes from the NuGet package in build/dist, with the native library
// it carries. The host's counter and checks come as a table of function
// pointers (HostApi). Every entry point is [UnmanagedCallersOnly] and takes
// and returns longs; an exception is reported to the host and returns -1.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace MultiRuntime;

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HostApi
{
    public delegate* unmanaged<int, int> Enter;
    public delegate* unmanaged<int, void> Leave;
    public delegate* unmanaged<int, void> Post;
    public delegate* unmanaged<int, int> Take;
    public delegate* unmanaged<int, long, long, void> Done;
    public delegate* unmanaged<byte*, void> Fail;
    public delegate* unmanaged<int> References;
    public delegate* unmanaged<int, int> WaitForWaiter;
    public delegate* unmanaged<int, int> Released;
}

public static unsafe class Hammer
{
    private const int Dotnet = 4;

    private static HostApi* s_api;
    private static PolyLock.Lock? s_lock;  // the host's lock, with a reference of our own
    private static PolyLock.Lock? s_probe; // a lock of this binding, to tell which copy it uses
    private static long s_seed;
    private static long s_iterations;
    private static Thread[] s_workers = Array.Empty<Thread>();
    private static Thread? s_gcWaiter;
    private static volatile bool s_gcWaiterGot;
    private static int s_gcBase;

    private static void Fail(string message)
    {
        byte[] bytes = Encoding.UTF8.GetBytes("dotnet: " + message + "\0");
        fixed (byte* text = bytes)
        {
            s_api->Fail(text);
        }
    }

    private static long Guard(Func<long> body, string name)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            Fail(name + ": " + e);
            return -1;
        }
    }

    [UnmanagedCallersOnly]
    public static long Install(long api, long b, long c)
    {
        s_api = (HostApi*)api;
        return 0;
    }

    [UnmanagedCallersOnly]
    public static long ProbeLock(long a, long b, long c) => Guard(() =>
    {
        s_probe = new PolyLock.Lock();
        return s_probe.DangerousGetHandle();
    }, "ProbeLock");

    [UnmanagedCallersOnly]
    public static long Wrap(long handle, long seed, long iterations) => Guard(() =>
    {
        s_lock = PolyLock.Lock.FromHandle((nint)handle);
        if (s_lock.DangerousGetHandle() != (nint)handle)
        {
            Fail($"FromHandle({handle:x}).DangerousGetHandle() is {s_lock.DangerousGetHandle():x}");
            return 1;
        }
        s_seed = seed;
        s_iterations = iterations;
        return 0;
    }, "Wrap");

    private static void Work(int index)
    {
        var random = new Random(unchecked((int)(s_seed * 31 + 1000 * Dotnet + index)));
        PolyLock.Lock shared = s_lock!;
        long ok = 0, given = 0;
        try
        {
            while (ok < s_iterations)
            {
                if (s_api->Take(Dotnet) != 0) // another runtime's holder left it to us
                {
                    s_api->Leave(Dotnet);
                    shared.Exit();
                    given++;
                }
                int kind = random.Next(3);
                bool got;
                if (kind == 0)
                {
                    shared.Enter();
                    got = true;
                }
                else if (kind == 1)
                {
                    got = shared.TryEnter();
                }
                else
                {
                    // 1 tick is 100 ns: 1 µs to 2 ms.
                    got = shared.TryEnter(TimeSpan.FromTicks(10L * (1 + random.Next(2000))));
                }
                if (!got)
                {
                    continue;
                }
                s_api->Enter(Dotnet);
                ok++;
                if (random.Next(8) == 0)
                {
                    s_api->Post(Dotnet); // still held: a thread of another runtime releases it
                }
                else
                {
                    s_api->Leave(Dotnet);
                    shared.Exit();
                }
            }
        }
        catch (Exception e)
        {
            Fail($"worker {index}: {e}");
        }
        finally
        {
            s_api->Done(Dotnet, ok, given);
        }
    }

    [UnmanagedCallersOnly]
    public static long Start(long a, long b, long c) => Guard(() =>
    {
        s_workers = new Thread[2];
        for (int i = 0; i < s_workers.Length; i++)
        {
            int index = i;
            s_workers[i] = new Thread(() => Work(index)) { Name = $"mr-dotnet-{i}" };
            s_workers[i].Start();
        }
        return 0;
    }, "Start");

    private static bool JoinAll(long milliseconds, params Thread[] threads)
    {
        long deadline = Environment.TickCount64 + milliseconds;
        foreach (Thread thread in threads)
        {
            long left = Math.Max(1, deadline - Environment.TickCount64);
            if (!thread.Join(TimeSpan.FromMilliseconds(left)))
            {
                return false;
            }
        }
        return true;
    }

    [UnmanagedCallersOnly]
    public static long Join(long milliseconds, long b, long c) =>
        Guard(() => JoinAll(milliseconds, s_workers) ? 1 : 0, "Join");

    // ---- gc: a long wait across a full collection -------------------------------
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DropUndisposedWrappers(int count)
    {
        nint handle = s_lock!.DangerousGetHandle();
        for (int i = 0; i < count; i++)
        {
            PolyLock.Lock.FromHandle(handle); // not disposed: the finalizer gives it back
        }
    }

    [UnmanagedCallersOnly]
    public static long GcWaiterStart(long milliseconds, long b, long c) => Guard(() =>
    {
        s_gcBase = s_api->References();
        DropUndisposedWrappers(64);
        int references = s_api->References();
        if (references < s_gcBase + 64)
        {
            Fail($"gc: {references} references with 64 undisposed wrappers, not {s_gcBase + 64} or more");
        }
        s_gcWaiterGot = false;
        s_gcWaiter = new Thread(() =>
        {
            try
            {
                if (s_lock!.TryEnter(TimeSpan.FromMilliseconds(milliseconds)))
                {
                    s_api->Enter(Dotnet);
                    s_api->Leave(Dotnet);
                    s_lock.Exit();
                    s_gcWaiterGot = true;
                }
                else
                {
                    Fail("gc: the .NET waiter timed out");
                }
            }
            catch (Exception e)
            {
                Fail($"gc waiter: {e}");
            }
        }) { Name = "mr-dotnet-gc-waiter" };
        s_gcWaiter.Start();
        return 0;
    }, "GcWaiterStart");

    private static void Collect()
    {
        var garbage = new byte[256][];
        for (int i = 0; i < garbage.Length; i++)
        {
            garbage[i] = new byte[16384];
        }
        GC.KeepAlive(garbage);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>Full collections (finalizers run) until the undisposed wrappers' references
    /// are back: 1 if they are and the waiter still waits.</summary>
    [UnmanagedCallersOnly]
    public static long FullGc(long milliseconds, long b, long c) => Guard(() =>
    {
        long deadline = Environment.TickCount64 + milliseconds;
        do
        {
            Collect();
            if (s_api->References() == s_gcBase)
            {
                return s_gcWaiter!.IsAlive ? 1 : 0;
            }
            Thread.Sleep(5);
        } while (Environment.TickCount64 < deadline);
        Fail($"gc: {s_api->References()} references after .NET's collections, not {s_gcBase}");
        return 0;
    }, "FullGc");

    [UnmanagedCallersOnly]
    public static long GcWaiterJoin(long milliseconds, long b, long c) =>
        Guard(() => JoinAll(milliseconds, s_gcWaiter!) && s_gcWaiterGot ? 1 : 0, "GcWaiterJoin");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DisposeAndForget()
    {
        s_lock!.Dispose();
        s_lock = null;
        s_probe!.Dispose();
        s_probe = null;
    }

    /// <summary>Disposes the wrapper and lets it go, then collects until the lock has
    /// <paramref name="target"/> references left (0: freed), as the finalizer drops the
    /// wrapper's reference: 1, or 0.</summary>
    [UnmanagedCallersOnly]
    public static long Drop(long target, long milliseconds, long c) => Guard(() =>
    {
        DisposeAndForget();
        long deadline = Environment.TickCount64 + milliseconds;
        while (s_api->Released((int)target) == 0)
        {
            if (Environment.TickCount64 > deadline)
            {
                return 0;
            }
            Collect();
            Thread.Sleep(5);
        }
        return 1;
    }, "Drop");
}
