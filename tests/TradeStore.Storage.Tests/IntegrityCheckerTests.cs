using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Sync;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

public sealed class IntegrityCheckerTests : IDisposable
{
    private readonly TempDirectory _dir = new("integrity");
    private readonly DuckDbDatabase _database;

    public IntegrityCheckerTests()
    {
        _database = DuckDbDatabase.Open(_dir.DatabasePath);
        DuckDbSchema.MigrateToLatest(_database);
        WriteLifecycles(_database, trades: 20);
    }

    public void Dispose()
    {
        _database.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Check_ConsistentJournalAndState_Healthy()
    {
        var report = new IntegrityChecker(_database).Check();

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal(20, report.Trades);
        Assert.Equal(20 * 4, report.Events);
        Assert.Equal("all trades", report.Scope);
    }

    [Fact]
    public void Check_JournalWithGap_ReportsWhereAndChangesNothing()
    {
        Execute("DELETE FROM trade_events WHERE seq = 7");
        var before = Count("trade_events");

        var report = new IntegrityChecker(_database).Check();

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

        var report = new IntegrityChecker(_database).Check();

        var problem = Assert.Single(report.Problems);
        Assert.Contains("trade_state disagrees", problem.Rule);
        Assert.StartsWith("T-00003:", problem.Detail);
    }

    [Fact]
    public void Check_StateRowMissing_Reported()
    {
        Execute("DELETE FROM trade_state WHERE trade_id = 'T-00005'");

        var report = new IntegrityChecker(_database).Check();

        Assert.Contains(report.Problems, p => p.Detail.Contains("T-00005: in the journal (version 4) but not in trade_state"));
    }

    [Fact]
    public void Check_EventThatBreaksTheRules_ReportedByReplay()
    {
        // A fill beyond the ordered quantity: the journal's own CHECK allows it in a row whose quantity was raised too,
        // but the rules refuse it given the state before.
        Execute("UPDATE trade_events SET quantity = 1000, filled_quantity = 1000, filled_notional = 1000 * price, status = 'filled', last_quantity = 1000 WHERE trade_id = 'T-00002' AND version = 3");

        var report = new IntegrityChecker(_database).Check();

        Assert.Contains(report.Problems, p => p.Rule.Contains("replay") && p.Detail.Contains("T-00002 v3"));
    }

    [Fact]
    public void Check_CheckpointAheadOfJournal_Reported()
    {
        new SyncCheckpoints(_database).Set(SyncCheckpoints.ClickHouse, 10_000);

        var report = new IntegrityChecker(_database).Check();

        var problem = Assert.Single(report.Problems);
        Assert.Contains("clickhouse is at seq 10000, the journal ends at 80", problem.Detail);
    }

    [Fact]
    public void Check_AboveFullCompareLimit_SaysItSampled()
    {
        var report = new IntegrityChecker(_database) { FullCompareLimit = 5 }.Check();

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal("a sample of 5 of 20 trades", report.Scope);
    }

    /// <summary>Writes create, amend, fill, fill-or-cancel for each trade, as the engine would (one row per event plus the state).</summary>
    internal static void WriteLifecycles(DuckDbDatabase database, int trades)
    {
        var seq = 0L;
        var now = new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
        using var connection = database.OpenConnection();
        for (var i = 1; i <= trades; i++)
        {
            var id = $"T-{i:00000}";
            Trade? state = null;
            TradeCommand[] commands =
            [
                new CreateTrade(id, $"ACC-{i % 3}", i % 2 == 0 ? "AAPL" : "EUR/USD", i % 2 == 0 ? Side.Buy : Side.Sell, 100m, 10.5m),
                new AmendTrade(id, 1, Price: 10.25m),
                new FillTrade(id, 40m, 10.2m),
                i % 4 == 0 ? new CancelTrade(id) : new FillTrade(id, 60m, 10.3m),
            ];
            foreach (var command in commands)
            {
                now = now.AddMilliseconds(1);
                Assert.True(TradeLifecycle.TryDecide(command, state, ++seq, now, out var transition, out var error), error?.Message);
                Insert(connection, seq, transition, now);
                state = transition.State;
            }

            Upsert(connection, state!);
        }
    }

    private static void Insert(DuckDBConnection connection, long seq, TradeTransition t, DateTimeOffset recordedAt)
    {
        var s = t.State;
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO trade_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, NULL)
            """;
        object?[] values =
        [
            seq, s.TradeId, s.Version, t.Type.ToCode(), s.Account, s.Symbol, s.Side.ToCode(), s.Quantity, s.Price,
            s.FilledQuantity, s.FilledNotional, t.LastQuantity, t.LastPrice, s.Status.ToCode(), s.Venue, s.Trader,
            s.ExecutedAt.UtcDateTime, s.CreatedAt.UtcDateTime, recordedAt.UtcDateTime,
        ];
        foreach (var value in values)
        {
            command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
        }

        command.ExecuteNonQuery();
    }

    private static void Upsert(DuckDBConnection connection, Trade s)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO trade_state VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
        object?[] values =
        [
            s.TradeId, s.Version, s.LastSeq, s.Account, s.Symbol, s.Side.ToCode(), s.Quantity, s.Price, s.FilledQuantity,
            s.FilledNotional, s.Status.ToCode(), s.Venue, s.Trader, s.ExecutedAt.UtcDateTime, s.CreatedAt.UtcDateTime, s.UpdatedAt.UtcDateTime,
        ];
        foreach (var value in values)
        {
            command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
        }

        command.ExecuteNonQuery();
    }

    private void Execute(string sql)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private long Count(string table)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
