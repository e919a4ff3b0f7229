using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The commit observers (Redis, ClickHouse, the change feed) hear of an event once it is durable in the journal log,
/// without waiting for DuckDB's apply, and read the journal through <see cref="PublishedJournal"/>: DuckDB up to the
/// seq it holds, the applier's queue after it, with no gap and no repeat at the seam. DuckDB is held back here by an
/// hour-long apply interval and no state flushes (whose wait for DuckDB would cut the interval short).
/// </summary>
public sealed class PublishedJournalTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DurableEvents_ToldToObserversBeforeDuckDbHoldsThem_ReadAcrossTheSeamWithoutGapOrRepeat()
    {
        var observer = new EventRecorder();
        await using var harness = EngineHarness.Start(new EngineOptions { StateFlushInterval = TimeSpan.FromHours(1) }, observer);
        Assert.True((await harness.Submit(Create("T1"))).Succeeded);
        Assert.True(harness.Engine.WaitApplied(1, Patience));
        harness.Engine.UseApplyInterval(TimeSpan.FromHours(1));

        for (var i = 2; i <= 11; i++)
        {
            Assert.True((await harness.Submit(i % 3 == 0 ? new AmendTrade("T1", null, Quantity: i) : Create($"T{i}"))).Succeeded);
        }

        await Eventually.TrueAsync(() => observer.Seqs.Count == 11, Patience, () => string.Join(",", observer.Seqs));
        Assert.Equal(Enumerable.Range(1, 11).Select(i => (long)i), observer.Seqs);
        Assert.Equal(1, harness.Engine.AppliedSeq);
        Assert.Equal(1, new JournalReader(harness.DatabaseAsIs).LastSeq());

        var published = harness.Engine.Published;
        Assert.Equal(11, published.LastSeq());
        Assert.Equal(Seqs(1, 11), Seq(published.ReadAfter(0, 100)));
        Assert.Equal(Seqs(1, 5), Seq(published.ReadAfter(0, 5)));
        Assert.Equal(Seqs(4, 11), Seq(published.ReadAfter(3, 100)));
        Assert.Equal(Seqs(7, 8), Seq(published.ReadAfter(6, 2)));
        Assert.Empty(published.ReadAfter(11, 10));
        var fromMemory = Describe(published.ReadAfter(0, 100));
        Assert.Equal(Describe(observer.Events), fromMemory);

        // Once DuckDB holds them all, the same reads come from DuckDB alone and give the same events.
        harness.Engine.UseApplyInterval(null);
        Assert.True(harness.Engine.WaitApplied(11, Patience));
        Assert.Equal(11, new JournalReader(harness.DatabaseAsIs).LastSeq());
        Assert.Equal(fromMemory, Describe(published.ReadAfter(0, 100)));
        Assert.Equal(Seqs(4, 11), Seq(published.ReadAfter(3, 100)));
    }

    [Fact]
    public async Task BeforeTheEngineStarts_ItIsDuckDbAlone()
    {
        await using (var harness = EngineHarness.Start())
        {
            Assert.True((await harness.Submit(Create("T1"))).Succeeded);
            Assert.True((await harness.Submit(Create("T2"))).Succeeded);
            await harness.RestartAsync();
            var detached = new PublishedJournal(harness.DatabaseAsIs);
            Assert.Equal(2, detached.LastSeq());
            Assert.Equal(Seqs(2, 2), Seq(detached.ReadAfter(1, 10)));
        }
    }

    private static CreateTrade Create(string id) => new(id, "ACC", "SYM", Side.Buy, 10, 1);

    private static IEnumerable<long> Seqs(long first, long last) => Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i);

    private static IEnumerable<long> Seq(List<TradeEvent> events) => events.Select(e => e.Seq);

    /// <summary>What identifies an event here; decimals compare by value, whatever scale DuckDB gives them back with.</summary>
    private static List<Described> Describe(IEnumerable<TradeEvent> events) =>
        [.. events.Select(e => new Described(e.Seq, e.Type, e.TradeId, e.Version, e.State.Quantity))];

    private sealed record Described(long Seq, TradeEventType Type, string TradeId, long Version, decimal Quantity);
}
