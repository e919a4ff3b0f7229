using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Recovery;

/// <summary>
/// Rebuilds a damaged journal log from the database it feeds (<c>tradestore recover --from duckdb</c>): the recovery
/// source of the embedded default, which has no Redis or ClickHouse to rebuild from. DuckDB holds every event up to its
/// last seq; the log is needed only for the events after it. So when every event past DuckDB's last seq is still in an
/// intact record of the damaged log, a new log holding just those records replaces it (the damaged one is moved aside,
/// never deleted), and nothing acknowledged is lost. A start after it replays them into DuckDB, as after any crash.
/// </summary>
/// <remarks>
/// By design it refuses, changing nothing, when an event past DuckDB's last seq is in no intact record: that event was
/// acknowledged (it reached the log) and only Redis, ClickHouse or a backup can bring it back.
/// </remarks>
public sealed class JournalLogRebuild
{
    /// <summary>Records appended per write to the new log.</summary>
    private const int AppendChunk = 1000;

    private JournalLogRebuild(long duckDbSeq, JournalLogCorruptException? damage, IReadOnlyList<LogRecord> kept, string? refusal)
    {
        DuckDbSeq = duckDbSeq;
        Damage = damage;
        Kept = kept;
        Refusal = refusal;
    }

    /// <summary>The last seq DuckDB holds: the new log starts after it.</summary>
    public long DuckDbSeq { get; }

    /// <summary>What stops <c>serve</c>; <see langword="null"/> when the log reads as <c>serve</c> would take it (nothing to rebuild).</summary>
    public JournalLogCorruptException? Damage { get; }

    /// <summary>The intact records after <see cref="DuckDbSeq"/>, contiguous, that the new log holds.</summary>
    public IReadOnlyList<LogRecord> Kept { get; }

    /// <summary>Why the log cannot be rebuilt from DuckDB (events lost to the damage); <see langword="null"/> when it can.</summary>
    public string? Refusal { get; }

    /// <summary>
    /// The new log an earlier rebuild wrote waits in <c>journal.rebuilt/</c> and <c>journal/</c> is missing: that rebuild was
    /// stopped between its two moves (a kill, a power cut). <see cref="FinishEarlierRebuild"/> moves it into place. Its
    /// records (<see cref="RebuiltFirstSeq"/>..<see cref="RebuiltLastSeq"/>) were checked as <c>serve</c> reads them.
    /// </summary>
    public bool FinishesEarlierRebuild { get; private init; }

    /// <summary>With <see cref="FinishesEarlierRebuild"/>: the first seq of the waiting log.</summary>
    public long RebuiltFirstSeq { get; private init; }

    /// <summary>With <see cref="FinishesEarlierRebuild"/>: the last seq of the waiting log (<see cref="RebuiltFirstSeq"/> - 1 when it holds none).</summary>
    public long RebuiltLastSeq { get; private init; }

    /// <summary>Reads the journal log of <paramref name="database"/> against DuckDB's last seq; changes nothing.</summary>
    /// <param name="database">The database the log feeds; the log is in <see cref="JournalLog.DirectoryFor"/> its path.</param>
    /// <param name="durability">As the log is served with (it decides what a damaged tail is).</param>
    /// <param name="cancellationToken">Checked between segments and records: reading a large log takes seconds.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; nothing was changed.</exception>
    /// <remarks>
    /// By design the log's records after DuckDB's end are kept only when the log and DuckDB hold one history: the last
    /// intact record at or before DuckDB's last seq must be the event DuckDB holds there (<see cref="SameHistory"/>), as
    /// the start-up replay requires. Else the new log would hand another history's events to DuckDB after its own.
    /// </remarks>
    public static JournalLogRebuild Plan(DuckDbDatabase database, DurabilityMode durability, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        var journalDirectory = JournalLog.DirectoryFor(database.Path);
        var journal = new JournalReader(database);
        var duckDbSeq = journal.LastSeq();
        if (!Directory.Exists(journalDirectory) && JournalLog.UnfinishedRebuild(Path.GetFullPath(journalDirectory)) is { } missing)
        {
            return Unfinished(database, journalDirectory, missing, durability, duckDbSeq, cancellationToken);
        }

        JournalLogCheck check;
        try
        {
            check = JournalLog.Check(journalDirectory, durability, duckDbSeq, cancellationToken);
        }
        catch (JournalLogCorruptException damage)
        {
            IReadOnlyList<LogRecord> intact;
            try
            {
                intact = JournalLog.SalvageIntact(journalDirectory, cancellationToken);
            }
            catch (JournalLogCorruptException ambiguous)
            {
                return new JournalLogRebuild(duckDbSeq, damage, [], ambiguous.Reason);
            }

            if (OtherHistory(database, journal, journalDirectory, intact, duckDbSeq) is { } otherHistory)
            {
                return new JournalLogRebuild(duckDbSeq, damage, [], otherHistory);
            }

            var kept = new List<LogRecord>();
            foreach (var record in intact.Where(r => r.Seq > duckDbSeq))
            {
                var expected = duckDbSeq + kept.Count + 1;
                if (record.Seq != expected)
                {
                    return new JournalLogRebuild(duckDbSeq, damage, [],
                        $"events {expected}..{record.Seq - 1} are in no intact record of the log, and DuckDB holds events only up to seq {duckDbSeq}");
                }

                kept.Add(record);
            }

            // By design the newest segment's name counts as a record (until 2026-12-05 it did not): a sealed segment cut short
            // before an empty successor lost its last records with nothing intact after them, and the new log, ending at the
            // cut, dropped those acknowledged events while serve took the seqs for new writes.
            var end = duckDbSeq + kept.Count;
            if (JournalLog.NewestSegmentByName(journalDirectory) is { } newest && newest.FirstSeq - 1 > end)
            {
                return new JournalLogRebuild(duckDbSeq, damage, [],
                    $"events {end + 1}..{newest.FirstSeq - 1} are in no intact record of the log (the segment {newest.File} that follows them was " +
                    $"begun after seq {newest.FirstSeq - 1}), and DuckDB holds events only up to seq {duckDbSeq}");
            }

            return new JournalLogRebuild(duckDbSeq, damage, kept, refusal: null);
        }

        // By design refused, not reported as a log that reads whole (it was, until 2026-12-04, while serve stopped with exit 5
        // and advised this very command): every record is intact, and what stops serve is how the log meets DuckDB (no
        // segment while DuckDB holds events, a log that starts after DuckDB's end, another history, an event this binary
        // cannot read). A new log after DuckDB's end would only hide that, and with it any acknowledged event it lost.
        return StartRefusal(database, check, duckDbSeq, cancellationToken) is { } refused
            ? new JournalLogRebuild(duckDbSeq, refused, [], IntactButRefused)
            : new JournalLogRebuild(duckDbSeq, damage: null, [], refusal: null);
    }

