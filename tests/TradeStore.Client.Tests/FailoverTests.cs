using Microsoft.Extensions.Logging.Testing;
using TradeStore.TestSupport;

namespace TradeStore.Client.Tests;

/// <summary>
/// What a caller sees while a cluster changes leader, shown with real sockets: a proxy that relays a write to the real
/// server and then dies before the answer leaves (a leader killed right after applying), a follower's 307 to a leader
/// that is gone, and the 503s of an election. The client must never report a write that may have been applied as
/// "not applied", and its retries must go back to the address it was configured with, which redirects to whoever
/// leads now.
/// </summary>
public sealed class FailoverTests(LiveServer server) : IClassFixture<LiveServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateTradeAsync_AppliedThenNodeDiesAndRetriesAreRefused_ThrowsInDoubtWithTheKeyAndARetryWithItReplays()
    {
        await using var dying = new FaultyProxy(server.BaseAddress, ProxyFault.DropAnswerAndStop);
        var client = server.Client(dying.Address, o => (o.MaxRetries, o.MaxRetryDelay) = (2, TimeSpan.Zero));
        var id = $"DIE-{Guid.NewGuid():N}";
        var order = new NewTrade(id, "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m);

        var inDoubt = await Assert.ThrowsAsync<TradeStoreInDoubtException>(() => client.CreateTradeAsync(order, idempotencyKey: $"k-{id}", cancellationToken: Ct));

        TestContext.Current.TestOutputHelper?.WriteLine(inDoubt.Message);
        Assert.Equal($"k-{id}", inDoubt.IdempotencyKey);
        Assert.IsAssignableFrom<TimeoutException>(inDoubt); // what "applied or not, unknown" was caught as before
        var refused = Assert.IsType<HttpRequestException>(inDoubt.InnerException);
        Assert.Equal(HttpRequestError.ConnectionError, refused.HttpRequestError); // the last attempt alone would say "not applied"
        Assert.Contains($"k-{id}", inDoubt.Message, StringComparison.Ordinal);
        Assert.Contains("may have been applied", inDoubt.Message, StringComparison.Ordinal);
        var applied = await server.Client().CreateTradeAsync(order, idempotencyKey: $"k-{id}", cancellationToken: Ct);
        Assert.Equal(1, applied.Version);
        Assert.Equal($"k-{id}", Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items).IdempotencyKey);
    }

    [Fact]
    public async Task BatchAsync_LazyCommandsAppliedThenNodeDies_InDoubtCarriesTheCommandsAsSentAndSendingThemAgainFillsOnce()
    {
        var id = $"BDIE-{Guid.NewGuid():N}";
        await server.Client().CreateTradeAsync(new NewTrade(id, "ACC-F", "AAPL", TradeSide.Buy, 10m, 100m), cancellationToken: Ct);
        await using var dying = new FaultyProxy(server.BaseAddress, ProxyFault.DropAnswerAndStop);
        var client = server.Client(dying.Address, o => (o.MaxRetries, o.MaxRetryDelay) = (1, TimeSpan.Zero));
        var fills = new[] { 3m }.Select(quantity => BatchCommand.Fill(id, quantity, 100m)); // lazy: new commands, new keys, each time

        var inDoubt = await Assert.ThrowsAsync<TradeStoreInDoubtException>(() => client.BatchAsync(fills, Ct));

        Assert.Null(inDoubt.IdempotencyKey);
        Assert.Contains("BatchCommands", inDoubt.Message, StringComparison.Ordinal);
        var sent = Assert.Single(inDoubt.BatchCommands!);
        Assert.Equal(sent.IdempotencyKey, (await server.Client().HistoryAsync(id, Ct)).Items[^1].IdempotencyKey);
        var again = await server.Client().BatchAsync(inDoubt.BatchCommands!, Ct);
        Assert.Equal((200, true), (again.Results[0].Status, again.Results[0].Replayed));
        Assert.Equal(3m, (await server.Client().GetTradeAsync(id, Ct)).FilledQuantity); // applied once
    }

    [Fact]
    public async Task BatchAsync_AnswerLostThenNoLeader_InDoubtProblemCarriesTheCommandsAsSent()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.DropAnswer, ProxyFault.NoLeader);
        var client = server.Client(proxy.Address, o => (o.MaxRetries, o.MaxRetryDelay) = (1, TimeSpan.Zero));
        var id = $"BLOST-{Guid.NewGuid():N}";

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.BatchAsync([BatchCommand.Create(new NewTrade(id, "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m))], Ct));

        Assert.True(problem.IsInDoubt);
        var again = await server.Client().BatchAsync(problem.BatchCommands!, Ct);
        Assert.Equal((201, true), (again.Results[0].Status, again.Results[0].Replayed));
        Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items);
    }

    [Fact]
    public async Task CreateTradeAsync_RefusedOnEveryAttempt_ThrowsTheConnectionErrorNotInDoubt()
    {
        using var nothing = new RefusingPort();
        var client = server.Client(new Uri($"http://127.0.0.1:{nothing.Port}"), o => (o.MaxRetries, o.MaxRetryDelay) = (1, TimeSpan.Zero));

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.CreateTradeAsync(new NewTrade($"NONE-{Guid.NewGuid():N}", "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct));

        Assert.Equal(HttpRequestError.ConnectionError, refused.HttpRequestError);
    }

    [Fact]
    public async Task CreateTradeAsync_FollowerRedirectsToADeadLeader_RetryGoesBackToTheFollowerWithBodyAndKeyAndWritesOnce()
    {
        using var deadLeader = new RefusingPort();
        await using var follower = new FaultyProxy(server.BaseAddress,
            new ProxySettings(RedirectTo: new Uri($"http://127.0.0.1:{deadLeader.Port}"), OneRequestPerConnection: true), ProxyFault.RedirectToServer);
        var logger = new FakeLogger<TradeStoreClient>();
        var client = new TradeStoreClient(Http(), new TradeStoreClientOptions { BaseAddress = follower.Address, MaxRetryDelay = TimeSpan.Zero }, logger);
        var id = $"FO-{Guid.NewGuid():N}";

        var trade = await client.CreateTradeAsync(new NewTrade(id, "ACC-F", "AAPL", TradeSide.Sell, 3m, 4m), idempotencyKey: $"k-{id}", cancellationToken: Ct);

        Assert.Equal((id, 3m, 1L), (trade.TradeId, trade.Quantity, trade.Version));
        Assert.Equal([$"k-{id}", $"k-{id}"], follower.Header("Idempotency-Key")); // the 307'd attempt, then the retry at the follower
        Assert.All(follower.RequestHeads, head => Assert.StartsWith("POST /v1/trades ", head, StringComparison.Ordinal));
        Assert.Equal($"k-{id}", Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items).IdempotencyKey);
        var retry = Assert.Single(logger.Messages(1500));
        Assert.Contains("ConnectionError", retry, StringComparison.Ordinal);
        Assert.Contains($"at {follower.Address}", retry, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTradeAsync_LeadershipLost_ProblemIsInDoubt()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.LeadershipLost);
        var client = server.Client(proxy.Address, o => o.MaxRetries = 0);

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade($"LL-{Guid.NewGuid():N}", "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct));

        Assert.Equal((503, "urn:tradestore:problem:leadership-lost"), (problem.Status, problem.Type));
        Assert.True(problem.IsInDoubt);
    }

    /// <summary>Was a bare <see cref="System.Text.Json.JsonException"/> ("'&lt;' is an invalid start of a value"), saying neither which request nor what came.</summary>
    [Fact]
    public async Task AnswerNotJson_ProblemSaysSoAndWhere_InDoubtForAWriteOnly()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.LoginPage, ProxyFault.LoginPage);
        var client = server.Client(proxy.Address, o => o.MaxRetries = 0);
        var tradeId = $"HTML-{Guid.NewGuid():N}";

        var read = await Assert.ThrowsAsync<TradeStoreProblemException>(() => client.GetTradeAsync(tradeId, cancellationToken: Ct));
        var write = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade(tradeId, "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct));

        Assert.Equal((200, "Not a TradeStore answer", false), (read.Status, read.Title, read.IsInDoubt));
        Assert.Contains($"GET v1/trades/{tradeId}", read.Message, StringComparison.Ordinal);
        Assert.Contains("text/html", read.Message, StringComparison.Ordinal);
        Assert.Contains("<!doctype html>", read.Message, StringComparison.Ordinal);
        Assert.Equal((200, true), (write.Status, write.IsInDoubt));
        Assert.Contains("POST", write.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTradeAsync_NoLeader_ProblemIsNotInDoubt()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.NoLeader);
        var client = server.Client(proxy.Address, o => o.MaxRetries = 0);

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade($"NL-{Guid.NewGuid():N}", "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct));

        Assert.Equal("urn:tradestore:problem:no-leader", problem.Type);
        Assert.False(problem.IsInDoubt);
    }

    [Fact]
    public async Task CreateTradeAsync_AnswerLostThenNoLeaderToTheEnd_NoLeaderProblemIsInDoubtAndTheRetryLogNamesBoth()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.DropAnswer, ProxyFault.NoLeader);
        var logger = new FakeLogger<TradeStoreClient>();
        var client = new TradeStoreClient(Http(), new TradeStoreClientOptions { BaseAddress = proxy.Address, MaxRetries = 1, MaxRetryDelay = TimeSpan.Zero }, logger);
        var id = $"LOST-{Guid.NewGuid():N}";

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade(id, "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), idempotencyKey: $"k-{id}", cancellationToken: Ct));

        Assert.Equal("urn:tradestore:problem:no-leader", problem.Type); // speaks for the last attempt only
        Assert.True(problem.IsInDoubt); // the first one was applied
        Assert.Contains("may have been applied", problem.Message, StringComparison.Ordinal);
        Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items);
        TestContext.Current.TestOutputHelper?.WriteLine(problem.Message);
        var retry = Assert.Single(logger.Messages(1500));
        TestContext.Current.TestOutputHelper?.WriteLine(retry);
        Assert.Contains("may have been applied", retry, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateTradeAsync_NoLeaderThenLeader_RetryLogNamesTheProblemType()
    {
        await using var proxy = new FaultyProxy(server.BaseAddress, ProxyFault.NoLeader);
        var logger = new FakeLogger<TradeStoreClient>();
        var client = new TradeStoreClient(Http(), new TradeStoreClientOptions { BaseAddress = proxy.Address, MaxRetryDelay = TimeSpan.Zero }, logger);

        await client.CreateTradeAsync(new NewTrade($"NL2-{Guid.NewGuid():N}", "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct);

        Assert.Contains("503 no-leader", Assert.Single(logger.Messages(1500)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("urn:tradestore:problem:leadership-lost", 503, true)]
    [InlineData("urn:tradestore:problem:replication-unavailable", 503, true)]
    [InlineData("urn:tradestore:problem:internal", 500, true)]
    [InlineData("about:blank", 504, true)]
    [InlineData("about:blank", 502, true)]
    [InlineData("urn:tradestore:problem:no-leader", 503, false)]
    [InlineData("urn:tradestore:problem:busy", 503, false)]
    [InlineData("urn:tradestore:problem:seq-not-reached", 503, false)]
    [InlineData("urn:tradestore:problem:version-conflict", 409, false)]
    [InlineData("about:blank", 503, false)]
    public void IsInDoubt_OnlyForProblemsAfterWhichTheWriteMayExist(string type, int status, bool inDoubt)
    {
        var problem = new Problem(type, "t", status, "d");

        Assert.Equal(inDoubt, problem.IsInDoubt);
        Assert.Equal(inDoubt, TradeStoreProblemException.For(problem).IsInDoubt);
    }

    [Fact]
    public void Defaults_RetryLongerThanAFailoverWithABoundedAttempt()
    {
        var options = new TradeStoreClientOptions();

        Assert.Equal(8, options.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(15), options.Timeout);
    }

    private static HttpClient Http() => new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };

    [Fact]
    public async Task RedirectLoop_ProblemSaysTooManyRedirectsAndWhere_InDoubtOnlyAfterALostAnswer()
    {
        // Nodes that each name another as the leader: after 5 redirects the client threw "307 Temporary Redirect: " with no
        // detail, and not in doubt even when an earlier attempt had been applied and lost its answer.
        await using (var loop = new FaultyProxy(server.BaseAddress, Enumerable.Repeat(ProxyFault.RedirectToItself, 6).ToArray()))
        {
            var looping = server.Client(loop.Address, o => o.MaxRetries = 0);

            var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() => looping.GetTradeAsync("T-LOOP", Ct));

            Assert.Equal((307, "Too many redirects", false), (problem.Status, problem.Title, problem.IsInDoubt));
            Assert.Contains($"after 5 redirects, the last to {new Uri(loop.Address, "/v1/trades/T-LOOP")}", problem.Detail, StringComparison.Ordinal);
            Assert.Equal(6, loop.RequestHeads.Count);
        }

        var id = $"LOOP-{Guid.NewGuid():N}";
        await using var lost = new FaultyProxy(server.BaseAddress, [ProxyFault.DropAnswer, .. Enumerable.Repeat(ProxyFault.RedirectToItself, 6)]);
        var client = server.Client(lost.Address, o => (o.MaxRetries, o.MaxRetryDelay) = (1, TimeSpan.Zero));

        var afterDrop = await Assert.ThrowsAsync<TradeStoreProblemException>(() =>
            client.CreateTradeAsync(new NewTrade(id, "ACC-F", "AAPL", TradeSide.Buy, 1m, 2m), cancellationToken: Ct));

        Assert.Equal(("Too many redirects", true), (afterDrop.Title, afterDrop.IsInDoubt));
        Assert.Contains("may have been applied", afterDrop.Message, StringComparison.Ordinal);
        Assert.Single((await server.Client().HistoryAsync(id, Ct)).Items);
    }
}
