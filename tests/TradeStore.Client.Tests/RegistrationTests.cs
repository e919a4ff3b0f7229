using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace TradeStore.Client.Tests;

/// <summary><c>services.AddTradeStoreClient(...)</c>: a working typed client from <c>IHttpClientFactory</c>, bad options refused.</summary>
public sealed class RegistrationTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Fact]
    public async Task AddTradeStoreClient_Configured_ResolvesAClientThatTalksToTheServer()
    {
        var services = new ServiceCollection();
        services.AddTradeStoreClient(o => o.BaseAddress = server.BaseAddress);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<TradeStoreClient>();
        var id = $"DI-{Guid.NewGuid():N}";

        await client.CreateTradeAsync(new NewTrade(id, "ACC-DI", "AAPL", TradeSide.Buy, 1m, 1m), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(id, (await client.GetTradeAsync(id, TestContext.Current.CancellationToken)).TradeId);
    }

    [Theory]
    [InlineData("localhost:5080", "BaseAddress")]
    [InlineData("ftp://127.0.0.1/", "BaseAddress")]
    public void AddTradeStoreClient_BadBaseAddress_RefusedNamingTheOption(string address, string option)
    {
        var services = new ServiceCollection();
        services.AddTradeStoreClient(o => o.BaseAddress = new Uri(address, UriKind.RelativeOrAbsolute));
        using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IOptions<TradeStoreClientOptions>>().Value);

        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ts_abc_def\n")]
    [InlineData(" ts_abc_def")]
    [InlineData("ts_abc def")]
    [InlineData("ts_ключ")]
    public void Constructor_ApiKeyHttpCannotCarry_RefusedNamingTheOptionWithoutShowingTheKey(string key)
    {
        using var http = new HttpClient();

        // Before: accepted; each call then failed with a FormatException, or (non-ASCII) an HttpRequestException retried
        // as a broken connection, which made a write "in doubt" though nothing was sent.
        var error = Assert.Throws<ArgumentException>(() => new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = server.BaseAddress, ApiKey = key }));

        Assert.Equal("ApiKey", error.ParamName);
        Assert.DoesNotContain(key.Trim(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyEmpty_IsNoKey_OnTheKeylessServer()
    {
        var client = new TradeStoreClient(new HttpClient(TradeStoreClient.NewHandler()), new TradeStoreClientOptions { BaseAddress = server.BaseAddress, ApiKey = "" });
        var id = $"NOKEY-{Guid.NewGuid():N}";

        await client.CreateTradeAsync(new NewTrade(id, "ACC-DI", "AAPL", TradeSide.Buy, 1m, 1m), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(id, (await client.GetTradeAsync(id, TestContext.Current.CancellationToken)).TradeId);
    }

    [Fact]
    public async Task TradesAsync_PageSizeAboveTheServersMaxPageSize_ProblemNamesPageSize()
    {
        var client = server.Client(configure: o => o.PageSize = 5000);

        // Before: 400 naming 'limit', a query parameter the caller never wrote.
        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(async () =>
        {
            await foreach (var trade in client.TradesAsync(cancellationToken: TestContext.Current.CancellationToken))
            {
            }
        });

        Assert.Equal((400, "PageSize"), (problem.Status, problem.Field));
        Assert.Contains("PageSize 5000 is more than this server allows", problem.Message, StringComparison.Ordinal);
        Assert.Contains("Api:MaxPageSize", problem.Message, StringComparison.Ordinal);
        Assert.Equal("limit", Assert.IsType<TradeStoreProblemException>(problem.InnerException).Field);
    }

    [Fact]
    public async Task HistoryAsync_PageSizeAboveTheServersMaxPageSize_ProblemNamesPageSize()
    {
        // 102 events: more than the server's first page (Api:DefaultPageSize, 100), asked for without limit.
        var id = $"HPS-{Guid.NewGuid():N}";
        var commands = new List<BatchCommand> { BatchCommand.Create(new NewTrade(id, "ACC-DI", "AAPL", TradeSide.Buy, 1000m, 1m)) };
        commands.AddRange(Enumerable.Range(1, 101).Select(v => BatchCommand.Amend(id, new Amendment(v, Price: 1m + v))));
        Assert.Equal(0, (await server.Client().BatchAsync(commands, TestContext.Current.CancellationToken)).Failed);
        var client = server.Client(configure: o => o.PageSize = 5000);

        var problem = await Assert.ThrowsAsync<TradeStoreProblemException>(() => client.HistoryAsync(id, TestContext.Current.CancellationToken));

        Assert.Equal((400, "PageSize"), (problem.Status, problem.Field));
        Assert.Contains("PageSize 5000 is more than this server allows", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(25.0)]
    [InlineData(double.PositiveInfinity)]
    public void Constructor_TimeoutBeyondWhatATimerTakes_RefusedNamingTheOption(double days)
    {
        // Before: taken, and every call then threw "ArgumentOutOfRangeException: Specified argument was out of the range
        // of valid values. (Parameter 'delay')", a parameter the caller never set. TimeSpan.MaxValue (infinity here) is
        // what "no limit" looks like in most code; Timeout.InfiniteTimeSpan is the one this option takes.
        var timeout = double.IsInfinity(days) ? TimeSpan.MaxValue : TimeSpan.FromDays(days);
        using var http = new HttpClient();

        var error = Assert.Throws<ArgumentException>(() => new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = server.BaseAddress, Timeout = timeout }));

        Assert.Equal("Timeout", error.ParamName);
        Assert.Contains("Timeout.InfiniteTimeSpan", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_PageSizeZero_RefusedNamingTheOption()
    {
        using var http = new HttpClient();

        var error = Assert.Throws<ArgumentException>(() => new TradeStoreClient(http, new TradeStoreClientOptions { BaseAddress = server.BaseAddress, PageSize = 0 }));

        Assert.Equal("PageSize", error.ParamName);
    }
}
