using TradeStore.Storage;

namespace TradeStore.Cli.Commands;

/// <summary>
/// What <c>recover --set-aside</c> moved (<see cref="DatabaseFiles.SetAside"/>): the database, its WAL and the journal log
/// folder <c>journal/</c>, whichever existed, into <see cref="Folder"/>; and how to put them back when the recovery fails.
/// </summary>
internal sealed class SetAsideFiles
{
    private SetAsideFiles(string directory, string folder, IReadOnlyList<string> names)
    {
        Directory = directory;
        Folder = folder;
        Names = names;
    }

    /// <summary>The data directory the files were moved out of.</summary>
    public string Directory { get; }

    /// <summary>The <c>damaged-&lt;UTC time&gt;</c> folder that now holds them.</summary>
    public string Folder { get; }

    /// <summary>The names moved (<c>tradestore.duckdb</c>, <c>tradestore.duckdb.wal</c>, <c>journal</c>), as they were in <see cref="Directory"/>.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Moves the files aside; <see langword="null"/> (nothing moved) when none of them exists.</summary>
    public static SetAsideFiles? Move(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        var candidates = new[] { databasePath, DatabaseFiles.WalPath(databasePath), Path.Combine(directory, Storage.CommitLog.JournalLog.DirectoryName) };
        var names = candidates.Where(c => File.Exists(c) || System.IO.Directory.Exists(c)).Select(Path.GetFileName).ToList();
        return names.Count == 0 ? null : new SetAsideFiles(directory, DatabaseFiles.SetAside(databasePath), names!);
    }

    /// <summary>
    /// What an earlier <c>--set-aside</c> moved, when nothing is left to move now: the newest <c>damaged-&lt;UTC time&gt;</c>
    /// folder holding a journal log; <see langword="null"/> when there is none. A recover killed after its move (SIGKILL, a
    /// power cut) cannot move the files back, so running it again finds the data directory empty, while that log may hold
    /// acknowledged events the source never received (<see cref="StrandedEvents"/>).
    /// </summary>
    public static SetAsideFiles? Earlier(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        if (!System.IO.Directory.Exists(directory))
        {
            return null; // a data directory not created yet (a new disk): no earlier --set-aside, and nothing to enumerate
        }

        var journal = Storage.CommitLog.JournalLog.DirectoryName;
        var folder = System.IO.Directory.GetDirectories(directory, "damaged-*")
            .Where(f => System.IO.Directory.Exists(Path.Combine(f, journal)))
            .OrderByDescending(f => f, StringComparer.Ordinal) // the UTC stamp sorts as text
            .FirstOrDefault();
        if (folder is null)
        {
            return null;
        }

        var names = new[] { Path.GetFileName(databasePath), Path.GetFileName(DatabaseFiles.WalPath(databasePath)), journal }
            .Where(n => File.Exists(Path.Combine(folder, n)) || System.IO.Directory.Exists(Path.Combine(folder, n)))
            .ToList();
        return new SetAsideFiles(directory, folder, names);
    }

    /// <summary>Whether anything now stands in the data directory under one of the moved names (a recovery put a database there).</summary>
    public bool Replaced() => Names.Any(n => File.Exists(Path.Combine(Directory, n)) || System.IO.Directory.Exists(Path.Combine(Directory, n)));

    /// <summary>Moves the files back (<see cref="DatabaseFiles.PutBack"/>); <see langword="null"/> when done, else why not.</summary>
    public string? TryPutBack()
    {
        try
        {
            DatabaseFiles.PutBack(Folder, Path.Combine(Directory, Names[0]), Names);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }

    /// <summary>For the message: <c>DIR/tradestore.duckdb, DIR/tradestore.duckdb.wal and the journal log DIR/journal/</c>.</summary>
    public string Describe() =>
        string.Join(", ", Names.Select(n => n == Storage.CommitLog.JournalLog.DirectoryName ? $"the journal log {Path.Combine(Directory, n)}/" : Path.Combine(Directory, n)));

    /// <summary>
    /// Where the originals are and the shell commands that put them back. By design they move what the failed recovery
    /// created into a folder of its own rather than delete it (TradeStore never advises deleting a database), and the
    /// originals back under their own names.
    /// </summary>
    public string PutBackAdvice()
    {
        var created = Names.Where(n => File.Exists(Path.Combine(Directory, n)) || System.IO.Directory.Exists(Path.Combine(Directory, n))).ToList();
        var failed = Path.Combine(Directory, $"failed-recover-{Path.GetFileName(Folder)["damaged-".Length..]}");
        var clearOut = created.Count == 0
            ? ""
            : $"mkdir {Quote(failed)} && mv {string.Join(' ', created.Select(n => Quote(Path.Combine(Directory, n))))} {Quote(failed)}/ && ";
        return $"The original files are intact in {Folder} ({string.Join(", ", Names)}). To put them back (with no tradestore running on {Directory}): " +
            $"{clearOut}mv {string.Join(' ', Names.Select(n => Quote(Path.Combine(Folder, n))))} {Quote(Directory)}/";
    }

    /// <summary>
    /// After a recovery into <paramref name="databasePath"/>: what the moved journal log holds past the recovered journal's
    /// end, said as a warning with how to keep it; <see langword="null"/> when it holds nothing more (or was not moved).
    /// Redis and ClickHouse trail the log by up to their lag, so the last acknowledged events may be only in the log: the
    /// recovery cannot have them, and moving the log aside once stranded them without a word (journal audit).
    /// </summary>
    public string? StrandedEvents(string databasePath)
    {
        if (!Names.Contains(Storage.CommitLog.JournalLog.DirectoryName))
        {
            return null;
        }

        var movedLog = Path.Combine(Folder, Storage.CommitLog.JournalLog.DirectoryName);
        long logEnd;
        long recovered;
        try
        {
            logEnd = Storage.CommitLog.JournalLog.SalvageIntact(movedLog) is { Count: > 0 } records ? records[^1].Seq : 0;
            using var database = Storage.DuckDbDatabase.OpenReadOnly(databasePath);
            recovered = new Storage.Journal.JournalReader(database).LastSeq();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Storage.CommitLog.JournalLogCorruptException
            or Storage.DatabaseOpenException or Storage.DatabaseLockedException)
        {
            return $"could not compare the journal log --set-aside moved ({movedLog}/) with the recovered journal ({ex.Message}): it may hold " +
                "acknowledged events the source never received; check it with tradestore verify --data on a copy of it and the moved database.";
        }

        if (logEnd <= recovered)
        {
            return null;
        }

        var live = Path.Combine(Directory, Storage.CommitLog.JournalLog.DirectoryName);
        var asideOfNew = Path.Combine(Folder, "journal.recovered");
        return $"the journal log --set-aside moved ({movedLog}/) holds intact records up to seq {logEnd}, past the {recovered} recovered: events " +
            $"{recovered + 1}..{logEnd} were acknowledged but had not reached the source. To keep them, with no tradestore running on {Directory}: " +
            $"mv {Quote(live)} {Quote(asideOfNew)} 2>/dev/null; mv {Quote(movedLog)} {Quote(live)} && tradestore serve --data {Quote(Directory)}: " +
            $"its start-up check confirms that log agrees with the recovered journal up to seq {recovered} and replays the rest (exit 5, changing nothing, if it does not).";
    }

    private static string Quote(string path) => path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_') ? path : $"'{path.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
