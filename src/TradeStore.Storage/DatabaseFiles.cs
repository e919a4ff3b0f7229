using System.Globalization;
using TradeStore.Core.Security;

namespace TradeStore.Storage;

/// <summary>
/// File-level care of the database: TradeStore never deletes a database or WAL file. By design a WAL
/// left by a crash is copied aside before DuckDB opens it, because DuckDB replays what it can of a
/// truncated WAL, checkpoints, and removes the file (measured with DuckDB 1.5.6): without the copy a torn
/// tail would leave no trace for an operator to examine. Only the newest copies are kept (<see cref="PruneWalBackups"/>).
/// </summary>
public static class DatabaseFiles
{
    /// <summary>Folder (beside the database) that keeps copies of WAL files found at start-up.</summary>
    public const string WalBackupFolder = "wal-backups";

    public static string WalPath(string databasePath) => databasePath + ".wal";

    /// <summary>
    /// Whether the database file exists. <see cref="File.Exists(string)"/> says no also when this user may not look (a data
    /// directory of mode 0700 owned by the service's user, read by another): <c>verify</c> then said "there is no database
    /// at …" of a database that was there (session 37). This tells the two apart by opening the file.
    /// </summary>
    /// <exception cref="DatabaseOpenException">The file or a directory above it may not be read by this user; its message says so.</exception>
    public static bool Exists(string databasePath)
    {
        if (File.Exists(databasePath))
        {
            return true;
        }

        try
        {
            using var handle = File.OpenHandle(databasePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw DatabaseOpenException.FileSystem(databasePath, "read", databasePath, ex);
        }
        catch (IOException)
        {
            // Not there (FileNotFoundException, DirectoryNotFoundException), or not a file: the caller says no database.
            return false;
        }
    }

    /// <summary>Copies a non-empty WAL into <see cref="WalBackupFolder"/>; returns the copy's path, or <see langword="null"/> when there was none.</summary>
    /// <exception cref="IOException">The copy failed (for example the disk is full); no partial copy is left behind.</exception>
    public static string? PreserveWal(string databasePath)
    {
        var wal = new FileInfo(WalPath(databasePath));
        if (!wal.Exists || wal.Length == 0)
        {
            return null;
        }

        var folder = Path.Combine(wal.DirectoryName!, WalBackupFolder);
        PrivateDirectory.Create(folder);
        var copy = Path.Combine(folder, $"{wal.Name}.{Stamp()}");
        try
        {
            File.Copy(wal.FullName, copy, overwrite: false);
        }
        catch (IOException)
        {
            // A partial copy (a full disk) is no copy: by design never leave a 0-byte or truncated file that looks like one.
            TryDelete(copy);
            throw;
        }

        return copy;
    }

    /// <summary>
    /// Deletes the oldest WAL copies in <see cref="WalBackupFolder"/> so that at most <paramref name="kept"/> remain, counting
    /// <paramref name="newestCopy"/> (the one <see cref="PreserveWal"/> just made), which is never deleted whatever its time
    /// stamp. Only files named as <see cref="PreserveWal"/> names them are counted or deleted; anything else an operator put
    /// there stays. A copy that cannot be deleted is left where it is. Returns the copies deleted, oldest first.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kept"/> is less than 1.</exception>
    public static IReadOnlyList<string> PruneWalBackups(string newestCopy, int kept)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kept, 1);
        var folder = Path.GetDirectoryName(newestCopy)!;
        var prefix = WalCopyPrefix(Path.GetFileName(newestCopy));
        var older = Directory.EnumerateFiles(folder)
            .Where(file => file != newestCopy && IsWalCopy(Path.GetFileName(file), prefix))
            // The UTC stamp sorts as text: newest first.
            .OrderByDescending(file => file, StringComparer.Ordinal)
            .Skip(kept - 1)
            .Reverse()
            .ToList();
        return older.Where(TryDelete).ToList();
    }

    /// <summary>
    /// Moves the database, its WAL and the journal log folder (<c>journal/</c>) into a new
    /// <c>damaged-&lt;UTC time&gt;</c> folder beside them, so a fresh database (and log) can be recovered in their
    /// place. Nothing is deleted. Returns the folder.
    /// </summary>
    public static string SetAside(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        var folder = Path.Combine(directory, $"damaged-{Stamp()}");
        PrivateDirectory.Create(folder);
        foreach (var file in new[] { databasePath, WalPath(databasePath) })
        {
            if (File.Exists(file))
            {
                File.Move(file, Path.Combine(folder, Path.GetFileName(file)));
            }
        }

        var log = Path.Combine(directory, CommitLog.JournalLog.DirectoryName);
        if (Directory.Exists(log))
        {
            Directory.Move(log, Path.Combine(folder, CommitLog.JournalLog.DirectoryName));
        }

        // The moves are durable before the recovery creates new files under the old names (as SetAsideJournalLog's).
        CommitLog.NativeSync.SyncDirectory(folder);
        CommitLog.NativeSync.SyncDirectory(directory);
        return folder;
    }

    /// <summary>
    /// Moves only the journal log folder (<c>journal/</c>) into a new <c>damaged-&lt;UTC time&gt;</c> folder beside it,
    /// leaving the database in place (<c>recover --from duckdb</c>). Nothing is deleted. Returns the folder.
    /// </summary>
    public static string SetAsideJournalLog(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        var folder = Path.Combine(directory, $"damaged-{Stamp()}");
        PrivateDirectory.Create(folder);
        Directory.Move(Path.Combine(directory, CommitLog.JournalLog.DirectoryName), Path.Combine(folder, CommitLog.JournalLog.DirectoryName));
        CommitLog.NativeSync.SyncDirectory(directory);
        return folder;
    }

    /// <summary>
    /// Undoes <see cref="SetAside"/>: moves each of <paramref name="names"/> (as they were in the data directory) from
    /// <paramref name="folder"/> back beside <paramref name="databasePath"/>, and removes the folder once empty. For a
    /// recovery that failed before anything took their place.
    /// </summary>
    /// <exception cref="IOException">A name is taken in the data directory, or a move failed; what was moved back stays back.</exception>
    public static void PutBack(string folder, string databasePath, IEnumerable<string> names)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        foreach (var name in names)
        {
            var from = Path.Combine(folder, name);
            var to = Path.Combine(directory, name);
            if (File.Exists(to) || Directory.Exists(to))
            {
                throw new IOException($"{to} exists");
            }

            if (Directory.Exists(from))
            {
                Directory.Move(from, to);
            }
            else
            {
                File.Move(from, to);
            }
        }

        if (!Directory.EnumerateFileSystemEntries(folder).Any())
        {
            Directory.Delete(folder);
        }

        CommitLog.NativeSync.SyncDirectory(directory);
    }

    /// <summary>
    /// Moves a database built apart (<paramref name="built"/>, and its WAL if one is left) to <paramref name="databasePath"/>,
    /// which must not exist, and syncs the directory: a recovery's result appears whole or not at all.
    /// </summary>
    /// <exception cref="IOException">A database exists at <paramref name="databasePath"/> (nothing moved), or a move failed.</exception>
    public static void MoveIntoPlace(string built, string databasePath)
    {
        File.Move(built, databasePath, overwrite: false);
        if (File.Exists(WalPath(built)))
        {
            File.Move(WalPath(built), WalPath(databasePath), overwrite: false);
        }

        CommitLog.NativeSync.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
    }

    /// <summary>Removes a copy made by <see cref="PreserveWal"/> that turned out to be of a live WAL (another process holds the database).</summary>
    public static void DiscardWalCopy(string copy) => TryDelete(copy);

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A failed copy: the error being reported is the copy's. An old copy: kept, and tried again after the next crash.
            return false;
        }
    }

    private const string StampFormat = "yyyyMMdd'T'HHmmssfff'Z'";

    private static string Stamp() => DateTime.UtcNow.ToString(StampFormat, CultureInfo.InvariantCulture);

    /// <summary>The WAL's file name and the dot before the stamp, taken from a copy's name (<c>tradestore.duckdb.wal.</c>).</summary>
    private static string WalCopyPrefix(string copyName) => copyName[..(copyName.LastIndexOf('.') + 1)];

    private static bool IsWalCopy(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) &&
        DateTime.TryParseExact(name.AsSpan(prefix.Length), StampFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
}
