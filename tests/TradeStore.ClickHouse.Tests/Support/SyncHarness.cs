using Microsoft.Extensions.Logging.Testing;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Options;
using TradeStore.Storage.Journal;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>
/// The real pieces of the write path and the sync, in-process: a DuckDB file, the WriteEngine (telling the
/// <see cref="SyncSignal"/> of each commit, as the host wires it) and the <see cref="ClickHouseSyncService"/>
/// against a real ClickHouse (or a proxy in front of it). Fast timings so faults resolve within a test.
/// </summary>
internal sealed class SyncHarness : IAsyncDisposable
{
    private readonly TempDirectory? _ownDirectory;
    private bool _syncStopped;

    private readonly TestMeters _meters;

    private SyncHarness(string dataDirectory, TempDirectory? ownDirectory, DuckDbDatabase database, WriteEngine engine, StateIndex index, SyncSignal signal,
        ClickHouseSyncState state, ClickHouseSyncService service, FakeLogger<ClickHouseSyncService> logger, ClickHouseOptions options, TestMeters meters)
    {
        _meters = meters;
        DataDirectory = dataDirectory;
        _ownDirectory = ownDirectory;
        Database = database;
        Engine = engine;
        Queries = new TradeQueries(database, index);
        Signal = signal;
        State = state;
        Service = service;
        Logger = logger;
        Options = options;
    }

    public DuckDbDatabase Database { get; }

    public WriteEngine Engine { get; }

    public TradeQueries Queries { get; }

    public SyncSignal Signal { get; }

    public ClickHouseSyncState State { get; }

    public ClickHouseSyncService Service { get; }

    public FakeLogger<ClickHouseSyncService> Logger { get; }

    public ClickHouseOptions Options { get; }

    public string DataDirectory { get; }

    /// <summary>The options the harness uses unless <c>configure</c> changes them: small batches, short flush and backoff.</summary>
    public static ClickHouseOptions DefaultOptions(string url, string database) => new()
    {
        Url = url,
        Database = database,
        Timeout = TimeSpan.FromSeconds(5),
        Sync = new SyncOptions
        {
            BatchMin = 50,
            BatchMax = 2_000,
            FlushInterval = TimeSpan.FromMilliseconds(20),
            BackoffMin = TimeSpan.FromMilliseconds(50),
            BackoffMax = TimeSpan.FromMilliseconds(400),
        },
    };

    /// <param name="dataDirectory">Where the database lives; a temporary directory (deleted on dispose) when <see langword="null"/>.</param>
    public static async Task<SyncHarness> StartAsync(string url, string database, Action<ClickHouseOptions>? configure = null, bool autoMigrate = true, string? dataDirectory = null)
    {
        var options = DefaultOptions(url, database);
        configure?.Invoke(options);
        var own = dataDirectory is null ? new TempDirectory("chsync") : null;
        var directory = dataDirectory ?? own!.Path;
        var db = DuckDbDatabase.Open(System.IO.Path.Combine(directory, StorageOptions.DatabaseFileName));
        DuckDbSchema.MigrateToLatest(db);
        var signal = new SyncSignal();
        var index = new StateIndex();
        var meters = new TestMeters();
        var published = new PublishedJournal(db);
        var engine = new WriteEngine(db, index, new EngineOptions(), meters.Factory, [signal]) { Published = published };
        engine.Start();
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        var state = new ClickHouseSyncState(signal, wrapped, TimeProvider.System);
        var logger = new FakeLogger<ClickHouseSyncService>();
        var service = new ClickHouseSyncService(ClickHouseClient.Create(options), db, published, signal, state, new ClickHouseMetrics(state, meters.Factory), wrapped,
            Microsoft.Extensions.Options.Options.Create(new StorageOptions { AutoMigrate = autoMigrate }), TimeProvider.System, logger);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return new SyncHarness(directory, own, db, engine, index, signal, state, service, logger, options, meters);
    }

    /// <summary>
    /// Waits until the daemon's checkpoint reaches the journal's last seq, then until DuckDB holds it too: the sync
    /// reads what DuckDB lacks from the applier's memory, so ClickHouse can be ahead of DuckDB by up to
    /// <c>Engine:ApplyInterval</c>, and the tests compare the two.
    /// </summary>
    public async Task WaitUntilSyncedAsync(TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(
            () => State.Snapshot() is { Checkpoint: var c } && c == Engine.LastSeq && Engine.LastSeq > 0,
            timeout ?? TimeSpan.FromSeconds(30),
            () => $"checkpoint {State.Snapshot().Checkpoint}, journal {Engine.LastSeq}, last error {State.Snapshot().LastError}");
        var last = Engine.LastSeq;
        Assert.True(Engine.WaitApplied(last, timeout ?? TimeSpan.FromSeconds(30)), $"DuckDB did not reach seq {last}: it holds {Engine.AppliedSeq}");
    }

    /// <summary>Stops the sync daemon (as at shutdown), leaving the engine and database open.</summary>
    public async Task StopSyncAsync()
    {
        if (!_syncStopped)
        {
            _syncStopped = true;
            await Service.StopAsync(CancellationToken.None);
        }
    }

    public long Scalar(string sql)
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await StopSyncAsync();
        Service.Dispose();
        await Engine.DisposeAsync();
        Database.Dispose();
        _meters.Dispose();
        _ownDirectory?.Dispose();
    }
}
