// polylock's C# benchmark (design.md §6: Enter(); Exit() within 1.25x of
// System.Threading.Lock; also 4 threads contending, and locks made, used and
// dropped in a loop). BenchmarkDotNet is not in the offline NuGet folder,
// so: a warm-up that lets tiered compilation reach its final code, then rounds
// of Stopwatch-timed loops, the two locks alternating, medians reported.
//
//   dotnet run -c Release -- [--iterations N] [--rounds R] [--json FILE]
using System.Diagnostics;
using System.Runtime.CompilerServices;

int iterations = 10_000_000;
int rounds = 7;
string? json = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--iterations": iterations = int.Parse(args[++i]); break;
        case "--rounds": rounds = int.Parse(args[++i]); break;
        case "--json": json = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var peer = new System.Threading.Lock();
using var ours = new PolyLock.Lock();
// The same native lock, wrapped as one from another runtime would be (design.md §7: <= 1.1x).
using var wrapped = PolyLock.Lock.FromHandle(ours.DangerousGetHandle());

var cases = new (string Name, Func<int, double> Run)[]
{
    ("System.Threading.Lock Enter();Exit()", n => Time(n, () => PeerEnterExit(peer, n))),
    ("PolyLock.Lock Enter();Exit()", n => Time(n, () => OursEnterExit(ours, n))),
    ("System.Threading.Lock using EnterScope()", n => Time(n, () => PeerScope(peer, n))),
    ("PolyLock.Lock using EnterScope()", n => Time(n, () => OursScope(ours, n))),
    ("System.Threading.Lock TryEnter();Exit()", n => Time(n, () => PeerTry(peer, n))),
    ("PolyLock.Lock TryEnter();Exit()", n => Time(n, () => OursTry(ours, n))),
    // Four threads hammer one lock around a counter increment (oversubscribed on
    // a 2-core machine): ns per Enter();Exit() of all threads together.
    ("System.Threading.Lock 4 threads contending", n => Contended(n, () => peer.Enter(), () => peer.Exit())),
    ("PolyLock.Lock 4 threads contending", n => Contended(n, () => ours.Enter(), () => ours.Exit())),
    // new; Enter(); Exit(); and drop, never disposed (issue 14 §2): a tenth of
    // the iterations, the finalizer's work included in what the loop pays.
    ("System.Threading.Lock create, enter, exit, drop", n => Time(n / 10, () => PeerChurn(n / 10))),
    ("PolyLock.Lock create, enter, exit, drop", n => Time(n / 10, () => OursChurn(n / 10))),
    ("PolyLock.Lock wrapped (FromHandle) Enter();Exit()", n => Time(n, () => OursEnterExit(wrapped, n))),
};

// Warm-up: enough calls for tier-1 code with PGO on every loop.
foreach (var (_, run) in cases)
{
    for (int w = 0; w < 3; w++) run(Math.Max(iterations / 10, 1_000));
}
Thread.Sleep(200); // let the background JIT finish before measuring

var samples = cases.Select(_ => new List<double>()).ToArray();
for (int r = 0; r < rounds; r++)
{
    for (int c = 0; c < cases.Length; c++) samples[c].Add(cases[c].Run(iterations));
}
double[] medians = samples.Select(Median).ToArray();

Console.WriteLine($"polylock {PolyLock.Lock.NativeVersion}, .NET {Environment.Version}, {Environment.ProcessorCount} CPUs, " +
                  $"{iterations:N0} iterations x {rounds} rounds (median ns per iteration)");
for (int c = 0; c < cases.Length; c++)
{
    Console.WriteLine($"  {cases[c].Name,-50} {medians[c],8:F2} ns");
}
double ratio = medians[1] / medians[0];
Console.WriteLine($"ratio Enter();Exit() PolyLock / System.Threading.Lock = {ratio:F2}x (goal <= 1.25x: {(ratio <= 1.25 ? "met" : "NOT met")})");
Console.WriteLine($"ratio using EnterScope()                            = {medians[3] / medians[2]:F2}x");
Console.WriteLine($"ratio TryEnter();Exit()                             = {medians[5] / medians[4]:F2}x");
Console.WriteLine($"ratio 4 threads contending                          = {medians[7] / medians[6]:F2}x");
Console.WriteLine($"ratio create, enter, exit, drop                     = {medians[9] / medians[8]:F2}x");
Console.WriteLine($"ratio wrapped lock / the lock itself, Enter();Exit() = {medians[10] / medians[1]:F2}x (goal <= 1.1x)");
if (json is not null)
{
    File.WriteAllText(json,
        "{\"language\": \"csharp\", \"peer\": \"System.Threading.Lock\", \"unit\": \"ns\", " +
        $"\"iterations\": {iterations}, \"rounds\": {rounds}, \"ratio\": {ratio:F4}, \"results\": {{" +
        string.Join(", ", cases.Select((c, i) => $"\"{c.Name}\": {medians[i]:F3}")) + "}}\n");
}
return 0;

static double Time(int n, Action loop)
{
    var clock = Stopwatch.StartNew();
    loop();
    return clock.Elapsed.TotalNanoseconds / n;
}

// Four threads, each n/4 rounds of enter; counter++; exit; ns per round overall.
static double Contended(int n, Action enter, Action exit)
{
    const int threads = 4;
    long counter = 0;
    using var start = new Barrier(threads + 1);
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        start.SignalAndWait();
        for (int i = 0; i < n / threads; i++)
        {
            enter();
            counter++;
            exit();
        }
    })).ToList();
    workers.ForEach(t => t.Start());
    start.SignalAndWait();
    var clock = Stopwatch.StartNew();
    workers.ForEach(t => t.Join());
    double ns = clock.Elapsed.TotalNanoseconds / (n / threads * threads);
    if (counter != n / threads * threads) throw new InvalidOperationException("the contended counter is wrong");
    return ns;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

// One loop per case, not inlined into each other, so each is compiled alone.
[MethodImpl(MethodImplOptions.NoInlining)]
static void PeerEnterExit(System.Threading.Lock l, int n)
{
    for (int i = 0; i < n; i++) { l.Enter(); l.Exit(); }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void OursEnterExit(PolyLock.Lock l, int n)
{
    for (int i = 0; i < n; i++) { l.Enter(); l.Exit(); }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void PeerScope(System.Threading.Lock l, int n)
{
    for (int i = 0; i < n; i++) { using (l.EnterScope()) { } }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void OursScope(PolyLock.Lock l, int n)
{
    for (int i = 0; i < n; i++) { using (l.EnterScope()) { } }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void PeerTry(System.Threading.Lock l, int n)
{
    for (int i = 0; i < n; i++) { if (l.TryEnter()) l.Exit(); }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void OursTry(PolyLock.Lock l, int n)
{
    for (int i = 0; i < n; i++) { if (l.TryEnter()) l.Exit(); }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void PeerChurn(int n)
{
    for (int i = 0; i < n; i++) { var l = new System.Threading.Lock(); l.Enter(); l.Exit(); }
}

[MethodImpl(MethodImplOptions.NoInlining)]
static void OursChurn(int n)
{
    for (int i = 0; i < n; i++) { var l = new PolyLock.Lock(); l.Enter(); l.Exit(); }
}
