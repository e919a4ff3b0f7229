namespace TradeStore.Storage;

/// <summary>
/// The database could not be opened or read: DuckDB refused the file or its WAL, a data block is corrupt, or the file
/// system refused (full, read-only, no permission, a path that is a file). Nothing has been moved or deleted. The
/// message names the file and the cause and says what to do: by design "recover" only for a damaged file, never for an
/// undamaged database on a full or read-only disk.
/// </summary>
public sealed class DatabaseOpenException : Exception
{
    /// <summary>What to do about a damaged database file: rebuild it from the derived stores.</summary>
    public const string RecoverAdvice =
        "To rebuild it: tradestore recover --from clickhouse --set-aside (the damaged files are kept in a damaged-<time> folder), " +
        "then tradestore recover --from redis for the tail ClickHouse had not received yet.";

    /// <summary>DuckDB refused to open or replay <paramref name="path"/>; <paramref name="duckDbMessage"/> is its own words.</summary>
    public DatabaseOpenException(string path, string duckDbMessage, Exception inner)
        : this(path, $"DuckDB could not open {path}: {duckDbMessage}",
            AdviceFor(path, duckDbMessage) ?? (IsWalReplayFailure(duckDbMessage) ? WalAdvice(path) : RecoverAdvice), inner)
    {
        DuckDbMessage = duckDbMessage;
    }

    private DatabaseOpenException(string path, string what, string advice, Exception inner)
        : base($"{what.TrimEnd('.', ' ')}. No file was moved or deleted. {advice}", inner)
    {
        DatabasePath = path;
        DuckDbMessage = inner.Message.Trim();
        Advice = advice;
    }

    public string DatabasePath { get; }

    /// <summary>The underlying message (DuckDB's or the operating system's).</summary>
    public string DuckDbMessage { get; }

    /// <summary>What the operator should do.</summary>
    public string Advice { get; } = RecoverAdvice;

    /// <summary>DuckDB opened <paramref name="path"/> but failed reading it (for example a corrupt data block).</summary>
    public static DatabaseOpenException ReadFailed(string path, Exception inner)
    {
        var message = inner.Message.Trim();
        return new DatabaseOpenException(path, $"DuckDB could not read {path}: {message}", AdviceFor(path, message) ?? RecoverAdvice, inner);
    }

    /// <summary>
    /// The file system refused <paramref name="action"/> on <paramref name="file"/> before DuckDB opened the database
    /// at <paramref name="path"/> (creating its directory, copying a WAL aside).
    /// </summary>
    public static DatabaseOpenException FileSystem(string path, string action, string file, Exception inner)
    {
        var message = inner.Message.Trim();
        return new DatabaseOpenException(path, $"cannot {action} {file}: {message}",
            AdviceFor(file, message) ?? "Check the disk and the path (space, permissions, mount) and start again; the database itself was not touched.", inner);
    }

    /// <summary>The data directory <paramref name="directory"/> of the database at <paramref name="path"/> is a file (--data names a file).</summary>
    public static DatabaseOpenException DataDirectoryIsAFile(string path, string directory) =>
        new(path, $"cannot create the data directory {directory}: it is a file, not a directory",
            $"{directory} is a file, not a directory: point --data (Storage:DataDirectory) at a directory.",
            new IOException($"{directory} is a file, not a directory"));

    /// <summary>
    /// <paramref name="directory"/>, where the database at <paramref name="path"/> keeps a folder (DIR/journal), is a
    /// file. Checked before the folder is opened, by <c>serve</c> and <c>verify</c> alike, so neither depends on how the
    /// runtime words the refusal.
    /// </summary>
    public static DatabaseOpenException NotADirectory(string path, string action, string directory) =>
        new(path, $"cannot {action} {directory}: it is a file, not a directory",
            $"{directory} is a file where TradeStore needs a directory: move it away and start again.",
            new IOException($"{directory} is a file, not a directory"));

