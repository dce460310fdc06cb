// Issue 14 §2 for C#: threads loop `new Lock(); Enter(); Exit();` and never
// dispose (code written against System.Threading.Lock never does). Run under
// DOTNET_GCHeapHardLimit=0x4000000 (64 MB): the finalizers must keep up, and
// the process's memory outside the GC heap must stay flat. Bounded by a count
// of iterations, not by time.
//
//   dotnet run -c Release -- [--threads N] [--iterations N-per-thread]
using System.Diagnostics;
using System.Runtime.InteropServices;

int threads = 4;
long iterations = 1_000_000;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads": threads = int.Parse(args[++i]); break;
        case "--iterations": iterations = long.Parse(args[++i]); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

const long Limit = 0x4000000;
long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
if (available > Limit)
{
    Console.WriteLine($"churn: FAILED: the GC heap limit is not in force ({available} bytes available); " +
                      "run with DOTNET_GCHeapHardLimit=0x4000000");
    return 1;
}

static long ResidentBytes()
{
    foreach (string line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
    }
    return 0;
}

// glibc's malloc_trim(3): gives the free memory of every malloc arena back to
// the system, so that what is resident is what is allocated (threads made and
// ended by each phase leave arenas whose free memory would count otherwise).
[DllImport("libc.so.6", EntryPoint = "malloc_trim")]
static extern int MallocTrim(nuint pad);

// Outside the GC heap: what the process holds minus what the GC has committed
// (its heap and the free regions it keeps, up to the hard limit), once malloc's
// free memory went back to the system.
static long NativeBytes()
{
    MallocTrim(0);
    return ResidentBytes() - GC.GetGCMemoryInfo().TotalCommittedBytes;
}

void Run(long perThread)
{
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        for (long i = 0; i < perThread; i++)
        {
            var l = new PolyLock.Lock();
            l.Enter();
            l.Exit();
        }
    })).ToList();
    workers.ForEach(t => t.Start());
    workers.ForEach(t => t.Join());
}

// Settled: after a collection and the finalizers it queued.
static long Settled()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    return NativeBytes();
}

// Warm up (JIT, the runtime's own allocations, malloc's arenas), then three
// equal phases. Flat means each later phase ends where the one before did: a
// leaked native lock costs at least its 64-byte allocation, so a leak of even a
// tenth of a phase's locks adds over 25 MB in every phase. What the runtime
// itself holds outside the GC heap swings by tens of MB from one measurement to
// the next on a loaded machine, but a swing does not repeat the way a leak
// does: the test fails when both later phases grew past the bound.
Run(iterations / 10);
long start = Settled();
var clock = Stopwatch.StartNew();
Run(iterations);
long first = Settled();
Run(iterations);
long second = Settled();
Run(iterations);
double seconds = clock.Elapsed.TotalSeconds;
long third = Settled();
long made = 3 * threads * iterations;
long bound = 16L << 20;
static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:F1} MB";
Console.WriteLine($"churn: {threads} threads made, entered, exited and dropped {made:N0} locks in {seconds:F1} s " +
                  $"({seconds * 1e9 / made:F0} ns each); GC heap limit {available >> 20} MB; memory outside the GC heap: " +
                  $"{Mb(start)} after the warm-up, {Mb(first)} after phase 1, {Mb(second)} after phase 2, " +
                  $"{Mb(third)} after phase 3 (a phase may add at most {Mb(bound)})");
if (second - first > bound && third - second > bound)
{
    Console.WriteLine("churn: FAILED: the native memory grew");
    return 1;
}

// Locks kept in use count in the binding's backlog estimate (FinalizerBacklog.cs)
// like dropped ones: with more kept than its limit, a making thread finds the
// finalizer idle (even after a collection) and moves the limit above them,
// rather than waiting at every check. Once they go, the limit falls back to its
// floor.
var backlog = typeof(PolyLock.Lock).Assembly.GetType("PolyLock.FinalizerBacklog", throwOnError: true)!;
long Field(string name) =>
    (long)backlog.GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
long floor = Field("s_floor");
long ceiling = Field("s_ceiling");
var kept = Enumerable.Range(0, (int)(2 * floor)).Select(_ => new PolyLock.Lock()).ToList();
Run(iterations / 4);
long raised = Field("s_limit");
Console.WriteLine($"churn: with {kept.Count:N0} locks kept the backlog limit went from {floor:N0} to {raised:N0}");
GC.KeepAlive(kept);
if (raised <= kept.Count)
{
    Console.WriteLine("churn: FAILED: the limit did not move above the locks in use");
    return 1;
}
kept = null;
Settled();
// With the backlog empty, each check (one per 256 locks a thread makes) halves it.
for (int i = 0; i < 4096; i++)
{
    new PolyLock.Lock().Enter();
}
long after = Field("s_limit");
Console.WriteLine($"churn: once they were dropped, {after:N0}");
if (after != floor)
{
    Console.WriteLine("churn: FAILED: the limit did not return to its floor");
    return 1;
}

// Another library's finalizer that takes 30 ms now and then (I/O, a lock held
// elsewhere) stops the finalizer thread freeing locks for that long, which the
// making threads cannot tell from locks kept in use: it may raise the limit,
// but not past its ceiling, or stall after stall would raise it until the GC
// heap ran out as before.
long highest = 0;
bool stalling = true;
var staller = new Thread(() =>
{
    while (Volatile.Read(ref stalling))
    {
        Thread.Sleep(150);
        _ = new SlowFinalizer();
        highest = Math.Max(highest, Field("s_limit"));
    }
});
staller.Start();
Run(iterations);
Volatile.Write(ref stalling, false);
staller.Join();
Console.WriteLine($"churn: with a finalizer of 30 ms every 150 ms the limit rose to {highest:N0} at most " +
                  $"(its ceiling {ceiling:N0})");
if (highest > ceiling)
{
    Console.WriteLine("churn: FAILED: the limit went past its ceiling");
    return 1;
}
Console.WriteLine("churn: ok");
return 0;

// Stands for another library's object whose finalizer blocks for a while.
internal sealed class SlowFinalizer
{
    ~SlowFinalizer() => Thread.Sleep(30);
}
