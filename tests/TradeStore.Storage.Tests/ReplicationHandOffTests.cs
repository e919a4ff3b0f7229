using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// A leader hands each group to replication once it is written to its journal log and before its fsync, so the
/// followers' fsyncs overlap its own; a group is still answered only after both. A hand-off that fails cannot be taken
/// back (followers may hold the records), so it breaks the log and stops the engine, and its writes are answered in doubt.
/// </summary>
public sealed class ReplicationHandOffTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Leader_GroupHandedOnBeforeItIsInTheIndexOrAnswered()
    {
        EngineHarness? harness = null;
        var seenAtHandOff = new List<(long Seq, bool InIndex, long EngineLastSeq)>();
        var replication = new HookedReplication(records =>
        {
            var id = EventCodec.Decode(records[^1].Seq, records[^1].Payload.Span).TradeId;
            seenAtHandOff.Add((records[^1].Seq, harness!.Index.Find(id) is not null, harness.Engine.LastSeq));
        });
        await using (harness = EngineHarness.StartLeader(replication))
        {
            Assert.True((await harness.Submit(Create("T1"))).Succeeded);
            Assert.True((await harness.Submit(Create("T2"))).Succeeded);
        }

        Assert.Equal([(1L, false, 0L), (2L, false, 1L)], seenAtHandOff);
    }

    [Fact]
    public async Task Leader_HandOffFails_WriteRefusedLogBrokenAndEngineFailureReported()
    {
        var replication = new HookedReplication(_ => throw new InvalidOperationException("stream gone"));
        await using var harness = EngineHarness.StartLeader(replication);

        var refused = await harness.Submit(Create("T1"));

        // Written before the hand-off failed, and not taken back: in doubt (the next test shows a restart applies it).
        Assert.Equal(CommandErrorKind.InDoubt, refused.Error!.Kind);
        var failure = await harness.Engine.Failure.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Contains("handed on", failure.Message, StringComparison.Ordinal);
        Assert.Contains("stream gone", failure.Message, StringComparison.Ordinal);
        Assert.Equal(CommandErrorKind.Unavailable, (await harness.Submit(Create("T2"))).Error!.Kind);
        Assert.Null(harness.Index.Find("T2"));
    }

    [Fact]
    public async Task Leader_HandOffFails_TheWriteIsInTheLogSoItsAnswerIsInDoubtAndARetryWithItsKeyReplaysAfterTheRestart()
    {
        var fail = true;
        var replication = new HookedReplication(_ =>
        {
            if (fail)
            {
                throw new InvalidOperationException("stream gone");
            }
        });
        await using var harness = EngineHarness.StartLeader(replication);
        var create = new CreateTrade("T1", "ACC", "SYM", Side.Buy, 10, 1) { IdempotencyKey = "k-1" };

        var answer = await harness.Submit(create);
        await harness.Engine.Failure.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        fail = false;
        await harness.RestartAsync();

        // The records were written to the log before the hand-off failed, and the restart replays them: the write was
        // applied. It used to be answered unavailable ("nothing was written"), which a client takes as definite.
        Assert.Equal(1, harness.Index.Find("T1")?.Version);
        Assert.Equal(CommandErrorKind.InDoubt, answer.Error!.Kind);
        Assert.Contains("may have been applied", answer.Error.Message, StringComparison.Ordinal);
        Assert.Contains("same Idempotency-Key", answer.Error.Message, StringComparison.Ordinal);
        var retried = await harness.Submit(create);
        Assert.True(retried.Replayed);
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM trade_events WHERE trade_id = 'T1'"));
    }

    [Fact]
    public async Task Leader_FailureAfterTheGroupIsDurable_ItsWritesAreAnsweredInDoubtAndTheRestartHoldsThem()
    {
        await using var harness = EngineHarness.StartLeader(new FailingWait());

        var answer = await harness.Submit(Create("T1"));
        await harness.Engine.Failure.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await harness.RestartAsync();

        Assert.Equal(CommandErrorKind.InDoubt, answer.Error!.Kind);
        Assert.Equal(1, harness.Index.Find("T1")?.Version);
    }

    [Fact]
    public async Task Engine_NormalStop_FailureNeverCompletes()
    {
        var harness = EngineHarness.StartLeader(new HookedReplication(_ => { }));
        Assert.True((await harness.Submit(Create("T1"))).Succeeded);

        await harness.DisposeAsync();

        Assert.False(harness.Engine.Failure.IsCompleted);
    }

    /// <summary>
    /// On a leader, a request on a socket event thread (<c>Server:InlineScheduling</c>) never commits on that thread:
    /// the fsync would keep it from reading the followers' acknowledgements, which every group waits for. The writer
    /// thread commits instead. From any other thread a lone request still commits on its own thread.
    /// </summary>
    [Fact]
    public async Task Leader_RequestOnASocketEventThread_CommittedByTheWriterThread()
    {
        var handedOnBy = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var harness = EngineHarness.StartLeader(new HookedReplication(_ => handedOnBy.Enqueue(Thread.CurrentThread.Name ?? "unnamed")));
        Assert.True((await harness.Submit(Create("T0"))).Succeeded);
        handedOnBy.Clear();

        for (var i = 1; i <= 10; i++)
        {
            var submitted = await SocketEventThread.RunAsync(() => harness.Engine.SubmitAndWaitAsync(Create($"E{i}"), Ct).AsTask());
            Assert.True((await submitted).Succeeded);
        }

        var fromEventThreads = handedOnBy.ToArray();
        handedOnBy.Clear();
        for (var i = 1; i <= 10; i++)
        {
            Assert.True((await Task.Run(() => harness.Engine.SubmitAndWaitAsync(Create($"P{i}"), Ct).AsTask(), Ct)).Succeeded);
        }

        Assert.Equal(Enumerable.Repeat("tradestore-writer", 10), fromEventThreads);
        Assert.Contains(handedOnBy, name => name != "tradestore-writer");
    }

    private static CreateTrade Create(string id) => new(id, "ACC", "SYM", Side.Buy, 10, 1);

    /// <summary>Runs <paramref name="onAppended"/> at each hand-off; every group counts as replicated at once.</summary>
    private sealed class HookedReplication(Action<IReadOnlyList<LogRecord>> onAppended) : IJournalReplication
    {
        public long Term => 1;

        public void Appended(IReadOnlyList<LogRecord> records) => onAppended(records);

        public Task<bool> WaitReplicatedAsync(long seq, long term) => Task.FromResult(true);
    }

    /// <summary>Every group is handed on; waiting for its acknowledgement fails with an unexpected error (after the group is durable).</summary>
    private sealed class FailingWait : IJournalReplication
    {
        public long Term => 1;

        public void Appended(IReadOnlyList<LogRecord> records)
        {
        }

        public Task<bool> WaitReplicatedAsync(long seq, long term) => throw new InvalidOperationException("acknowledgement tracking failed");
    }
}
