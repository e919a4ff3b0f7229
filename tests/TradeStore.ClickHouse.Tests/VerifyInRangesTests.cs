using TradeStore.ClickHouse.Tests.Support;
using TradeStore.ClickHouse.Verification;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// <c>verify --clickhouse</c> (and <c>recover</c>'s final check) reads both stores in ranges of seqs: it read each whole
/// table in one <c>FINAL</c> query and every trade of both into memory, which at millions of events ran past
/// <c>ClickHouse:Timeout</c> (scale probe of session 27). Here the ranges are made small, so a history of a few hundred
/// events takes many of them, and differences planted in different ranges, one of them a trade whose state ClickHouse
/// holds under a seq in another range than the journal's, must each be named exactly once: the same report as one range gives.
/// </summary>
public sealed class VerifyInRangesTests
{
    private const long SmallRange = 40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Verify_HistoryOfManyRanges_NamesEachDifferenceOnceAsOneRangeDoes()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("ranges");
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.RunAsync(harness.Engine, 200, "rng");
        await harness.WaitUntilSyncedAsync();
        var last = harness.Engine.LastSeq;
        Assert.True(last > 8 * SmallRange, $"the workload wrote {last} events");
        var progress = new List<string>();
        var ranged = new ClickHouseVerifier(ch.Client, harness.Database) { SeqRange = SmallRange, Progress = progress.Add };
        var clean = await ranged.VerifyAsync(Ct);
        Assert.True(clean.Clean, string.Join('\n', clean.Differences));
        Assert.Contains($"comparing seq 1..{last} in ranges of {SmallRange} seqs", progress);

        // rng-000010's latest event is a fill far past seq 40; ClickHouse's trade_state is made to hold it at seq 1 (the first range).
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_state (trade_id, version, last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional, status, " +
            "executed_at_us, created_at_us, updated_at_us) VALUES ('rng-000010', 99, 1, 'acc-1', 'AAPL', 'buy', 1, 1, 0, 0, 'new', 0, 0, 0), " +
            "('GHOST-1', 1, 150, 'acc-1', 'AAPL', 'buy', 1, 1, 0, 0, 'new', 0, 0, 0)", Ct, ch.Name);
        // The event at seq 300 (a later range) comes back under another trade.
        await ch.Client.ExecuteAsync(
            "INSERT INTO trade_events (seq, trade_id, version, event_type, account, symbol, side, quantity, price, filled_quantity, filled_notional, " +
            "last_quantity, last_price, status, venue, trader, executed_at_us, created_at_us, recorded_at_us, idempotency_key) " +
            "SELECT seq, 'OTHER-1', version, event_type, account, symbol, side, quantity, price, filled_quantity, filled_notional, last_quantity, " +
            "last_price, status, venue, trader, executed_at_us, created_at_us, recorded_at_us, idempotency_key FROM trade_events WHERE seq = 300", Ct, ch.Name);

        var report = await ranged.VerifyAsync(Ct);
        var whole = await new ClickHouseVerifier(ch.Client, harness.Database).VerifyAsync(Ct);

        var text = string.Join('\n', report.Differences);
        Assert.Single(report.Differences, d => d.StartsWith("trade rng-000010: ", StringComparison.Ordinal));
        Assert.Matches(@"trade rng-000010: version \d+ \(seq \d{3}\) in the journal, version 99 \(seq 1\) in ClickHouse trade_state", text);
        Assert.Single(report.Differences, d => d == "trade GHOST-1: in ClickHouse, not in the journal");
        Assert.Matches(@"trade_events seq 300: trade rng-(\d+) version (\d+) in the journal, trade OTHER-1 version \2 in ClickHouse", text);
        Assert.Equal(3, report.Differences.Count); // OTHER-1 is named only by its event: trade_state never held it
        Assert.Equal(whole.Differences.Order(StringComparer.Ordinal), report.Differences.Order(StringComparer.Ordinal));
        Assert.Contains(report.Facts, f => f.EndsWith($"{last + 1} rows before merge (1 duplicates that ReplacingMergeTree will drop)", StringComparison.Ordinal));
    }
}
