using System.Globalization;
using TradeStore.Core.Migrations;
using TradeStore.Core.Options;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Migrations;

/// <summary>
/// What a DuckDB rollback means for the journal log beside the database (<c>DIR/journal/</c>), which DuckDB schema
/// versions before <see cref="LogVersion"/> do not know about. Two rollbacks would otherwise lose or resurrect data
/// silently (exploratory test ex17-up, defects 2 and 7):
/// <list type="bullet">
/// <item>Below <see cref="LogVersion"/> while the log holds events past DuckDB's <c>max(seq)</c> (an unclean stop): a
/// binary from before the log would serve without those acknowledged events and reuse their seqs. Refused.</item>
/// <item>Below version 1 (the down script drops <c>trade_events</c>) with the log in place: the next start would replay
/// every dropped event back from the log, or, when the log's first segment was recycled, refuse calling the log damaged.
/// The log is moved aside into <c>DIR/journal.rolled-back-&lt;UTC time&gt;</c> first (<see cref="SetLogAside"/>).</item>
/// </list>
/// </summary>
public sealed class JournalLogRollback
{
    /// <summary>The DuckDB schema version from which on the journal log is the point of durability (<c>0003_journal_log</c>).</summary>
    public const int LogVersion = 3;

    /// <summary>The version whose down script drops <c>trade_events</c> (<c>0001_initial</c>): below it DuckDB holds no event.</summary>
    public const int JournalTableVersion = 1;

    /// <summary>The prefix of the folder the log is moved into when a rollback drops <c>trade_events</c>.</summary>
    public const string SetAsidePrefix = JournalLog.DirectoryName + ".rolled-back-";

    private JournalLogRollback(string logDirectory, bool logExists, string? refusal, bool setsLogAside, IReadOnlyList<string> notes)
    {
        LogDirectory = logDirectory;
        LogExists = logExists;
        Refusal = refusal;
        SetsLogAside = setsLogAside;
        Notes = notes;
    }

    /// <summary>The journal log folder of the database.</summary>
    public string LogDirectory { get; }

    /// <summary>Whether <see cref="LogDirectory"/> exists.</summary>
    public bool LogExists { get; }

    /// <summary>Why the rollback must not run, with what to do first; <see langword="null"/> when it may run.</summary>
    public string? Refusal { get; }

    /// <summary>Whether the rollback drops <c>trade_events</c> while the log exists, so the log has to be moved aside first.</summary>
    public bool SetsLogAside { get; }

    /// <summary>What the rollback means for the log, one sentence each, for the operator; empty when it does not concern the log.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Looks at the log beside <paramref name="database"/> for <paramref name="plan"/>; reads only (the log with <see cref="JournalLog.Check"/>).</summary>
    public static JournalLogRollback Assess(DuckDbDatabase database, MigrationPlan plan)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(plan);
        var directory = JournalLog.DirectoryFor(database.Path);
        var exists = Directory.Exists(directory);
        var revertsLog = plan.Direction == MigrationDirection.Down && plan.Steps.Any(s => s.Version == LogVersion);
        var dropsEvents = plan.Direction == MigrationDirection.Down && plan.Steps.Any(s => s.Version == JournalTableVersion);
        if (!exists || !(revertsLog || dropsEvents))
        {
            return new JournalLogRollback(directory, exists, null, false, []);
        }

        var sealedSegments = 0;
        var refusal = revertsLog ? UnappliedEvents(database, directory, out sealedSegments) : null;
        var notes = new List<string>();
        if (dropsEvents)
        {
            notes.Add($"The journal log {directory}/ is moved aside to {Path.Combine(Path.GetDirectoryName(directory)!, SetAsidePrefix)}<UTC time>/ " +
                "before the tables are dropped: it holds the events this rollback drops, and left in place the next start would replay them " +
                "(or refuse to start, calling the log damaged).");
        }
        else
        {
            notes.Add(StaysInPlace(directory, sealedSegments));
            notes.Add(IdempotencyKeysNote);
        }

