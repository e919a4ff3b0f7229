namespace TradeStore.Client.Tests;

/// <summary>
/// Retries through a proxy that breaks connections: each retry carries the command's idempotency key, so the server
/// applies the command once whatever the network did.
/// </summary>
public sealed class RetryTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateTradeAsync_ConnectionDroppedAfterTheWrite_RetriesWithTheSameKeyAndWritesOnce()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.DropAnswer);
        var client = server.Client(proxy.Address);
        var id = $"DROP-{Guid.NewGuid():N}";

        var trade = await client.CreateTradeAsync(new NewTrade(id, "ACC-R", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);

        var keys = proxy.Header("Idempotency-Key");
        Assert.Equal(2, keys.Count);
        Assert.NotNull(keys[0]);
        Assert.Equal(keys[0], keys[1]);
        Assert.Equal(1, trade.Version);
        var history = await server.Client().HistoryAsync(id, Ct);
        Assert.Equal(keys[0], Assert.Single(history.Items).IdempotencyKey);
    }

    [Fact]
    public async Task FillAsync_NoAnswerWithinTheTimeout_RetriesWithTheSameKeyAndFillsOnce()
    {
        var id = $"SLOW-{Guid.NewGuid():N}";
        await server.Client().CreateTradeAsync(new NewTrade(id, "ACC-R", "AAPL", TradeSide.Buy, 10m, 2m), cancellationToken: Ct);
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.HoldAnswer);
        var client = server.Client(proxy.Address, o => o.Timeout = TimeSpan.FromSeconds(1));

        var trade = await client.FillAsync(id, 4m, 2m, cancellationToken: Ct);

        Assert.Equal(4m, trade.FilledQuantity);
        var keys = proxy.Header("Idempotency-Key");
        Assert.True(keys.Count >= 2, $"{keys.Count} attempts");
        Assert.NotNull(keys[0]);
        Assert.All(keys, key => Assert.Equal(keys[0], key));
        Assert.Equal(["create", "fill"], (await server.Client().HistoryAsync(id, Ct)).Items.Select(e => e.Type));
    }

    [Fact]
    public async Task CreateTradeAsync_EveryAttemptTimesOut_ThrowsInDoubtAndAManualRetryWithTheKeyWritesOnce()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.HoldAnswer, ProxyFault.HoldAnswer);
        var client = server.Client(proxy.Address, o => (o.Timeout, o.MaxRetries) = (TimeSpan.FromSeconds(1), 1));
        var id = $"TO-{Guid.NewGuid():N}";
        var order = new NewTrade(id, "ACC-R", "AAPL", TradeSide.Buy, 1m, 2m);

        var inDoubt = await Assert.ThrowsAsync<TradeStoreInDoubtException>(() => client.CreateTradeAsync(order, idempotencyKey: $"order-{id}", cancellationToken: Ct));
        Assert.Equal($"order-{id}", inDoubt.IdempotencyKey);
        Assert.IsAssignableFrom<OperationCanceledException>(inDoubt.InnerException);
        // Both attempts failed alike: the reason is said once, not as "an attempt failed with X; the last failed with X".
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(inDoubt.Message, "the write may have been applied"));
        Assert.Contains("The last of 2 attempt(s) failed with ", inDoubt.Message, StringComparison.Ordinal);
        var trade = await server.Client(proxy.Address).CreateTradeAsync(order, idempotencyKey: $"order-{id}", cancellationToken: Ct);

        Assert.Equal(1, trade.Version);
        Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items);
    }

    [Fact]
    public async Task CreateTradeAsync_Busy503WithRetryAfter_RetriesAndSucceeds()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.Busy);
        var client = server.Client(proxy.Address);
        var id = $"BUSY-{Guid.NewGuid():N}";

        var trade = await client.CreateTradeAsync(new NewTrade(id, "ACC-R", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);

        Assert.Equal(id, trade.TradeId);
        var keys = proxy.Header("Idempotency-Key");
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
    }

    [Fact]
    public async Task CreateTradeAsync_BusyOnEveryAttempt_ThrowsTheBusyProblem()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.Busy, ProxyFault.Busy);
        var client = server.Client(proxy.Address, o => (o.MaxRetries, o.MaxRetryDelay) = (1, TimeSpan.Zero));

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade($"B2-{Guid.NewGuid():N}", "ACC-R", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct));

        Assert.Equal((503, "urn:tradestore:problem:busy"), (problem.Status, problem.Type));
    }

    [Fact]
    public async Task CreateTradeAsync_Redirect307_FollowedToTheLeaderWithBodyAndKey()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.RedirectToServer);
        var client = server.Client(proxy.Address);
        var id = $"R307-{Guid.NewGuid():N}";

        var trade = await client.CreateTradeAsync(new NewTrade(id, "ACC-R", "AAPL", TradeSide.Sell, 3m, 4m), idempotencyKey: $"k-{id}", cancellationToken: Ct);

        Assert.Equal((id, 3m), (trade.TradeId, trade.Quantity));
        Assert.Equal($"k-{id}", Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items).IdempotencyKey);
    }
}
