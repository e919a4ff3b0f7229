using TradeStore.Core.Options;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Tests;

public sealed class TradeQueriesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ListTrades_PagedWhileInserting_EveryTradeOnceInOrder()
    {
        await using var harness = EngineHarness.Start();
        // Three trades share each time, so the trade id breaks ties.
        for (var i = 0; i < 30; i++)
        {
            await harness.Submit(new CreateTrade($"T{i:D2}", "ACC", "SYM", Side.Buy, 1, 1, ExecutedAt: T0.AddSeconds(i / 3)));
        }

        var seen = new List<Trade>();
        string? cursor = null;
        var inserted = 0;
        do
        {
            var page = harness.Queries.ListTrades(new TradeFilter(Limit: 7, Cursor: cursor, To: T0.AddHours(1)));
            seen.AddRange(page.Trades);
            cursor = page.NextCursor;
            // Concurrent inserts before and after the current position must not shift the pages.
            await harness.Submit(new CreateTrade($"N{inserted++}", "ACC", "SYM", Side.Buy, 1, 1, ExecutedAt: T0.AddSeconds(-1)));
        }
        while (cursor is not null);

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"T{i:D2}"), seen.Select(t => t.TradeId));
    }

    [Fact]
    public async Task GetHistory_WhileAmendsAreAppliedToDuckDb_EveryVersionOnceInOrderAndNoneOlderThanTheTrade()
    {
        // A short interval moves the seam between DuckDB and the applier's queue many times during the reads.
        await using var harness = EngineHarness.Start(new EngineOptions { ApplyInterval = TimeSpan.FromMilliseconds(2) });
        await harness.Submit(new CreateTrade("H1", "ACC", "SYM", Side.Buy, 1_000_000, 1));
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var price = 2; !stop.IsCancellationRequested; price++)
            {
                var current = harness.Queries.GetTrade("H1")!;
                Assert.True((await harness.Submit(new AmendTrade("H1", current.Version, Price: price))).Succeeded);
            }
        }, TestContext.Current.CancellationToken);

        // Reads go on until they have straddled many applies: a read that finds DuckDB at another seq than the read
        // before it read across the seam the applier moved. Counting those, and not reads, keeps the precondition the
        // same on a loaded machine, where one read may take 30 ms (a clean-clone CI made 1,932 reads in 60 s).
        const int SeamsToStraddle = 100;
        var reads = 0;
        var seams = 0;
        var lastApplied = harness.Engine.AppliedSeq;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        for (; seams < SeamsToStraddle && !writer.IsCompleted && DateTime.UtcNow < deadline; reads++)
        {
            var before = harness.Queries.GetTrade("H1")!.Version;
            var history = harness.Queries.GetHistory("H1");
            Assert.Equal(Enumerable.Range(1, history.Count).Select(v => (long)v), history.Select(e => e.Version));
            Assert.True(history[^1].Version >= before, $"read {reads}: history ends at version {history[^1].Version}, the trade was at {before} before the read");
            Assert.True(history.Zip(history.Skip(1)).All(p => p.First.Seq < p.Second.Seq));
            var applied = harness.Engine.AppliedSeq;
            if (applied != lastApplied)
            {
                seams++;
                lastApplied = applied;
            }
        }

        await stop.CancelAsync();
        await writer;
        Assert.True(seams >= SeamsToStraddle, $"{reads} reads straddled {seams} applies in 60 s (DuckDB at seq {harness.Engine.AppliedSeq})");
    }

    [Fact]
    public async Task GetHistoryPages_WhileAmendsAreAppliedToDuckDb_EveryVersionOnceInOrderAcrossPages()
    {
        // As above, but in pages of 3: a page's seam between DuckDB and the applier's queue falls anywhere in it, before
        // it or after it, and a page must neither repeat nor skip a version nor end past the page size.
        await using var harness = EngineHarness.Start(new EngineOptions { ApplyInterval = TimeSpan.FromMilliseconds(2) });
        await harness.Submit(new CreateTrade("H2", "ACC", "SYM", Side.Buy, 1_000_000, 1));
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var price = 2; !stop.IsCancellationRequested; price++)
            {
                var current = harness.Queries.GetTrade("H2")!;
                Assert.True((await harness.Submit(new AmendTrade("H2", current.Version, Price: price))).Succeeded);
            }
        }, TestContext.Current.CancellationToken);

        const int SeamsToStraddle = 100;
        var seams = 0;
        var reads = 0;
        var lastApplied = harness.Engine.AppliedSeq;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (seams < SeamsToStraddle && !writer.IsCompleted && DateTime.UtcNow < deadline)
        {
            var before = harness.Queries.GetTrade("H2")!.Version;
            var versions = new List<long>();
            string? cursor = null;
            do
            {
                var page = harness.Queries.GetHistory("H2", 3, cursor);
                Assert.Equal("ACC", page.Account);
                Assert.InRange(page.Events.Count, 1, 3);
                Assert.True(page.NextCursor is null || page.Events.Count == 3, $"a page of {page.Events.Count} events named a next page");
                versions.AddRange(page.Events.Select(e => e.Version));
                cursor = page.NextCursor;
                reads++;
                var applied = harness.Engine.AppliedSeq;
                if (applied != lastApplied)
                {
                    seams++;
                    lastApplied = applied;
                }
            }
            while (cursor is not null && versions.Count < 60);

            Assert.Equal(Enumerable.Range(1, versions.Count).Select(v => (long)v), versions);
            Assert.True(versions.Count >= Math.Min(before, 60), $"the pages ended at version {versions.Count}, the trade was at {before} before the read");
        }

        await stop.CancelAsync();
        await writer;
        Assert.True(seams >= SeamsToStraddle, $"{reads} page reads straddled {seams} applies in 60 s (DuckDB at seq {harness.Engine.AppliedSeq})");
    }

    [Fact]
    public async Task GetHistoryPage_CursorOfAnotherTradeOrAltered_RefusedAndAnUnknownTradeNamesNoAccount()
    {
        await using var harness = EngineHarness.Start();
        foreach (var id in new[] { "C1", "C2" })
        {
            await harness.Submit(new CreateTrade(id, "ACC-" + id, "SYM", Side.Buy, 10, 1));
            await harness.Submit(new AmendTrade(id, 1, Price: 2));
        }

        var cursor = harness.Queries.GetHistory("C1", 1).NextCursor!;
        Assert.Equal([2L], harness.Queries.GetHistory("C1", 5, cursor).Events.Select(e => e.Version));
        Assert.Throws<FormatException>(() => harness.Queries.GetHistory("C2", 5, cursor));
        Assert.Throws<FormatException>(() => harness.Queries.GetHistory("C1", 5, cursor[..^1] + (cursor[^1] == 'A' ? 'B' : 'A')));
        var unknown = harness.Queries.GetHistory("UNKNOWN", 5);
        Assert.Equal((null, 0, null), (unknown.Account, unknown.Events.Count, unknown.NextCursor));
        Assert.Equal("ACC-C2", harness.Queries.GetHistory("C2", 5).Account);
    }

    [Fact]
    public async Task ListTrades_Filters_ApplyAndDeletedExcluded()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(new CreateTrade("A1", "ACC-A", "AAPL", Side.Buy, 10, 1, ExecutedAt: T0));
        await harness.Submit(new CreateTrade("A2", "ACC-A", "MSFT", Side.Buy, 10, 1, ExecutedAt: T0.AddMinutes(1)));
        await harness.Submit(new CreateTrade("B1", "ACC-B", "AAPL", Side.Sell, 10, 1, ExecutedAt: T0.AddMinutes(2)));
        await harness.Submit(new CreateTrade("A3", "ACC-A", "AAPL", Side.Buy, 10, 1, ExecutedAt: T0.AddMinutes(3)));
        await harness.Submit(new FillTrade("A3", 10, 1));
        await harness.Submit(new DeleteTrade("A1"));

        Assert.Equal("A2,A3", Ids(harness.Queries.ListTrades(new TradeFilter(Account: "ACC-A"))));
        Assert.Equal("B1,A3", Ids(harness.Queries.ListTrades(new TradeFilter(Symbol: "AAPL"))));
        Assert.Equal("A3", Ids(harness.Queries.ListTrades(new TradeFilter(Status: TradeStatus.Filled))));
        Assert.Equal("A2,B1", Ids(harness.Queries.ListTrades(new TradeFilter(From: T0.AddMinutes(1), To: T0.AddMinutes(3)))));
        Assert.Null(harness.Queries.ListTrades(new TradeFilter()).NextCursor);
    }

    [Fact]
    public async Task ListTrades_BoundsFinerThanAMicrosecond_FromStaysInclusiveAndToExclusiveForStoredTimes()
    {
        await using var harness = EngineHarness.Start();
        // Stored to the microsecond: 100 ns past T0 is cut to T0.
        await harness.Submit(new CreateTrade("U1", "ACC", "SYM", Side.Buy, 1, 1, ExecutedAt: T0.AddTicks(1)));
        var justAfter = T0.AddTicks(9); // 900 ns after the stored time

        Assert.Equal(T0, harness.Queries.GetTrade("U1")!.ExecutedAt);
        Assert.Equal("U1", Ids(harness.Queries.ListTrades(new TradeFilter(To: justAfter))));
        Assert.Equal("", Ids(harness.Queries.ListTrades(new TradeFilter(From: justAfter))));
        Assert.Equal("U1", Ids(harness.Queries.ListTrades(new TradeFilter(From: T0, To: T0.AddTicks(1)))));
    }

    [Fact]
    public async Task ListTrades_BoundsInTheLastMicrosecondOfTheYear9999_ToTakesTheTradeStoredThereAndFromDoesNot()
    {
        await using var harness = EngineHarness.Start();
        // DateTimeOffset.MaxValue, 23:59:59.9999999, is stored as 23:59:59.999999: before a `to` of MaxValue, after a `from`.
        await harness.Submit(new CreateTrade("LAST", "ACC", "SYM", Side.Buy, 1, 1, ExecutedAt: DateTimeOffset.MaxValue));
        var stored = harness.Queries.GetTrade("LAST")!.ExecutedAt;
        Assert.Equal(DateTimeOffset.MaxValue.AddTicks(-9), stored);

        Assert.Equal("LAST", Ids(harness.Queries.ListTrades(new TradeFilter(To: DateTimeOffset.MaxValue))));
        Assert.Equal("LAST", Ids(harness.Queries.ListTrades(new TradeFilter(To: stored.AddTicks(1)))));
        Assert.Equal("", Ids(harness.Queries.ListTrades(new TradeFilter(To: stored))));
        Assert.Equal("", Ids(harness.Queries.ListTrades(new TradeFilter(From: DateTimeOffset.MaxValue))));
        Assert.Equal("", Ids(harness.Queries.ListTrades(new TradeFilter(From: stored.AddTicks(1)))));
        Assert.Equal("LAST", Ids(harness.Queries.ListTrades(new TradeFilter(From: stored))));
    }

    [Theory]
    [InlineData("not a cursor!")]
    [InlineData("AAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==")]
    public async Task ListTrades_MalformedCursor_FormatException(string cursor)
    {
        await using var harness = EngineHarness.Start();

        Assert.Throws<FormatException>(() => harness.Queries.ListTrades(new TradeFilter(Cursor: cursor)));
    }

    /// <summary>
    /// A cursor checks out only as it was issued, with the filters of its list: cut short, changed in one character, or
    /// passed with another account, symbol, status or time bound, it is refused instead of seeking somewhere else.
    /// </summary>
    [Fact]
    public async Task ListTrades_CursorAlteredOrWithOtherFilters_FormatExceptionAndTheSameFiltersPageOn()
    {
        await using var harness = EngineHarness.Start();
        for (var i = 0; i < 4; i++)
        {
            await harness.Submit(new CreateTrade($"C{i}", "ACC-A", "AAPL", Side.Buy, 10, 1, ExecutedAt: T0.AddMinutes(i)));
        }

        var filter = new TradeFilter(Account: "ACC-A", Symbol: "AAPL", From: T0, To: T0.AddHours(1), Limit: 2);
        var cursor = harness.Queries.ListTrades(filter).NextCursor!;
        var otherLast = cursor[^1] == 'A' ? 'B' : 'A';

        Assert.Equal("C2,C3", Ids(harness.Queries.ListTrades(filter with { Cursor = cursor })));
        foreach (var bad in new[]
        {
            filter with { Cursor = cursor[..^1] },
            filter with { Cursor = cursor[..^1] + otherLast },
            filter with { Cursor = cursor, Account = "ACC-B" },
            filter with { Cursor = cursor, Symbol = null },
            filter with { Cursor = cursor, Status = TradeStatus.New },
            filter with { Cursor = cursor, From = T0.AddMinutes(1) },
            filter with { Cursor = cursor, To = null },
        })
        {
            var error = Assert.Throws<FormatException>(() => harness.Queries.ListTrades(bad));
            Assert.Contains("with the same filters", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal("C2,C3", Ids(harness.Queries.ListTrades(filter with { Cursor = cursor, Limit = 5 })));
    }

    [Fact]
    public async Task GetTrade_Deleted_NullButHistoryKept()
    {
        await using var harness = EngineHarness.Start();
        await harness.Submit(new CreateTrade("T1", "ACC", "SYM", Side.Buy, 10, 1));
        await harness.Submit(new DeleteTrade("T1", ExpectedVersion: 1));

        Assert.Null(harness.Queries.GetTrade("T1"));
        Assert.Equal([TradeEventType.Create, TradeEventType.Delete], harness.Queries.GetHistory("T1").Select(e => e.Type));
        Assert.Empty(harness.Queries.GetHistory("UNKNOWN"));
    }

    private static string Ids(TradePage page) => string.Join(",", page.Trades.Select(t => t.TradeId));
}