        return new JournalLogRollback(directory, exists, refusal, dropsEvents, notes);
    }

    /// <summary>
    /// What the builds at schema version 2 make of the log left in place. Two kinds exist: builds from before the log
    /// (before 2026-11-30) ignore it; builds of 2026-11-30 to 2026-12-02 06:21 already wrote and replayed it at version 2 (the
    /// version that records the log came later), and those from before segment seals (46504cc, 2026-12-02 05:27) call a sealed segment (every
    /// one but the last, until a DuckDB checkpoint recycles it) "damaged", which stops their start with exit 5; the builds of
    /// 05:27 to 06:21 read sealed segments.
    /// </summary>
    private static string StaysInPlace(string directory, int sealedSegments)
    {
        var sealedNote = sealedSegments == 0
            ? "it holds no sealed segment now, so those builds read it"
            : $"it holds {sealedSegments} sealed segment(s) now, which those builds call damaged (exit 5): start 'tradestore serve' once and stop it " +
              "cleanly (SIGTERM) first, which recycles them, or roll back to a build from before the log";
        return $"The journal log {directory}/ stays in place. A binary at DuckDB schema version {LogVersion - 1} either predates the log " +
            "(builds before 2026-11-30), ignores it and serves and writes DuckDB alone, without the log's protection of acknowledged writes " +
            "against an unclean stop; or (builds of 2026-11-30 to 2026-12-02 06:21) reads and writes it as this one does, those before 2026-12-02 05:27 " +
            $"except sealed segments (a format of 2026-12-02 05:27): {sealedNote}. A binary that knows the log (schema version {LogVersion}) extends the log from DuckDB when it starts again.";
    }

    /// <summary>
    /// Idempotency keys are stored as <c>namespace:fingerprint:key</c> since 69af3b3 (2026-11-30 10:08); a build from before
    /// looks keys up plain, so it takes a retry of a command this build recorded for a new request (seen: a fill applied twice).
    /// </summary>
    private const string IdempotencyKeysNote =
        "Builds before 2026-11-30 10:08 (every build from before the log) do not recognise the idempotency keys this build recorded: " +
        "there a client's retry of a request sent before the rollback is a new request (a fill is applied again, a create answers 409). " +
        "Start such a build only once clients have stopped retrying the requests they sent before it.";

    /// <exception cref="MigrationException">Kind <see cref="MigrationErrorKind.WouldLoseData"/>: <see cref="Refusal"/>.</exception>
    public void ThrowIfRefused()
    {
        if (Refusal is not null)
        {
            throw new MigrationException(MigrationErrorKind.WouldLoseData, Refusal);
        }
    }

    /// <summary>
    /// Moves the log folder into <c>DIR/journal.rolled-back-&lt;UTC time&gt;</c> and makes the rename durable; returns
    /// the new path. By design moved, never deleted: it is the last copy of the events the rollback drops.
    /// </summary>
    public string SetLogAside()
    {
        var parent = Path.GetDirectoryName(LogDirectory)!;
        var target = Path.Combine(parent, SetAsidePrefix + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture));
        Directory.Move(LogDirectory, target);
        NativeSync.SyncDirectory(parent);
        return target;
    }

    /// <summary>
    /// Run by the DuckDB migration target before the first step of a plan, whoever drives the runner: refuses what
    /// <see cref="RequireSafeRevert"/> would otherwise stop part-way, leaving the database between versions (for
    /// <c>--to 0</c> with the log in place, versions 3 and 2 reverted and 1 refused).
    /// </summary>
    /// <exception cref="MigrationException">Kind <see cref="MigrationErrorKind.WouldLoseData"/>; nothing was rolled back.</exception>
    internal static void RequireSafePlan(DuckDbDatabase database, MigrationPlan plan)
    {
        var log = Assess(database, plan);
        log.ThrowIfRefused();
        if (log.SetsLogAside)
        {
            throw new MigrationException(MigrationErrorKind.WouldLoseData,
                $"refusing to roll DuckDB ({database.Path}) back to version {plan.ToVersion}: that reverts 0001_initial, which drops trade_events, " +
                $"and the journal log {log.LogDirectory}/ is in place, so the next start would replay the dropped events from it. Move the log aside " +
                $"first (JournalLogRollback.Assess(...).SetLogAside(), which moves it to {SetAsidePrefix}<UTC time>/, as 'tradestore migrate down' does), " +
                "then run the rollback again. Nothing was rolled back.");
        }
    }

    /// <summary>
    /// The last line of defence, run by the DuckDB migration target before each down script: whoever drives the runner,
    /// <see cref="LogVersion"/> is not reverted while the log holds events DuckDB lacks, and <c>trade_events</c> is not
    /// dropped while the log is still in place (the caller sets it aside first, as <c>migrate down</c> does).
    /// </summary>
    /// <exception cref="MigrationException">Kind <see cref="MigrationErrorKind.WouldLoseData"/>.</exception>
    internal static void RequireSafeRevert(DuckDbDatabase database, Migration migration)
    {
        var directory = JournalLog.DirectoryFor(database.Path);
        if (!Directory.Exists(directory))
        {
            return;
        }

        if (migration.Version == LogVersion && UnappliedEvents(database, directory, out _) is { } refusal)
        {
            throw new MigrationException(MigrationErrorKind.WouldLoseData, refusal);
        }

        if (migration.Version == JournalTableVersion)
        {
            throw new MigrationException(MigrationErrorKind.WouldLoseData,
                $"refusing to revert {migration.Id} (it drops trade_events) while the journal log {directory}/ is in place: the next start would " +
                $"replay the dropped events from it. Move it aside first ('tradestore migrate down' moves it to {SetAsidePrefix}<UTC time>/). Nothing was rolled back.");
        }
    }

    /// <summary>
    /// Why reverting <see cref="LogVersion"/> would lose events, or <see langword="null"/> when DuckDB holds everything the log
    /// holds; <paramref name="sealedSegments"/> counts the segments before the last (each one sealed when the log rolled over).
    /// </summary>
    private static string? UnappliedEvents(DuckDbDatabase database, string directory, out int sealedSegments)
    {
        sealedSegments = 0;
        var duckDbSeq = new JournalReader(database).LastSeq();
        JournalLogCheck check;
        try
        {
            // By design with the lenient durability: a damaged tail counts as torn and only whole records count, which is
            // all this needs to know (whether the log holds an event after DuckDB's end), whatever Storage:Durability says.
            check = JournalLog.Check(directory, DurabilityMode.Os, duckDbSeq);
        }
        catch (JournalLogCorruptException ex)
        {
            return $"refusing to roll DuckDB ({database.Path}) back below schema version {LogVersion}: the journal log cannot be read, so whether it " +
                $"holds acknowledged events DuckDB lacks is unknown: {ex.Message} Run 'tradestore verify' (see operations.md, Recover). Nothing was rolled back.";
        }

        sealedSegments = Math.Max(0, check.Segments.Count - 1);
        if (check.LastSeq <= duckDbSeq)
        {
            return null;
        }

        return $"refusing to roll DuckDB ({database.Path}) back below schema version {LogVersion}: the journal log {directory}/ holds acknowledged " +
            $"events up to seq {check.LastSeq} but DuckDB only up to seq {duckDbSeq} (the last stop was not clean), and a binary from before the log " +
            $"would serve without the {check.LastSeq - duckDbSeq} event(s) seq {duckDbSeq + 1}..{check.LastSeq}. Start 'tradestore serve' on this " +
            "directory once and stop it cleanly (SIGTERM): start-up applies the log to DuckDB. Then run this rollback again. Nothing was rolled back.";
    }
}
