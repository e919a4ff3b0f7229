using System.Collections.Concurrent;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// On a leader with synchronous replicas, neither DuckDB nor the commit observers (Redis, ClickHouse and the change feed,
/// told by the publisher) are given an event before the followers acknowledged it: a tail a failover drops is never
/// published. The replication hook here is driven by the test, standing in for the followers' acknowledgements.
/// </summary>
public sealed class PublishCeilingTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Leader_EventNotYetAcknowledgedByFollowers_NotInDuckDbNorToldToObserversUntilItIs()
    {
        var replication = new DrivenReplication();
        var observer = new EventRecorder();
        await using var harness = EngineHarness.StartLeader(replication, observer);

        var first = harness.Submit(Create("T1")).AsTask();
        await Task.Delay(Quiet, Ct);
        Assert.NotNull(harness.Index.Find("T1"));
        Assert.Equal(0, harness.Engine.AppliedSeq);
        Assert.Empty(observer.Seqs);

        replication.Answer(1, true);
        Assert.True((await first).Succeeded);
        Assert.True(harness.Engine.WaitApplied(1, TimeSpan.FromSeconds(30)));

        // A group the followers did not acknowledge in time is refused and stays out of DuckDB...
        var refused = await SubmitAnswered(harness, replication, Create("T2"), 2, false);
        Assert.Equal(CommandErrorKind.ReplicationUnavailable, refused.Error!.Kind);
        await Task.Delay(Quiet, Ct);
        Assert.Equal(1, harness.Engine.AppliedSeq);

        // ...until a later acknowledgement covers it (followers acknowledge everything up to their durable seq).
        var third = await SubmitAnswered(harness, replication, Create("T3"), 3, true);
        Assert.True(third.Succeeded);
        Assert.True(harness.Engine.WaitApplied(3, TimeSpan.FromSeconds(30)));
        await Eventually.TrueAsync(() => observer.Seqs.Count == 3, TimeSpan.FromSeconds(30), () => string.Join(",", observer.Seqs));
        Assert.Equal([1, 2, 3], observer.Seqs);
    }

    [Fact]
    public async Task Stop_WithAGroupTheFollowersNeverAcknowledged_ItStaysInTheLogOnly()
    {
        var replication = new DrivenReplication();
        var observer = new EventRecorder();
        await using var harness = EngineHarness.StartLeader(replication, observer);
        Assert.True((await SubmitAnswered(harness, replication, Create("T1"), 1, true)).Succeeded);

        _ = harness.Submit(Create("T2")).AsTask();
        await Eventually.TrueAsync(() => harness.Engine.LastSeq == 2, TimeSpan.FromSeconds(30), () => $"last seq {harness.Engine.LastSeq}");
        await harness.Engine.StopAsync(Ct);

        Assert.Equal(1, harness.Scalar("SELECT max(seq) FROM trade_events"));
        Assert.Equal([1], observer.Seqs);
        using var log = JournalLog.Open(JournalLog.DirectoryFor(harness.DatabaseAsIs.Path), new JournalLogOptions());
        Assert.Equal(2, log.LastSeq);
    }

    [Fact]
    public async Task Retry_OfAWriteRefusedForReplication_AcknowledgedOnlyOnceFollowersHoldIt()
    {
        var replication = new DrivenReplication();
        await using var harness = EngineHarness.StartLeader(replication, new EventRecorder());
        var create = new CreateTrade("T1", "ACC", "SYM", Side.Buy, 10, 1, IdempotencyKey: "k-1");
        var refused = await SubmitAnswered(harness, replication, create, 1, false);
        Assert.Equal(CommandErrorKind.ReplicationUnavailable, refused.Error!.Kind);

        // The retry finds the write in the log, but the followers still do not hold it: refused again, not replayed.
        var retried = await harness.Submit(create);
        Assert.Equal(CommandErrorKind.ReplicationUnavailable, retried.Error?.Kind);

        // A later write the followers acknowledge covers seq 1 too; the retry is then the write's acknowledgement.
        Assert.True((await SubmitAnswered(harness, replication, Create("T2"), 2, true)).Succeeded);
        var replayed = await harness.Submit(create);
        Assert.True(replayed.Succeeded);
        Assert.True(replayed.Replayed);
        Assert.Equal(1, replayed.Trade!.LastSeq);
    }

    [Fact]
    public async Task History_EventsDuckDbDoesNotHoldYet_ReadFromTheWaitingEventsWithoutWaitingForDuckDb()
    {
        var replication = new DrivenReplication();
        await using var harness = EngineHarness.StartLeader(replication, new EventRecorder());
        Assert.True((await SubmitAnswered(harness, replication, Create("T1"), 1, true)).Succeeded);
        Assert.True(harness.Engine.WaitApplied(1, TimeSpan.FromSeconds(30)));

        // The fill and the cancel are acknowledged to the index but held out of DuckDB (the followers have not answered).
        _ = harness.Submit(new FillTrade("T1", 4, 1)).AsTask();
        await Eventually.TrueAsync(() => replication.IsWaiting(2), TimeSpan.FromSeconds(30), () => "no wait for seq 2");
        _ = harness.Submit(new CancelTrade("T1")).AsTask();
        await Eventually.TrueAsync(() => replication.IsWaiting(3), TimeSpan.FromSeconds(30), () => "no wait for seq 3");

        var history = harness.Queries.GetHistory("T1");

        Assert.Equal([1L, 2L, 3L], history.Select(e => e.Seq));
        Assert.Equal([TradeEventType.Create, TradeEventType.Fill, TradeEventType.Cancel], history.Select(e => e.Type));
        Assert.Equal(harness.Queries.GetTrade("T1")!.Version, history[^1].Version);
        Assert.Equal(1, harness.Engine.AppliedSeq);
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM trade_events"));
    }

    private static CreateTrade Create(string id) => new(id, "ACC", "SYM", Side.Buy, 10, 1);

    private static async Task<CommandResult> SubmitAnswered(EngineHarness harness, DrivenReplication replication, TradeCommand command, long seq, bool replicated)
    {
        var submitted = harness.Submit(command).AsTask();
        await Eventually.TrueAsync(() => replication.IsWaiting(seq), TimeSpan.FromSeconds(30), () => $"no replication wait for seq {seq}");
        replication.Answer(seq, replicated);
        return await submitted;
    }

    /// <summary>Every group waits until the test answers for its last seq.</summary>
    private sealed class DrivenReplication : IJournalReplication
    {
        private readonly ConcurrentDictionary<long, TaskCompletionSource<bool>> _waits = new();

        public long Term => 1;

        public void Appended(IReadOnlyList<LogRecord> records)
        {
        }

        public Task<bool> WaitReplicatedAsync(long seq, long term) => Wait(seq).Task;

        public bool IsWaiting(long seq) => _waits.ContainsKey(seq);

        public void Answer(long seq, bool replicated) => Wait(seq).TrySetResult(replicated);

        private TaskCompletionSource<bool> Wait(long seq) => _waits.GetOrAdd(seq, _ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
