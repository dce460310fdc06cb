using Xunit;

namespace PolyLock.Tests;

// A test that needs etcd: skipped, visibly, unless POLYLOCK_ETCD_ENDPOINTS_FILE names the
// endpoints file of a running etcd (tests/etcd's fixture, which CTest starts for csharp.xunit
// where etcd is installed).
public sealed class EtcdFactAttribute : FactAttribute
{
    public EtcdFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("POLYLOCK_ETCD_ENDPOINTS_FILE")))
        {
            Skip = "no etcd: POLYLOCK_ETCD_ENDPOINTS_FILE is not set";
        }
    }
}

// Lock.GetFencingToken (lock_fence): the etcd revision of this handle's hold, growing from one
// hold to the next; SynchronizationLockException when this handle does not hold the lock,
// NotSupportedException for a lock without tokens.
public class FencingTests
{
    private static string EtcdName(string what)
    {
        // lock_open loads libpolylock-etcd.so.1 by its SONAME: one already loaded by path
        // (POLYLOCK_ETCD_LIBRARY, the build's) is the one it gets.
        string? library = Environment.GetEnvironmentVariable("POLYLOCK_ETCD_LIBRARY");
        if (!string.IsNullOrEmpty(library))
        {
            System.Runtime.InteropServices.NativeLibrary.Load(library);
        }
        string file = Environment.GetEnvironmentVariable("POLYLOCK_ETCD_ENDPOINTS_FILE")!;
        string endpoints = File.ReadAllLines(file)[0].Trim();
        return $"etcd://{endpoints}/test-cs-{Environment.ProcessId}-{what}";
    }

    [Fact]
    public void AnInProcessLockHasNoTokenHeldOrNot()
    {
        using var l = new PolyLock.Lock();
        Assert.Throws<NotSupportedException>(() => l.GetFencingToken());
        l.Enter();
        Assert.Throws<NotSupportedException>(() => l.GetFencingToken());
        l.Exit();
    }

    [NamedLockFact]
    public void ANamedLockHasNoTokenHeldOrNot()
    {
        string name = NamedLockTests.UniqueName("fence");
        using var l = PolyLock.Lock.Open(name);
        Assert.Throws<NotSupportedException>(() => l.GetFencingToken());
        l.Enter();
        Assert.Throws<NotSupportedException>(() => l.GetFencingToken());
        l.Exit();
        PolyLock.Lock.Unlink(name);
    }

    [Fact]
    public void ADisposedLockThrowsObjectDisposed()
    {
        var l = new PolyLock.Lock();
        l.Dispose();
        Assert.Throws<ObjectDisposedException>(() => l.GetFencingToken());
    }

    [EtcdFact]
    public void EachHoldHasAGreaterTokenWhicheverHandleHolds()
    {
        string name = EtcdName("grows");
        using var first = PolyLock.Lock.Open(name);
        using var second = PolyLock.Lock.Open(name);
        Assert.Throws<SynchronizationLockException>(() => first.GetFencingToken());
        ulong previous = 0;
        for (int round = 0; round < 4; ++round)
        {
            var holder = round % 2 == 0 ? first : second;
            var other = round % 2 == 0 ? second : first;
            Assert.True(holder.TryEnter(TimeSpan.FromSeconds(10)));
            ulong token = holder.GetFencingToken();
            Assert.True(token > previous, $"token {token} after {previous}");
            Assert.Equal(token, holder.GetFencingToken()); // one hold, one token
            Assert.Throws<SynchronizationLockException>(() => other.GetFencingToken());
            previous = token;
            holder.Exit();
            Assert.Throws<SynchronizationLockException>(() => holder.GetFencingToken());
        }
    }
}
