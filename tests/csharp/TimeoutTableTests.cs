using Xunit;

namespace PolyLock.Tests;

// Issue 14 §3 for C#: every int and TimeSpan edge value is accepted or refused
// as System.Threading.Lock does (same exception type, parameter name and message), and an
// accepted one takes a free lock and, when it cannot wait long, gives up on a
// lock held by another thread just as the peer does.
public class TimeoutTableTests
{
    public static TheoryData<int> Milliseconds => new()
    {
        int.MinValue, int.MinValue + 1, -1_000_000, -2, -1, 0, 1, 2, 1000, int.MaxValue - 1, int.MaxValue,
    };

    public static TheoryData<TimeSpan> TimeSpans => new()
    {
        TimeSpan.MinValue, TimeSpan.MinValue + TimeSpan.FromTicks(1), TimeSpan.FromDays(-1),
        TimeSpan.FromMilliseconds(int.MinValue), TimeSpan.FromMilliseconds(-2),
        TimeSpan.FromMilliseconds(-2) + TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(-1.5),
        TimeSpan.FromMilliseconds(-1) - TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan,
        TimeSpan.FromMilliseconds(-1) + TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(-0.5),
        TimeSpan.FromTicks(-1), TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromTicks(9_999),
        TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1.5), TimeSpan.FromSeconds(1),
        TimeSpan.FromMilliseconds(int.MaxValue) - TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(int.MaxValue),
        TimeSpan.FromMilliseconds(int.MaxValue) + TimeSpan.FromTicks(9_999),
        TimeSpan.FromMilliseconds(int.MaxValue + 1.0), TimeSpan.FromDays(365 * 100),
        TimeSpan.MaxValue - TimeSpan.FromTicks(1), TimeSpan.MaxValue,
    };

    // Short enough to test against a lock held by another thread: both give up.
    private static bool Brief(TimeSpan timeout) => timeout >= TimeSpan.Zero - TimeSpan.FromMilliseconds(1) + TimeSpan.FromTicks(1) &&
                                                  timeout <= TimeSpan.FromMilliseconds(2);

    private static Exception? Outcome(Func<bool> call, out bool result)
    {
        bool got = false;
        Exception? error = Record.Exception(() => got = call());
        result = got;
        return error;
    }

    private static void AssertSame(Exception? peer, Exception? ours)
    {
        Assert.Equal(peer?.GetType(), ours?.GetType());
        Assert.Equal((peer as ArgumentException)?.ParamName, (ours as ArgumentException)?.ParamName);
        Assert.Equal(peer?.Message, ours?.Message);
    }

    // A lock held by another thread (System.Threading.Lock is owned and recursive:
    // its own holder would just enter again).
    private static void HeldElsewhere(Action<System.Threading.Lock, PolyLock.Lock> check)
    {
        var peer = new System.Threading.Lock();
        using var ours = new PolyLock.Lock();
        using var held = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        var holder = ThreadTests.Start(() =>
        {
            peer.Enter();
            ours.Enter();
            held.Set();
            done.Wait();
            ours.Exit();
            peer.Exit();
        });
        held.Wait();
        try
        {
            check(peer, ours);
        }
        finally
        {
            done.Set();
            Assert.True(holder.Join(ThreadTests.Hang));
        }
    }

    [Theory]
    [MemberData(nameof(Milliseconds))]
    public void TryEnterMillisecondsFollowsThePeer(int milliseconds)
    {
        var peer = new System.Threading.Lock();
        using var ours = new PolyLock.Lock();
        Exception? peerError = Outcome(() => peer.TryEnter(milliseconds), out bool peerGot);
        Exception? ourError = Outcome(() => ours.TryEnter(milliseconds), out bool ourGot);
        AssertSame(peerError, ourError);
        Assert.Equal(peerGot, ourGot);
        Assert.Equal(peerGot, ours.IsLocked);
        if (milliseconds is 0 or 1 or 2)
        {
            HeldElsewhere((p, o) =>
            {
                Assert.Equal(p.TryEnter(milliseconds), o.TryEnter(milliseconds));
                Assert.True(o.IsLocked);
            });
        }
    }

    [Theory]
    [MemberData(nameof(TimeSpans))]
    public void TryEnterTimeSpanFollowsThePeer(TimeSpan timeout)
    {
        var peer = new System.Threading.Lock();
        using var ours = new PolyLock.Lock();
        Exception? peerError = Outcome(() => peer.TryEnter(timeout), out bool peerGot);
        Exception? ourError = Outcome(() => ours.TryEnter(timeout), out bool ourGot);
        AssertSame(peerError, ourError);
        Assert.Equal(peerGot, ourGot);
        if (ourGot) ours.Exit();

        // With a token that can be cancelled (the other path into the library).
        ourError = Outcome(() => ours.TryEnter(timeout, new CancellationTokenSource().Token), out ourGot);
        AssertSame(peerError, ourError);
        Assert.Equal(peerGot, ourGot);
        if (peerError is null && Brief(timeout))
        {
            HeldElsewhere((p, o) =>
            {
                Assert.Equal(p.TryEnter(timeout), o.TryEnter(timeout));
                Assert.Equal(p.TryEnter(timeout), o.TryEnter(timeout, new CancellationTokenSource().Token));
            });
        }
    }

    // Validation comes first, as in the peer: a bad timeout on a disposed lock is
    // an ArgumentOutOfRangeException, not an ObjectDisposedException.
    [Fact]
    public void ABadTimeoutIsReportedBeforeADisposedLock()
    {
        var l = new PolyLock.Lock();
        l.Dispose();
        Assert.Throws<ArgumentOutOfRangeException>(() => l.TryEnter(-2));
        Assert.Throws<ArgumentOutOfRangeException>(() => l.TryEnter(TimeSpan.MaxValue));
        Assert.Throws<ObjectDisposedException>(() => l.TryEnter(0));
        Assert.Throws<ObjectDisposedException>(() => l.TryEnter(TimeSpan.Zero));
    }
}
