using Xunit;

namespace PolyLock.Tests;

public class CancellationTests
{
    [Fact]
    public void AnAlreadyCancelledTokenTakesNothing()
    {
        using var l = new PolyLock.Lock();
        var token = new CancellationToken(canceled: true);
        Assert.Throws<OperationCanceledException>(() => l.Enter(token));
        Assert.Throws<OperationCanceledException>(() => l.TryEnter(TimeSpan.FromSeconds(1), token));
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void AnUncancelledTokenEntersAFreeLock()
    {
        using var l = new PolyLock.Lock();
        using var cancel = new CancellationTokenSource();
        l.Enter(cancel.Token);
        Assert.True(l.IsLocked);
        Assert.False(l.TryEnter(TimeSpan.Zero, cancel.Token));
        l.Exit();
        Assert.True(l.TryEnter(TimeSpan.FromSeconds(1), cancel.Token));
        l.Exit();
        l.Enter(CancellationToken.None);
        l.Exit();
    }

    [Fact]
    public void CancellingEndsAWaitAndTakesNothing()
    {
        using var l = new PolyLock.Lock();
        using var cancel = new CancellationTokenSource();
        l.Enter();
        Exception? error = null;
        var waiter = ThreadTests.Start(() => error = Record.Exception(() => l.Enter(cancel.Token)));
        Assert.False(waiter.Join(100), "Enter(token) returned while the lock was held");
        cancel.Cancel();
        Assert.True(waiter.Join(ThreadTests.Hang));
        var canceled = Assert.IsAssignableFrom<OperationCanceledException>(error);
        Assert.Equal(cancel.Token, canceled.CancellationToken);
        // Still held by this thread, not by the waiter: one Exit frees it.
        Assert.True(l.IsLocked);
        l.Exit();
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void CancellingATimedWaitThrowsInsteadOfReturningFalse()
    {
        using var l = new PolyLock.Lock();
        using var cancel = new CancellationTokenSource();
        l.Enter();
        Exception? error = null;
        var waiter = ThreadTests.Start(() =>
            error = Record.Exception(() => l.TryEnter(TimeSpan.FromSeconds(60), cancel.Token)));
        Assert.False(waiter.Join(100));
        cancel.Cancel();
        Assert.True(waiter.Join(ThreadTests.Hang));
        Assert.IsAssignableFrom<OperationCanceledException>(error);
        l.Exit();
        Assert.False(l.IsLocked);
    }

    // A cancel that lands at any moment -- before the wait, while the thread is
    // on its way into the queue, or while it sleeps -- ends the wait. A lost
    // cancel hangs the round.
    [Fact]
    public void ACancelAtAnyMomentEndsTheWait()
    {
        using var l = new PolyLock.Lock();
        l.Enter();
        for (int round = 0; round < 300; round++)
        {
            using var cancel = new CancellationTokenSource();
            Exception? error = null;
            var waiter = ThreadTests.Start(() => error = Record.Exception(() => l.Enter(cancel.Token)));
            for (int spin = 0; spin < round % 50; spin++) Thread.SpinWait(20);
            cancel.Cancel();
            Assert.True(waiter.Join(ThreadTests.Hang), $"round {round}: the cancel was lost");
            Assert.IsAssignableFrom<OperationCanceledException>(error);
        }
        Assert.True(l.IsLocked);
        l.Exit();
        Assert.False(l.IsLocked);
    }

    // The cancelled waiter leaves; the others keep waiting and the next Exit
    // still reaches one of them.
    [Fact]
    public void CancellingOneWaiterLeavesTheOthersWaiting()
    {
        using var l = new PolyLock.Lock();
        using var cancel = new CancellationTokenSource();
        using var never = new CancellationTokenSource();
        l.Enter();
        Exception? canceledError = null;
        int entered = 0;
        var canceled = ThreadTests.Start(() => canceledError = Record.Exception(() => l.Enter(cancel.Token)));
        var plain = ThreadTests.Start(() => { l.Enter(); Interlocked.Increment(ref entered); l.Exit(); });
        var tokened = ThreadTests.Start(() => { l.Enter(never.Token); Interlocked.Increment(ref entered); l.Exit(); });
        Assert.False(canceled.Join(100));
        cancel.Cancel();
        Assert.True(canceled.Join(ThreadTests.Hang));
        Assert.IsAssignableFrom<OperationCanceledException>(canceledError);
        Assert.False(plain.Join(50));
        Assert.Equal(0, Volatile.Read(ref entered));
        l.Exit();
        Assert.True(plain.Join(ThreadTests.Hang));
        Assert.True(tokened.Join(ThreadTests.Hang));
        Assert.Equal(2, entered);
        Assert.False(l.IsLocked);
    }

    [Fact]
    public void CancellingAfterDisposeStillEndsTheWait()
    {
        var l = new PolyLock.Lock();
        using var cancel = new CancellationTokenSource();
        l.Enter();
        Exception? error = null;
        var waiter = ThreadTests.Start(() => error = Record.Exception(() => l.Enter(cancel.Token)));
        Assert.False(waiter.Join(100));
        l.Dispose(); // the waiter keeps the native lock alive...
        cancel.Cancel(); // ...so interrupting it is safe
        Assert.True(waiter.Join(ThreadTests.Hang));
        Assert.IsAssignableFrom<OperationCanceledException>(error);
    }
}
