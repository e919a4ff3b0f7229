using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The two-level ordered list behind lists, driven far past one chunk (splits in the middle, appends at the end,
/// chunks emptied by removals) and compared after every step with a sorted copy.
/// </summary>
public sealed class OrderedTradesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Walk_AfterRandomAddsMovesAndRemovals_EqualsSortedReference(int seed)
    {
        var random = new Random(seed);
        var list = new OrderedTrades();
        var reference = new SortedSet<Trade>(Comparer<Trade>.Create(OrderedTrades.Compare));
        var held = new Dictionary<string, Trade>(StringComparer.Ordinal);

        for (var step = 0; step < 6_000; step++)
        {
            var id = $"T{random.Next(2_500):D4}";
            // Mostly appends in time order (as a live book grows), some inserts into the past, ties on time.
            var at = random.Next(4) == 0 ? T0.AddSeconds(random.Next(step + 1)) : T0.AddSeconds(step);
            if (!held.TryGetValue(id, out var previous))
            {
                var trade = Trade(id, at, TradeStatus.New);
                list.Add(trade);
                reference.Add(trade);
                held[id] = trade;
            }
            else if (random.Next(3) == 0)
            {
                list.Remove(previous);
                reference.Remove(previous);
                held.Remove(id);
            }
            else
            {
                var current = random.Next(2) == 0 ? previous with { Status = TradeStatus.Filled, Version = previous.Version + 1 } : previous with { ExecutedAt = at, Version = previous.Version + 1 };
                list.Replace(previous, current);
                reference.Remove(previous);
                reference.Add(current);
                held[id] = current;
            }

            if (step % 500 == 0 || step == 5_999)
            {
                Assert.Equal(reference.Count, list.Count);
                Assert.Equal(reference, Walk(list, long.MinValue, string.Empty, true, long.MaxValue, null, int.MaxValue));
            }
        }

        // Random windows: a start position (inclusive or not), an end time, a status, a page size.
        var all = reference.ToList();
        for (var i = 0; i < 300; i++)
        {
            var start = all[random.Next(all.Count)];
            var inclusive = random.Next(2) == 0;
            var end = start.ExecutedAt.AddSeconds(random.Next(1, 400)).UtcTicks;
            TradeStatus? status = random.Next(3) == 0 ? TradeStatus.Filled : null;
            var take = random.Next(1, 150);
            var expected = all
                .Where(t => OrderedTrades.Compare(t, start.ExecutedAt.UtcTicks, start.TradeId) is var order && (inclusive ? order >= 0 : order > 0))
                .TakeWhile(t => t.ExecutedAt.UtcTicks < end)
                .Where(t => status is null || t.Status == status)
                .Take(take);
            Assert.Equal(expected, Walk(list, start.ExecutedAt.UtcTicks, start.TradeId, inclusive, end, status, take));
        }
    }

    /// <summary>
    /// A list loaded at start-up and trimmed (its last chunk and directory shrunk to what they hold) grows, shrinks and
    /// reorders exactly as one that was never trimmed.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(200)]
    [InlineData(256)]
    [InlineData(513)]
    public void TrimLoading_ThenAddsMovesAndRemovals_EqualsSortedReference(int loaded)
    {
        var random = new Random(loaded);
        var list = new OrderedTrades();
        var reference = new SortedSet<Trade>(Comparer<Trade>.Create(OrderedTrades.Compare));
        var held = new Dictionary<string, Trade>(StringComparer.Ordinal);
        for (var i = 0; i < loaded; i++)
        {
            var trade = Trade($"L{i:D4}", T0.AddSeconds(i), TradeStatus.New);
            list.AppendLoading(trade);
            reference.Add(trade);
            held[trade.TradeId] = trade;
        }

        list.TrimLoading();
        Assert.Equal(reference, Walk(list, long.MinValue, string.Empty, true, long.MaxValue, null, int.MaxValue));

        for (var step = 0; step < 2_000; step++)
        {
            var id = random.Next(3) == 0 && held.Count > 0 ? held.Keys.ElementAt(random.Next(held.Count)) : $"N{random.Next(1_000):D4}";
            var at = T0.AddSeconds(random.Next(loaded + step + 1));
            if (!held.TryGetValue(id, out var previous))
            {
                var trade = Trade(id, at, TradeStatus.New);
                list.Add(trade);
                reference.Add(trade);
                held[id] = trade;
            }
            else if (random.Next(2) == 0)
            {
                list.Remove(previous);
                reference.Remove(previous);
                held.Remove(id);
            }
            else
            {
                var current = previous with { ExecutedAt = at, Version = previous.Version + 1 };
                list.Replace(previous, current);
                reference.Remove(previous);
                reference.Add(current);
                held[id] = current;
            }
        }

        Assert.Equal(reference.Count, list.Count);
        Assert.Equal(reference, Walk(list, long.MinValue, string.Empty, true, long.MaxValue, null, int.MaxValue));
    }

    [Fact]
    public void Walk_StatusRareAcrossManyLockSteps_FindsEveryMatchInOrder()
    {
        var list = new OrderedTrades();
        var trades = Enumerable.Range(0, 5 * OrderedTrades.StepLimit)
            .Select(i => Trade($"T{i:D6}", T0.AddSeconds(i / 2), i % 3_001 == 7 || i == OrderedTrades.StepLimit - 1 ? TradeStatus.Filled : TradeStatus.New))
            .ToList();
        trades.ForEach(list.Add);
        var expected = trades.Where(t => t.Status == TradeStatus.Filled).ToList();

        // Matches lie further apart than one step of the walk, and the first step ends exactly on one.
        Assert.Equal(expected, Walk(list, long.MinValue, string.Empty, true, long.MaxValue, TradeStatus.Filled, 100));
        Assert.Equal(expected.Skip(1), Walk(list, expected[0].ExecutedAt.UtcTicks, expected[0].TradeId, false, long.MaxValue, TradeStatus.Filled, 100));
        Assert.Equal(expected.Take(2), Walk(list, long.MinValue, string.Empty, true, long.MaxValue, TradeStatus.Filled, 2));
    }

    [Fact]
    public void Remove_EveryTrade_EmptyAndReusable()
    {
        var list = new OrderedTrades();
        var trades = Enumerable.Range(0, 1_000).Select(i => Trade($"T{i:D4}", T0.AddSeconds(i % 7), TradeStatus.New)).ToList();
        foreach (var trade in trades)
        {
            list.Add(trade);
        }

        foreach (var trade in trades)
        {
            list.Remove(trade);
        }

        Assert.Equal(0, list.Count);
        Assert.Empty(Walk(list, long.MinValue, string.Empty, true, long.MaxValue, null, 10));
        list.Add(trades[3]);
        Assert.Equal([trades[3]], Walk(list, long.MinValue, string.Empty, true, long.MaxValue, null, 10));
    }

    private static List<Trade> Walk(OrderedTrades list, long ticks, string id, bool inclusive, long end, TradeStatus? status, int take)
    {
        var into = new List<Trade>();
        list.Walk(ticks, id, inclusive, end, status, take, into);
        return into;
    }

    private static Trade Trade(string id, DateTimeOffset at, TradeStatus status) =>
        new(id, "ACC", "SYM", Side.Buy, 10, 1, 0, 0, status, null, null, at, 1, 1, at, at);
}
