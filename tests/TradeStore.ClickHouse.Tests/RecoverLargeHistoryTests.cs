using TradeStore.ClickHouse.Recovery;
using TradeStore.ClickHouse.Rows;
using TradeStore.ClickHouse.Tests.Support;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// <c>recover --from clickhouse</c> of a history far larger than one page. It pages with <c>FINAL</c>; paged as
/// "seq &gt; X … LIMIT n", each page made ClickHouse merge every row after X, so a 2.9-million-event history failed on
/// ClickHouse:Timeout (11 s for the first page). Measured by ClickHouse's own count of granules (marks) selected, on a
/// server of the test's own so that nothing else reads meanwhile: no timing.
/// </summary>
public sealed class RecoverLargeHistoryTests
{
    private const int Events = 200_000;

    /// <summary>ClickHouse's default <c>index_granularity</c>: rows per mark.</summary>
    private const int RowsPerMark = 8192;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Recover_HistoryOfManyPages_ReadsEachGranuleAboutOnceNotOncePerPage()
    {
        await using var server = await PrivateClickHouseServer.StartAsync();
        await using var ch = await ClickHouseTestDatabase.CreateAsync("bigrec", url: server.Url);
        // One INSERT, one part: a create event per trade, and the state it leaves.
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_events (seq, trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity, filled_notional, " +
            "last_quantity, last_price, status, venue, trader, executed_at_us, created_at_us, recorded_at_us, idempotency_key) " +
            $"SELECT number + 1, concat('T-', toString(number)), 1, 'create', concat('ACC-', toString(number % 100)), 'SYM', 'buy', " +
            "toDecimal64(10, 8), toDecimal64(2.5, 8), toDecimal64(0, 8), toDecimal128(0, 16), NULL, NULL, 'new', NULL, NULL, " +
            $"1767225600000000 + number, 1767225600000000 + number, 1767225600000000 + number, NULL FROM system.numbers LIMIT {Events}", Ct, ch.Name);
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_state SELECT trade_id, version, seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, " +
            "status, venue, trader, executed_at_us, created_at_us, recorded_at_us FROM trade_events", Ct, ch.Name);
        using var data = new TempDirectory("bigrec");
        using var database = DuckDbDatabase.Open(data.DatabasePath);
        DuckDbSchema.MigrateToLatest(database);
        var progress = new List<string>();
        long? readPhaseMarks = null;
        var before = await SelectedMarksAsync(ch);

        var history = await ClickHouseRecovery.ReadHistoryAsync(ch.Client, Ct);
        var result = await new ClickHouseRecovery(ch.Client, database).RecoverAsync(history, line =>
        {
            progress.Add(line);
            if (line.StartsWith("wrote", StringComparison.Ordinal))
            {
                // The read is done; what follows is the verification, which reads the tables on purpose.
                readPhaseMarks = SelectedMarksAsync(ch).GetAwaiter().GetResult() - before;
            }
        }, Ct);

        Assert.Equal(Events, result.Events);
        Assert.True(result.Verification.Clean, string.Join("; ", result.Verification.Differences));
        Assert.Contains(progress, l => l.StartsWith($"wrote {Events} journal events", StringComparison.Ordinal));
        // The summary (count, min, max) reads the table once and the pages once more: about twice its marks. Paged with
        // LIMIT the ten pages read 25 + 23 + 20 + … marks (about 140 plus the summary's 25).
        var tableMarks = (Events + RowsPerMark - 1) / RowsPerMark;
        Assert.NotNull(readPhaseMarks);
        Assert.True(readPhaseMarks <= 3 * tableMarks,
            $"recovering {Events} events selected {readPhaseMarks} marks of a table of {tableMarks}: the pages re-read the history");
    }

    /// <summary>ClickHouse's running count of marks (granules of <see cref="RowsPerMark"/> rows) its queries selected.</summary>
    private static async Task<long> SelectedMarksAsync(ClickHouseTestDatabase ch)
    {
        var rows = await ch.Client.QueryRowsAsync("SELECT value FROM system.events WHERE event = 'SelectedMarks'", Ct);
        return rows.Count == 0 ? 0 : ClickHouseJson.Int64(rows[0], "value");
    }
}
