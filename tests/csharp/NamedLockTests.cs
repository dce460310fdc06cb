using System.Diagnostics;
using Xunit;

namespace PolyLock.Tests;

// A test of named locks: skipped, visibly, only while this build's lock_open
// answers LOCK_ENOTSUP (PlatformNotSupportedException), never passed silently.
public sealed class NamedLockFactAttribute : FactAttribute
{
    private static readonly string? Unsupported = Probe();

    public NamedLockFactAttribute()
    {
        if (Unsupported is not null)
        {
            Skip = $"named locks are not supported by this libpolylock (lock_open: LOCK_ENOTSUP): {Unsupported}";
        }
    }

    private static string? Probe()
    {
        string name = NamedLockTests.UniqueName("probe");
        try
        {
            PolyLock.Lock.Open(name).Dispose();
            PolyLock.Lock.Unlink(name);
            return null;
        }
        catch (PlatformNotSupportedException e)
        {
            return e.Message;
        }
    }
}

public unsafe class NamedLockTests
{
    internal static string UniqueName(string what) =>
        $"polylock-csharp-{what}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    public static TheoryData<string> BadNames => new()
    {
        "", ".hidden", "has space", "slash/inside", "back\\slash", "nul\0inside", "ünïcode",
        new string('a', 201), "tab\tinside", "..", "star*",
    };

    // Checked by the binding itself, so these hold on every build and platform.
    [Theory]
    [MemberData(nameof(BadNames))]
    public void ABadNameIsAnArgumentException(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => PolyLock.Lock.Open(name));
        Assert.Equal("name", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => PolyLock.Lock.Unlink(name));
        Assert.Equal("name", e.ParamName);
        // The rule the name broke, with the name on one line (control characters escaped).
        Assert.Contains("is not a lock name: 1-200 characters", e.Message);
        Assert.DoesNotContain(e.Message, char.IsControl);
    }

    // A name with ':' names a backend, which the native library judges: its
    // refusal says which rule applies, not the library's catch-all text.
    [Theory]
    [InlineData("x:y")]
    [InlineData("nope://host/name")]
    [InlineData("nope://host/line\nbreak")]
    [InlineData("nope://host/next\u0085line\u2028separator")]
    public void AColonNameWithoutABackendSaysWhy(string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        foreach (Action call in new Action[] { () => PolyLock.Lock.Open(name), () => PolyLock.Lock.Unlink(name) })
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal("name", e.ParamName);
            Assert.Contains("not a lock name: only etcd:// names may hold ':'", e.Message);
            Assert.DoesNotContain(e.Message, c => char.IsControl(c) || c is '\u2028' or '\u2029');
        }
    }

    [Fact]
    public void ANullNameIsAnArgumentNullException()
    {
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => PolyLock.Lock.Open(null!)).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => PolyLock.Lock.Unlink(null!)).ParamName);
    }

    [Fact]
    public void TheLongestNameAndEveryAllowedCharacterPassTheCheck()
    {
        // Either it opens, or the library says it has no named locks: never an
        // ArgumentException for a good name.
        foreach (string name in new[] { new string('a', 200), "A-Z_a-z.0-9" })
        {
            try
            {
                using var l = PolyLock.Lock.Open(name);
                PolyLock.Lock.Unlink(name);
            }
            catch (PlatformNotSupportedException)
            {
            }
        }
    }

    [NamedLockFact]
    public void TwoOpensOfOneNameAreOneLock()
    {
        string name = UniqueName("one");
        using var a = PolyLock.Lock.Open(name);
        using var b = PolyLock.Lock.Open(name);
        try
        {
            Assert.Throws<ObjectDisposedException>(() => { var c = PolyLock.Lock.Open(name); c.Dispose(); c.Enter(); });
            Assert.True(SharingTests.FastWord(a) == null); // no fast-path word: every call goes native
            a.Enter();
            Assert.True(b.IsLocked);
            Assert.False(b.TryEnter());
            Assert.False(b.TryEnter(TimeSpan.FromMilliseconds(20)));
            b.Exit(); // not owned, across handles as across threads
            Assert.False(a.IsLocked);
            Assert.Throws<SynchronizationLockException>(() => a.Exit());
        }
        finally
        {
            PolyLock.Lock.Unlink(name);
        }
    }

    [NamedLockFact]
    public void UnlinkLeavesOpenHandlesWorkingAndTheNextOpenIsFresh()
    {
        string name = UniqueName("unlink");
        using var old = PolyLock.Lock.Open(name);
        old.Enter();
        Assert.True(PolyLock.Lock.Unlink(name));
        Assert.False(PolyLock.Lock.Unlink(name)); // gone: no error, as File.Delete
        using var fresh = PolyLock.Lock.Open(name);
        Assert.False(fresh.IsLocked);
        Assert.True(old.IsLocked);
        old.Exit();
        PolyLock.Lock.Unlink(name);
    }

    [NamedLockFact]
    public void ThreadsOfTwoHandlesCountExactly()
    {
        string name = UniqueName("count");
        const int rounds = 20_000;
        long counter = 0;
        try
        {
            var workers = Enumerable.Range(0, 4).Select(t => ThreadTests.Start(() =>
            {
                using var l = PolyLock.Lock.Open(name);
                for (int i = 0; i < rounds; i++)
                {
                    if (i % 2 == 0) l.Enter();
                    else while (!l.TryEnter(1)) { }
                    counter++;
                    l.Exit();
                }
            })).ToList();
            foreach (var worker in workers) Assert.True(worker.Join(ThreadTests.Hang));
            Assert.Equal(4L * rounds, counter);
        }
        finally
        {
            PolyLock.Lock.Unlink(name);
        }
    }

    // A process dies holding the lock: the next entry, by any member, gets the
    // lock and an AbandonedLockException (an AbandonedMutexException), with the
    // lock held; the entry after that is ordinary.
    [NamedLockFact]
    public void AHolderThatDiesIsReportedWithTheLockHeld()
    {
        var entries = new Func<PolyLock.Lock, bool>[]
        {
            l => { l.Enter(); return true; },
            l => l.TryEnter(),
            l => l.TryEnter(1000),
            l => l.TryEnter(TimeSpan.FromSeconds(1)),
            l => { l.Enter(new CancellationTokenSource().Token); return true; },
            l => { using (l.EnterScope()) { } return true; },
        };
        foreach (var entry in entries)
        {
            string name = UniqueName("dead");
            using var l = PolyLock.Lock.Open(name);
            try
            {
                DieHolding(name);
                Assert.True(l.IsLocked); // the dead holder's
                var e = Assert.Throws<AbandonedLockException>(() => entry(l));
                Assert.IsAssignableFrom<AbandonedMutexException>(e);
                Assert.Same(l, e.Lock);
                Assert.True(l.IsLocked); // held by this thread now
                l.Exit();
                Assert.True(entry(l)); // ordinary again
                if (l.IsLocked) l.Exit();
            }
            finally
            {
                PolyLock.Lock.Unlink(name);
            }
        }
    }

    private static void DieHolding(string name)
    {
        using var holder = Process.Start(new ProcessStartInfo(Resolver.Required("POLYLOCK_CSHARP_HOLDER"), name)
        {
            RedirectStandardError = true,
        })!;
        string error = holder.StandardError.ReadToEnd();
        holder.WaitForExit();
        Assert.True(holder.ExitCode == 0, $"the holder failed: {error}");
    }
}
