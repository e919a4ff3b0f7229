using Microsoft.Extensions.Diagnostics.HealthChecks;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

public sealed class WriteEngineTests
{
    private static CreateTrade Buy(string id, decimal quantity = 100, decimal price = 10, string account = "ACC1", string symbol = "AAPL", string? key = null) =>
        new(id, account, symbol, Side.Buy, quantity, price, IdempotencyKey: key);

    [Fact]
    public async Task SubmitAsync_Create_IsCommittedAndReadable()
    {
        await using var harness = EngineHarness.Start();

        var result = await harness.Submit(Buy("T1"));

        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(1, result.Trade!.Version);
        Assert.Equal(TradeStatus.New, harness.Queries.GetTrade("T1")!.Status);
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM trade_events WHERE trade_id = 'T1'"));
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM current_trade_state WHERE trade_id = 'T1' AND version = 1"));
        var history = harness.Queries.GetHistory("T1");
        Assert.Equal(result.Trade, Assert.Single(history).State);
    }

    /// <summary>
    /// A lone sequential caller commits inline: its command is durable and answered before <c>SubmitAsync</c> returns,
    /// with no hand-off to the writer thread. (Not every one: a submission that meets the writer thread finishing its
    /// loop goes through the writer, so most, not all, are counted.)
    /// </summary>
    [Fact]
    public async Task SubmitAsync_EngineIdle_SequentialCallerCommitsOnItsOwnThread()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(Buy("warm-up"));

        var inline = 0;
        for (var i = 0; i < 50; i++)
        {
            var submitted = harness.Engine.SubmitAndWaitAsync(Buy($"T{i}"), TestContext.Current.CancellationToken);
            inline += submitted.IsCompleted ? 1 : 0;
            Assert.True((await submitted).Succeeded);
        }

