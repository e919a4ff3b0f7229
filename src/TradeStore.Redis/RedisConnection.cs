using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TradeStore.Core.Options;

namespace TradeStore.Redis;

/// <summary>
/// The process's one multiplexer to Redis. It connects in the background and never throws at start-up:
/// Redis is derived state, so TradeStore serves (degraded) while Redis is away.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _multiplexer;

    public RedisConnection(IOptions<RedisOptions> options)
    {
        var redis = options.Value;
        if (!redis.Enabled)
        {
            throw new InvalidOperationException("Redis is not configured (Redis:Connection is unset).");
        }

        var configuration = ConfigurationOptions.Parse(redis.Connection!);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = (int)redis.HealthTimeout.TotalMilliseconds * 5;
        configuration.ClientName = "tradestore";
        if (redis.Password is { Length: > 0 } password)
        {
            configuration.Password = password;
        }

        Endpoint = string.Join(",", configuration.EndPoints.Select(e => e.ToString()));
        _multiplexer = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(configuration));
    }

    /// <summary>
    /// A connection outside a host (command-line tools, the bench), built the one way every connection is built:
    /// <see cref="RedisServiceCollectionExtensions.AddTradeStoreRedis"/> over its own small container. The caller disposes it.
    /// </summary>
    public static RedisConnection Create(RedisOptions options) =>
        new ServiceCollection()
            .AddSingleton(Options.Create(options))
            .AddTradeStoreRedis()
            .BuildServiceProvider()
            .GetRequiredService<RedisConnection>();

    /// <summary>The configured endpoints, without credentials.</summary>
    public string Endpoint { get; }

    public async Task<IDatabase> GetDatabaseAsync() => (await _multiplexer.Value).GetDatabase();

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated)
        {
            var multiplexer = await _multiplexer.Value;
            await multiplexer.DisposeAsync();
        }
    }
}
