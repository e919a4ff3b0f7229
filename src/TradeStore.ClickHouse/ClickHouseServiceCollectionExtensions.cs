using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse.Migrations;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Lifetime;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;

namespace TradeStore.ClickHouse;

/// <summary>Registers the ClickHouse adapter; call only when ClickHouse is configured (<c>ClickHouse:Url</c> set).</summary>
public static class ClickHouseServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="ClickHouseClient"/> (over the named <see cref="HttpClient"/> with
    /// <see cref="ClickHouseClient.CreateHandler"/> and <see cref="ClickHouseOptions.Timeout"/>) and the
    /// <see cref="ClickHouseSchemaMigrator"/>, the one owner of the ClickHouse schema. The host, every command and
    /// <see cref="ClickHouseClient.Create"/> build the client here. Needs <see cref="IOptions{ClickHouseOptions}"/>
    /// (and <see cref="IOptions{StorageOptions}"/> for the migrator's AutoMigrate).
    /// </summary>
    public static IServiceCollection AddTradeStoreClickHouse(this IServiceCollection services)
    {
        services.AddHttpClient(ClickHouseClient.HttpClientName)
            .ConfigureHttpClient((sp, client) => client.Timeout = sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Timeout)
            .ConfigurePrimaryHttpMessageHandler(ClickHouseClient.CreateHandler);
        services.TryAddSingleton<ClickHouseClient>();
        services.TryAddSingleton<ClickHouseSchemaMigrator>();
        return services;
    }

    /// <summary>
    /// Adds the <see cref="ClickHouseSyncService"/>, its state (read by readiness) and the <see cref="SyncSignal"/>,
    /// registered as an <see cref="ICommitObserver"/> so every commit wakes the daemon at once, and its shutdown step
    /// (<see cref="ShutdownStage.FlushSinks"/>: stopped after the engine drained, its final flush sends everything).
    /// Needs <see cref="AddTradeStoreClickHouse"/> and a registered <c>DuckDbDatabase</c>.
    /// </summary>
    public static IServiceCollection AddClickHouseSync(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SyncSignal>();
        services.AddSingleton<ICommitObserver>(sp => sp.GetRequiredService<SyncSignal>());
        services.TryAddSingleton<ClickHouseSyncState>();
        services.AddMetrics();
        services.TryAddSingleton<ClickHouseMetrics>();
        services.TryAddSingleton<ClickHouseSyncService>();
        services.AddHostedService(sp => sp.GetRequiredService<ClickHouseSyncService>());
        services.AddSingleton(sp => new ShutdownStep(ShutdownStage.FlushSinks, "clickhouse sync",
            token => sp.GetRequiredService<ClickHouseSyncService>().StopAsync(token)));
        return services;
    }
}