    /// <summary>
    /// What to do about a damaged WAL: move it aside (kept) and start again. By design this comes before any recover: the
    /// journal log (<c>journal/</c>) holds every acknowledged event DuckDB has not checkpointed, because a log segment is
    /// deleted only after a DuckDB checkpoint holds all its records (write-path.md, "DuckDB behind the log"). Without the
    /// WAL, DuckDB opens the file as of its last checkpoint and the start replays the rest from the log (measured: 0 of
    /// 19,332 acknowledged trades missing); should an acknowledged event be in neither, the start refuses with exit 5
    /// instead of serving without it. <c>recover --set-aside</c> would move <c>journal/</c> aside too and rebuild only
    /// what a derived store holds, so it stays the advice for a database file that is itself damaged.
    /// </summary>
    public static string WalAdvice(string path)
    {
        var wal = DatabaseFiles.WalPath(path);
        return $"The WAL {wal} is damaged. Nothing acknowledged is lost with it: the journal log {CommitLog.JournalLog.DirectoryFor(path)}/ holds every " +
            "event DuckDB has not checkpointed, and the next start replays them. Move the WAL aside (keep it; do not delete it) and start again: " +
            $"mv {wal} {wal}.damaged-{DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture)}. " +
            $"Only if DuckDB then cannot open {path} itself (exit 4), or the start reports the journal log damaged (exit 5): {RecoverAdvice}";
    }

    /// <summary>Whether DuckDB failed replaying the WAL (its checksum or its contents), not opening the database file.</summary>
    private static bool IsWalReplayFailure(string message) =>
        Contains(message, "Failure while replaying WAL file") || Contains(message, "Corrupt WAL file");

    /// <summary>Advice for a cause that is the file system's, not the file's; <see langword="null"/> when the file itself is at fault.</summary>
    private static string? AdviceFor(string file, string message)
    {
        if (Contains(message, "No space left on device") || Contains(message, "disk full") || Contains(message, "Disk quota exceeded"))
        {
            return "The disk is full: free space on it and start again. The database is not damaged; do not recover it.";
        }

        if (Contains(message, "Out of Memory Error") && Contains(message, "(bad allocation)"))
        {
            // The operating system refused the memory (malloc failed), below DuckDB's own limit: measured under prlimit --as=4G
            // with 1,000,000 trades, where the advice to raise Storage:DuckDbMemoryLimit could only make it worse (session 37).
            return "The operating system refused DuckDB memory below its limit (bad allocation): the process's address-space limit " +
                "(ulimit -v, prlimit --as, which .NET and DuckDB need several GB of beyond what they use) or the machine's memory is too small. " +
                "Raise or remove that limit (limit memory with a cgroup instead: systemd MemoryMax=, docker run --memory), or set " +
                "Storage:DuckDbMemoryLimit well below it, and start again. The database is not damaged; do not recover it.";
        }

        if (Contains(message, "Out of Memory Error"))
        {
            // DuckDB's memory_limit, not the file: this advice replaced RecoverAdvice, which sent an operator whose start-up
            // integrity check needed more memory to rebuild an undamaged database from ClickHouse.
            return "DuckDB needed more memory than its limit allows (serve: Storage:DuckDbMemoryLimit, 2GB by default, with nothing spilled " +
                "to disk while Storage:DuckDbMaxTempSize is 0B): raise Storage:DuckDbMemoryLimit and start again. The database is not damaged; do not recover it.";
        }

        if (Contains(message, "Read-only file system"))
        {
            return "The file system is read-only: remount it read-write, or point --data (Storage:DataDirectory) at a writable directory, and start again. " +
                "The database is not damaged; do not recover it.";
        }

        // "Operation not permitted" (EPERM) is DuckDB's word for a file or directory marked immutable or append-only
        // (chattr +i/+a), which even root may not change: it got the recover advice for an undamaged database (session 37).
        if (Contains(message, "Permission denied") || Contains(message, "Access to the path") || Contains(message, "Operation not permitted"))
        {
            return "TradeStore may not read or write there as this user: give its user permission on the directory and files (or run the command as the user that owns them), or lift an immutable or " +
                "append-only attribute (lsattr -d DIR; chattr -i), or point --data (Storage:DataDirectory) elsewhere, and start again. " +
                "The database is not damaged; do not recover it.";
        }

        if (Contains(message, "Not a directory") || FileInPath(file) is not null)
        {
            return $"{FileInPath(file) ?? file} is a file, not a directory: point --data (Storage:DataDirectory) at a directory.";
        }

        return null;
    }

    private static bool Contains(string message, string text) => message.Contains(text, StringComparison.OrdinalIgnoreCase);

    /// <summary>The nearest ancestor of <paramref name="file"/> that exists as a file, where a directory must be.</summary>
    private static string? FileInPath(string file)
    {
        for (var directory = Path.GetDirectoryName(Path.GetFullPath(file)); !string.IsNullOrEmpty(directory); directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(directory))
            {
                return directory;
            }
        }

        return null;
    }
}
