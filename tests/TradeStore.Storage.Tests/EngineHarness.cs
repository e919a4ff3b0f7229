using Microsoft.Extensions.Logging;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Migrations;
using TradeStore.TestSupport;

namespace TradeStore.Storage.Tests;

/// <summary>A real WriteEngine on a real DuckDB file in a temp directory, which a test can stop and reopen.</summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("engine");
    private readonly EngineOptions _options;
    private readonly ICommitObserver[] _observers;
    private readonly ILogger<WriteEngine>? _logger;

    private EngineHarness(EngineOptions options, ICommitObserver[] observers, ILogger<WriteEngine>? logger = null)
    {
        _options = options;
        _observers = observers;
        _logger = logger;
    }

    public DuckDbDatabase Database { get; private set; } = null!;

    public StateIndex Index { get; private set; } = null!;

    public WriteEngine Engine { get; private set; } = null!;

    public TradeQueries Queries { get; private set; } = null!;

    public static EngineHarness Start(EngineOptions? options = null, params ICommitObserver[] observers)
    {
        var harness = new EngineHarness(options ?? new EngineOptions(), observers);
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
    /// Copies the database file and its WAL into <paramref name="directory"/> while the engine runs: what a SIGKILL at
    /// this moment leaves on disk (every commit is in the WAL; nothing the engine would do at a clean stop happened).
    /// Call it while no command is in flight. Returns the copy's database path.
    /// </summary>
    public string CopyFilesAsIfKilled(string directory)
    {
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
        _directory.Dispose();
    }

    private void Open()
    {
        Database = DuckDbDatabase.Open(_directory.DatabasePath);
        DuckDbSchema.MigrateToLatest(Database);
        Index = new StateIndex();
        Engine = new WriteEngine(Database, Index, _options, _observers, _logger);
        Queries = new TradeQueries(Database, Index);
        Engine.Start();
    }

    private async Task CloseAsync()
    {
        if (Engine is not null)
        {
            await Engine.DisposeAsync();
        }

        Database?.Dispose();
    }
}
