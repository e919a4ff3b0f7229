using StackExchange.Redis;
using TradeStore.Core.Options;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

/// <summary>
/// Readiness quoted a projection failure with StackExchange.Redis's whole message: a timeout's ran to ~900 characters of
/// connection counters and a link to its documentation. Each test provokes the real exception from a real server.
/// </summary>
public sealed class RedisErrorTextTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Brief_TimeoutOfAFrozenRedis_SaysWhichCommandTimedOutAndNoMore()
    {
        PrivateRedis.RequireServer();
        using var server = new PrivateRedis();
        await server.StartAsync();
        await using var connection = RedisConnection.Create(new RedisOptions { Connection = $"{server.Endpoint},asyncTimeout=300" });
        var database = await connection.GetDatabaseAsync();
        Assert.True(await database.PingAsync() >= TimeSpan.Zero);
        server.Pause();

        var error = await Assert.ThrowsAsync<RedisTimeoutException>(() => database.StringGetAsync("tradestore-test:frozen"));

        var brief = RedisErrorText.Brief(error);

        // "Timeout awaiting response (outbound=0KiB, inbound=0KiB, 884ms elapsed, timeout is 300ms), command=GET"
        Assert.Matches(@"^Timeout awaiting response \(.*timeout is 300ms\), command=GET$", brief);
        Assert.Contains("IOCP", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Brief_NothingListens_SaysTheConnectionFailedAndWhere()
    {
        using var refusing = new RefusingPort();
        using var multiplexer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{refusing.Port},abortConnect=false,connectTimeout=300,asyncTimeout=500");
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => multiplexer.GetDatabase().StringGetAsync("tradestore-test:away"));

        var brief = RedisErrorText.Brief(error);

        // "The message timed out in the backlog … - Last Connection Exception: UnableToConnect (0-read, 0-sent) on
        // 127.0.0.1:PORT/Interactive, command=GET"
        Assert.Contains($"UnableToConnect (0-read, 0-sent) on 127.0.0.1:{refusing.Port}/Interactive", brief, StringComparison.Ordinal);
        Assert.EndsWith(", command=GET", brief, StringComparison.Ordinal);
        Assert.DoesNotContain("IOCP", brief, StringComparison.Ordinal);
        Assert.Contains("IOCP", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Brief_AnyOtherError_KeepsItsWholeMessage()
    {
        var error = new InvalidOperationException("Redis checkpoint 12 is ahead of the journal (10), see docs, then retry.");

        Assert.Equal(error.Message, RedisErrorText.Brief(error));
    }
}
