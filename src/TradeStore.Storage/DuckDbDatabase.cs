using System.Globalization;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Options;
using TradeStore.Core.Security;
using TradeStore.Core.Threading;

namespace TradeStore.Storage;

/// <summary>
/// One open DuckDB database file. Connections handed out by <see cref="OpenConnection"/> share the
/// same in-process database instance, so they see each other's commits and the file lock is taken once.
/// </summary>
public sealed partial class DuckDbDatabase : IDisposable
{
    private readonly DuckDBConnection _root;
    private int _disposed;

    private DuckDbDatabase(string path, DuckDBConnection root)
    {
        Path = path;
        _root = root;
    }

    /// <summary>Absolute path of the database file.</summary>
    public string Path { get; }

    /// <summary>The DuckDB library version, for example <c>v1.5.6</c>.</summary>
    public string EngineVersion => _root.ServerVersion;

    /// <summary>
    /// Opens the existing database at <paramref name="path"/> read-only, for a check that must change nothing
    /// (<c>verify</c>): DuckDB reads a crash's WAL into memory without folding it into the file, no WAL copy is kept and
    /// no directory is created. Takes DuckDB's shared lock, so a running server still makes it fail with
    /// <see cref="DatabaseLockedException"/>.
    /// </summary>
    /// <exception cref="DatabaseLockedException">Another process holds the file.</exception>
    /// <exception cref="DatabaseOpenException">DuckDB refused to open or replay the file.</exception>
    public static DuckDbDatabase OpenReadOnly(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        var connection = new DuckDBConnection($"Data Source={fullPath};ACCESS_MODE=READ_ONLY");
        try
        {
            connection.Open();
        }
        catch (DuckDBException ex)
        {
            connection.Dispose();
            throw Translate(fullPath, ex);
        }

        try
        {
            UseUtc(connection);
        }
        catch (DuckDBException ex)
        {
            connection.Dispose();
            throw new DatabaseOpenException(fullPath, $"DuckDB refused its settings (TimeZone 'UTC'): {ex.Message.Trim()}", ex);
        }

        return new DuckDbDatabase(fullPath, connection);
    }