        Assert.True(inline >= 40, $"{inline} of 50 sequential submissions were committed inline");
        Assert.Equal(51, harness.Engine.LastSeq);
        Assert.Equal(51, harness.Scalar("SELECT count(*) FROM trade_events"));
    }

    /// <summary>
    /// A caller that submits many commands before awaiting them (the batch endpoint, an in-process feed) never commits
    /// on its own thread: its commands are queued for the writer and committed together.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_ManyBeforeAwaiting_QueuedForTheWriterNotCommittedOnTheCallersThread()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(Buy("warm-up"));

        var submitted = Enumerable.Range(0, 500).Select(i => harness.Submit(Buy($"T{i}")).AsTask()).ToList();
        var answeredBeforeReturning = submitted.Count(t => t.IsCompleted);
        var results = await Task.WhenAll(submitted);

        Assert.All(results, r => Assert.True(r.Succeeded));
        Assert.True(answeredBeforeReturning < 50, $"{answeredBeforeReturning} of 500 were committed before SubmitAsync returned");
        Assert.Equal(501, harness.Engine.LastSeq);
    }

    /// <summary>
    /// Many submitters at once, some committing inline and the rest through the writer thread: every command is
    /// answered once, the seqs are contiguous, and the journal holds exactly the acknowledged events.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_ConcurrentSubmittersInlineAndThroughTheWriter_EveryCommandOnceInOneContiguousJournal()
    {
        await using var harness = EngineHarness.Start(new EngineOptions { MaxBatchSize = 16 });
        var ct = TestContext.Current.CancellationToken;

        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var results = new List<CommandResult>();
            for (var i = 0; i < 250; i++)
            {
                var command = Buy($"W{w}-{i}");
                results.Add(await (i % 2 == 0 ? harness.Engine.SubmitAndWaitAsync(command, ct) : harness.Submit(command)));
            }

            return results;
        }, ct)).ToArray();
        var all = (await Task.WhenAll(workers)).SelectMany(r => r).ToList();

        Assert.All(all, r => Assert.True(r.Succeeded, r.Error?.Message));
        Assert.Equal(2_000, harness.Engine.LastSeq);
        Assert.Equal(2_000, all.Select(r => r.Trade!.TradeId).Distinct().Count());
        Assert.Equal(2_000, harness.Scalar("SELECT count(*) FROM trade_events"));
        Assert.Equal(2_000, harness.Scalar("SELECT count(DISTINCT seq) FROM trade_events WHERE seq BETWEEN 1 AND 2000"));
        Assert.Equal(2_000, harness.Index.Count);
    }

    /// <summary>
    /// DuckDB commits are spaced by <see cref="EngineOptions.ApplyInterval"/>, but a caller that needs DuckDB current
    /// (a history read, the state flush) does not wait out the interval. (The state flush is put off here: it is such a
    /// caller itself.) The interval is an hour, so a reader served within the wait's 30 s can only have cut it short: no
    /// stopwatch, which a loaded machine would make lie either way.
    /// </summary>
    [Fact]
    public async Task ApplyInterval_CommitsCoalescedButAWaitingReaderCutsItShort()
    {
        await using var harness = EngineHarness.Start(new EngineOptions { ApplyInterval = TimeSpan.FromHours(1), StateFlushInterval = TimeSpan.FromHours(1) });
        await harness.Submit(Buy("T0"));
        Assert.True(harness.Engine.WaitApplied(1, TimeSpan.FromSeconds(30)));

        await harness.Submit(Buy("T1"));
        await Task.Delay(200, TestContext.Current.CancellationToken);
        var appliedWhileCoalescing = harness.Engine.AppliedSeq;
        var applied = harness.Engine.WaitApplied(2, TimeSpan.FromSeconds(30));

        Assert.Equal(1, appliedWhileCoalescing);
        Assert.True(applied, $"the reader was not served within 30 s of the hour's interval; DuckDB holds up to seq {harness.Engine.AppliedSeq}");
    }

    /// <summary>
    /// A follower spaces DuckDB's commits by <c>Cluster:FollowerApplyInterval</c> through <c>WriteEngine.UseApplyInterval</c>:
    /// a new interval applies to the wait already under way, and <see langword="null"/> goes back to <see cref="EngineOptions.ApplyInterval"/>.
    /// </summary>
    [Fact]
    public async Task UseApplyInterval_ShorterThenDefault_WaitingApplierFollowsEachAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var harness = EngineHarness.Start(new EngineOptions { ApplyInterval = TimeSpan.FromHours(1), StateFlushInterval = TimeSpan.FromHours(1) });
        await harness.Submit(Buy("T0"));
        await Eventually.TrueAsync(() => harness.Engine.AppliedSeq == 1, describe: () => "the first commit is not spaced");
        await harness.Submit(Buy("T1"));
        await Task.Delay(200, ct);
        var appliedWithinTheHour = harness.Engine.AppliedSeq;

        harness.Engine.UseApplyInterval(TimeSpan.Zero);
        await Eventually.TrueAsync(() => harness.Engine.AppliedSeq == 2, describe: () => "T1 applied once the interval is 0");
        await harness.Submit(Buy("T2"));
        await Eventually.TrueAsync(() => harness.Engine.AppliedSeq == 3, describe: () => "T2 applied at interval 0");

        harness.Engine.UseApplyInterval(null);
        await harness.Submit(Buy("T3"));
        await Task.Delay(200, ct);

        Assert.Equal(1, appliedWithinTheHour);
        Assert.Equal(3, harness.Engine.AppliedSeq);
    }

    [Fact]
    public async Task SubmitAsync_SameIdempotencyKeyRetried_WritesOneEventAlsoAfterRestart()
    {
        await using var harness = EngineHarness.Start();
        var first = await harness.Submit(Buy("T1", key: "k-1"));
        var fill = await harness.Submit(new FillTrade("T1", 10, 10, IdempotencyKey: "k-2"));

        var retry = await harness.Submit(Buy("T1", key: "k-1"));

        Assert.True(retry.Replayed);
        Assert.Equal(first.Trade, retry.Trade);
        await harness.RestartAsync();
        var afterRestartCreate = await harness.Submit(Buy("T1", key: "k-1"));
        var afterRestartFill = await harness.Submit(new FillTrade("T1", 10, 10, IdempotencyKey: "k-2"));
        Assert.True(afterRestartCreate.Replayed);
        Assert.Equal(first.Trade, afterRestartCreate.Trade);
        Assert.True(afterRestartFill.Replayed);
        Assert.Equal(fill.Trade, afterRestartFill.Trade);
        Assert.Equal(2, harness.Scalar("SELECT count(*) FROM trade_events"));
        Assert.Equal(10m, harness.Queries.GetTrade("T1")!.FilledQuantity);
    }

    [Fact]
    public async Task SubmitAsync_IdempotencyKeyRepeatedWithoutWaiting_ReplaysAndWritesOnce()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(Buy("T1"));

        var submitted = Enumerable.Range(0, 10).Select(_ => harness.Submit(new FillTrade("T1", 5, 10, IdempotencyKey: "fill-once")).AsTask()).ToArray();
        var results = await Task.WhenAll(submitted);

        Assert.All(results, r => Assert.True(r.Succeeded));
        Assert.Single(results, r => !r.Replayed);
        Assert.All(results, r => Assert.Equal(2, r.Trade!.Version));
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM trade_events WHERE event_type = 'fill'"));
        Assert.Equal(5m, harness.Queries.GetTrade("T1")!.FilledQuantity);
    }

    [Fact]
    public async Task SubmitAsync_32ConcurrentAmendsWithSameExpectedVersion_ExactlyOneSucceeds()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(Buy("T1"));

        var amends = Enumerable.Range(1, 32)
            .Select(i => Task.Run(async () => await harness.Submit(new AmendTrade("T1", ExpectedVersion: 1, Price: 10 + i)), TestContext.Current.CancellationToken))
            .ToArray();
        var results = await Task.WhenAll(amends);

        var winner = Assert.Single(results, r => r.Succeeded);
        Assert.All(results.Where(r => !r.Succeeded), r =>
        {
            Assert.Equal(CommandErrorKind.VersionConflict, r.Error!.Kind);
            Assert.Equal(2, r.Error.CurrentVersion);
        });
        Assert.Equal(winner.Trade, harness.Queries.GetTrade("T1"));
        Assert.Equal(2, harness.Scalar("SELECT count(*) FROM trade_events"));
    }

    [Fact]
    public async Task SubmitAsync_BadCommandInBatch_FailsAlone()
    {
        await using var harness = EngineHarness.Start();

        // Queued without waiting, so they are decided together in one or a few batches.
        var commands = new TradeCommand[]
        {
            Buy("A"),
            new FillTrade("UNKNOWN", 1, 1),
            Buy("B"),
            Buy("A"),
            new FillTrade("A", 1_000, 1),
            new FillTrade("A", 40, 11),
            Buy("C", quantity: -1),
            new CancelTrade("B"),
        };
        var results = await Task.WhenAll(commands.Select(c => harness.Submit(c).AsTask()));

        Assert.True(results[0].Succeeded);
        Assert.Equal(CommandErrorKind.NotFound, results[1].Error!.Kind);
        Assert.True(results[2].Succeeded);
        Assert.Equal(CommandErrorKind.AlreadyExists, results[3].Error!.Kind);
        Assert.Equal(CommandErrorKind.Validation, results[4].Error!.Kind);
        Assert.Equal("quantity", results[4].Error!.Field);
        Assert.True(results[5].Succeeded);
        Assert.Equal(CommandErrorKind.Validation, results[6].Error!.Kind);
        Assert.True(results[7].Succeeded);
        Assert.Equal(TradeStatus.PartiallyFilled, harness.Queries.GetTrade("A")!.Status);
        Assert.Equal(TradeStatus.Cancelled, harness.Queries.GetTrade("B")!.Status);
        Assert.Null(harness.Queries.GetTrade("C"));
        Assert.Equal(4, harness.Scalar("SELECT count(*) FROM trade_events"));
        Assert.Equal(4, harness.Scalar("SELECT max(seq) FROM trade_events"));
    }

    [Fact]
    public async Task SubmitAsync_QueueFull_RefusedAsBusyAtOnce()
    {
        using var gate = new ManualResetEventSlim(false);
        var observer = new BlockingObserver(gate);
        await using var harness = EngineHarness.Start(new EngineOptions { QueueCapacity = 4, MaxBatchSize = 10, MaxApplyBacklog = 1 }, observer);
        try
        {
            // The first apply into DuckDB blocks inside the observer; with a backlog of one event allowed, the writer
            // then waits for DuckDB after its next batch, so the queue can only fill.
            var first = harness.Submit(Buy("T0")).AsTask();
            Assert.True(observer.Entered.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.True((await harness.Submit(Buy("T1"))).Succeeded);
            var submitted = Enumerable.Range(2, 20).Select(i => (Id: $"T{i}", Result: harness.Submit(Buy($"T{i}")).AsTask())).ToArray();

            var refused = submitted.Where(s => s.Result.IsCompleted && s.Result.Result.Error?.Kind == CommandErrorKind.Busy).ToArray();

            Assert.NotEmpty(refused);
            gate.Set();
            Assert.True((await first).Succeeded);
            var accepted = submitted.Except(refused).ToArray();
            Assert.All(await Task.WhenAll(accepted.Select(s => s.Result)), r => Assert.True(r.Succeeded));
            Assert.All(refused, s => Assert.Null(harness.Queries.GetTrade(s.Id)));
            Assert.Equal(2 + accepted.Length, harness.Scalar("SELECT count(*) FROM current_trade_state"));
        }
        finally
        {
            gate.Set();
        }
    }

    [Fact]
    public async Task StopAsync_QueuedCommands_AreCommittedAndLaterOnesUnavailable()
    {
        await using var harness = EngineHarness.Start();
        var queued = Enumerable.Range(0, 500).Select(i => harness.Submit(Buy($"T{i}")).AsTask()).ToArray();

        await harness.Engine.StopAsync(TestContext.Current.CancellationToken);
        var late = await harness.Submit(Buy("LATE"));

        Assert.All(await Task.WhenAll(queued), r => Assert.True(r.Succeeded));
        Assert.Equal(CommandErrorKind.Unavailable, late.Error!.Kind);
        Assert.Equal(500, harness.Scalar("SELECT count(*) FROM trade_events"));
    }

    [Fact]
    public async Task SubmitAsync_DuckDbApplyFails_AcknowledgedFromTheLogReadinessDegradedAndAppliedOnceDuckDbRecovers()
    {
        await using var harness = EngineHarness.Start();
        var check = new DuckDbHealthCheck(harness.DatabaseAsIs);
        Assert.True((await harness.Submit(Buy("T1"))).Succeeded);
        // The apply runs behind the acknowledgement: T1 must be in DuckDB before its table goes away.
        Assert.True(harness.Engine.WaitApplied(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);
        Exec(harness, "ALTER TABLE trade_events RENAME TO trade_events_away");

        var written = await harness.Submit(Buy("T2"));
        var history = Task.Run(() => harness.Queries.GetHistory("T2"), TestContext.Current.CancellationToken);

        Assert.True(written.Succeeded, written.Error?.Message);
        Assert.Equal(written.Trade, harness.Queries.GetTrade("T2"));
        Assert.Equal(1, harness.Engine.AppliedSeq);
        // Readiness says DuckDB trails (it was healthy while the applies failed, until 2026-12-03).
        var seen = default(HealthCheckResult);
        await Eventually.TrueAsync(async () => (seen = await CheckAsync(check)).Status == HealthStatus.Degraded, describe: () => $"{seen.Status}: {seen.Description}");
        Assert.StartsWith("DuckDB trails the journal log: applying seq 2..2 fails since ", seen.Description, StringComparison.Ordinal);
        Assert.Contains("trade_events", seen.Description, StringComparison.Ordinal);
        Exec(harness, "ALTER TABLE trade_events_away RENAME TO trade_events");
        Assert.True(harness.Engine.WaitApplied(2, TimeSpan.FromSeconds(30)));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);
        Assert.Equal(2, harness.Scalar("SELECT max(seq) FROM trade_events"));
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM trade_events WHERE trade_id = 'T2'"));
        Assert.Equal(2, Assert.Single(await history).Seq);
        var next = await harness.Submit(Buy("T3"));
        Assert.Equal(3, next.Trade!.LastSeq);
    }

    /// <summary>
    /// A retry whose key's trade has changed since is answered from DuckDB's journal row. When that read failed the
    /// answer was "could not be written to the journal log; nothing of it was kept" and the failure was counted as a
    /// failed commit (readiness: commits fail): the wrong cause. Now it names the read, and once the read works the same
    /// key replays the first answer.
    /// </summary>
    [Fact]
    public async Task SubmitAsync_RetryWhoseEarlierResultCannotBeReadFromDuckDb_SaysSoAndReplaysOnceItCan()
    {
        await using var harness = EngineHarness.Start();
        var first = await harness.Submit(Buy("T1", key: "k-1"));
        Assert.True((await harness.Submit(new FillTrade("T1", 10, 10))).Succeeded); // T1 is at version 2: k-1's answer is in DuckDB only
        Assert.True(harness.Engine.WaitApplied(2, TimeSpan.FromSeconds(30)));
        Exec(harness, "ALTER TABLE trade_events RENAME TO trade_events_away");

        var retry = await harness.Submit(Buy("T1", key: "k-1"));

        Assert.False(retry.Succeeded);
        Assert.Equal(CommandErrorKind.StorageFailure, retry.Error!.Kind);
        Assert.Equal("The earlier result of this Idempotency-Key (trade T1 version 1) could not be read from DuckDB (see the server log); " +
            "nothing was written. Retry with the same key.", retry.Error.Message);
        Assert.Null(harness.DatabaseAsIs.WriteHealth.Failure); // no commit failed
        Assert.Equal(2, harness.Engine.LastSeq);
        Exec(harness, "ALTER TABLE trade_events_away RENAME TO trade_events");
        var again = await harness.Submit(Buy("T1", key: "k-1"));
        Assert.True(again.Replayed);
        Assert.Equal(first.Trade, again.Trade);
        Assert.Equal(2, harness.Scalar("SELECT count(*) FROM trade_events"));
    }

    [Fact]
    public async Task Restart_StateAndPositions_ReloadEqual()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(Buy("B1", quantity: 100, price: 10));
        await harness.Submit(new FillTrade("B1", 60, 10.5m));
        await harness.Submit(new CreateTrade("S1", "ACC1", "AAPL", Side.Sell, 30, 11));
        await harness.Submit(new FillTrade("S1", 30, 11.25m));
        await harness.Submit(Buy("B2", quantity: 10, account: "ACC2", symbol: "MSFT"));
        await harness.Submit(new FillTrade("B2", 10, 300));
        await harness.Submit(new DeleteTrade("B2"));
        await harness.Submit(Buy("B3", quantity: 5));
        var trades = new[] { "B1", "S1", "B2", "B3" }.Select(harness.Queries.GetTrade).ToArray();
        var positions = harness.Queries.GetPositionsAtOneSeq(null, out _);
        Assert.Equal(positions, harness.Queries.GetPositionsAtOneSeq(null, out var seq));
        Assert.Equal(8, seq);

        await harness.RestartAsync();

        Assert.Equal(trades, new[] { "B1", "S1", "B2", "B3" }.Select(harness.Queries.GetTrade).ToArray());
        Assert.Equal(positions, harness.Queries.GetPositionsAtOneSeq(null, out _));
        // The seq positions are read at is the journal's last after a restart too, before any new write.
        Assert.Equal(positions, harness.Queries.GetPositionsAtOneSeq(null, out var reloadedSeq));
        Assert.Equal(8, reloadedSeq);
        Assert.Empty(harness.Queries.GetPositionsAtOneSeq(["ACC2"], out _));
        var position = Assert.Single(positions);
        Assert.Equal(30m, position.NetQuantity);
        Assert.Equal(10.5m, position.AveragePrice);
        Assert.Empty(harness.Queries.GetPositionsAtOneSeq(["ACC2"], out _));
        Assert.Equal(CommandErrorKind.AlreadyExists, (await harness.Submit(Buy("B2"))).Error!.Kind);
        Assert.Equal(CommandErrorKind.NotFound, (await harness.Submit(new CancelTrade("B2"))).Error!.Kind);
    }

    private static Task<HealthCheckResult> CheckAsync(DuckDbHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("duckdb", check, HealthStatus.Unhealthy, null) },
            TestContext.Current.CancellationToken);

    private static void Exec(EngineHarness harness, string sql)
    {
        using var connection = harness.DatabaseAsIs.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private sealed class BlockingObserver(ManualResetEventSlim gate) : ICommitObserver
    {
        public ManualResetEventSlim Entered { get; } = new(false);

        public void OnCommitted(IReadOnlyList<TradeEvent> events)
        {
            Entered.Set();
            gate.Wait(TimeSpan.FromSeconds(60));
        }
    }
}

