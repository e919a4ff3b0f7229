using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse.Tests;

public sealed class SyncSignalTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void OnCommitted_WhileWaiting_CompletesTheWaitTakenBefore()
    {
        var signal = new SyncSignal();
        var wait = signal.NextCommit;

        signal.OnCommitted([Event(1, T0)]);

        Assert.True(wait.IsCompleted);
        Assert.False(signal.NextCommit.IsCompleted);
        Assert.Equal(1, signal.LastCommittedSeq);
    }

    [Fact]
    public void Backlog_CommitsThenPartialSync_BehindAndOldestBound()
    {
        var signal = new SyncSignal();
        signal.OnCommitted([Event(1, T0), Event(2, T0.AddSeconds(1))]);
        signal.OnCommitted([Event(3, T0.AddSeconds(2))]);

        Assert.Equal((3L, (DateTimeOffset?)T0), signal.Backlog());

        signal.MarkSynced(2, T0.AddSeconds(1));
        Assert.Equal((1L, (DateTimeOffset?)T0.AddSeconds(1)), signal.Backlog());

        signal.MarkSynced(3, T0.AddSeconds(2));
        Assert.Equal((0L, (DateTimeOffset?)null), signal.Backlog());

        signal.OnCommitted([Event(4, T0.AddSeconds(9))]);
        Assert.Equal((1L, (DateTimeOffset?)T0.AddSeconds(9)), signal.Backlog());
    }

    [Fact]
    public void PendingAge_WaitingThenCaughtUp_AgeOfTheOldestWaitingEventThenZero()
    {
        var signal = new SyncSignal();
        Assert.Equal(0, signal.PendingAge(T0));

        signal.OnCommitted([Event(1, T0), Event(2, T0.AddSeconds(1))]);
        Assert.Equal(30, signal.PendingAge(T0.AddSeconds(30)));
        Assert.Equal(90, signal.PendingAge(T0.AddSeconds(90))); // nothing delivered: it keeps growing

        signal.MarkSynced(1, T0.AddSeconds(1));
        Assert.Equal(89, signal.PendingAge(T0.AddSeconds(90)));

        signal.MarkSynced(2, T0.AddSeconds(1));
        Assert.Equal(0, signal.PendingAge(T0.AddSeconds(90)));
    }

    private static TradeEvent Event(long seq, DateTimeOffset at) => new(seq, TradeEventType.Create,
        new Trade($"t{seq}", "a", "s", Side.Buy, 1, 1, 0, 0, TradeStatus.New, null, null, at, 1, seq, at, at), null, null, at, null);
}