    /// <summary>
    /// Opens (creating if absent) the database at <paramref name="path"/>, creating its directory.
    /// Never moves or deletes a database or WAL file, whatever fails.
    /// </summary>
    /// <exception cref="DatabaseLockedException">Another process holds the file.</exception>
    /// <exception cref="DatabaseOpenException">DuckDB refused to open or replay the file, or the file system refused (full, read-only, a path that is a file).</exception>
    /// <param name="path">The database file.</param>
    /// <param name="checkpointThreshold">DuckDB's <c>checkpoint_threshold</c> (see <see cref="StorageOptions.CheckpointThreshold"/>).</param>
    /// <param name="threads">DuckDB's <c>threads</c> (see <see cref="StorageOptions.DuckDbThreads"/>), or <see langword="null"/> for DuckDB's default (one per core), as offline tools use.</param>
    /// <param name="memoryLimit">DuckDB's <c>memory_limit</c> (see <see cref="StorageOptions.DuckDbMemoryLimit"/>), or <see langword="null"/> for DuckDB's default.</param>
    /// <param name="maxTempSize">DuckDB's <c>max_temp_directory_size</c> (see <see cref="StorageOptions.DuckDbMaxTempSize"/>), or <see langword="null"/> for DuckDB's default.</param>
    /// <param name="walBackupsKept">
    /// When a crash's WAL was copied and DuckDB opened the database, the oldest copies past this many are deleted
    /// (<see cref="StorageOptions.WalBackupsKept"/>; <see cref="RemovedWalBackups"/> names them), or <see langword="null"/> to
    /// delete none, as offline tools do. Nothing is deleted when the open fails.
    /// </param>
    public static DuckDbDatabase Open(string path, string checkpointThreshold = StorageOptions.DefaultCheckpointThreshold, int? threads = null, string? memoryLimit = null,
        string? maxTempSize = null, int? walBackupsKept = null)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath)!;
        if (File.Exists(directory))
        {
            // The runtime says only "The file '…' already exists", which read as a disk problem.
            throw DatabaseOpenException.DataDirectoryIsAFile(fullPath, directory);
        }

        try
        {
            PrivateDirectory.Create(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw DatabaseOpenException.FileSystem(fullPath, "create the data directory", directory, ex);
        }

        string? walCopy;
        try
        {
            walCopy = DatabaseFiles.PreserveWal(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The WAL of a running serve is no crash's: a second process on a nearly full disk must hear that the file is
            // held (exit 3), not that the disk is full (it did, until 2026-12-03).
            throw (Exception?)DatabaseFileLock.HeldByAnother(fullPath)
                  ?? DatabaseOpenException.FileSystem(fullPath, "keep a copy (in wal-backups/) of the WAL left by a crash,", DatabaseFiles.WalPath(fullPath), ex);
        }

        var connection = new DuckDBConnection($"Data Source={fullPath}");
        try
        {
            connection.Open();
        }
        catch (DuckDBException ex)
        {
            connection.Dispose();
            var failure = Translate(fullPath, ex);
            if (failure is DatabaseLockedException && walCopy is not null)
            {
                // By design dropped: the WAL belongs to the running process that holds the lock, not to a crash, and a
                // monitoring script that runs `verify` against a live server would otherwise fill wal-backups/.
                DatabaseFiles.DiscardWalCopy(walCopy);
            }

            throw failure;
        }

        try
        {
            UseUtc(connection);
            using var command = connection.CreateCommand();
            // SET takes no parameters; a quote in the value is doubled, so it stays one string literal.
            command.CommandText = $"SET GLOBAL checkpoint_threshold = '{checkpointThreshold.Trim().Replace("'", "''", StringComparison.Ordinal)}'";
            command.ExecuteNonQuery();
            if (threads is { } count)
            {
                command.CommandText = string.Create(CultureInfo.InvariantCulture, $"SET GLOBAL threads = {count}");
                command.ExecuteNonQuery();
            }

            if (memoryLimit is not null)
            {
                command.CommandText = $"SET GLOBAL memory_limit = '{memoryLimit.Trim().Replace("'", "''", StringComparison.Ordinal)}'";
                command.ExecuteNonQuery();
            }

            if (maxTempSize is not null)
            {
                command.CommandText = $"SET GLOBAL max_temp_directory_size = '{maxTempSize.Trim().Replace("'", "''", StringComparison.Ordinal)}'";
                command.ExecuteNonQuery();
            }
        }
        catch (DuckDBException ex)
        {
            connection.Dispose();
            throw new DatabaseOpenException(fullPath,
                $"DuckDB refused its settings (TimeZone 'UTC', checkpoint_threshold '{checkpointThreshold}', threads {threads?.ToString(CultureInfo.InvariantCulture) ?? "default"}, memory_limit '{memoryLimit ?? "default"}', max_temp_directory_size '{maxTempSize ?? "default"}'): {ex.Message.Trim()}", ex);
        }

        // Only once DuckDB opened the file: a start refused over and over (a damaged WAL) keeps its copies until one succeeds,
        // and a start that found the database held (a live WAL, its copy discarded above) must not cost an old copy.
        var removed = walCopy is not null && walBackupsKept is { } kept ? PruneWalBackups(walCopy, kept) : [];
        return new DuckDbDatabase(fullPath, connection) { PreservedWal = walCopy, RemovedWalBackups = removed, WalBackupsKept = walBackupsKept };
    }

    /// <summary>
    /// Sets DuckDB's <c>TimeZone</c> to UTC for every connection of the instance. Every time TradeStore stores is UTC in a
    /// <c>TIMESTAMP</c> (no zone), but DuckDB takes its session time zone from the host (<c>TZ</c>, <c>/etc/localtime</c>)
    /// and applies it wherever a <c>TIMESTAMP</c> meets a <c>TIMESTAMP WITH TIME ZONE</c>: on a host set to New York,
    /// <c>executed_at &gt; now() - INTERVAL 1 HOUR</c> compared times five hours apart, <c>now()::TIMESTAMP</c> was the local
    /// wall time (written with <c>Z</c>), and <c>date_trunc('day', …)</c> of a zoned time cut New York's days. The query
    /// sandbox locks the configuration, so a caller could not set it either.
    /// </summary>
    private static void UseUtc(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SET GLOBAL TimeZone = 'UTC'";
        command.ExecuteNonQuery();
    }

    private static IReadOnlyList<string> PruneWalBackups(string walCopy, int kept)
    {
        try
        {
            return DatabaseFiles.PruneWalBackups(walCopy, kept);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // By design not a reason to refuse the start: the copies stay, and the next crash's start tries again.
            return [];
        }
    }

    /// <summary>Whether commits succeed: the write engine reports into it, readiness reads it.</summary>
    public StorageWriteHealth WriteHealth { get; } = new();

    /// <summary>Where the WAL found at open was copied (a crash left it), or <see langword="null"/>.</summary>
    public string? PreservedWal { get; private init; }

    /// <summary>The older WAL copies the open deleted from <c>wal-backups/</c> to keep the newest <see cref="StorageOptions.WalBackupsKept"/>, oldest first.</summary>
    public IReadOnlyList<string> RemovedWalBackups { get; private init; } = [];

    private int? WalBackupsKept { get; init; }

    /// <summary>Logs (event 2031) which older WAL copies the open deleted, if any.</summary>
    public void LogRemovedWalBackups(ILogger logger)
    {
        if (RemovedWalBackups.Count > 0)
        {
            Log.WalBackupsRemoved(logger, RemovedWalBackups.Count, System.IO.Path.GetDirectoryName(RemovedWalBackups[0])!, WalBackupsKept ?? 0,
                string.Join(", ", RemovedWalBackups.Select(System.IO.Path.GetFileName)));
        }
    }

    /// <summary>A new connection to the same database instance; the caller disposes it.</summary>
    /// <remarks>
    /// A DuckDB call may wait for seconds (a checkpoint, a long commit), so it never belongs on a socket event thread:
    /// one opened there is counted in <see cref="SocketEventThreads.BlockingCalls"/>, which the tests hold at zero.
    /// </remarks>
    public DuckDBConnection OpenConnection()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        SocketEventThreads.ReportBlocking();
        // DuckDB.NET shares one database instance among connections to the same file in a process.
        var connection = new DuckDBConnection(_root.ConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>
    /// Writes the WAL into the database file, so the next start has nothing to replay. DuckDB refuses while another
    /// connection's write transaction is open (a sink recording its checkpoint, the state flusher); that is retried for
    /// up to <see cref="CheckpointPatience"/>. By design never <c>FORCE CHECKPOINT</c>, which aborts those transactions.
    /// </summary>
    /// <exception cref="DuckDBException">DuckDB refused for another reason, or writers stayed busy throughout.</exception>
    public void Checkpoint()
    {
        var deadline = Environment.TickCount64 + (long)CheckpointPatience.TotalMilliseconds;
        while (true)
        {
            try
            {
                using var command = _root.CreateCommand();
                command.CommandText = "CHECKPOINT";
                command.ExecuteNonQuery();
                return;
            }
            catch (DuckDBException ex) when (ex.Message.Contains("other write transactions active", StringComparison.Ordinal) && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(10);
            }
        }
    }

    /// <summary>How long <see cref="Checkpoint"/> waits for other connections' write transactions to finish.</summary>
    public static readonly TimeSpan CheckpointPatience = TimeSpan.FromSeconds(5);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _root.Dispose();
        }
    }

    private static Exception Translate(string path, DuckDBException ex)
    {
        var message = ex.Message.Trim();
        if (message.Contains("Could not set lock", StringComparison.OrdinalIgnoreCase) ||
            message.Contains("Conflicting lock", StringComparison.OrdinalIgnoreCase))
        {
            var pid = PidPattern().Match(message) is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : (int?)null;
            return new DatabaseLockedException(path, pid, message, ex);
        }

        return new DatabaseOpenException(path, message, ex);
    }

    [GeneratedRegex(@"\(PID (\d+)\)")]
    private static partial Regex PidPattern();
}
