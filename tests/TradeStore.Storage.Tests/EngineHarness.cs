using Microsoft.Extensions.Logging;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>A real WriteEngine on a real DuckDB file in a temp directory, which a test can stop and reopen.</summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("engine");
    private readonly TestMeters _meters = new();
    private readonly EngineOptions _options;
    private readonly ICommitObserver[] _observers;
    private readonly ILogger<WriteEngine>? _logger;
    private readonly TimeProvider? _time;
    private readonly IJournalReplication? _replication;

    private EngineHarness(EngineOptions options, ICommitObserver[] observers, ILogger<WriteEngine>? logger = null, TimeProvider? time = null,
        IJournalReplication? replication = null)
    {
        _replication = replication;
        _time = time;
        _options = options;
        _observers = observers;
        _logger = logger;
    }

    /// <summary>The database, once it holds every acknowledged event (DuckDB trails the journal log by the apply lag).</summary>
    public DuckDbDatabase Database
    {
        get
        {
            Engine?.WaitApplied(Engine.LastSeq, TimeSpan.FromSeconds(30));
            return DatabaseAsIs;
        }
    }

    /// <summary>The database as it is now, without waiting for DuckDB to catch up.</summary>
    public DuckDbDatabase DatabaseAsIs { get; private set; } = null!;

    public StateIndex Index { get; private set; } = null!;

    public WriteEngine Engine { get; private set; } = null!;

    public TradeQueries Queries { get; private set; } = null!;

    public static EngineHarness Start(EngineOptions? options = null, params ICommitObserver[] observers)
    {
        var harness = new EngineHarness(options ?? new EngineOptions(), observers);
        harness.Open();
        return harness;
    }

    /// <summary>A started harness whose engine runs on <paramref name="time"/> (a FakeTimeProvider moves it).</summary>
    public static EngineHarness Start(EngineOptions options, TimeProvider time)
    {
        var harness = new EngineHarness(options, [], time: time);
        harness.Open();
        return harness;
    }

    /// <summary>A started harness whose engine is a cluster leader replicating through <paramref name="replication"/>.</summary>
    public static EngineHarness StartLeader(IJournalReplication replication, params ICommitObserver[] observers)
    {
        var harness = new EngineHarness(new EngineOptions(), observers, replication: replication);
        harness.Open();
        return harness;
    }

    /// <summary>A started harness whose engine logs to <paramref name="logger"/>.</summary>
    public static EngineHarness Start(EngineOptions options, ILogger<WriteEngine> logger)
    {
        var harness = new EngineHarness(options, [], logger);
        harness.Open();
        return harness;
    }

    /// <summary>
    /// Copies the database file, its WAL and the journal log into <paramref name="directory"/> while the engine runs:
    /// what a SIGKILL at this moment leaves on disk (every acknowledged event is in the log and, once applied, in the
    /// WAL; nothing the engine would do at a clean stop happened). Waits for DuckDB to hold every acknowledged event
    /// first, so the copy of the database is of a quiet moment. Call it while no command is in flight. Returns the
    /// copy's database path.
    /// </summary>
    public string CopyFilesAsIfKilled(string directory)
    {
        Assert.True(Engine.WaitApplied(Engine.LastSeq, TimeSpan.FromSeconds(30)), "DuckDB did not catch up with the journal log");
        var log = JournalLog.DirectoryFor(Database.Path);
        var logCopy = JournalLog.DirectoryFor(Path.Combine(directory, "tradestore.duckdb"));
        RunningLogCopy.CopyFiles(log, logCopy);

        var target = Path.Combine(directory, "tradestore.duckdb");
        File.Copy(Database.Path, target);
        var wal = Database.Path + ".wal";
        if (File.Exists(wal))
        {
            File.Copy(wal, target + ".wal");
        }

        return target;
    }

    public ValueTask<CommandResult> Submit(TradeCommand command) => Engine.SubmitAsync(command, TestContext.Current.CancellationToken);

    /// <summary>Stops the engine (drain, checkpoint), closes the file, and opens it again: a clean restart.</summary>
    public async Task RestartAsync()
    {
        await CloseAsync();
        Open();
    }

    /// <summary>A single value read from DuckDB, once it holds every acknowledged event (it trails the journal log).</summary>
    public long Scalar(string sql)
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _meters.Dispose();
        _directory.Dispose();
    }

    private void Open()
    {
        DatabaseAsIs = DuckDbDatabase.Open(_directory.DatabasePath);
        DuckDbSchema.MigrateToLatest(DatabaseAsIs);
        Index = new StateIndex();
        Engine = new WriteEngine(DatabaseAsIs, Index, _options, _meters.Factory, _observers, _logger, _time) { Replication = _replication };
        Queries = new TradeQueries(DatabaseAsIs, Index, Engine);
        Engine.Start();
    }

    private async Task CloseAsync()
    {
        if (Engine is not null)
        {
            await Engine.DisposeAsync();
        }

        DatabaseAsIs?.Dispose();
    }
}
