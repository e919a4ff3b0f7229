using System.Collections.Concurrent;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// <see cref="JournalPublisher"/>: batches no observer listens for are marked published on the writer's thread; batches
/// someone listens for are told in seq order on the publisher's thread; nothing above the ceiling is either.
/// </summary>
public sealed class JournalPublisherTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Offer_NoObserverListening_MarkedPublishedAtOnceWithoutThePublisherThread()
    {
        var told = new List<long>();
        // Not started: only the caller's thread can mark anything published.
        var publisher = new JournalPublisher(0, () => long.MaxValue, batch => told.Add(batch[^1].Seq), () => false);

        publisher.Offer(Events(1, 3));
        publisher.Offer(Events(4, 2));

        Assert.Equal(5, publisher.PublishedSeq);
        Assert.Empty(told);
    }

    [Fact]
    public async Task Offer_AboveTheCeiling_NotMarkedUntilTheCeilingMoves_ThenInOrder()
    {
        long ceiling = 2;
        var listening = false;
        var told = new ConcurrentQueue<long>();
        var publisher = new JournalPublisher(0, () => Interlocked.Read(ref ceiling), batch => told.Enqueue(batch[^1].Seq), () => Volatile.Read(ref listening));
        publisher.Start();

        publisher.Offer(Events(1, 3)); // above the ceiling: waits
        publisher.Offer(Events(4, 1)); // behind a waiting batch: waits too, even with nobody listening
        Assert.Equal(0, publisher.PublishedSeq);

        Volatile.Write(ref listening, true);
        Interlocked.Exchange(ref ceiling, 4);
        publisher.CeilingMoved();
        await publisher.StopAsync().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(4, publisher.PublishedSeq);
        Assert.Equal([3L, 4L], told);
    }

    /// <summary>
    /// The change feed's rule: a stream subscribes (starts listening), then reads the published seq P and replays up to it;
    /// every batch after P must then be told to it. Checked while a writer offers batches as fast as it can.
    /// </summary>
    [Fact]
    public async Task ListenerJoiningWhileBatchesAreOffered_EveryBatchAfterThePublishedSeqItReadIsTold()
    {
        for (var round = 0; round < 20; round++)
        {
            var listening = 0;
            var told = new ConcurrentQueue<long>();
            var publisher = new JournalPublisher(0, () => long.MaxValue, batch =>
            {
                foreach (var e in batch)
                {
                    told.Enqueue(e.Seq);
                }
            }, () => Volatile.Read(ref listening) == 1);
            publisher.Start();
            const int Batches = 20_000;
            var writer = Task.Run(() =>
            {
                for (var i = 0; i < Batches; i++)
                {
                    publisher.Offer(Events((i * 2) + 1, 2));
                }
            }, TestContext.Current.CancellationToken);

            await Task.Delay(Random.Shared.Next(0, 5), TestContext.Current.CancellationToken);
            Interlocked.Exchange(ref listening, 1);
            var replayedUpTo = publisher.PublishedSeq;
            await writer;
            await publisher.StopAsync().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

            var heard = told.ToHashSet();
            var missed = Enumerable.Range(1, Batches * 2).Select(s => (long)s).Where(s => s > replayedUpTo && !heard.Contains(s)).Take(5).ToList();
            Assert.True(missed.Count == 0, $"round {round}: read published seq {replayedUpTo}, then never told of {string.Join(", ", missed)}");
            Assert.Equal(Batches * 2, publisher.PublishedSeq);
            Assert.Equal(told.Order(), told); // in seq order
        }
    }

    private static List<TradeEvent> Events(long firstSeq, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var seq = firstSeq + i;
            var state = new Trade($"T{seq}", "ACC-1", "AAPL", Side.Buy, 100m, 10.5m, 0m, 0m, TradeStatus.New, "XNAS", null, At, 1, seq, At, At);
            return new TradeEvent(seq, TradeEventType.Create, state, null, null, At, null);
        })];
}
