using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse;

/// <summary>Registers the ClickHouse sync daemon; call only when ClickHouse is configured (<c>ClickHouse:Url</c> set).</summary>
public static class ClickHouseServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="ClickHouseSyncService"/>, its state (read by readiness) and the <see cref="SyncSignal"/>,
    /// registered as an <see cref="ICommitObserver"/> so every commit wakes the daemon at once. Needs a registered
    /// <see cref="ClickHouseClient"/> and <c>DuckDbDatabase</c>.
    /// </summary>
    public static IServiceCollection AddClickHouseSync(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SyncSignal>();
        services.AddSingleton<ICommitObserver>(sp => sp.GetRequiredService<SyncSignal>());
        services.TryAddSingleton<ClickHouseSyncState>();
        services.TryAddSingleton<ClickHouseMetrics>();
        services.AddHostedService<ClickHouseSyncService>();
        return services;
    }
}
