using Microsoft.Extensions.Logging.Testing;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>
/// A long state-index load at start-up says that it starts, how far it got and, once every trade is read, that it orders them
/// (here with a low bar); a short one says nothing.
/// </summary>
public sealed class StateIndexLoadProgressTests
{
    [Fact]
    public async Task Load_AtOrOverTheBar_AnnouncedWithItsCountsAndReportedWhileItRuns()
    {
        await using var harness = EngineHarness.Start();
        foreach (var id in new[] { "P1", "P2", "P3" })
        {
            Assert.True((await harness.Submit(new CreateTrade(id, "ACC1", "AAPL", Side.Buy, 10, 5, IdempotencyKey: $"k-{id}"))).Succeeded);
        }

        Assert.True(harness.Engine.WaitApplied(harness.Engine.LastSeq, TimeSpan.FromSeconds(30)));
        var announced = new FakeLogger<WriteEngine>();
        var quiet = new FakeLogger<WriteEngine>();

        var index = new StateIndex();
        index.Load(harness.DatabaseAsIs, DateTimeOffset.MinValue, announced, announcedFrom: 3, progressEvery: TimeSpan.FromMilliseconds(1));
        new StateIndex().Load(harness.DatabaseAsIs, DateTimeOffset.MinValue, quiet, announcedFrom: 4, progressEvery: TimeSpan.FromMilliseconds(1));

        Assert.Equal(["Loading the state index before serving: 3 trades, 3 idempotency keys"], announced.Messages(2034));
        Assert.All(announced.Messages(2035), line => Assert.Matches(@"^Loading the state index: [0-2] of 3 trades read \(\d+ s\)$", line));
        // Once every trade is read the load says so at once and names what remains (ordering them), not "3 of 3 read" again.
        Assert.NotEmpty(announced.Messages(2040));
        Assert.All(announced.Messages(2040), line => Assert.Matches(
            @"^Loading the state index: all 3 trades read; ordering them into the lists and positions and matching the idempotency keys \(\d+ s\)$", line));
        Assert.Empty(quiet.Collector.GetSnapshot());
        Assert.Equal(3, index.Count);
    }
}
