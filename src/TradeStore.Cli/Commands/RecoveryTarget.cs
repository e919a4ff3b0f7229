using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;

namespace TradeStore.Cli.Commands;

/// <summary>
/// The database a <c>recover</c> writes into. An existing one is written in place (each source writes in one transaction,
/// so a failure leaves it as it was). A missing one is built under <c>DIR/tradestore.duckdb.recovering</c> and moved into
/// place only once the recovery succeeded (<see cref="Commit"/>): a recovery that fails, is refused or is interrupted
/// removes it, so the data directory is as it was and no <c>serve</c> starts on a half-recovered (or schema-only) database.
/// Before this, a failed <c>recover --from clickhouse</c> left an empty <c>tradestore.duckdb</c>, on which <c>serve</c>
/// started with an empty book.
/// </summary>
internal sealed class RecoveryTarget : IDisposable
{
    /// <summary>Appended to the database's name while it is being built.</summary>
    public const string StagingSuffix = ".recovering";

    private readonly string _path;
    private readonly string? _staging;
    private bool _committed;

    private RecoveryTarget(string path, string? staging, DuckDbDatabase database)
    {
        _path = path;
        _staging = staging;
        Database = database;
    }

    public DuckDbDatabase Database { get; }

    /// <summary>Whether the database is new, built apart until <see cref="Commit"/>.</summary>
    public bool IsNew => _staging is not null;

    /// <summary>
    /// Opens the database at <c>Storage:DataDirectory</c>, migrated to the latest schema; or, when there is none, a new
    /// one beside it under the staging name (a leftover of a recovery killed with SIGKILL is replaced: only a recovery
    /// writes that name, and it never moved into place).
    /// </summary>
    public static RecoveryTarget Open(TradeStoreSettings settings)
    {
        var path = settings.Storage.DatabasePath;
        string? staging = null;
        if (!DatabaseFiles.Exists(path))
        {
            staging = path + StagingSuffix;
            Delete(staging);
        }

        var database = DuckDbDatabase.Open(staging ?? path, settings.Storage.CheckpointThreshold);
        try
        {
            DuckDbSchema.MigrateToLatest(database);
            return new RecoveryTarget(path, staging, database);
        }
        catch
        {
            database.Dispose();
            if (staging is not null)
            {
                Delete(staging);
            }

            throw;
        }
    }

    /// <summary>Checkpoints the database and, when it is new, closes it and moves it into place.</summary>
    /// <exception cref="CommandFailedException">A database appeared at the path meanwhile (a <c>serve</c> started); the recovered one is kept under the staging name.</exception>
    public void Commit()
    {
        Database.Checkpoint();
        if (_staging is null)
        {
            _committed = true;
            return;
        }

        Database.Dispose();
        try
        {
            DatabaseFiles.MoveIntoPlace(_staging, _path);
        }
        catch (IOException ex)
        {
            _committed = true; // keep it: it holds the whole recovery
            throw new CommandFailedException($"recover could not move the recovered database {_staging} to {_path}: {ex.Message} (was a serve started " +
                $"on the directory meanwhile?). The recovered database is kept as {_staging}: stop that process, move its files aside, then " +
                $"mv {_staging} {_path}");
        }

        _committed = true;
    }

    /// <summary>Closes the database; a new one that was not committed is removed (it never was in place).</summary>
    public void Dispose()
    {
        Database.Dispose();
        if (_staging is not null && !_committed)
        {
            Delete(_staging);
        }
    }

    private static void Delete(string staging)
    {
        // A data directory that does not exist yet (a recovery onto a new disk) holds no leftover, and File.Delete would
        // throw there; DuckDbDatabase.Open creates it, owner-only.
        if (!Directory.Exists(Path.GetDirectoryName(staging)))
        {
            return;
        }

        File.Delete(staging);
        File.Delete(DatabaseFiles.WalPath(staging));
    }
}
