using Microsoft.Extensions.Options;
using TradeStore.Core.Trades;
using TradeStore.Server.Changes;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Changes;

/// <summary>A subscription's count of queued events, which <c>tradestore_changes_queued</c> sums.</summary>
public sealed class ChangeSubscriptionTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The subscription overflows (falls more than <c>Changes:MaxLagEvents</c> behind) while its stream is still taking
    /// events. The overflow emptied the queue and set the count to 0 while a batch the stream had just taken was not yet
    /// subtracted, so the subtraction took the count below 0, for good: <c>tradestore_changes_queued</c> read negative
    /// until the stream closed. Each round races the two anew; any round ending away from 0 fails.
    /// </summary>
    [Fact]
    public async Task Offer_OverflowWhileTheStreamTakes_QueuedEndsAtZeroNeverBelow()
    {
        using var meters = new TestMeters();
        var feed = new ChangeFeed(Options.Create(new ChangeFeedOptions { MaxLagEvents = 4 }), meters.Factory);
        var batch = Events(3);
        var wrong = new List<int>();
        for (var round = 0; round < 20_000; round++)
        {
            using var subscription = feed.Subscribe();
            using var done = new CancellationTokenSource();
            var stream = Task.Run(() =>
            {
                while (!done.IsCancellationRequested)
                {
                    subscription.TryTake(out _);
                }
            }, TestContext.Current.CancellationToken);
            while (!subscription.IsLagging)
            {
                feed.OnCommitted(batch);
            }

            await done.CancelAsync();
            await stream;
            while (subscription.TryTake(out _))
            {
            }

            if (subscription.Queued != 0)
            {
                wrong.Add(subscription.Queued);
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} of 20000 rounds ended with queued at {string.Join(", ", wrong.Distinct())}");
    }

    private static List<TradeEvent> Events(int count) =>
        [.. Enumerable.Range(1, count).Select(i =>
        {
            var state = new Trade($"T{i}", "ACC-1", "AAPL", Side.Buy, 100m, 10m, 0m, 0m, TradeStatus.New, "XNAS", null, At, 1, i, At, At);
            return new TradeEvent(i, TradeEventType.Create, state, null, null, At, null);
        })];
}
