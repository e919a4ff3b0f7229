using TradeStore.ClickHouse.Tests.Support;
using TradeStore.ClickHouse.Verification;

namespace TradeStore.ClickHouse.Tests;

/// <summary>
/// Events lost from ClickHouse below its own <c>max(seq)</c> (rows deleted, a part dropped) are named by
/// <c>verify --clickhouse</c>, seq by seq or as ranges (sinks probe of session 24, D5: it only said "ClickHouse has N
/// events, the journal M … the sync is behind", which it was not, and named no seq to act on).
/// </summary>
public sealed class VerifyMissingEventsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Verify_EventsDeletedBelowMaxSeq_NamesEachMissingSeqRangeAcrossGroups()
    {
        await using var ch = await ClickHouseTestDatabase.CreateAsync("holes");
        await using var harness = await SyncHarness.StartAsync(ch.Url, ch.Name);
        await TradeWorkload.RunAsync(harness.Engine, 200, "holes");
        await harness.WaitUntilSyncedAsync();
        var last = harness.Engine.LastSeq;
        Assert.True(last > 130, $"the workload wrote {last} events");
        // Ranges of 50 seqs, so the hole 98..120 spans three ranges read apart and must still come out as one.
        var verifier = new ClickHouseVerifier(ch.Client, harness.Database) { SeqRange = 50 };
        var before = await verifier.VerifyAsync(Ct);
        Assert.True(before.Clean, string.Join('\n', before.Differences));

        await ch.Client.ExecuteAsync("SYSTEM START MERGES", Ct, ch.Name);
        await ch.Client.ExecuteAsync("ALTER TABLE trade_events DELETE WHERE seq = 5 OR seq BETWEEN 98 AND 120", Ct, ch.Name);
        await WaitForDistinctSeqsAsync(ch, last - 24);

        var report = await verifier.VerifyAsync(Ct);

        Assert.False(report.Clean);
        var text = string.Join('\n', report.Differences);
        Assert.Contains($"trade_events: 24 of the journal's seqs 1..{last} are not in ClickHouse", text);
        Assert.Contains("migrate down --target clickhouse --to 0 --yes", text);
        var lone = Assert.Single(report.Differences, d => d.StartsWith("trade_events: seq 5 ", StringComparison.Ordinal));
        Assert.Matches(@"^trade_events: seq 5 \(trade holes-\S+ version \d+\) missing from ClickHouse$", lone);
        Assert.Contains("trade_events: seq 98..120 (23 events) missing from ClickHouse", report.Differences);
        Assert.DoesNotContain(report.Differences, d => d.Contains("seq 98..100", StringComparison.Ordinal) || d.Contains("seq 101..", StringComparison.Ordinal));
    }

    private static async Task WaitForDistinctSeqsAsync(ClickHouseTestDatabase ch, long expected)
    {
        // ALTER … DELETE is a mutation: ClickHouse 18.16 applies it in the background.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var (_, distinct, _) = await ch.CountEventsAsync();
            if (distinct == expected)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"ClickHouse still holds {distinct} distinct seqs, expected {expected} after the delete");
            await Task.Delay(100, Ct);
        }
    }
}