public sealed class CommitObserverTests
{
    [Fact]
    public async Task OnCommitted_EveryCommittedEventOnceInSeqOrderAndAlreadyDurable()
    {
        var observer = new RecordingObserver();
        await using var harness = EngineHarness.Start(null, observer);
        observer.Journal = harness.Engine.Published;

        var commands = Enumerable.Range(0, 300).Select(i => (TradeCommand)new CreateTrade($"T{i}", "ACC", "SYM", Side.Buy, 10, 1))
            .Concat(Enumerable.Range(0, 300).Select(i => (TradeCommand)new FillTrade($"T{i}", 1, 1)))
            .Append(new FillTrade("UNKNOWN", 1, 1));
        await Task.WhenAll(commands.Select(c => harness.Submit(c).AsTask()));
        await harness.Engine.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(Enumerable.Range(1, 600).Select(i => (long)i), observer.Seqs);
        Assert.True(observer.AllReadableWhenNotified);
    }

    private sealed class RecordingObserver : ICommitObserver
    {
        public List<long> Seqs { get; } = [];

        public Journal.IJournalSource? Journal { get; set; }

        public bool AllReadableWhenNotified { get; private set; } = true;

        public void OnCommitted(IReadOnlyList<TradeEvent> events)
        {
            Seqs.AddRange(events.Select(e => e.Seq));
            // Published means readable by the observer already, whether DuckDB holds it yet or not.
            if (Journal is { } journal && !journal.ReadAfter(events[0].Seq - 1, events.Count).Select(e => e.Seq).SequenceEqual(events.Select(e => e.Seq)))
            {
                AllReadableWhenNotified = false;
            }
        }
    }
}
