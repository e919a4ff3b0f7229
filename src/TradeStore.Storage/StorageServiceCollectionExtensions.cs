using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Lifetime;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage;

/// <summary>Registers the DuckDB storage: the open database, the write engine over it, and their shutdown steps.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Adds <paramref name="database"/> (opened by the caller, so a locked or damaged file stops start-up before
    /// anything is built; the container closes it), the write engine and queries (<see cref="EngineServiceCollectionExtensions.AddTradeStoreEngine"/>),
    /// and the shutdown steps <see cref="ShutdownStage.DrainEngine"/> and <see cref="ShutdownStage.Checkpoint"/>. The file itself is
    /// closed when the container is disposed, after the host has stopped: tools and tests still read it after a stop.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="database">The open database.</param>
    /// <param name="journalLog">The open journal log, the point of durability the engine appends to (the container closes it).</param>
    public static IServiceCollection AddTradeStoreStorage(this IServiceCollection services, DuckDbDatabase database, CommitLog.JournalLog? journalLog = null)
    {
        // Factory registrations, so the container disposes (closes) the database and the log at shutdown.
        services.AddSingleton(_ => database);
        if (journalLog is not null)
        {
            services.AddSingleton(_ => journalLog);
        }

        services.AddTradeStoreEngine();
        // Not cut short by Server:ShutdownTimeout (WriteEngineService says why).
        services.AddSingleton(sp => new ShutdownStep(ShutdownStage.DrainEngine, "write engine",
            _ => sp.GetRequiredService<WriteEngine>().StopAsync(CancellationToken.None)));
        services.AddSingleton(new ShutdownStep(ShutdownStage.Checkpoint, "duckdb checkpoint", _ =>
        {
            database.Checkpoint();
            return Task.CompletedTask;
        }));
        return services;
    }
}
