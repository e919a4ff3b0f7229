namespace TradeStore.Client.Tests;

/// <summary>Every operation of <see cref="TradeStoreClient"/> against the real server over TCP.</summary>
public sealed class ClientOperationsTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];

    [Fact]
    public async Task Lifecycle_EveryCommand_AnswersTheNewStateAndHistoryHasEachEvent()
    {
        var client = server.Client();
        var id = NewId("LC");

        var created = await client.CreateTradeAsync(new NewTrade(id, "ACC-LC", "AAPL", TradeSide.Buy, 100m, 189.25m, Venue: "XNAS"), cancellationToken: Ct);
        var amended = await client.AmendAsync(id, new Amendment(created.Version, Price: 189.30m), cancellationToken: Ct);
        var filled = await client.FillAsync(id, 40m, 189.29m, cancellationToken: Ct);
        var cancelled = await client.CancelAsync(id, cancellationToken: Ct);
        var read = await client.GetTradeAsync(id, Ct);
        var deleted = await client.DeleteAsync(id, cancelled.Version, cancellationToken: Ct);
        var history = await client.HistoryAsync(id, Ct);

        Assert.Equal(("new", 1L, TradeSide.Buy, "XNAS"), (created.Status, created.Version, created.Side, created.Venue));
        Assert.Equal(189.30m, amended.Price);
        Assert.Equal(("partially_filled", 40m, 189.29m), (filled.Status, filled.FilledQuantity, filled.AverageFillPrice!.Value));
        Assert.Equal("cancelled", cancelled.Status);
        Assert.Equal(cancelled, read);
        Assert.Equal("deleted", deleted.Status);
        Assert.Equal(["create", "amend", "fill", "cancel", "delete"], history.Items.Select(e => e.Type));
        Assert.Equal(40m, history.Items[2].LastQuantity);
        Assert.All(history.Items, e => Assert.StartsWith("tsc-", e.IdempotencyKey, StringComparison.Ordinal));
        await Assert.ThrowsAsync<NotFoundException>(() => client.GetTradeAsync(id, Ct));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("T\0")]
    public async Task PathTradeIdTheServerNeverReads_EveryPathMethod_ThrowsArgumentExceptionNamingTradeId(string tradeId)
    {
        var client = server.Client();
        Func<Task>[] calls =
        [
            () => client.GetTradeAsync(tradeId, Ct),
            () => client.HistoryAsync(tradeId, Ct),
            () => client.AmendAsync(tradeId, new Amendment(1, Price: 2m), cancellationToken: Ct),
            () => client.FillAsync(tradeId, 1m, 1m, cancellationToken: Ct),
            () => client.CancelAsync(tradeId, cancellationToken: Ct),
            () => client.DeleteAsync(tradeId, cancellationToken: Ct),
        ];

        foreach (var call in calls)
        {
            // Before: GET v1/trades/. read the list as an all-empty Trade; the others reached v1/amend, v1/trades/fill, … (404/405);
            // a NUL got the server's bare 400 without detail.
            var error = await Assert.ThrowsAsync<ArgumentException>(call);
            Assert.Equal("tradeId", error.ParamName);
        }
    }

    [Theory]
    [InlineData("ключ")]
    [InlineData("a\nb")]
    [InlineData("")]
    [InlineData(" k")]
    [InlineData("k ")]
    [InlineData("tab\tkey")]
    public async Task CreateTradeAsync_KeyHttpCannotCarry_ThrowsArgumentExceptionNamingItAndCreatesNothing(string key)
    {
        var client = server.Client(configure: o => o.MaxRetries = 1);
        var id = NewId("IK");

        // Before: "ключ" ended as TradeStoreInDoubtException (a header .NET cannot send, retried as a broken connection),
        // "a\nb" as a bare 400 without a type, " k" created the trade under the key "k".
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            client.CreateTradeAsync(new NewTrade(id, "ACC-IK", "AAPL", TradeSide.Buy, 1m, 1m), key, Ct));

        Assert.Equal("idempotencyKey", error.ParamName);
        await Assert.ThrowsAsync<NotFoundException>(() => client.GetTradeAsync(id, Ct));
    }

    [Fact]
    public async Task CreateTradeAsync_Key129Characters_RefusedAnd128PrintableCharactersAreSentAndReplayed()
    {
        var client = server.Client();
        var id = NewId("IK128");
        var key = "k ~!" + new string('x', 124);

        await Assert.ThrowsAsync<ArgumentException>(() => client.CreateTradeAsync(new NewTrade(id, "ACC-IK", "AAPL", TradeSide.Buy, 1m, 1m), key + "x", Ct));
        var created = await client.CreateTradeAsync(new NewTrade(id, "ACC-IK", "AAPL", TradeSide.Buy, 1m, 1m), key, Ct);
        var replayed = await client.CreateTradeAsync(new NewTrade(id, "ACC-IK", "AAPL", TradeSide.Buy, 1m, 1m), key, Ct);

        Assert.Equal(created, replayed);
        Assert.Equal([key], (await client.HistoryAsync(id, Ct)).Items.Select(e => e.IdempotencyKey));
    }

    [Fact]
    public async Task DeleteAsync_WithoutExpectedVersion_DeletesWhateverTheVersion()
    {
        var client = server.Client();
        var id = NewId("DU");
        await client.CreateTradeAsync(new NewTrade(id, "ACC-DU", "AAPL", TradeSide.Buy, 10m, 2m), cancellationToken: Ct);
        await client.FillAsync(id, 4m, 2m, cancellationToken: Ct);

        var deleted = await client.DeleteAsync(id, cancellationToken: Ct);

        Assert.Equal(("deleted", 3L), (deleted.Status, deleted.Version));
        await Assert.ThrowsAsync<NotFoundException>(() => client.GetTradeAsync(id, Ct));
    }

    [Fact]
    public async Task DeleteAsync_StaleExpectedVersion_ThrowsVersionConflictAndKeepsTheTrade()
    {
        var client = server.Client();
        var id = NewId("DS");
        await client.CreateTradeAsync(new NewTrade(id, "ACC-DS", "AAPL", TradeSide.Buy, 10m, 2m), cancellationToken: Ct);
        await client.FillAsync(id, 4m, 2m, cancellationToken: Ct);

        var conflict = await Assert.ThrowsAsync<VersionConflictException>(() => client.DeleteAsync(id, 1, cancellationToken: Ct));

        Assert.Equal(2L, conflict.CurrentVersion);
        Assert.Equal("partially_filled", (await client.GetTradeAsync(id, Ct)).Status);
    }

    [Theory]
    [InlineData("/tradestore")]
    [InlineData("/tradestore/")]
    public async Task BaseAddressWithAPath_EveryRequestGoesUnderIt(string path)
    {
        await using var gateway = new FaultyProxy(server.BaseAddress, new ProxySettings(PathPrefix: "/tradestore"));
        var client = server.Client(new Uri(gateway.Address, path));
        var id = NewId("BP");

        var created = await client.CreateTradeAsync(new NewTrade(id, "ACC-BP", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);
        var read = await client.GetTradeAsync(id, Ct);
        var listed = await client.TradesAsync(new TradeFilter(Account: "ACC-BP"), Ct).ToListAsync(Ct);

        Assert.Equal(created, read);
        Assert.Contains(listed, t => t.TradeId == id);
        Assert.StartsWith("POST /tradestore/v1/trades ", gateway.RequestHeads[0], StringComparison.Ordinal);
        Assert.StartsWith($"GET /tradestore/v1/trades/{id} ", gateway.RequestHeads[1], StringComparison.Ordinal);
        Assert.All(gateway.RequestHeads, head => Assert.StartsWith("/tradestore/v1/", head.Split(' ')[1], StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0.00000001")]
    [InlineData("9999999999.99999999")]
    [InlineData("1234567890.12345678")]
    public async Task CreateTradeAsync_ExtremeDecimals_RoundTripExactly(string text)
    {
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var client = server.Client();
        var id = NewId("DEC");

        var created = await client.CreateTradeAsync(new NewTrade(id, "ACC-DEC", "EURUSD", TradeSide.Sell, value, value), cancellationToken: Ct);
        var read = await client.GetTradeAsync(id, Ct);
        await client.HistoryAsync(id, Ct); // SQL sees DuckDB, which trails the acknowledgement; history answers once DuckDB holds the trade
        var queried = await client.QueryAsync($"SELECT quantity, price FROM current_trade_state WHERE trade_id = '{id}'", Ct);

        Assert.Equal((value, value), (created.Quantity, created.Price));
        Assert.Equal((value, value), (read.Quantity, read.Price));
        Assert.Equal(text, ((decimal)queried.Rows[0][0]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(value, queried.Rows[0][1]);
    }

    [Fact]
    public async Task CreateTradeAsync_NegativeQuantity_ThrowsProblemNamingTheField()
    {
        var client = server.Client();

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade(NewId("BAD"), "ACC-BAD", "AAPL", TradeSide.Buy, -1m, 10m), cancellationToken: Ct));

        Assert.Equal(400, problem.Status);
        Assert.Equal("urn:tradestore:problem:validation", problem.Type);
        Assert.Equal("quantity", problem.Field);
    }

    [Fact]
    public async Task AmendAsync_StaleVersion_ThrowsVersionConflictWithCurrentVersion()
    {
        var client = server.Client();
        var id = NewId("VC");
        await client.CreateTradeAsync(new NewTrade(id, "ACC-VC", "AAPL", TradeSide.Buy, 10m, 1m), cancellationToken: Ct);
        await client.AmendAsync(id, new Amendment(1, Quantity: 11m), cancellationToken: Ct);

        var conflict = await Assert.ThrowsAsync<VersionConflictException>(() => client.AmendAsync(id, new Amendment(1, Quantity: 12m), cancellationToken: Ct));

        Assert.Equal(409, conflict.Status);
        Assert.Equal(2, conflict.CurrentVersion);
        Assert.Equal(11m, (await client.GetTradeAsync(id, Ct)).Quantity);
    }

    [Fact]
    public async Task BatchAsync_MixedCommands_EachSucceedsOrFailsAlone()
    {
        var client = server.Client();
        var id = NewId("BA");

        var result = await client.BatchAsync(
        [
            BatchCommand.Create(new NewTrade(id, "ACC-BA", "MSFT", TradeSide.Sell, 5m, 410m)),
            BatchCommand.Fill(id, 5m, 410.5m),
            BatchCommand.Fill(id, 1m, 410m), // nothing left to fill
            BatchCommand.Amend(NewId("NONE"), new Amendment(1, Price: 1m)),
            BatchCommand.Create(new NewTrade(NewId("BA"), "ACC-BA", "MSFT", TradeSide.Sell, 5m, 0.000000001m)),
        ], Ct);

        Assert.Equal((2, 3), (result.Succeeded, result.Failed));
        Assert.Equal("filled", result.Results[1].Trade!.Status);
        Assert.Equal((409, "urn:tradestore:problem:invalid-transition"), (result.Results[2].Status, result.Results[2].Problem!.Type));
        Assert.Equal(404, result.Results[3].Status);
        Assert.Equal((400, "price"), (result.Results[4].Status, result.Results[4].Problem!.Field));
    }

    [Fact]
    public async Task BatchAsync_SentAgain_ReplaysEveryItemAndWritesNothing()
    {
        var client = server.Client();
        var id = NewId("BR");
        BatchCommand[] commands = [BatchCommand.Create(new NewTrade(id, "ACC-BR", "MSFT", TradeSide.Buy, 5m, 1m)), BatchCommand.Fill(id, 2m, 1m)];

        await client.BatchAsync(commands, Ct);
        var again = await client.BatchAsync(commands, Ct);

        Assert.All(again.Results, r => Assert.True(r.Replayed));
        Assert.Equal(2, (await client.HistoryAsync(id, Ct)).Items.Count);
    }

    [Fact]
    public async Task TradesAsync_2500Trades_EveryTradeOnceInOrderAcrossPages()
    {
        var client = server.Client(configure: o => o.PageSize = 300);
        var account = NewId("PG");
        var day = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        var expected = new List<string>();
        for (var chunk = 0; chunk < 5; chunk++)
        {
            var commands = Enumerable.Range(chunk * 500, 500).Select(i =>
            {
                var id = $"{account}-{i:D4}";
                expected.Add(id);
                return BatchCommand.Create(new NewTrade(id, account, "AAPL", TradeSide.Buy, 1m, 1m, ExecutedAt: day.AddSeconds(i % 97)));
            });
            Assert.Equal(0, (await client.BatchAsync(commands, Ct)).Failed);
        }

        var listed = new List<Trade>();
        await foreach (var trade in client.TradesAsync(new TradeFilter(Account: account, From: day, To: day.AddDays(1)), Ct))
        {
            listed.Add(trade);
        }

        Assert.Equal(2500, listed.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), listed.Select(t => t.TradeId).Order(StringComparer.Ordinal));
        Assert.Equal(listed.OrderBy(t => t.ExecutedAt).ThenBy(t => t.TradeId, StringComparer.Ordinal).Select(t => t.TradeId), listed.Select(t => t.TradeId));
    }

    [Fact]
    public async Task HistoryAsync_MoreEventsThanTheServersDefaultPage_EveryEventOnceInOrderAcrossPages()
    {
        // 250 events: more than the server's Api:DefaultPageSize (100), which is all a client that did not follow
        // nextCursor got; read 60 at a time.
        var client = server.Client(configure: o => o.PageSize = 60);
        var id = NewId("HI");
        var commands = new List<BatchCommand> { BatchCommand.Create(new NewTrade(id, "ACC-HI", "AAPL", TradeSide.Buy, 1000m, 1m)) };
        commands.AddRange(Enumerable.Range(1, 249).Select(v => BatchCommand.Amend(id, new Amendment(v, Price: 1m + v))));
        Assert.Equal(0, (await client.BatchAsync(commands, Ct)).Failed);

        var history = await client.HistoryAsync(id, Ct);
        var streamed = await client.HistoryEventsAsync(id, Ct).Select(e => e.Version).ToListAsync(Ct);

        Assert.Equal(id, history.TradeId);
        Assert.Equal(Enumerable.Range(1, 250).Select(v => (long)v), history.Items.Select(e => e.Version));
        Assert.Equal(250m, history.Items[^1].Trade.Price);
        Assert.Equal(history.Items.Select(e => e.Version), streamed);
        await Assert.ThrowsAsync<NotFoundException>(() => client.HistoryAsync(NewId("HI"), Ct));
    }

    [Fact]
    public async Task TradesAsync_BoundsFinerThanAMicrosecond_FromInclusiveAndToExclusiveAsTheServerRoundsThem()
    {
        var client = server.Client();
        var account = NewId("TB");
        var stored = new DateTimeOffset(2026, 11, 27, 9, 30, 0, TimeSpan.Zero).AddTicks(1_234_560);
        await client.CreateTradeAsync(new NewTrade(NewId("TB"), account, "AAPL", TradeSide.Buy, 1m, 1m, ExecutedAt: stored), cancellationToken: Ct);
        await client.CreateTradeAsync(new NewTrade(NewId("TB"), account, "AAPL", TradeSide.Buy, 1m, 1m, ExecutedAt: DateTimeOffset.MaxValue), cancellationToken: Ct);

        async Task<int> Count(DateTimeOffset? from, DateTimeOffset? to) =>
            await client.TradesAsync(new TradeFilter(Account: account, From: from, To: to), Ct).CountAsync(Ct);

        // The trade at `stored` is executed before stored + 100 ns and not at or after it, whatever a bound's precision.
        Assert.Equal(1, await Count(null, stored.AddTicks(1)));
        Assert.Equal(0, await Count(null, stored));
        Assert.Equal(1, await Count(stored.AddTicks(1), null));
        Assert.Equal(2, await Count(stored, null));
        // DateTimeOffset.MaxValue is stored as 23:59:59.999999: before a `to` of MaxValue.
        Assert.Equal(2, await Count(null, DateTimeOffset.MaxValue));
        Assert.Equal(0, await Count(DateTimeOffset.MaxValue, null));
    }

    [Fact]
    public async Task PositionsAsync_ByAccount_NetQuantityAndAveragePrice()
    {
        var client = server.Client();
        var account = NewId("POS");
        foreach (var (side, quantity, price) in new[] { (TradeSide.Buy, 10m, 100m), (TradeSide.Buy, 30m, 104m), (TradeSide.Sell, 15m, 110m) })
        {
            var trade = await client.CreateTradeAsync(new NewTrade(NewId("P"), account, "IBM", side, quantity, price), cancellationToken: Ct);
            await client.FillAsync(trade.TradeId, quantity, price, cancellationToken: Ct);
        }

        var positions = await client.PositionsAsync(account, Ct);

        var position = Assert.Single(positions);
        Assert.Equal(("IBM", 25m, 40m, 4120m), (position.Symbol, position.NetQuantity, position.BoughtQuantity, position.BoughtNotional));
        Assert.Equal(103m, position.AveragePrice);
    }

    /// <summary>
    /// Positions are paged by the server (Api:DefaultPageSize, 100, without limit): a client that did not follow nextCursor
    /// got the first 100 of an account's 250 symbols, and of every account's positions only the first 100.
    /// </summary>
    [Fact]
    public async Task PositionsAsync_MorePositionsThanTheServersDefaultPage_EveryPositionOnceInOrderAcrossPages()
    {
        var client = server.Client(configure: o => o.PageSize = 60);
        var account = NewId("PP");
        var symbols = Enumerable.Range(0, 250).Select(s => $"S{s:D3}").ToList();
        var commands = symbols.SelectMany(symbol => new[]
        {
            BatchCommand.Create(new NewTrade($"{account}-{symbol}", account, symbol, TradeSide.Buy, 10m, 1m)),
            BatchCommand.Fill($"{account}-{symbol}", 4m, 2m),
        });
        Assert.Equal(0, (await client.BatchAsync([.. commands], Ct)).Failed);

        var positions = await client.PositionsAsync(account, Ct);
        var everyAccount = await client.PositionsAsync(cancellationToken: Ct);

        Assert.Equal(symbols, positions.Select(p => p.Symbol));
        Assert.All(positions, p => Assert.Equal((account, 4m, 8m), (p.Account, p.NetQuantity, p.BoughtNotional)));
        var keys = everyAccount.Select(p => (p.Account, p.Symbol)).ToList();
        Assert.Equal(keys.OrderBy(k => k.Account, StringComparer.Ordinal).ThenBy(k => k.Symbol, StringComparer.Ordinal), keys);
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.Equal(positions, everyAccount.Where(p => p.Account == account));

        // One above the server's Api:MaxPageSize fails at the second page, restated for the option the caller set.
        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() => server.Client(configure: o => o.PageSize = 5000).PositionsAsync(account, Ct));
        Assert.Equal((400, "PageSize"), (problem.Status, problem.Field));
    }

    [Fact]
    public async Task QueryAsync_TradeColumns_TypedValues()
    {
        var client = server.Client();
        var id = NewId("Q");
        var executed = new DateTimeOffset(2026, 11, 30, 9, 30, 0, 123, TimeSpan.Zero).AddTicks(4560);
        await client.CreateTradeAsync(new NewTrade(id, "ACC-Q", "AAPL", TradeSide.Buy, 7.5m, 0.00000001m, ExecutedAt: executed), cancellationToken: Ct);
        await client.HistoryAsync(id, Ct); // SQL sees DuckDB, which trails the acknowledgement; history answers once DuckDB holds the trade

        var result = await client.QueryAsync($"SELECT trade_id, quantity, price, version, executed_at, venue FROM current_trade_state WHERE trade_id = '{id}'", Ct);

        Assert.Equal(["trade_id", "quantity", "price", "version", "executed_at", "venue"], result.Columns.Select(c => c.Name));
        Assert.Equal([id, 7.5m, 0.00000001m, 1L, executed, null], result.Rows[0]);
        Assert.Equal(TimeSpan.Zero, ((DateTimeOffset)result.Rows[0][4]!).Offset);
        Assert.False(result.Truncated);
    }

    [Fact]
    public async Task QueryAsync_NotASelect_ThrowsProblemNamingSql()
    {
        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() => server.Client().QueryAsync("DELETE FROM trade_events", Ct));

        Assert.Equal(("urn:tradestore:problem:query-rejected", "sql"), (problem.Type, problem.Field));
    }
}
