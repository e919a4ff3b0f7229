using DuckDB.NET.Data;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>The domain rules schema v1 carries: DuckDB itself rejects rows that break them, whatever the writer.</summary>
public sealed class SchemaConstraintMigrationTests : IDisposable
{
    private const string ValidEvent = "(1, 't-1', 1, 'create', 'acc', 'AAPL', 'buy', 100, 10.5, 0, 0, NULL, NULL, 'new', NULL, NULL, TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 00:00:00', NULL)";

    private readonly TempDirectory _work = new("constraints");
    private readonly DuckDbDatabase _database;

    public SchemaConstraintMigrationTests()
    {
        _database = DuckDbDatabase.Open(_work.DatabasePath);
        DuckDbSchema.MigrateToLatest(_database);
    }

    public void Dispose()
    {
        _database.Dispose();
        _work.Dispose();
    }

    [Fact]
    public void TradeEvents_ValidRow_Accepted()
    {
        DuckDbCatalog.Execute(_database, $"INSERT INTO trade_events VALUES {ValidEvent}");

        Assert.Equal(1L, Count("trade_events"));
    }

    [Theory]
    [InlineData("100", "-5", "quantity")]
    [InlineData("100", "0", "quantity")]
    [InlineData("10.5", "-0.01", "price")]
    [InlineData("'buy'", "'hold'", "side")]
    [InlineData("'new'", "'open'", "status")]
    [InlineData("'create'", "'close'", "event_type")]
    [InlineData("'t-1'", "NULL", "trade_id")]
    public void TradeEvents_RuleBroken_RejectedByDuckDb(string valid, string invalid, string column)
    {
        var row = ReplaceFirst(ValidEvent, ", " + valid + ",", ", " + invalid + ",");
        Assert.NotEqual(ValidEvent, row);

        var ex = Assert.Throws<DuckDBException>(() => DuckDbCatalog.Execute(_database, $"INSERT INTO trade_events VALUES {row}"));

        Assert.True(ex.Message.Contains("constraint", StringComparison.OrdinalIgnoreCase), $"{column}: {ex.Message}");
        Assert.Equal(0L, Count("trade_events"));
    }

    [Fact]
    public void TradeEvents_SameTradeAndVersionTwice_RejectedByUniqueConstraint()
    {
        DuckDbCatalog.Execute(_database, $"INSERT INTO trade_events VALUES {ValidEvent}");

        var duplicate = ReplaceFirst(ValidEvent, "(1,", "(2,");
        var ex = Assert.Throws<DuckDBException>(() => DuckDbCatalog.Execute(_database, $"INSERT INTO trade_events VALUES {duplicate}"));

        Assert.Contains("constraint", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1L, Count("trade_events"));
    }

    [Theory]
    [InlineData("-1", "'buy'", "'new'")]
    [InlineData("1", "'short'", "'new'")]
    [InlineData("1", "'sell'", "'done'")]
    public void TradeState_RuleBroken_RejectedByDuckDb(string quantity, string side, string status)
    {
        var sql = $"INSERT INTO trade_state VALUES ('t-1', 1, 1, 'acc', 'AAPL', {side}, {quantity}, 1, 0, 0, {status}, NULL, NULL, now()::TIMESTAMP, now()::TIMESTAMP, now()::TIMESTAMP)";

        Assert.Throws<DuckDBException>(() => DuckDbCatalog.Execute(_database, sql));
        Assert.Equal(0L, Count("trade_state"));
    }

    [Fact]
    public void SyncCheckpoints_NegativeSeq_RejectedByDuckDb()
    {
        Assert.Throws<DuckDBException>(() => DuckDbCatalog.Execute(_database, "INSERT INTO sync_checkpoints VALUES ('redis', -1, now()::TIMESTAMP)"));
    }

    private long Count(string table)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string ReplaceFirst(string text, string from, string to)
    {
        var index = text.IndexOf(from, StringComparison.Ordinal);
        return index < 0 ? text : string.Concat(text.AsSpan(0, index), to, text.AsSpan(index + from.Length));
    }
}
