using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>Registers the write engine, the state index and the queries over a registered <see cref="DuckDbDatabase"/>.</summary>
public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ITradeCommands"/> (the <see cref="WriteEngine"/>), <see cref="ITradeQueries"/> and the hosted
    /// service that starts and drains the engine. Every registered <see cref="ICommitObserver"/> is told of each event
    /// once it is durable (and, with synchronous replicas, acknowledged by the cluster), and reads the journal through the
    /// registered <see cref="Journal.IJournalSource"/>, the engine's <see cref="Journal.PublishedJournal"/>. A registered <see cref="CommitLog.JournalLog"/> is the engine's journal log; without one the engine
    /// opens the log beside the database with fsync durability.
    /// </summary>
    public static IServiceCollection AddTradeStoreEngine(this IServiceCollection services)
    {
        services.AddOptions<EngineOptions>();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StateIndex>();
        services.TryAddSingleton(sp => new Journal.PublishedJournal(sp.GetRequiredService<DuckDbDatabase>()));
        services.TryAddSingleton<Journal.IJournalSource>(sp => sp.GetRequiredService<Journal.PublishedJournal>());
        services.TryAddSingleton(sp => new WriteEngine(
            sp.GetRequiredService<DuckDbDatabase>(),
            sp.GetRequiredService<StateIndex>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value,
            sp.GetRequiredService<IMeterFactory>(),
            sp.GetServices<ICommitObserver>(),
            sp.GetService<ILogger<WriteEngine>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<CommitLog.JournalLog>())
        {
            Replication = sp.GetService<IJournalReplication>(),
            Published = sp.GetRequiredService<Journal.PublishedJournal>(),
        });
        services.TryAddSingleton<ITradeCommands>(sp => sp.GetRequiredService<WriteEngine>());
        services.TryAddSingleton(sp => new TradeQueries(
            sp.GetRequiredService<DuckDbDatabase>(), sp.GetRequiredService<StateIndex>(), sp.GetRequiredService<WriteEngine>()));
        services.TryAddSingleton<ITradeQueries>(sp => sp.GetRequiredService<TradeQueries>());
        services.AddHostedService<WriteEngineService>();
        return services;
    }
}
