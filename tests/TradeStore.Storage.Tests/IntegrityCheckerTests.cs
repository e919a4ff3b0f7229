using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Trades;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Sync;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

public sealed class IntegrityCheckerTests : IAsyncLifetime
{
    private EngineHarness _harness = null!;

    private DuckDbDatabase Database => _harness.Database;

    public async ValueTask InitializeAsync()
    {
        _harness = EngineHarness.Start();
        await WriteLifecyclesAsync(_harness, trades: 20);
        // A clean restart flushes trade_state, so the tests below can corrupt rows the checker compares.
        await _harness.RestartAsync();
    }

    public async ValueTask DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public void Check_ConsistentJournalAndState_Healthy()
    {
        var report = new IntegrityChecker(Database).Check(TestContext.Current.CancellationToken);

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal(20, report.Trades);
        Assert.Equal(20 * 4, report.Events);
        Assert.Equal("all trades", report.Scope);
    }

    /// <summary>
    /// At 1.5 million trades the check ran 30 s at start-up (and in <c>verify</c>) with no line before its result; a check
    /// at or over the bar (here a low one) now says that it starts, then which step it is at; a short one says nothing.
    /// </summary>
    [Fact]
    public void Check_AtOrOverTheBar_AnnouncedWithItsEventsAndReportsItsStepWhileItRuns()
    {
        var announced = new FakeLogger<IntegrityChecker>();
        var quiet = new FakeLogger<IntegrityChecker>();

        var report = new IntegrityChecker(Database) { Progress = announced, AnnouncedFrom = 80, ProgressEvery = TimeSpan.FromMilliseconds(1) }.Check(TestContext.Current.CancellationToken);
        new IntegrityChecker(Database) { Progress = quiet, AnnouncedFrom = 81, ProgressEvery = TimeSpan.FromMilliseconds(1) }.Check(TestContext.Current.CancellationToken);

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal(["Integrity check of 80 events: seq gap-free, versions contiguous, state = fold of the journal, a sample replayed " +
            "through the lifecycle rules, checkpoints not ahead"], announced.Messages(2038));
        Assert.All(announced.Messages(2039), line => Assert.Matches(@"^Integrity check: (counting the trades|.+ \(step [1-5] of 5\)) \(\d+ s\)$", line));
        Assert.Empty(quiet.Collector.GetSnapshot());
    }

    [Fact]
    public void Check_JournalWithGap_ReportsWhereAndChangesNothing()
    {
        Execute("DELETE FROM trade_events WHERE seq = 7");
        var before = Count("trade_events");

        var report = new IntegrityChecker(Database).Check(TestContext.Current.CancellationToken);

        var problem = Assert.Single(report.Problems, p => p.Rule.Contains("gaps"));
        Assert.Contains("after seq 6 comes 8", problem.Detail);
        Assert.Contains(report.Problems, p => p.Rule.Contains("versions"));
        Assert.Contains("recover --from redis", report.Describe());
        Assert.Equal(before, Count("trade_events"));
    }

    [Fact]
    public void Check_StateRowDisagrees_NamesTheTrade()
    {
        Execute("UPDATE trade_state SET filled_quantity = 1 WHERE trade_id = 'T-00003'");

        var report = new IntegrityChecker(Database).Check(TestContext.Current.CancellationToken);

        var problem = Assert.Single(report.Problems);
        Assert.Contains("trade_state disagrees", problem.Rule);
        Assert.StartsWith("T-00003:", problem.Detail);
    }

    [Fact]
    public void Check_StateRowMissing_Reported()
    {
        Execute("DELETE FROM trade_state WHERE trade_id = 'T-00005'");

        var report = new IntegrityChecker(Database).Check(TestContext.Current.CancellationToken);

        Assert.Contains(report.Problems, p => p.Detail.Contains("T-00005: in the journal (version 4) but not in trade_state"));
    }

    [Fact]
    public void Check_EventThatBreaksTheRules_ReportedByReplay()
    {
        // A fill beyond the ordered quantity: the journal's own CHECK allows it in a row whose quantity was raised too,
        // but the rules refuse it given the state before.
        Execute("UPDATE trade_events SET quantity = 1000, filled_quantity = 1000, filled_notional = 1000 * price, status = 'filled', last_quantity = 1000 WHERE trade_id = 'T-00002' AND version = 3");

        var report = new IntegrityChecker(Database).Check(TestContext.Current.CancellationToken);

        Assert.Contains(report.Problems, p => p.Rule.Contains("replay") && p.Detail.Contains("T-00002 v3"));
    }

