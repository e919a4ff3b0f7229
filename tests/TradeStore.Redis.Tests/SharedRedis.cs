using StackExchange.Redis;
using TradeStore.TestSupport;

[assembly: AssemblyFixture(typeof(TradeStore.Redis.Tests.SharedRedis))]

namespace TradeStore.Redis.Tests;

/// <summary>
/// The assembly's one connection to the test Redis (<see cref="TestServers.Redis"/>), opened on first use and closed
/// after the last test. Each test still owns its key prefix (<see cref="RedisScope.SharedAsync"/>); only the
/// connection is shared, so the suite does not open and tear down a multiplexer per test.
/// </summary>
public sealed class SharedRedis : IAsyncDisposable
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static ConnectionMultiplexer? _multiplexer;

    /// <summary>The shared multiplexer; skips the test (fails it under <c>CI=true</c>) when the test Redis is not configured.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var endpoint = TestServers.Redis;
        await Gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_multiplexer is null)
            {
                var configuration = ConfigurationOptions.Parse(endpoint);
                configuration.AbortOnConnectFail = false;
                _multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
            }

            return _multiplexer;
        }
        finally
        {
            Gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is { } multiplexer)
        {
            _multiplexer = null;
            await multiplexer.DisposeAsync();
        }
    }
}
