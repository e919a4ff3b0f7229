using Microsoft.Extensions.Logging.Testing;
using TradeStore.TestSupport;

namespace TradeStore.Client.Tests;

/// <summary>
/// A write sent to a follower on a keyed cluster: the follower answers 307 (<see cref="ProxyFault.RedirectToServer"/>)
/// and the redirected request reaches the leader through a second proxy that records what it carried. The leader
/// refuses a request without the key (401), so each write below succeeds only if the key went along.
/// </summary>
public sealed class KeyedRedirectTests(KeyedLiveServer server) : IClassFixture<KeyedLiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateTradeAsync_ClientMadeWithoutDiThrough307_LeaderGetsTheApiKeyAndWritesOnce()
    {
        await using var leader = new FaultyProxy(server.BaseAddress, new ProxySettings(OneRequestPerConnection: true));
        await using var follower = new FaultyProxy(server.BaseAddress, new ProxySettings(RedirectTo: leader.Address), ProxyFault.RedirectToServer);
        var client = new TradeStoreClient(new TradeStoreClientOptions { BaseAddress = follower.Address, ApiKey = server.ApiKey });
        var id = $"K307-{Guid.NewGuid():N}";

        var trade = await client.CreateTradeAsync(new NewTrade(id, "ACC-K", "AAPL", TradeSide.Buy, 3m, 4m), idempotencyKey: $"k-{id}", cancellationToken: Ct);

        Assert.Equal((id, 3m), (trade.TradeId, trade.Quantity));
        Assert.Equal([$"Bearer {server.ApiKey}"], follower.Header("Authorization"));
        Assert.Equal([$"Bearer {server.ApiKey}"], leader.Header("Authorization"));
        Assert.Equal([$"k-{id}"], leader.Header("Idempotency-Key"));
        Assert.StartsWith("POST /v1/trades ", Assert.Single(leader.RequestHeads), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTradeAsync_HttpClientThatFollowsRedirectsItself_SentAgainWithTheKeyWarnedAndWrittenOnce()
    {
        await using var leader = new FaultyProxy(server.BaseAddress, new ProxySettings(OneRequestPerConnection: true));
        await using var follower = new FaultyProxy(server.BaseAddress, new ProxySettings(RedirectTo: leader.Address), ProxyFault.RedirectToServer);
        using var http = new HttpClient(); // .NET's default handler follows the 307 and drops Authorization
        var logger = new FakeLogger<TradeStoreClient>();
        var client = new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = follower.Address, ApiKey = server.ApiKey }, logger);
        var id = $"KAUTO-{Guid.NewGuid():N}";

        var trade = await client.CreateTradeAsync(new NewTrade(id, "ACC-K", "AAPL", TradeSide.Sell, 5m, 6m), idempotencyKey: $"k-{id}", cancellationToken: Ct);

        Assert.Equal((id, 5m), (trade.TradeId, trade.Quantity));
        Assert.Equal([null, $"Bearer {server.ApiKey}"], leader.Header("Authorization")); // the handler's own hop, then the client's
        Assert.Equal([$"k-{id}", $"k-{id}"], leader.Header("Idempotency-Key"));
        Assert.Contains("AllowAutoRedirect = false", Assert.Single(logger.Messages(1502)), StringComparison.Ordinal);
        var history = await new TradeStoreClient(new TradeStoreClientOptions { BaseAddress = server.BaseAddress, ApiKey = server.ApiKey }).HistoryAsync(id, Ct);
        Assert.Equal($"k-{id}", Assert.Single(history.Items).IdempotencyKey);
    }

    [Fact]
    public async Task CreateTradeAsync_WrongKeyThroughAnAutoRedirectingHttpClient_Throws401AfterOneResend()
    {
        await using var leader = new FaultyProxy(server.BaseAddress, new ProxySettings(OneRequestPerConnection: true));
        await using var follower = new FaultyProxy(server.BaseAddress, new ProxySettings(RedirectTo: leader.Address), ProxyFault.RedirectToServer);
        using var http = new HttpClient();
        var client = new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = follower.Address, ApiKey = "ts_nobody_wrong" });

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade($"KW-{Guid.NewGuid():N}", "ACC-K", "AAPL", TradeSide.Buy, 1m, 1m), cancellationToken: Ct));

        Assert.Equal(401, problem.Status);
        Assert.Equal([null, "Bearer ts_nobody_wrong"], leader.Header("Authorization"));
    }
}
