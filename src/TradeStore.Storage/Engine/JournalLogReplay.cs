using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Trades;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Journal;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Start-up reconciliation of the journal log with DuckDB, before anything is served (issue #12; issue #18 item 3).
/// DuckDB's <c>trade_events</c> is applied behind the log in transactions that each commit a contiguous run of seqs,
/// so <c>max(seq)</c> is the log position DuckDB covers; every record after it is replayed. An acknowledged record
/// that neither holds (the log starts after DuckDB's end) is loss, reported with
/// <see cref="JournalLogCorruptException"/> (exit 5), never as an ordinary crash recovery.
/// </summary>
public static class JournalLogReplay
{
    private const int ReplayBatch = 20_000;

    /// <summary>Replays shorter than this many events start without a word; longer ones say so, then how far they got every <see cref="ProgressEvery"/>.</summary>
    private const long AnnouncedFrom = 100_000;

    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Brings DuckDB up to the end of <paramref name="log"/> (and the log up to DuckDB when the log lost a tail that
    /// DuckDB holds); the result's <see cref="JournalLogReplayResult.LastSeq"/> is the last seq both hold.
    /// </summary>
    /// <param name="database">DuckDB, brought up to the log's end.</param>
    /// <param name="log">The journal log.</param>
    /// <param name="progress">Where a long replay (from 100,000 events) says that it starts, and how far it got every 5 s.</param>
    /// <exception cref="JournalLogCorruptException">Acknowledged records are in neither, or the two hold different histories.</exception>
    public static JournalLogReplayResult Run(DuckDbDatabase database, JournalLog log, ILogger? progress = null) =>
        Run(database, log, progress, AnnouncedFrom, ProgressEvery);

    /// <inheritdoc cref="Run(DuckDbDatabase, JournalLog, ILogger?)"/>
    internal static JournalLogReplayResult Run(DuckDbDatabase database, JournalLog log, ILogger? progress, long announcedFrom, TimeSpan progressEvery)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(log);
        var plan = Plan(database, log);
        var duckDbSeq = plan.DuckDbSeq;
        if (plan.Action == JournalLogReplayAction.Begin)
        {
            // A new data directory, or one written before the log existed: the log starts after what DuckDB holds.
            log.Begin(duckDbSeq + 1);
            return new JournalLogReplayResult(duckDbSeq, duckDbSeq, 0, TimeSpan.Zero, null, log.TornTail) { BegunIn = log.Directory };
        }

        if (plan.Action == JournalLogReplayAction.CopyFromDuckDb)
        {
            var logSeq = log.LastSeq;
            CopyIntoLog(new JournalReader(database), log, duckDbSeq);
            return new JournalLogReplayResult(duckDbSeq, duckDbSeq, 0, TimeSpan.Zero, logSeq, log.TornTail);
        }

        if (plan.Action == JournalLogReplayAction.None)
        {
            return new JournalLogReplayResult(duckDbSeq, duckDbSeq, 0, TimeSpan.Zero, null, log.TornTail);
        }

        var started = Stopwatch.GetTimestamp();
        var count = 0L;
        var total = log.LastSeq - duckDbSeq;
        var reported = started;
        var announced = progress is not null && total >= announcedFrom;
        if (announced)
        {
            Log.LogReplayStarting(progress!, duckDbSeq + 1, log.LastSeq, total);
        }

        using var writer = new JournalBatchWriter(database);
        var batch = new List<TradeEvent>(ReplayBatch);
        foreach (var record in log.ReadFrom(duckDbSeq + 1))
        {
            batch.Add(EventCodec.Decode(log.Directory, record));
            if (batch.Count == ReplayBatch)
            {
                writer.Write(batch);
                count += batch.Count;
                batch.Clear();
                if (announced && Stopwatch.GetElapsedTime(reported) >= progressEvery)
                {
                    reported = Stopwatch.GetTimestamp();
                    Log.LogReplayProgress(progress!, count, total, (long)Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
            }
        }

        if (batch.Count > 0)
        {
            writer.Write(batch);
            count += batch.Count;
        }

        return new JournalLogReplayResult(duckDbSeq + count, duckDbSeq, count, Stopwatch.GetElapsedTime(started), null, log.TornTail);
    }

    /// <summary>
    /// Decides, reading only, what <see cref="Run(DuckDbDatabase, JournalLog, ILogger?)"/> does with <paramref name="log"/> and DuckDB: the same checks, in the
    /// same order, with the same exceptions. <c>tradestore verify</c> runs it on a <see cref="JournalLogCheck"/>.
    /// </summary>
    /// <exception cref="JournalLogCorruptException">Acknowledged records are in neither, or the two hold different histories.</exception>
    public static JournalLogReplayPlan Plan(DuckDbDatabase database, IJournalLogView log)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(log);
        var journal = new JournalReader(database);
        var duckDbSeq = journal.LastSeq();
        if (log.IsEmpty && !log.WasCreated && duckDbSeq > 0)
        {
            throw new JournalLogCorruptException(log.Directory, 0,
                $"the journal log folder holds no segment, but DuckDB ({database.Path}) holds events up to seq {duckDbSeq}: segments were removed, " +
                "so acknowledged events after DuckDB's end cannot be accounted for" + JournalLog.UnreadFilesNote(log.Directory));
        }

        if (log.IsEmpty)
        {
            return new JournalLogReplayPlan(JournalLogReplayAction.Begin, duckDbSeq, 0);
        }

        var first = log.FirstSeq;
        if (first > duckDbSeq + 1)
        {
            throw new JournalLogCorruptException(log.SegmentFiles[0], 0,
                $"DuckDB ({database.Path}) holds the journal up to seq {duckDbSeq} and the journal log starts at seq {first}: " +
                $"acknowledged events {duckDbSeq + 1}..{first - 1} are in neither (lost)" + JournalLog.UnreadFilesNote(log.Directory));
        }

        if (log.LastSeq < duckDbSeq)
        {
            // By design checked before anything is copied: DuckDB's events after the log's end are appended to the log only
            // when both hold the same event at the log's last seq, else the log would splice two histories into one.
            if (log.LastSeq >= first)
            {
                RequireSameHistory(database, journal, log, log.LastSeq, duckDbSeq);
            }

            return new JournalLogReplayPlan(JournalLogReplayAction.CopyFromDuckDb, duckDbSeq, duckDbSeq - log.LastSeq);
        }

        if (duckDbSeq >= first && duckDbSeq > 0)
        {
            RequireSameHistory(database, journal, log, duckDbSeq, duckDbSeq);
        }

        return log.LastSeq == duckDbSeq
            ? new JournalLogReplayPlan(JournalLogReplayAction.None, duckDbSeq, 0)
            : new JournalLogReplayPlan(JournalLogReplayAction.Replay, duckDbSeq, log.LastSeq - duckDbSeq);
    }

    /// <summary>
    /// Decodes every record <see cref="Run(DuckDbDatabase, JournalLog, ILogger?)"/> would replay into DuckDB (after <paramref name="duckDbSeq"/>), reading only;
    /// returns how many there are. <paramref name="cancellationToken"/> is checked before each record (a long tail is
    /// seconds of reading for <c>tradestore verify</c>).
    /// </summary>
    /// <exception cref="JournalLogCorruptException">A record is intact but not an event this binary can read (as <see cref="Run(DuckDbDatabase, JournalLog, ILogger?)"/> would report).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static long CheckReplayable(IJournalLogView log, long duckDbSeq, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        var count = 0L;
        foreach (var record in log.ReadFrom(duckDbSeq + 1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            EventCodec.Decode(log.Directory, record);
            count++;
        }

        return count;
    }

    /// <summary>
    /// Checked at the last seq both hold, whichever of the two ends first (the log ahead: DuckDB's last seq; the log behind:
    /// the log's): the log's record there must be the event DuckDB holds (<see cref="SameHistory"/>).
    /// </summary>
    private static void RequireSameHistory(DuckDbDatabase database, JournalReader journal, IJournalLogView log, long seq, long duckDbSeq)
    {
        var inLog = log.ReadFrom(seq).FirstOrDefault();
        var inDuckDb = journal.ReadAfter(seq - 1, 1).FirstOrDefault();
        if (inLog is null || inDuckDb is null)
        {
            return;
        }

        if (SameHistory.Difference(EventCodec.Decode(log.Directory, inLog), inDuckDb, database.Path) is { } difference)
        {
            throw new JournalLogCorruptException(log.Directory, 0,
                $"{difference}: the log (seq {log.FirstSeq}..{log.LastSeq}) and the database (up to seq {duckDbSeq}) are two different histories");
        }
    }

    private static void CopyIntoLog(JournalReader journal, JournalLog log, long duckDbSeq)
    {
        while (log.LastSeq < duckDbSeq)
        {
            var events = journal.ReadAfter(log.LastSeq, ReplayBatch);
            if (events.Count == 0)
            {
                break;
            }

            log.Append([.. events.Select(e => LogRecord.Create(e.Seq, 0, EventCodec.Encode(e)))]);
        }
    }
}

/// <summary>What <see cref="JournalLogReplay.Run(DuckDbDatabase, JournalLog, ILogger?)"/> does at start-up (<see cref="JournalLogReplay.Plan"/>).</summary>
public enum JournalLogReplayAction
{
    /// <summary>The log and DuckDB end at the same seq: nothing to do.</summary>
    None,

    /// <summary>The log holds no segment: a new one starts after DuckDB's last seq.</summary>
    Begin,

    /// <summary>The log ends before DuckDB (its tail lost, for example with <c>os</c> durability): DuckDB's events after it are copied into it.</summary>
    CopyFromDuckDb,

    /// <summary>The log is ahead of DuckDB: its records after DuckDB's last seq are replayed into DuckDB.</summary>
    Replay,
}

/// <summary>What <see cref="JournalLogReplay.Plan"/> decided.</summary>
/// <param name="Action">What the start does.</param>
/// <param name="DuckDbSeq">DuckDB's last seq.</param>
/// <param name="Events">Events it moves: records replayed into DuckDB (<see cref="JournalLogReplayAction.Replay"/>) or events copied into the log (<see cref="JournalLogReplayAction.CopyFromDuckDb"/>).</param>
public sealed record JournalLogReplayPlan(JournalLogReplayAction Action, long DuckDbSeq, long Events);

/// <summary>What <see cref="JournalLogReplay.Run(DuckDbDatabase, JournalLog, ILogger?)"/> found and did.</summary>
/// <param name="LastSeq">The last seq DuckDB and the log both hold now.</param>
/// <param name="DuckDbSeq">The last seq DuckDB held before the replay.</param>
/// <param name="Replayed">Events replayed from the log into DuckDB.</param>
/// <param name="Duration">How long the replay took.</param>
/// <param name="LogWasBehindAt">When the log ended before DuckDB (its tail lost, for example with <c>os</c> durability after an OS crash): where it ended. The missing records were copied into it from DuckDB.</param>
/// <param name="TornTail">What opening the log cut from its end, if anything.</param>
public sealed record JournalLogReplayResult(long LastSeq, long DuckDbSeq, long Replayed, TimeSpan Duration, long? LogWasBehindAt, TornTail? TornTail)
{
    /// <summary>The log's folder when the data directory had none and the log was begun after DuckDB's end; else <see langword="null"/>.</summary>
    public string? BegunIn { get; init; }

    /// <summary>Logs what happened (nothing when there was nothing to do).</summary>
    public void Report(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        if (BegunIn is { } directory)
        {
            // By design said at every begin: upgrading a directory from before the log adds two segment files to it.
            if (DuckDbSeq == 0)
            {
                Log.LogStartedNew(logger, directory);
            }
            else
            {
                Log.LogStartedAfterDuckDb(logger, directory, DuckDbSeq + 1, DuckDbSeq);
            }
        }

        if (TornTail is { } torn)
        {
            Log.LogTornTailCut(logger, torn.File, torn.Offset, torn.Bytes, torn.PreservedAs);
        }

        if (LogWasBehindAt is { } logSeq)
        {
            Log.LogBehindDuckDb(logger, DuckDbSeq, logSeq);
        }

        if (Replayed > 0)
        {
            Log.LogReplayed(logger, DuckDbSeq + 1, LastSeq, Replayed, (long)Duration.TotalMilliseconds);
        }
    }
}
