using CsCheck;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Tests;

/// <summary>
/// Lists served by the state index's ordered indexes against the same query run in DuckDB on
/// <c>current_trade_state</c>: random trades, random filters, page by page while writes continue, and after a restart
/// (the indexes rebuilt by the load). Keyset pages never repeat or skip a trade.
/// </summary>
public sealed class ListPropertyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);

    private static readonly Gen<int[]> Command = Gen.Int[0, 99].Array[6];

    private static readonly Gen<TradeFilter> Filters =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 3], Gen.Int[0, 4], Gen.Int[0, 12], Gen.Int[0, 12], Gen.Int[1, 6])
            .Select(t => new TradeFilter(
                Account: t.Item1 switch { 0 => null, 4 => "A9", var a => $"A{a - 1}" },
                Symbol: t.Item2 == 0 ? null : $"S{t.Item2 - 1}",
                Status: t.Item3 switch { 0 => null, 1 => TradeStatus.New, 2 => TradeStatus.PartiallyFilled, 3 => TradeStatus.Filled, _ => TradeStatus.Cancelled },
                From: t.Item4 < 6 ? null : T0.AddSeconds(t.Item4 - 6),
                To: t.Item5 < 6 ? null : T0.AddSeconds(t.Item5 - 3).AddTicks(5),
                Limit: t.Item6));

    [Fact]
    public async Task ListTrades_RandomTradesAndFiltersPagedWhileWriting_EqualCurrentTradeStateQuery()
    {
        await using var harness = EngineHarness.Start();
        var run = 0;

        await Gen.Select(Command.Array[1, 30], Command.Array[0, 10], Filters).SampleAsync(async sample =>
        {
            var (before, during, filter) = sample;
            var prefix = $"R{Interlocked.Increment(ref run)}-";
            // Queued together, so the engine decides them in shared batches.
            await Task.WhenAll(before.Select(c => harness.Submit(Make(prefix, c)).AsTask()));

            var writes = new Queue<int[]>(during);
            (DateTimeOffset, string)? after = null;
            string? cursor = null;
            var pages = 0;
            do
            {
                var page = harness.Queries.ListTrades(filter with { Cursor = cursor });
                var expected = CurrentStateLists.Page(harness.Database, filter with { Limit = filter.Limit + 1 }, after);
                Assert.Equal(expected.Take(filter.Limit), page.Trades);
                Assert.Equal(expected.Count > filter.Limit, page.NextCursor is not null);
                cursor = page.NextCursor;
                after = page.Trades.Count > 0 ? (page.Trades[^1].ExecutedAt, page.Trades[^1].TradeId) : after;
                // A write between two pages: the next page must still equal DuckDB's answer from the same position.
                if (writes.TryDequeue(out var write))
                {
                    await harness.Submit(Make(prefix, write));
                }
            }
            while (cursor is not null && ++pages < 1_000);
        }, iter: 80, threads: 1);

        // The load at start-up rebuilds the same indexes.
        await harness.RestartAsync();
        foreach (var filter in new[] { new TradeFilter(Limit: 5), new TradeFilter("A0", Limit: 3), new TradeFilter("A1", "S2", Limit: 2), new TradeFilter(Symbol: "S1", Status: TradeStatus.New) })
        {
            var expected = CurrentStateLists.All(harness.Database, filter);
            Assert.Equal(expected, AllPages(harness, filter));
            Assert.NotEmpty(expected);
        }
    }

    [Fact]
    public async Task ListTrades_PagedWhileAnotherTaskWrites_EveryStableTradeOnceInStrictOrder()
    {
        await using var harness = EngineHarness.Start();
        // 300 trades that stay put (fills and price amends only) among trades created, moved and deleted meanwhile.
        for (var i = 0; i < 300; i += 50)
        {
            await Task.WhenAll(Enumerable.Range(i, 50).Select(n =>
                harness.Submit(new CreateTrade($"K{n:D3}", $"A{n % 3}", $"S{n % 4}", Side.Buy, 1_000, 10, ExecutedAt: T0.AddSeconds(n / 3))).AsTask()));
        }

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var random = new Random(11);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var moving = $"M{random.Next(200):D3}";
                TradeCommand command = (n % 5) switch
                {
                    0 => new CreateTrade(moving, $"A{n % 3}", $"S{n % 4}", Side.Sell, 10, 10, ExecutedAt: T0.AddSeconds(random.Next(-5, 105))),
                    1 => new AmendTrade(moving, null, ExecutedAt: T0.AddSeconds(random.Next(-5, 105))),
                    2 => new DeleteTrade(moving),
                    3 => new FillTrade($"K{random.Next(300):D3}", 1, 10),
                    _ => new AmendTrade($"K{random.Next(300):D3}", null, Price: 10 + random.Next(100)),
                };
                await harness.Submit(command);
            }
        }, TestContext.Current.CancellationToken);

        try
        {
            foreach (var filter in new[] { new TradeFilter(Limit: 7), new TradeFilter("A1", Limit: 4), new TradeFilter("A2", "S2", Limit: 3), new TradeFilter(Symbol: "S3", Limit: 5) })
            {
                var seen = new List<Trade>();
                string? cursor = null;
                do
                {
                    var page = harness.Queries.ListTrades(filter with { Cursor = cursor });
                    seen.AddRange(page.Trades);
                    cursor = page.NextCursor;
                    await Task.Yield();
                }
                while (cursor is not null);

                for (var i = 1; i < seen.Count; i++)
                {
                    Assert.True(Order(seen[i - 1], seen[i]) < 0, $"{seen[i - 1].TradeId} then {seen[i].TradeId}: a page repeated or went back.");
                }

                var stable = Enumerable.Range(0, 300)
                    .Where(n => (filter.Account is null || filter.Account == $"A{n % 3}") && (filter.Symbol is null || filter.Symbol == $"S{n % 4}"))
                    .Select(n => $"K{n:D3}");
                Assert.Equal(stable, seen.Where(t => t.TradeId.StartsWith('K')).Select(t => t.TradeId));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }
    }

    [Fact]
    public async Task ListTrades_MovedDeletedAndUnknownScopes_LeaveOrAvoidTheList()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(new CreateTrade("X1", "ACC", "AAPL", Side.Buy, 10, 1, ExecutedAt: T0));
        await harness.Submit(new CreateTrade("X2", "ACC", "AAPL", Side.Buy, 10, 1, ExecutedAt: T0.AddSeconds(1)));
        await harness.Submit(new CreateTrade("X3", "ACC", "MSFT", Side.Buy, 10, 1, ExecutedAt: T0.AddSeconds(2)));
        await harness.Submit(new AmendTrade("X1", null, ExecutedAt: T0.AddSeconds(3)));
        await harness.Submit(new DeleteTrade("X2"));

        static string Ids(TradePage page) => string.Join(",", page.Trades.Select(t => t.TradeId));
        Assert.Equal("X3,X1", Ids(harness.Queries.ListTrades(new TradeFilter("ACC"))));
        Assert.Equal("X1", Ids(harness.Queries.ListTrades(new TradeFilter("ACC", "AAPL"))));
        Assert.Equal("X1", Ids(harness.Queries.ListTrades(new TradeFilter(Symbol: "AAPL"))));
        Assert.Equal(2, harness.Queries.ListTrades(new TradeFilter()).Trades.Count);
        Assert.Empty(harness.Queries.ListTrades(new TradeFilter("NOBODY")).Trades);
        Assert.Empty(harness.Queries.ListTrades(new TradeFilter("ACC", "NVDA")).Trades);
        Assert.Equal(2, harness.Queries.ListTrades(new TradeFilter("ACC", Limit: int.MaxValue)).Trades.Count);
    }

    private static List<Trade> AllPages(EngineHarness harness, TradeFilter filter)
    {
        var all = new List<Trade>();
        string? cursor = null;
        do
        {
            var page = harness.Queries.ListTrades(filter with { Cursor = cursor });
            all.AddRange(page.Trades);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return all;
    }

    private static int Order(Trade a, Trade b)
    {
        var byTime = a.ExecutedAt.CompareTo(b.ExecutedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.TradeId, b.TradeId);
    }

    /// <summary>
    /// A command on one of 12 trades of the sample: creates (3 accounts, 3 symbols, 6 execution seconds, so times tie),
    /// fills, amends that move a trade in time, cancels and deletes. Many are refused; that is part of the workload.
    /// </summary>
    private static TradeCommand Make(string prefix, int[] c)
    {
        var tradeId = $"{prefix}T{c[1] % 12}";
        var at = T0.AddSeconds(c[3] % 6).AddTicks((c[4] % 3) * 10);
        return (c[0] % 10) switch
        {
            <= 3 => new CreateTrade(tradeId, $"A{c[2] % 3}", $"S{c[5] % 3}", c[2] % 2 == 0 ? Side.Buy : Side.Sell, 10, 1 + (c[4] % 5), ExecutedAt: at),
            4 or 5 => new FillTrade(tradeId, 1 + (c[2] % 10), 2),
            6 => new AmendTrade(tradeId, null, ExecutedAt: at),
            7 => new AmendTrade(tradeId, null, Price: 3 + (c[5] % 4)),
            8 => new CancelTrade(tradeId),
            _ => new DeleteTrade(tradeId),
        };
    }
}
