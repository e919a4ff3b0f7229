using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Redis.Projection;
using TradeStore.Storage.Journal;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Redis.Tests;

/// <summary>The real WriteEngine on a fresh DuckDB file, with a Redis projector as its commit observer.</summary>
public sealed class EngineScope : IAsyncDisposable
{
    private readonly Dictionary<string, Trade> _states = new(StringComparer.Ordinal);

    private readonly TestMeters _meters;

    private EngineScope(DuckDbDatabase database, RedisConnection connection, RedisProjector projector, WriteEngine engine, TestMeters meters)
    {
        _meters = meters;
        Database = database;
        Connection = connection;
        Projector = projector;
        Engine = engine;
    }

    public DuckDbDatabase Database { get; }

    public RedisConnection Connection { get; }

    public RedisProjector Projector { get; }

    public WriteEngine Engine { get; }

    public IReadOnlyDictionary<string, Trade> States => _states;

    /// <summary>Commands the engine refused for a reason other than the lifecycle rules (storage, unavailable, busy).</summary>
    public List<CommandError> Failures { get; } = [];

    /// <param name="startProjector">Start the projector too; <see langword="false"/>: as on a cluster follower, where it does not run.</param>
    public static async Task<EngineScope> StartAsync(RedisScope redis, string databasePath, int maxBatchSize = 1000, bool startProjector = true)
    {
        var database = DuckDbDatabase.Open(databasePath);
        DuckDbSchema.MigrateToLatest(database);
        var connection = redis.Connection();
        var published = new PublishedJournal(database);
        var projector = redis.Projector(database, connection, maxBatchSize, published);
        var meters = new TestMeters();
        var engine = new WriteEngine(database, new StateIndex(), new EngineOptions(), meters.Factory, [projector]) { Published = published };
        engine.Start();
        if (startProjector)
        {
            await projector.StartAsync(TestContext.Current.CancellationToken);
        }

        return new EngineScope(database, connection, projector, engine, meters);
    }

    /// <summary>Submits the commands concurrently (so the engine groups them into batches) and records the outcomes.</summary>
    public async Task SubmitAsync(IEnumerable<TradeCommand> commands)
    {
        var results = await Task.WhenAll(commands.Select(c => Engine.SubmitAsync(c, TestContext.Current.CancellationToken).AsTask()));
        foreach (var result in results)
        {
            if (result.Trade is { } trade)
            {
                _states[trade.TradeId] = trade;
            }
            else if (result.Error is { Kind: CommandErrorKind.StorageFailure or CommandErrorKind.Unavailable or CommandErrorKind.Busy } error)
            {
                Failures.Add(error);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Projector.StopAsync(CancellationToken.None);
        await Engine.DisposeAsync();
        Projector.Dispose();
        await Connection.DisposeAsync();
        Database.Dispose();
        _meters.Dispose();
    }
}
