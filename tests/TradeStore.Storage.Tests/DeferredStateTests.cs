using System.Globalization;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <c>trade_state</c> is written behind the journal by the TradeStateFlusher: every read stays exact before a flush,
/// after a kill, and across a failed flush; a clean stop leaves the table equal to the view.
/// </summary>
public sealed class DeferredStateTests
{
    private const string StateRows = "SELECT string_agg(trade_id || ':' || version || ':' || last_seq || ':' || status || ':' || quantity || ':' || filled_quantity || ':' || updated_at, ',' ORDER BY trade_id) FROM ";

    private static readonly EngineOptions NeverFlush = new() { StateFlushInterval = TimeSpan.FromHours(1) };

    private static CreateTrade Buy(string id, string account = "ACC") => new(id, account, "AAPL", Side.Buy, 100, 10);

    [Fact]
    public async Task StateFlush_EngineClockPassesTheInterval_WritesTradeState()
    {
        // An hour's interval on a clock that moves only when the test moves it: a flush can come from this clock alone.
        var clock = new FakeTimeProvider();
        await using var harness = EngineHarness.Start(NeverFlush, clock);
        await Ok(harness.Submit(Buy("C1")));
        await Ok(harness.Submit(Buy("C2")));

        await Eventually.TrueAsync(() =>
        {
            clock.Advance(NeverFlush.StateFlushInterval);
            return harness.Scalar("SELECT count(*) FROM trade_state") == 2;
        }, describe: () => $"trade_state holds {harness.Scalar("SELECT count(*) FROM trade_state")} of 2 trades after the clock passed the interval");

        Assert.Equal(2, harness.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"));
    }

    [Fact]
    public async Task SubmitAsync_BeforeAnyFlush_ReadsExactWhileTableLagsAndStopFlushesIt()
    {
        await using var harness = EngineHarness.Start(NeverFlush);
        await Ok(harness.Submit(Buy("D1")));
        await Ok(harness.Submit(Buy("D2")));
        await harness.RestartAsync();
        Assert.Equal(2, harness.Scalar("SELECT count(*) FROM trade_state"));

        // An update of a flushed trade, a create, and a create changed again before any flush.
        await Ok(harness.Submit(new AmendTrade("D1", ExpectedVersion: 1, Price: 11)));
        await Ok(harness.Submit(Buy("D3")));
        await Ok(harness.Submit(new FillTrade("D3", 40, 10)));
        await Ok(harness.Submit(new DeleteTrade("D2")));

        Assert.Equal(1, harness.Scalar("SELECT version FROM trade_state WHERE trade_id = 'D1'"));
        Assert.Equal(0, harness.Scalar("SELECT count(*) FROM trade_state WHERE trade_id = 'D3'"));
        Assert.Equal(2, harness.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"));
        Assert.Equal(2, harness.Scalar("SELECT version FROM current_trade_state WHERE trade_id = 'D1'"));
        Assert.Equal(2, harness.Scalar("SELECT version FROM current_trade_state WHERE trade_id = 'D3'"));
        Assert.Equal(1, harness.Scalar("SELECT count(*) FROM current_trade_state WHERE trade_id = 'D2' AND status = 'deleted'"));
        var listed = harness.Queries.ListTrades(new TradeFilter(Limit: 10)).Trades;
        Assert.Equal(["D1", "D3"], listed.Select(t => t.TradeId));
        Assert.Equal(harness.Queries.GetTrade("D1"), listed[0]);
        Assert.Equal(harness.Queries.GetTrade("D3"), listed[1]);
        Assert.Equal(40m, listed[1].FilledQuantity);
        Assert.Equal(listed, new TradeQueries(harness.Database, harness.Index).ListTrades(new TradeFilter(Limit: 10)).Trades);
        Assert.True(new IntegrityChecker(harness.Database).Check(TestContext.Current.CancellationToken).IsHealthy);

        await harness.Engine.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(Rows(harness, "current_trade_state"), Rows(harness, "trade_state"));
        Assert.Equal(harness.Scalar("SELECT max(seq) FROM trade_events"), harness.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"));
        Assert.Equal(3, harness.Scalar("SELECT count(*) FROM trade_state"));
    }

    [Fact]
    public async Task ListTrades_UnflushedChangesAcrossPagesAndFilters_SameAsCurrentTradeState()
    {
        var t0 = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        await using var harness = EngineHarness.Start(NeverFlush);
        for (var i = 0; i < 30; i++)
        {
            await Ok(harness.Submit(new CreateTrade($"P{i:D2}", $"A{i % 2}", i % 3 == 0 ? "MSFT" : "AAPL", Side.Buy, 100, 10, ExecutedAt: t0.AddSeconds(i / 2))));
        }

        await harness.RestartAsync();
        // Unflushed: trades moved in the order, filled, deleted, and created.
        await Ok(harness.Submit(new AmendTrade("P03", ExpectedVersion: null, ExecutedAt: t0.AddSeconds(40))));
        await Ok(harness.Submit(new AmendTrade("P27", ExpectedVersion: null, ExecutedAt: t0.AddSeconds(-5))));
        await Ok(harness.Submit(new FillTrade("P10", 10, 10)));
        await Ok(harness.Submit(new FillTrade("P11", 10, 10)));
        await Ok(harness.Submit(new DeleteTrade("P12")));
        await Ok(harness.Submit(new CreateTrade("P50", "A0", "AAPL", Side.Sell, 5, 10, ExecutedAt: t0.AddSeconds(7))));
        await Ok(harness.Submit(new CreateTrade("P51", "A1", "MSFT", Side.Sell, 5, 10, ExecutedAt: t0.AddSeconds(100))));
        Assert.Equal(30, harness.Scalar("SELECT count(*) FROM trade_state"));

        foreach (var filter in new[]
        {
            new TradeFilter(Limit: 7),
            new TradeFilter(Limit: 3, Account: "A0"),
            new TradeFilter(Limit: 4, Symbol: "MSFT"),
            new TradeFilter(Limit: 2, Status: TradeStatus.PartiallyFilled),
            new TradeFilter(Limit: 5, From: t0.AddSeconds(3), To: t0.AddSeconds(41)),
        })
        {
            var listed = AllPages(harness.Queries, filter);
            Assert.Equal(CurrentStateLists.All(harness.Database, filter).Select(t => (t.TradeId, t.Version)), listed.Select(t => (t.Id, t.Version)));
            Assert.NotEmpty(listed);
        }

        Assert.Equal("P27", harness.Queries.ListTrades(new TradeFilter(Limit: 1)).Trades[0].TradeId);
        Assert.DoesNotContain(AllPages(harness.Queries, new TradeFilter(Limit: 7)), t => t.Id == "P12");
    }

    [Fact]
    public async Task Engine_KilledBeforeFlush_ReopenedReadsExactThenTailFlushed()
    {
        using var copy = new TempDirectory("killed");
        string killedPath;
        Dictionary<string, Trade> expected;
        await using (var harness = EngineHarness.Start(NeverFlush))
        {
            for (var i = 0; i < 20; i++)
            {
                await Ok(harness.Submit(Buy($"K{i:D2}", account: $"A{i % 3}")));
            }

            await harness.RestartAsync();
            for (var i = 0; i < 20; i += 2)
            {
                await Ok(harness.Submit(new FillTrade($"K{i:D2}", 10, 10)));
            }

            await Ok(harness.Submit(Buy("K99")));
            await Ok(harness.Submit(new CancelTrade("K01")));
            expected = Enumerable.Range(0, 20).Select(i => $"K{i:D2}").Append("K99").ToDictionary(id => id, id => harness.Queries.GetTrade(id)!);
            killedPath = harness.CopyFilesAsIfKilled(copy.Path);
        }

        using var database = DuckDbDatabase.Open(killedPath);
        DuckDbSchema.MigrateToLatest(database);
        Assert.Equal(20, Scalar(database, "SELECT count(*) FROM trade_state"));
        Assert.Equal(20, Scalar(database, "SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"));
        var report = new IntegrityChecker(database).Check(TestContext.Current.CancellationToken);
        Assert.True(report.IsHealthy, report.Describe());

        var index = new StateIndex();
        using var meters = new TestMeters();
        await using var engine = new WriteEngine(database, index, new EngineOptions { StateFlushInterval = TimeSpan.FromMilliseconds(20) }, meters.Factory);
        engine.Start();
        var queries = new TradeQueries(database, index);
        foreach (var (id, trade) in expected)
        {
            Assert.Equal(trade, queries.GetTrade(id));
        }

        var ordered = expected.Values.OrderBy(t => t.ExecutedAt).ThenBy(t => t.TradeId, StringComparer.Ordinal).ToList();
        Assert.Equal(ordered, queries.ListTrades(new TradeFilter(Limit: 100)).Trades);
        Assert.Equal(10m * 10, index.GetPositions(null).Sum(p => p.NetQuantity));

        var last = Scalar(database, "SELECT max(seq) FROM trade_events");
        // The flusher notes its seq just after its commit, on its own thread: both are awaited, the row first.
        await Eventually.TrueAsync(() => Scalar(database, "SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'") == last && engine.StateFlushedSeq == last,
            describe: () => $"the tail to be flushed: flusher at {engine.StateFlushedSeq}, journal at {last}");
        Assert.Equal(21, Scalar(database, "SELECT count(*) FROM trade_state"));
        Assert.Equal(Rows(database, "current_trade_state"), Rows(database, "trade_state"));
    }

    [Fact]
    public async Task Flush_TransactionFailsOnce_ChangesKeptAndWrittenByALaterFlush()
    {
        var logger = new FakeLogger<WriteEngine>();
        await using var harness = EngineHarness.Start(new EngineOptions { StateFlushInterval = TimeSpan.FromMilliseconds(20) }, logger);
        await Ok(harness.Submit(Buy("F1")));
        await Eventually.TrueAsync(() => harness.Scalar("SELECT count(*) FROM trade_state") == 1, describe: () => "the first flush");

        // Another transaction holds the checkpoint row: the flusher's update of it conflicts and its transaction fails.
        using (var blocker = harness.Database.OpenConnection())
        {
            using var transaction = blocker.BeginTransaction();
            using (var command = blocker.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "UPDATE sync_checkpoints SET updated_at = updated_at WHERE sink = 'trade_state'";
                command.ExecuteNonQuery();
            }

            await Ok(harness.Submit(new FillTrade("F1", 30, 10)));
            await Ok(harness.Submit(Buy("F2")));
            await Eventually.TrueAsync(() => logger.Messages(2007).Any(), describe: () => "a failed flush to be logged");

            Assert.Equal(1, harness.Scalar("SELECT count(*) FROM trade_state"));
            Assert.Equal(0, harness.Scalar("SELECT filled_quantity FROM trade_state WHERE trade_id = 'F1'"));
            Assert.Equal(30, harness.Scalar("SELECT filled_quantity FROM current_trade_state WHERE trade_id = 'F1'"));
            Assert.Equal(2, harness.Queries.ListTrades(new TradeFilter(Limit: 10)).Trades.Count);
            // A change committed while the failed batch waits for its retry.
            await Ok(harness.Submit(new AmendTrade("F2", ExpectedVersion: null, Price: 12)));
            transaction.Rollback();
        }

        var last = harness.Scalar("SELECT max(seq) FROM trade_events");
        await Eventually.TrueAsync(() => harness.Scalar("SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'") == last, describe: () => "a later flush to succeed");
        Assert.Equal(Rows(harness, "current_trade_state"), Rows(harness, "trade_state"));
        Assert.Equal(30, harness.Scalar("SELECT filled_quantity FROM trade_state WHERE trade_id = 'F1'"));
        Assert.Equal(2, harness.Scalar("SELECT version FROM trade_state WHERE trade_id = 'F2'"));
    }

    [Fact]
    public async Task MigrateDown_TradeStateLagging_FoldsTailIntoTable()
    {
        using var copy = new TempDirectory("down");
        string killedPath;
        await using (var harness = EngineHarness.Start(NeverFlush))
        {
            await Ok(harness.Submit(Buy("M1")));
            await Ok(harness.Submit(Buy("M2")));
            await harness.RestartAsync();
            await Ok(harness.Submit(new FillTrade("M1", 100, 10)));
            await Ok(harness.Submit(Buy("M3")));
            killedPath = harness.CopyFilesAsIfKilled(copy.Path);
        }

        using var database = DuckDbDatabase.Open(killedPath);
        var view = Rows(database, "current_trade_state");
        Assert.NotEqual(view, Rows(database, "trade_state"));
        var runner = DuckDbSchema.CreateRunner(database);

        await runner.DownAsync(1, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(view, Rows(database, "trade_state"));
        Assert.Equal(0, Scalar(database, "SELECT count(*) FROM sync_checkpoints WHERE sink = 'trade_state'"));
        Assert.Equal(0, Scalar(database, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'current_trade_state'"));

        await runner.UpAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(4, Scalar(database, "SELECT last_seq FROM sync_checkpoints WHERE sink = 'trade_state'"));
        Assert.Equal(view, Rows(database, "current_trade_state"));
    }

    private static List<(string Id, long Version, string? Cursor)> AllPages(TradeQueries queries, TradeFilter filter)
    {
        var seen = new List<(string, long, string?)>();
        string? cursor = null;
        do
        {
            var page = queries.ListTrades(filter with { Cursor = cursor });
            seen.AddRange(page.Trades.Select(t => (t.TradeId, t.Version, page.NextCursor)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return seen;
    }

    private static async Task Ok(ValueTask<CommandResult> submitted)
    {
        var result = await submitted;
        Assert.True(result.Succeeded, result.Error?.Message);
    }

    private static string Rows(EngineHarness harness, string relation) => Rows(harness.Database, relation);

    private static string Rows(DuckDbDatabase database, string relation)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = StateRows + relation;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture)!;
    }

    private static long Scalar(DuckDbDatabase database, string sql)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
