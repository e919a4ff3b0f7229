using System.Globalization;

namespace TradeStore.Storage;

/// <summary>
/// File-level care of the database: TradeStore never deletes a database or WAL file. By design a WAL
/// left by a crash is copied aside before DuckDB opens it, because DuckDB replays what it can of a
/// truncated WAL, checkpoints, and removes the file (measured with DuckDB 1.5.6): without the copy a torn
/// tail would leave no trace for an operator to examine.
/// </summary>
public static class DatabaseFiles
{
    /// <summary>Folder (beside the database) that keeps copies of WAL files found at start-up.</summary>
    public const string WalBackupFolder = "wal-backups";

    public static string WalPath(string databasePath) => databasePath + ".wal";

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
        Directory.CreateDirectory(folder);
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
    /// Moves the database, its WAL and the journal log folder (<c>journal/</c>) into a new
    /// <c>damaged-&lt;UTC time&gt;</c> folder beside them, so a fresh database (and log) can be recovered in their
    /// place. Nothing is deleted. Returns the folder.
    /// </summary>
    public static string SetAside(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        var folder = Path.Combine(directory, $"damaged-{Stamp()}");
        Directory.CreateDirectory(folder);
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

        return folder;
    }

    /// <summary>Removes a copy made by <see cref="PreserveWal"/> that turned out to be of a live WAL (another process holds the database).</summary>
    public static void DiscardWalCopy(string copy) => TryDelete(copy);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The copy failed already; the error being reported is that one.
        }
    }

    private static string Stamp() => DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);
}
