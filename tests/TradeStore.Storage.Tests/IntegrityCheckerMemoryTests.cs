using System.Globalization;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// What the integrity check asks of DuckDB's memory. <c>serve</c> runs it at start-up under <c>Storage:DuckDbMemoryLimit</c>
/// (2 GB by default) with nothing allowed to spill (<c>Storage:DuckDbMaxTempSize=0B</c>), and its statements grouped or
/// sorted every trade of the journal at once: at 3,684,000 events they needed between 600 MB and 1 GB, so near 8 million
/// trades a start-up would stop with exit 4, "DuckDB could not read … Out of Memory Error", and the advice to rebuild the
/// database from ClickHouse. The check now holds a part of the trades at a time.
/// </summary>
public sealed class IntegrityCheckerMemoryTests(IntegrityCheckerMemoryTests.Book book) : IClassFixture<IntegrityCheckerMemoryTests.Book>
{
    private const int Trades = 1_000_000;

    /// <summary>DuckDB's memory limit the checks run under: a fraction of what the whole-book statements need for a million trades.</summary>
    private const string MemoryLimit = "96MB";

    /// <summary>
    /// 1,000,000 trades (each a create and a fill) under a memory limit that the old statements, grouping every trade at
    /// once, ran out of: in parts of 100,000 trades, with a sample of 100,000 compared, the check finishes healthy.
    /// </summary>
    [Fact]
    public void Check_BookLargerThanDuckDbsMemoryLimitHolds_CheckedInPartsAndHealthy()
    {
        using var limited = DuckDbDatabase.Open(book.Path, threads: 1, memoryLimit: MemoryLimit, maxTempSize: "0B");
        var report = new IntegrityChecker(limited) { FullCompareLimit = 100_000, TradesPerPart = 100_000 }.Check(TestContext.Current.CancellationToken);

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal(2L * Trades, report.Events);
        Assert.Equal(Trades, report.Trades);
        Assert.Equal($"a sample of 100000 of {Trades} trades", report.Scope);
    }

    /// <summary>The same check over every trade (<c>verify --sample-above</c> past the book), compared in parts too.</summary>
    [Fact]
    public void Check_EveryTradeOfABookLargerThanDuckDbsMemoryLimitHolds_ComparedInPartsAndHealthy()
    {
        using var limited = DuckDbDatabase.Open(book.Path, threads: 1, memoryLimit: MemoryLimit, maxTempSize: "0B");
        var report = new IntegrityChecker(limited) { FullCompareLimit = Trades, TradesPerPart = 100_000 }.Check(TestContext.Current.CancellationToken);

        Assert.True(report.IsHealthy, report.Describe());
        Assert.Equal("all trades", report.Scope);
    }

    /// <summary>
    /// A check that needs more than DuckDB's limit (here the whole book in one part under 96 MB) says that memory is what
    /// ran short, never that the file is damaged: the message sent the operator to rebuild an undamaged database from ClickHouse.
    /// </summary>
    [Fact]
    public void Check_NeedsMoreThanDuckDbsMemoryLimit_SaysRaiseTheLimitNotRecover()
    {
        using var limited = DuckDbDatabase.Open(book.Path, threads: 1, memoryLimit: MemoryLimit, maxTempSize: "0B");
        var checker = new IntegrityChecker(limited) { FullCompareLimit = Trades, TradesPerPart = Trades };

        var refused = Assert.Throws<DatabaseOpenException>(() => checker.Check(TestContext.Current.CancellationToken));

        Assert.Contains("Out of Memory Error", refused.Message, StringComparison.Ordinal);
        Assert.Contains("raise Storage:DuckDbMemoryLimit and start again. The database is not damaged; do not recover it.", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("recover --from", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>A broken trade is still found and named when the book is checked in parts.</summary>
    [Fact]
    public void Check_InPartsAStateRowDisagrees_NamesTheTrade()
    {
        using var directory = new TempDirectory("integrity-memory-broken");
        using var database = DuckDbDatabase.Open(directory.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        Fill(database, trades: 1_000);
        Execute(database, "UPDATE trade_state SET version = 3 WHERE trade_id = 'T-000777'");
        Execute(database, "DELETE FROM trade_events WHERE trade_id = 'T-000123' AND version = 1");

        var report = new IntegrityChecker(database) { TradesPerPart = 100 }.Check(TestContext.Current.CancellationToken);

        Assert.Contains(report.Problems, p => p.Rule.Contains("versions") && p.Detail.StartsWith("T-000123 has 1 events, versions 2..2, first is fill", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Rule.Contains("trade_state") && p.Detail.Contains("T-000777: trade_state is version 3", StringComparison.Ordinal));
    }

    /// <summary>Each trade a create (version 1) and a fill of half of it (version 2), trade_state holding every one (its checkpoint at the journal's end).</summary>
    private static void Fill(DuckDbDatabase database, int trades = Trades)
    {
        var n = trades.ToString(CultureInfo.InvariantCulture);
        Execute(database, $"""
            INSERT INTO trade_events
            SELECT 2 * i + v - 2, printf('T-%06d', i), v, CASE v WHEN 1 THEN 'create' ELSE 'fill' END,
                   'ACC-' || (i % 50), 'SYM' || (i % 200), 'buy', 100, 10,
                   CASE v WHEN 1 THEN 0 ELSE 50 END, CASE v WHEN 1 THEN 0 ELSE 500 END,
                   CASE v WHEN 1 THEN NULL ELSE 50 END, CASE v WHEN 1 THEN NULL ELSE 10 END,
                   CASE v WHEN 1 THEN 'new' ELSE 'partially_filled' END, 'XNAS', 'test',
                   TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND, TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND,
                   TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND + INTERVAL (v) MILLISECOND, NULL
            FROM range(1, {n} + 1) r(i), range(1, 3) w(v)
            ORDER BY 1;
            INSERT INTO trade_state
            SELECT trade_id, version, seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, venue, trader,
                   executed_at, created_at, recorded_at
            FROM trade_events WHERE version = 2;
            INSERT OR REPLACE INTO sync_checkpoints VALUES ('trade_state', 2 * {n}, TIMESTAMP '2026-01-02');
            """);
    }

    /// <summary>A database of <see cref="Trades"/> trades, written once for the class and closed, so each test opens it under its own limit.</summary>
    public sealed class Book : IDisposable
    {
        private readonly TempDirectory _directory = new("integrity-memory");

        public Book()
        {
            using var database = DuckDbDatabase.Open(_directory.DatabasePath);
            DuckDbSchema.MigrateToLatest(database);
            Fill(database);
        }

        public string Path => _directory.DatabasePath;

        public void Dispose() => _directory.Dispose();
    }

    private static void Execute(DuckDbDatabase database, string sql)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
