using System.Reflection;
using Xunit;
using PolyLock;

namespace PolyLock.Tests;

// One thread's view: every member of PolyLock.Lock, its errors, and the rules it
// shares with System.Threading.Lock.
public class BehaviourTests
{
    // The native library was loaded from the package's runtimes/linux-x64/native
    // (copied beside the tests), and both it and the managed assembly are the
    // files of the package restored from build/dist.
    [Fact]
    public void TheTestsRunAgainstThePackedPackage()
    {
        using (new PolyLock.Lock()) { }
        string native = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last())
            .Distinct().Single(path => path.EndsWith("/libpolylock.so", StringComparison.Ordinal));
        Assert.EndsWith("/runtimes/linux-x64/native/libpolylock.so", native);
        string package = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")!, "polylock", PolyLock.Lock.NativeVersion);
        Assert.Equal(File.ReadAllBytes(Path.Combine(package, "runtimes/linux-x64/native/libpolylock.so")), File.ReadAllBytes(native));
        Assert.Equal(File.ReadAllBytes(Path.Combine(package, "lib/net10.0/PolyLock.dll")),
                     File.ReadAllBytes(typeof(PolyLock.Lock).Assembly.Location));
    }

    [Fact]
    public void OnlyLockAndItsScopeArePublic()
    {
        var exported = typeof(PolyLock.Lock).Assembly.GetExportedTypes().Select(t => t.FullName).Order();
        Assert.Equal(new[] { "PolyLock.AbandonedLockException", "PolyLock.Lock", "PolyLock.Lock+Scope" }, exported);
    }

    [Fact]
    public void NativeVersionIsTheLibrarysVersion()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", PolyLock.Lock.NativeVersion);
        Assert.Equal(typeof(PolyLock.Lock).Assembly.GetName().Version!.ToString(3), PolyLock.Lock.NativeVersion);
    }

    [Fact]
    public void ANewLockIsUnlocked()
    {
        using var l = new PolyLock.Lock();
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void EnterLocksAndExitUnlocks()
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        Assert.True(l.IsLocked);
        l.Exit();
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void TryEnterTakesAFreeLockAndNotAHeldOne()
    {
        using var l = new PolyLock.Lock();
        Assert.True(l.TryEnter());
        Assert.False(l.TryEnter());
        Assert.False(l.TryEnter(0));
        Assert.False(l.TryEnter(TimeSpan.Zero));
        Assert.True(l.IsLocked);
        l.Exit();
        Assert.True(l.TryEnter(0));
        l.Exit();
        Assert.True(l.TryEnter(Timeout.Infinite));
        l.Exit();
        Assert.True(l.TryEnter(Timeout.InfiniteTimeSpan));
        l.Exit();
        Assert.True(l.TryEnter(TimeSpan.FromSeconds(1)));
        l.Exit();
    }

    [Fact]
    public void ItIsNotRecursive()
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        Assert.False(l.TryEnter());
        Assert.False(l.TryEnter(10));
        l.Exit();
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void ExitOfAnUnlockedLockThrowsAndChangesNothing()
    {
        using var l = new PolyLock.Lock();
        Assert.Throws<SynchronizationLockException>(l.Exit);
        Assert.False(l.IsLocked);
        l.Enter();
        l.Exit();
        Assert.Throws<SynchronizationLockException>(l.Exit);
        Assert.True(l.TryEnter());
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(-1000)]
    [InlineData(int.MinValue)]
    public void TryEnterBelowMinusOneMillisecondThrows(int milliseconds)
    {
        using var l = new PolyLock.Lock();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => l.TryEnter(milliseconds));
        Assert.Equal("millisecondsTimeout", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new System.Threading.Lock().TryEnter(milliseconds));
        Assert.False(l.IsLocked);
    }

    public static TheoryData<TimeSpan> TimeSpans => new()
    {
        TimeSpan.FromMilliseconds(-2), TimeSpan.FromMilliseconds(-1.5), TimeSpan.FromMilliseconds(-1),
        TimeSpan.FromMilliseconds(-0.5), TimeSpan.Zero, TimeSpan.FromTicks(1),
        TimeSpan.FromMilliseconds(int.MaxValue), TimeSpan.FromMilliseconds(int.MaxValue + 1.0),
        TimeSpan.MaxValue, TimeSpan.MinValue,
    };

    // The same TimeSpans are accepted and refused as by System.Threading.Lock.
    [Theory]
    [MemberData(nameof(TimeSpans))]
    public void TryEnterTimeSpanFollowsSystemThreadingLock(TimeSpan timeout)
    {
        using var l = new PolyLock.Lock();
        var peer = new System.Threading.Lock();
        Exception? peerError = Record.Exception(() => peer.TryEnter(timeout));
        if (peerError is null)
        {
            Assert.True(l.TryEnter(timeout));
            l.Exit();
            Assert.True(l.TryEnter(timeout, new CancellationTokenSource().Token));
            Assert.True(l.IsLocked);
        }
        else
        {
            Assert.IsType<ArgumentOutOfRangeException>(peerError);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => l.TryEnter(timeout));
            Assert.Equal("timeout", e.ParamName);
            Assert.Throws<ArgumentOutOfRangeException>(() => l.TryEnter(timeout, new CancellationTokenSource().Token));
            Assert.False(l.IsLocked);
        }
    }

    [Fact]
    public void EnterScopeExitsWhenDisposed()
    {
        using var l = new PolyLock.Lock();
        using (l.EnterScope())
        {
            Assert.True(l.IsLocked);
            Assert.False(l.TryEnter());
        }
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void AScopeExitsOnlyOnce()
    {
        using var l = new PolyLock.Lock();
        var scope = l.EnterScope();
        scope.Dispose();
        l.Enter();
        scope.Dispose();
        Assert.True(l.IsLocked);
        l.Exit();
    }

    [Fact]
    public void DisposeIsIdempotentAndEveryLaterCallThrows()
    {
        var l = new PolyLock.Lock();
        l.Enter(); // a held lock may be disposed
        l.Dispose();
        l.Dispose();
        var token = new CancellationTokenSource().Token;
        var calls = new Action[]
        {
            () => l.Enter(), () => l.Enter(token), () => l.TryEnter(), () => l.TryEnter(5),
            () => l.TryEnter(TimeSpan.FromMilliseconds(5)), () => l.TryEnter(TimeSpan.Zero, token),
            () => l.Exit(), () => { using (l.EnterScope()) { } }, () => _ = l.IsLocked,
            () => l.Enter(CancellationToken.None),
        };
        foreach (Action call in calls)
        {
            var e = Assert.Throws<ObjectDisposedException>(call);
            Assert.Contains("Lock", e.ObjectName);
        }
    }

    [Fact]
    public void TheFaceMatchesSystemThreadingLock()
    {
        // Every public instance method of System.Threading.Lock has a namesake here
        // with the same parameters.
        static IEnumerable<string> Shape(Type t) => t
            .GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName)
            .Select(m => m.Name + "(" + string.Join(",", m.GetParameters().Select(p => p.ParameterType.Name + " " + p.Name)) + ")");
        var ours = Shape(typeof(PolyLock.Lock)).ToHashSet();
        foreach (string method in Shape(typeof(System.Threading.Lock)))
        {
            Assert.Contains(method, ours);
        }
    }
}