    /// <summary>
    /// The plan when an earlier rebuild was stopped between its moves: its new log is moved into place only when <c>serve</c>
    /// would start from it (every record intact, and meeting DuckDB), else refused naming why.
    /// </summary>
    /// <param name="missing">What serve says of the missing log (<see cref="JournalLog.UnfinishedRebuild"/>).</param>
    private static JournalLogRebuild Unfinished(DuckDbDatabase database, string journalDirectory, JournalLogCorruptException missing, DurabilityMode durability,
        long duckDbSeq, CancellationToken cancellationToken)
    {
        JournalLogCheck waiting;
        try
        {
            waiting = JournalLog.Check(journalDirectory + JournalLog.RebuiltSuffix, durability, duckDbSeq, cancellationToken);
        }
        catch (JournalLogCorruptException damaged)
        {
            return new JournalLogRebuild(duckDbSeq, missing, [], $"the new log waiting in {journalDirectory + JournalLog.RebuiltSuffix} does not read whole: {damaged.Reason}");
        }

        if (StartRefusal(database, waiting, duckDbSeq, cancellationToken) is { } refused)
        {
            return new JournalLogRebuild(duckDbSeq, missing, [], $"the new log waiting in {journalDirectory + JournalLog.RebuiltSuffix} is not one serve starts from: {refused.Reason}");
        }

        return new JournalLogRebuild(duckDbSeq, missing, [], refusal: null)
        {
            FinishesEarlierRebuild = true,
            RebuiltFirstSeq = waiting.FirstSeq,
            RebuiltLastSeq = waiting.LastSeq,
        };
    }

    /// <summary>
    /// Moves the new log an earlier rebuild left in <c>journal.rebuilt/</c> into place as <c>journal/</c>
    /// (<see cref="FinishesEarlierRebuild"/>), then checks it as <c>serve</c> will read it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The plan is not one of an unfinished rebuild.</exception>
    public void FinishEarlierRebuild(string databasePath, DurabilityMode durability)
    {
        if (!FinishesEarlierRebuild)
        {
            throw new InvalidOperationException("Only the new log an earlier rebuild left in journal.rebuilt/ is moved into place.");
        }

        var journal = JournalLog.DirectoryFor(databasePath);
        Directory.Move(journal + JournalLog.RebuiltSuffix, journal);
        NativeSync.SyncDirectory(Path.GetDirectoryName(journal)!);
        JournalLog.Check(journal, durability, DuckDbSeq);
    }

    /// <summary>The refusal of a log whose records are all intact but that <c>serve</c> still refuses (see <see cref="StartRefusal"/>).</summary>
    private const string IntactButRefused =
        "every record of the log is intact, and what stops serve is how the log meets DuckDB, which a log rebuilt from DuckDB would hide rather than repair";

