using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TradeStore.Core.Lifetime;
using TradeStore.Core.Trades;
using TradeStore.Redis.Projection;

namespace TradeStore.Redis;

/// <summary>Registers the Redis adapter; call only when Redis is configured (<c>Redis:Connection</c> set).</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Adds the process's one <see cref="RedisConnection"/> and its shutdown step (<see cref="ShutdownStage.Close"/>:
    /// the multiplexer closes after the sinks flushed). The host and every command build the connection here.
    /// Needs <see cref="Microsoft.Extensions.Options.IOptions{RedisOptions}"/>.
    /// </summary>
    public static IServiceCollection AddTradeStoreRedis(this IServiceCollection services)
    {
        services.TryAddSingleton<RedisConnection>();
        services.AddSingleton(sp => new ShutdownStep(ShutdownStage.Close, "redis connection",
            async _ => await sp.GetRequiredService<RedisConnection>().DisposeAsync()));
        return services;
    }

    /// <summary>
    /// Adds the <see cref="RedisProjector"/>: told of every commit (<see cref="ICommitObserver"/>), run as a hosted
    /// service, and stopped at <see cref="ShutdownStage.FlushSinks"/>, after the engine drained, so its final flush
    /// holds every committed event. Needs <see cref="AddTradeStoreRedis"/> and a registered <c>DuckDbDatabase</c>.
    /// </summary>
    public static IServiceCollection AddTradeStoreRedisProjection(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<RedisMetrics>();
        services.TryAddSingleton<RedisProjector>();
        services.AddSingleton<ICommitObserver>(sp => sp.GetRequiredService<RedisProjector>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisProjector>());
        services.AddSingleton(sp => new ShutdownStep(ShutdownStage.FlushSinks, "redis projection",
            token => sp.GetRequiredService<RedisProjector>().StopAsync(token)));
        return services;
    }
}
