using System.Runtime.CompilerServices;
using Xunit;

namespace PolyLock.Tests;

public class FinalizationTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> Abandon(int count)
    {
        var references = new List<WeakReference>(count);
        for (int i = 0; i < count; i++)
        {
            var l = new PolyLock.Lock();
            if (i % 2 == 0) l.Enter(); // held locks are freed too
            if (i % 3 == 0) l.TryEnter();
            references.Add(new WeakReference(l));
        }
        return references;
    }

    // Many locks, never disposed: the SafeHandle's finalizer frees each one,
    // without a crash, and nothing keeps them alive.
    [Fact]
    public void UndisposedLocksAreFinalized()
    {
        for (int round = 0; round < 5; round++)
        {
            var references = Abandon(20_000);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.All(references, r => Assert.False(r.IsAlive));
        }
        using var survivor = new PolyLock.Lock();
        survivor.Enter();
        survivor.Exit();
    }
}