    /// <summary>
    /// What stops <c>serve</c> in a log whose every record reads: the start's reconciliation with DuckDB
    /// (<see cref="JournalLogReplay.Plan"/>) and the decoding of the records it would replay, as <c>tradestore verify</c> checks them.
    /// </summary>
    private static JournalLogCorruptException? StartRefusal(DuckDbDatabase database, JournalLogCheck check, long duckDbSeq, CancellationToken cancellationToken)
    {
        try
        {
            if (JournalLogReplay.Plan(database, check).Action == JournalLogReplayAction.Replay)
            {
                JournalLogReplay.CheckReplayable(check, duckDbSeq, cancellationToken);
            }

            return null;
        }
        catch (JournalLogCorruptException refused)
        {
            return refused;
        }
    }

    /// <summary>
    /// Why the intact records are not DuckDB's history, checked at the last seq both hold; <see langword="null"/> when
    /// they are, or when no intact record is at or before DuckDB's last seq (nothing to compare, as at a start-up whose
    /// log begins right after DuckDB's end).
    /// </summary>
    private static string? OtherHistory(DuckDbDatabase database, JournalReader journal, string journalDirectory, IReadOnlyList<LogRecord> intact, long duckDbSeq)
    {
        if (intact.LastOrDefault(r => r.Seq <= duckDbSeq) is not { } shared || journal.ReadRange(shared.Seq - 1, shared.Seq, 1) is not [var inDuckDb])
        {
            return null;
        }

        TradeEvent inLog;
        try
        {
            inLog = EventCodec.Decode(journalDirectory, shared);
        }
        catch (JournalLogCorruptException unreadable)
        {
            return unreadable.Reason;
        }

        return SameHistory.Difference(inLog, inDuckDb, database.Path) is { } difference
            ? $"{difference}: the log and the database are two different histories, so the log's records after seq {duckDbSeq} are not this database's events"
            : null;
    }

    /// <summary>
    /// Writes the new log beside the damaged one (<c>journal.rebuilt/</c>, which <c>serve</c> never reads), moves the
    /// damaged folder into <c>DIR/damaged-&lt;UTC time&gt;/</c> and the new one into its place, then checks it as
    /// <c>serve</c> will read it. Returns the folder that holds the damaged log.
    /// </summary>
    /// <param name="databasePath">The database the log belongs to.</param>
    /// <param name="options">How the new log is written.</param>
    /// <param name="cancellationToken">
    /// Checked before each chunk of <see cref="AppendChunk"/> records is written and once more before the damaged log is
    /// moved. Cancelled, or failing, before that move, the new log is removed: the data directory is as it was. From
    /// the move on the rebuild is finished without looking at it (two renames and a check of the new log).
    /// </param>
    /// <param name="written">Called after each chunk with the records written so far (out of <see cref="Kept"/>).</param>
    /// <exception cref="InvalidOperationException">The plan found nothing to rebuild, or refused.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the move; nothing was changed.</exception>
    public string Apply(string databasePath, JournalLogOptions options, CancellationToken cancellationToken = default, Action<int>? written = null)
    {
        if (Damage is null || Refusal is not null || FinishesEarlierRebuild)
        {
            throw new InvalidOperationException("Only a damaged log that DuckDB and its intact records can rebuild is replaced.");
        }

        var journal = JournalLog.DirectoryFor(databasePath);
        var rebuilt = journal + JournalLog.RebuiltSuffix;
        if (Directory.Exists(rebuilt))
        {
            // Left by a rebuild that stopped before its move; it never replaced anything.
            Directory.Delete(rebuilt, recursive: true);
        }

        try
        {
            WriteBeside(rebuilt, options, cancellationToken, written);
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            // Nothing was moved yet: the half-written new log goes, and the damaged one is where it was.
            if (Directory.Exists(rebuilt))
            {
                Directory.Delete(rebuilt, recursive: true);
            }

            NativeSync.SyncDirectory(Path.GetDirectoryName(journal)!);
            throw;
        }

        var folder = DatabaseFiles.SetAsideJournalLog(databasePath);
        Directory.Move(rebuilt, journal);
        NativeSync.SyncDirectory(Path.GetDirectoryName(journal)!);
        JournalLog.Check(journal, options.Durability, DuckDbSeq);
        return folder;
    }

    /// <summary>The new log, in <paramref name="rebuilt"/>: it starts after DuckDB's last seq and holds <see cref="Kept"/>.</summary>
    private void WriteBeside(string rebuilt, JournalLogOptions options, CancellationToken cancellationToken, Action<int>? written)
    {
        cancellationToken.ThrowIfCancellationRequested(); // before a new log's segment is created and the next one prepared
        using var log = JournalLog.Open(rebuilt, options);
        log.Begin(DuckDbSeq + 1);
        var count = 0;
        foreach (var chunk in Kept.Chunk(AppendChunk))
        {
            cancellationToken.ThrowIfCancellationRequested();
            log.Append(chunk);
            count += chunk.Length;
            written?.Invoke(count);
        }
    }
}
