using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <see cref="TradeStateRow"/>, the one spelling of the <c>trade_state</c> row (from <see cref="TradeFields"/>), against
/// the table the migrations create: a column added to one and not the other fails here, not in a flush at run time.
/// </summary>
public sealed class TradeStateRowTests : IDisposable
{
    private readonly TempDirectory _directory = new("row");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Columns_MigratedSchema_SameNamesOrderAndKindsAsTheTables()
    {
        using var database = Migrated();

        var table = Columns(database, "trade_state");
        var journal = Columns(database, "trade_events").ToDictionary(c => c.Name, StringComparer.Ordinal);

        Assert.Equal(TradeStateRow.ColumnNames, table.Select(c => c.Name));
        Assert.Equal(TradeStateRow.ColumnNames, Columns(database, "current_trade_state").Select(c => c.Name));
        foreach (var field in TradeFields.State)
        {
            var column = Assert.Single(table, c => c.Name == field.Column);
            Assert.True(Matches(field.Type, column), $"{field.Column} is {column.Type} (nullable {column.Nullable}) in trade_state, described as {field.Type}");
            Assert.True(journal.TryGetValue(field.Column, out var logged), $"{field.Column} is not a column of trade_events");
            Assert.Equal(column.Type, logged.Type);
        }
    }

    [Fact]
    public void AppendThenRead_EveryStateField_ComesBackEqual()
    {
        using var database = Migrated();
        var executed = new DateTimeOffset(2026, 11, 30, 9, 30, 0, TimeSpan.Zero).AddTicks(1230);
        var trade = new Trade("R-1", "ACC-1", "AAPL", Side.Sell, 100.5m, 189.25m, 40m, 7570m, TradeStatus.PartiallyFilled, null, "trader-7",
            executed, Version: 3, LastSeq: 42, CreatedAt: executed.AddSeconds(1), UpdatedAt: executed.AddSeconds(2));

        using var connection = database.OpenConnection();
        using (var appender = connection.CreateAppender("trade_state"))
        {
            TradeStateRow.Append(appender, trade);
        }

        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {TradeStateRow.Columns} FROM trade_state";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(trade, TradeStateRow.Read(reader));
    }

    [Fact]
    public void UpdateSet_FixedFields_LeftOutOfTheUpdate()
    {
        var set = TradeStateRow.UpdateSet("s");

        Assert.Contains("filled_notional = s.filled_notional", set, StringComparison.Ordinal);
        Assert.Contains("updated_at = s.updated_at", set, StringComparison.Ordinal);
        Assert.All(TradeFields.State.Where(f => f.Fixed), f => Assert.DoesNotContain($"{f.Column} =", set, StringComparison.Ordinal));
        Assert.DoesNotContain("trade_id =", set, StringComparison.Ordinal);
    }

    private static bool Matches(TradeFieldType type, (string Name, string Type, bool Nullable) column) => type switch
    {
        TradeFieldType.Text => column.Type == "VARCHAR" && !column.Nullable,
        TradeFieldType.OptionalText => column.Type == "VARCHAR" && column.Nullable,
        TradeFieldType.Decimal => column.Type.StartsWith("DECIMAL(", StringComparison.Ordinal) && !column.Nullable,
        TradeFieldType.Timestamp => column.Type == "TIMESTAMP" && !column.Nullable,
        _ => false,
    };

    private static List<(string Name, string Type, bool Nullable)> Columns(DuckDbDatabase database, string table)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $table ORDER BY ordinal_position";
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("table", table));
        using var reader = command.ExecuteReader();
        var columns = new List<(string, string, bool)>();
        while (reader.Read())
        {
            columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2) == "YES"));
        }

        return columns;
    }

    private DuckDbDatabase Migrated()
    {
        var database = DuckDbDatabase.Open(_directory.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        return database;
    }
}
