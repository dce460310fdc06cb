using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xunit;

namespace PolyLock.Tests;

// The P/Invoke test library (native/sharing.c). It links the build tree's
// libpolylock: a lock it makes comes from another copy of the library than
// the package's that PolyLock uses.
internal static unsafe partial class Sharing
{
    internal const string Library = "polylock_csharp_sharing";

    [LibraryImport(Library, EntryPoint = "sharing_make")]
    internal static partial nint Make();

    [LibraryImport(Library, EntryPoint = "sharing_free")]
    internal static partial void Free(nint lockHandle);

    [LibraryImport(Library, EntryPoint = "sharing_hammer")]
    internal static partial int Hammer(nint lockHandle, long* counter, int threads, int rounds);

    [LibraryImport(Library, EntryPoint = "sharing_locked")]
    internal static partial int Locked(nint lockHandle);
}

// Issue 11 for C#: Lock.FromHandle and DangerousGetHandle; a lock made in C,
// used from native and .NET threads at once, freed by each side in either order.
public unsafe class SharingTests
{
    [Fact]
    public void FromHandleRefusesZeroAndWhatIsNotALock()
    {
        var e = Assert.Throws<ArgumentException>(() => PolyLock.Lock.FromHandle(0));
        Assert.Equal("handle", e.ParamName);
        Assert.Contains("0 is not a lock", e.Message);

        // Zeroed memory: no polylock magic, so lock_ref refuses it.
        nint notALock = (nint)NativeMemory.AllocZeroed(256);
        try
        {
            e = Assert.Throws<ArgumentException>(() => PolyLock.Lock.FromHandle(notALock));
            Assert.Equal("handle", e.ParamName);
            Assert.Contains("not a polylock lock_t*", e.Message);
        }
        finally
        {
            NativeMemory.Free((void*)notALock);
        }

        // Integers that are no address at all: refused, not read (reading them
        // would take the process down).
        // (nint.MinValue is the kernel's half on x64 only.)
        foreach (nint bad in IntPtr.Size == 8 ? new nint[] { 8, 4095, -1, -4096, nint.MinValue }
                                              : new nint[] { 8, 4095, -1, -4096 })
        {
            e = Assert.Throws<ArgumentException>(() => PolyLock.Lock.FromHandle(bad));
            Assert.Contains("not a polylock lock_t*", e.Message);
        }

        // Never mapped unless a program placed memory there itself: the first
        // 64 KiB, and on x64 2^47 and up. Refused without being read.
        var unmapped = new List<nint> { 4096, 65528 };
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            unmapped.Add((nint)1 << 47);
            unmapped.Add(unchecked((nint)0x0000800000001000));
        }
        foreach (nint bad in unmapped)
        {
            e = Assert.Throws<ArgumentException>(() => PolyLock.Lock.FromHandle(bad));
            Assert.Contains("not a polylock lock_t*", e.Message);
        }
    }

    [Fact]
    public void DangerousGetHandleIsTheNativeLockAndThrowsAfterDispose()
    {
        var l = new PolyLock.Lock();
        nint handle = l.DangerousGetHandle();
        Assert.NotEqual(0, handle);
        l.Enter();
        Assert.Equal(1, Sharing.Locked(handle)); // C sees what C# did, on the same lock
        l.Exit();
        Assert.Equal(0, Sharing.Locked(handle));
        l.Dispose();
        Assert.Throws<ObjectDisposedException>(() => l.DangerousGetHandle());
    }

    // The address of the fast-path word a Lock read at construction (null: none).
    internal static uint* FastWord(PolyLock.Lock l) =>
        (uint*)System.Reflection.Pointer.Unbox(typeof(PolyLock.Lock)
            .GetField("_word", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(l)!);

    // A wrapped lock is the same lock: each side sees the other's state, and it
    // follows every rule of an own one (errors included).
    [Fact]
    public void AWrappedLockIsTheSameLock()
    {
        nint native = Sharing.Make();
        using (var own = new PolyLock.Lock())
        using (var wrapped = PolyLock.Lock.FromHandle(own.DangerousGetHandle()))
        {
            Assert.Equal(own.DangerousGetHandle(), wrapped.DangerousGetHandle());
            Assert.True(FastWord(own) != null); // both take the fast path, on one word
            Assert.True(FastWord(own) == FastWord(wrapped));
            own.Enter();
            Assert.True(wrapped.IsLocked);
            Assert.False(wrapped.TryEnter());
            wrapped.Exit(); // not owned: the other object may exit it
            Assert.False(own.IsLocked);
            Assert.Throws<SynchronizationLockException>(() => wrapped.Exit());
        }
        using (var fromC = PolyLock.Lock.FromHandle(native))
        {
            Assert.True(FastWord(fromC) != null); // a lock from another copy of the library too
            Sharing.Free(native); // C drops its reference first; C#'s keeps the lock
            Assert.True(fromC.TryEnter());
            Assert.False(fromC.TryEnter(TimeSpan.FromMilliseconds(1)));
            fromC.Exit();
        }
    }

    // Native threads and .NET threads increment one plain counter under one lock,
    // made in C and wrapped in C#, through every way in on both sides (C# fast path,
    // native calls, timed and cancelable waits; C's fast-path contract and calls).
    // Then the two owners free their references, in the order given.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NativeAndDotNetThreadsShareOneLockExactly(bool nativeFreesFirst)
    {
        const int nativeThreads = 3;
        const int dotnetThreads = 3;
        const int rounds = 30_000;
        long* counter = (long*)NativeMemory.AllocZeroed(sizeof(long));
        try
        {
            nint native = Sharing.Make();
            var l = PolyLock.Lock.FromHandle(native);
            int nativeErrors = 0;
            var workers = new List<Thread>
            {
                ThreadTests.Start(() => nativeErrors = Sharing.Hammer(native, counter, nativeThreads, rounds)),
            };
            using var cancel = new CancellationTokenSource();
            for (int t = 0; t < dotnetThreads; t++)
            {
                int first = t;
                workers.Add(ThreadTests.Start(() =>
                {
                    for (int i = 0; i < rounds; i++)
                    {
                        switch ((i + first) % 4)
                        {
                            case 0: l.Enter(); break;
                            case 1: while (!l.TryEnter()) Thread.Yield(); break;
                            case 2: while (!l.TryEnter(1)) { } break;
                            default: l.Enter(cancel.Token); break;
                        }
                        (*counter)++;
                        l.Exit();
                    }
                }));
            }
            foreach (var worker in workers) Assert.True(worker.Join(ThreadTests.Hang));
            Assert.Equal(0, nativeErrors);
            Assert.Equal((long)(nativeThreads + dotnetThreads) * rounds, *counter);
            Assert.False(l.IsLocked);

            if (nativeFreesFirst)
            {
                Sharing.Free(native);
                l.Enter(); // C#'s reference still holds the lock
                l.Exit();
                l.Dispose();
            }
            else
            {
                l.Dispose();
                Assert.Equal(0, Sharing.Locked(native)); // C's reference still holds the lock
                Assert.Equal(0, Sharing.Hammer(native, counter, 2, 1000));
                Sharing.Free(native);
            }
        }
        finally
        {
            NativeMemory.Free(counter);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference WrapAndDrop(nint native)
    {
        var l = PolyLock.Lock.FromHandle(native);
        l.Enter();
        l.Exit();
        return new WeakReference(l);
    }

    // A wrapped lock that is never disposed drops its reference when collected;
    // the maker's reference keeps working meanwhile and after.
    [Fact]
    public void AnUndisposedWrapperDropsOnlyItsOwnReference()
    {
        nint native = Sharing.Make();
        var references = Enumerable.Range(0, 100).Select(_ => WrapAndDrop(native)).ToList();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.All(references, r => Assert.False(r.IsAlive));
        long counter = 0;
        Assert.Equal(0, Sharing.Hammer(native, &counter, 2, 1000));
        Assert.Equal(2000, counter);
        Sharing.Free(native);
    }
}