    [Fact]
    public void Check_CheckpointAheadOfJournal_Reported()
    {
        new SyncCheckpoints(Database).Set(SyncCheckpoints.ClickHouse, 10_000);

        var report = new IntegrityChecker(Database).Check(TestContext.Current.CancellationToken);

        var problem = Assert.Single(report.Problems);
        Assert.Contains("clickhouse is at seq 10000, the journal ends at 80", problem.Detail);
    }

    [Fact]
    public void Check_CheckpointPastDuckDbButWithinTheJournalLog_HealthyAndPastTheLogReported()
    {
        // After a crash the log holds events DuckDB has not applied yet, and the sinks, fed from the log, may hold them too.
        new SyncCheckpoints(Database).Set(SyncCheckpoints.Redis, 95);

        Assert.Empty(new IntegrityChecker(Database) { JournalLogEnd = 95 }.Check(TestContext.Current.CancellationToken).Problems);
        var problem = Assert.Single(new IntegrityChecker(Database) { JournalLogEnd = 94 }.Check(TestContext.Current.CancellationToken).Problems);
        Assert.Contains("redis is at seq 95, the journal ends at 94", problem.Detail);
    }

    [Fact]
    public void Check_AboveFullCompareLimit_SaysItSampled()
    {
        var report = new IntegrityChecker(Database) { FullCompareLimit = 5 }.Check(TestContext.Current.CancellationToken);

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal("a sample of 5 of 20 trades", report.Scope);
    }

    /// <summary>
    /// <c>tradestore verify</c> stopped by Ctrl-C: the check took no token, so at 2,000,000 trades (tens of seconds a step)
    /// a stop was seen only after the whole check. Cancelled once each step has started, the check stops in that step
    /// (no later step starts, no report), says which, and the read-only copy of the data directory is byte for byte as before.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Check_CancelledOnceAStepHasStarted_StopsInThatStepAndChangesNothing(int step)
    {
        using var copy = new TempDirectory("integrity-cancel");
        var path = _harness.CopyFilesAsIfKilled(copy.Path);
        var before = DataDirectorySnapshot.Take(copy.Path);
        using var cancel = new CancellationTokenSource();
        var started = new List<string>();
        using (var database = DuckDbDatabase.OpenReadOnly(path))
        {
            var checker = new IntegrityChecker(database)
            {
                StepStarted = name =>
                {
                    started.Add(name);
                    if (name.EndsWith($"(step {step} of 5)", StringComparison.Ordinal))
                    {
                        cancel.Cancel();
                    }
                },
            };

            var stopped = Assert.ThrowsAny<OperationCanceledException>(() => checker.Check(cancel.Token));

            Assert.Equal(cancel.Token, stopped.CancellationToken);
            Assert.EndsWith($"(step {step} of 5)", started[^1]);
            Assert.Equal(step + 1, started.Count); // "counting the trades", then steps 1..step: none after it
            Assert.Equal(started[^1], checker.Step);
            Assert.Contains(checker.Step, stopped.Message);
        }

        before.AssertUnchanged();
    }

    /// <summary>Writes create, amend, fill, then fill or cancel for each trade through the real engine, one command at a time.</summary>
    private static async Task WriteLifecyclesAsync(EngineHarness harness, int trades)
    {
        for (var i = 1; i <= trades; i++)
        {
            var id = $"T-{i:00000}";
            TradeCommand[] commands =
            [
                new CreateTrade(id, $"ACC-{i % 3}", i % 2 == 0 ? "AAPL" : "EUR/USD", i % 2 == 0 ? Side.Buy : Side.Sell, 100m, 10.5m),
                new AmendTrade(id, 1, Price: 10.25m),
                new FillTrade(id, 40m, 10.2m),
                i % 4 == 0 ? new CancelTrade(id) : new FillTrade(id, 60m, 10.3m),
            ];
            foreach (var command in commands)
            {
                var result = await harness.Submit(command);
                Assert.True(result.Succeeded, result.Error?.Message);
            }
        }
    }

    private void Execute(string sql)
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private long Count(string table)
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
