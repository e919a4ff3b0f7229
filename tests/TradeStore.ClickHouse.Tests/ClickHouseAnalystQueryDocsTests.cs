using System.Globalization;
using System.Text.RegularExpressions;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Core.Trades;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// From the analytics audit of session 35: the docs sent heavy analytics to ClickHouse but said nothing of what is there,
/// so an analyst met microsecond <c>Int64</c> times instead of DuckDB's timestamps, a 18.16 "Decimal math overflow" on a
/// notional, and, silently, <c>trade_state</c> rows of a trade's older versions (one per sync batch until ClickHouse
/// merges) in every plain <c>sum()</c>. docs/architecture.md ("Querying ClickHouse") now describes the tables; this runs
/// each of its SQL examples as written on a real ClickHouse fed by the sync, and compares the answers with DuckDB's.
/// </summary>
public sealed partial class ClickHouseAnalystQueryDocsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DocsExamples_RunAsWrittenOnClickHouse_AndAgreeWithDuckDb()
    {
        var examples = DocsExamples();
        Assert.True(examples.Count == 4, $"docs/architecture.md, Querying ClickHouse: {examples.Count} sql examples");
        await using var ch = await ClickHouseTestDatabase.CreateAsync("docs");
        // Merges stopped, so a trade's rows of two sync batches stay apart, as they are until ClickHouse merges them.
        await ch.Client.ExecuteAsync($"SYSTEM STOP MERGES {ch.Name}.trade_state", Ct);
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.RunAsync(harness.Engine, 300, "docs");
        await harness.WaitUntilSyncedAsync();
        await TradeWorkload.SubmitAsync(harness.Engine, [new CreateTrade("docs-two-batches", "acc-1", "AAPL", Side.Buy, 150m, 250.5m)]);
        await harness.WaitUntilSyncedAsync();
        await TradeWorkload.SubmitAsync(harness.Engine, [new FillTrade("docs-two-batches", 120m, 251.25m)]);
        await harness.WaitUntilSyncedAsync();

        var plain = await ClickHouseRowsAsync(ch, "SELECT count() FROM trade_state WHERE trade_id = 'docs-two-batches'");
        Assert.Equal("2", plain[0][0]); // what the docs warn of: without FINAL the trade counts twice

        Assert.Equal(
            DuckDbRows(harness, """
                SELECT status, count(*), sum(quantity) FROM current_trade_state WHERE status <> 'deleted' GROUP BY status ORDER BY status
                """),
            await ClickHouseRowsAsync(ch, examples[0]), SameCells);
        Assert.Equal(
            DuckDbRows(harness, """
                SELECT account, symbol,
                       sum(CASE WHEN side = 'buy' THEN filled_quantity ELSE 0 END) AS bq, sum(CASE WHEN side = 'buy' THEN filled_notional ELSE 0 END),
                       sum(CASE WHEN side = 'sell' THEN filled_quantity ELSE 0 END) AS sq, sum(CASE WHEN side = 'sell' THEN filled_notional ELSE 0 END),
                       bq - sq
                FROM current_trade_state WHERE status <> 'deleted' GROUP BY account, symbol HAVING bq + sq > 0 ORDER BY account, symbol
                """),
            await ClickHouseRowsAsync(ch, examples[1]), SameCells);
        Assert.Equal(
            DuckDbRows(harness, """
                SELECT CAST(recorded_at AS DATE), count(*), sum(last_quantity), sum(CAST(last_quantity AS DECIMAL(38, 8)) * last_price)
                FROM trade_events WHERE event_type = 'fill' GROUP BY 1 ORDER BY 1
                """),
            await ClickHouseRowsAsync(ch, examples[2]), SameCells);
        // As written: every event of this test was recorded after that moment.
        Assert.Empty(await ClickHouseRowsAsync(ch, examples[3]));
        Assert.Equal(
            DuckDbRows(harness, "SELECT trade_id, status, filled_quantity FROM current_trade_state ORDER BY trade_id"),
            await ClickHouseRowsAsync(ch, examples[3].Replace("2024-12-05 00:00:00", "2100-01-01 00:00:00", StringComparison.Ordinal)), SameCells);
    }

    /// <summary>The <c>```sql</c> blocks of the "Querying ClickHouse" section of docs/architecture.md, in order.</summary>
    private static List<string> DocsExamples()
    {
        var text = File.ReadAllText(Path.Combine(TradeStoreProcess.RepositoryRoot, "docs", "architecture.md"));
        var start = text.IndexOf("### Querying ClickHouse", StringComparison.Ordinal);
        if (start < 0)
        {
            return [];
        }

        var end = text.IndexOf("\n#", start + 4, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        return [.. SqlBlock().Matches(section).Select(m => m.Groups[1].Value)];
    }

    private static async Task<List<string[]>> ClickHouseRowsAsync(ClickHouseTestDatabase ch, string sql)
    {
        var text = await ch.Client.QueryAsync(sql.TrimEnd() + "\nFORMAT TabSeparated", Ct, ch.Name);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t'))];
    }

    private static List<string[]> DuckDbRows(SyncHarness harness, string sql)
    {
        using var connection = harness.Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i) switch
            {
                DateTime day => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                DateOnly day => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                IFormattable value => value.ToString(null, CultureInfo.InvariantCulture),
                var value => value.ToString() ?? "",
            })]);
        }

        return rows;
    }

    /// <summary>Rows equal cell by cell, numbers by value (<c>1.50000000</c> and <c>1.5</c> alike).</summary>
    private static bool SameCells(string[] expected, string[] actual) =>
        expected.Length == actual.Length && expected.Zip(actual).All(pair =>
            decimal.TryParse(pair.First, NumberStyles.Number, CultureInfo.InvariantCulture, out var x)
            && decimal.TryParse(pair.Second, NumberStyles.Number, CultureInfo.InvariantCulture, out var y)
                ? x == y
                : pair.First == pair.Second);

    [GeneratedRegex(@"```sql\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SqlBlock();
}
