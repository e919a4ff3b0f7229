using Microsoft.Extensions.Logging;

namespace TradeStore.Storage;

/// <summary>Log messages of the storage layer. Event ids are stable: dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "WriteEngine started: {TradeCount} trades ({LiveCount} live), {KeyCount} idempotency keys, last seq {LastSeq}, loaded in {LoadMilliseconds} ms")]
    public static partial void EngineStarted(ILogger logger, int tradeCount, int liveCount, int keyCount, long lastSeq, long loadMilliseconds);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "WriteEngine stopping: no new commands accepted; committing {Queued} queued commands")]
    public static partial void EngineStopping(ILogger logger, int queued);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "WriteEngine stopped at seq {LastSeq}; database checkpointed. The stop took {Seconds:0.000} s: " +
        "queued commands {DrainSeconds:0.000} s, publishing and applying to DuckDB {ApplySeconds:0.000} s, trade_state flush {FlushSeconds:0.000} s, checkpoint {CheckpointSeconds:0.000} s")]
    public static partial void EngineStopped(ILogger logger, long lastSeq, double seconds, double drainSeconds, double applySeconds, double flushSeconds, double checkpointSeconds);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Commit of a batch of {CommandCount} commands ({EventCount} events, seq {FirstSeq}..{LastSeq}) failed and was rolled back; its commands were refused")]
    public static partial void CommitFailed(ILogger logger, Exception exception, int commandCount, int eventCount, long firstSeq, long lastSeq);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Commit observer {Observer} threw; it must catch up from the journal")]
    public static partial void ObserverFailed(ILogger logger, Exception exception, string observer);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Checkpoint at shutdown failed; the next start replays the WAL")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Critical, Message = "WriteEngine writer stopped unexpectedly; every further command is refused as unavailable")]
    public static partial void WriterCrashed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Flush of {TradeCount} trade states into trade_state (seq {FlushedSeq}..{PendingSeq}) failed ({Failures} in a row); kept pending and retried, reads stay exact")]
    public static partial void StateFlushFailed(ILogger logger, Exception exception, int tradeCount, long flushedSeq, long pendingSeq, int failures);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Final flush of trade_state at shutdown failed; it holds seq {FlushedSeq} and the next start folds the rest from the journal")]
    public static partial void StateFinalFlushFailed(ILogger logger, long flushedSeq);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Critical, Message = "The trade_state flusher stopped unexpectedly; trade_state lags until the next start (reads stay exact)")]
    public static partial void StateFlusherCrashed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "WriteEngine stopped at seq {LastSeq}; the database was NOT checkpointed (see event 2005): every acknowledged event is in the journal log and the next start replays it")]
    public static partial void EngineStoppedUncheckpointed(ILogger logger, long lastSeq);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "Commits still failing: {Failed} more batches failed and were rolled back (refused as storage-failure) since the last report; failing for {FailingSeconds:0} s: {Cause}")]
    public static partial void CommitsStillFailing(ILogger logger, long failed, double failingSeconds, string cause);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Commits succeed again after {FailedBatches} failed batches over {FailingSeconds:0.0} s")]
    public static partial void CommitsRecovered(ILogger logger, long failedBatches, double failingSeconds);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Journal log: a torn tail of {Bytes} bytes at offset {Offset} of {File} was cut after the last whole record: what a crash leaves when it interrupts an append (with Storage:Durability=fsync one not yet acknowledged, which waits for its sync; with os a machine crash can also cut acknowledged ones), and DuckDB holds nothing past it (a file damaged by other means looks the same); the bytes are kept in {PreservedAs}")]
    public static partial void LogTornTailCut(ILogger logger, string file, long offset, long bytes, string preservedAs);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Information, Message = "Replaying the journal log into DuckDB before serving: seq {FromSeq}..{ToSeq} ({Count} events)")]
    public static partial void LogReplayStarting(ILogger logger, long fromSeq, long toSeq, long count);

    [LoggerMessage(EventId = 2033, Level = LogLevel.Information, Message = "Replaying the journal log: {Done} of {Count} events in DuckDB ({Seconds} s)")]
    public static partial void LogReplayProgress(ILogger logger, long done, long count, long seconds);

    [LoggerMessage(EventId = 2034, Level = LogLevel.Information, Message = "Loading the state index before serving: {Trades} trades, {Keys} idempotency keys")]
    public static partial void IndexLoadStarting(ILogger logger, long trades, long keys);

    [LoggerMessage(EventId = 2035, Level = LogLevel.Information, Message = "Loading the state index: {Done} of {Trades} trades read ({Seconds} s)")]
    public static partial void IndexLoadProgress(ILogger logger, long done, long trades, long seconds);

    [LoggerMessage(EventId = 2041, Level = LogLevel.Error, Message = "An idempotent retry's earlier result (trade {TradeId} version {Version}) could not be read from DuckDB's journal; the retry was refused (storage-failure), nothing was written")]
    public static partial void ReplayReadFailed(ILogger logger, Exception exception, string tradeId, long version);

    [LoggerMessage(EventId = 2040, Level = LogLevel.Information, Message = "Loading the state index: all {Trades} trades read; ordering them into the lists and positions and matching the idempotency keys ({Seconds} s)")]
    public static partial void IndexLoadOrdering(ILogger logger, long trades, long seconds);

    [LoggerMessage(EventId = 2038, Level = LogLevel.Information, Message = "Integrity check of {Events} events: seq gap-free, versions contiguous, state = fold of the journal, a sample replayed through the lifecycle rules, checkpoints not ahead")]
    public static partial void IntegrityCheckStarting(ILogger logger, long events);

    [LoggerMessage(EventId = 2039, Level = LogLevel.Information, Message = "Integrity check: {Step} ({Seconds} s)")]
    public static partial void IntegrityCheckProgress(ILogger logger, string step, long seconds);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "Journal log replayed into DuckDB: seq {FromSeq}..{ToSeq} ({Count} events) in {Milliseconds} ms")]
    public static partial void LogReplayed(ILogger logger, long fromSeq, long toSeq, long count, long milliseconds);

    [LoggerMessage(EventId = 2029, Level = LogLevel.Information, Message = "Journal log started in {Directory} at seq 1 (a new data directory); journal/ holds the segment being written and one prepared ahead, Storage:JournalSegmentBytes each")]
    public static partial void LogStartedNew(ILogger logger, string directory);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Warning, Message = "Journal log started in {Directory} at seq {FirstSeq}: the data directory had no journal/ folder although DuckDB holds {DuckDbSeq} events. Expected once, when a directory written by a build before the journal log (2026-11-26 and earlier) is first served; otherwise journal/ was removed: after `recover --from clickhouse --set-aside` (which moved it aside and rebuilt DuckDB) or a clean stop that followed exit code 7 (a journal deleted under the writer, whose events DuckDB took) this is expected and nothing more is lost; if it was removed by hand while the server was stopped without a clean stop, acknowledged events DuckDB did not hold are gone. DuckDB's events stay where they are; journal/ now holds the segment being written and one prepared ahead, Storage:JournalSegmentBytes each")]
    public static partial void LogStartedAfterDuckDb(ILogger logger, string directory, long firstSeq, long duckDbSeq);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Information, Message = "Deleted {Count} older WAL copies from {Folder} to keep the newest {Kept} (Storage:WalBackupsKept): {Copies}")]
    public static partial void WalBackupsRemoved(ILogger logger, int count, string folder, int kept, string copies);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Warning, Message = "DuckDB holds the journal up to seq {DuckDbSeq} but the journal log only up to seq {LogSeq} (events appended by 'tradestore recover'; written by a build from before the journal log after 'tradestore migrate down --to 2' (a rollback, expected then); or the log's tail lost to an OS crash with Storage:Durability=os); the missing records were copied into the log from DuckDB")]
    public static partial void LogBehindDuckDb(ILogger logger, long duckDbSeq, long logSeq);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Error, Message = "Applying seq {FirstSeq}..{LastSeq} ({Count} events) from the journal log to DuckDB failed ({Failures} in a row); they stay durable in the log and are retried")]
    public static partial void ApplyFailed(ILogger logger, Exception exception, long firstSeq, long lastSeq, int count, int failures);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Information, Message = "DuckDB checkpointed at seq {Seq}; {Segments} journal log segment(s) recycled")]
    public static partial void LogRecycled(ILogger logger, long seq, int segments);

    [LoggerMessage(EventId = 2025, Level = LogLevel.Warning, Message = "DuckDB checkpoint to recycle journal log segments failed; retried later (the log keeps the segments)")]
    public static partial void RecycleCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2036, Level = LogLevel.Warning, Message = "Deleting journal log segments a DuckDB checkpoint holds (through seq {Seq}) failed; retried later, DuckDB keeps applying and nothing is lost (the segments stay until they are deleted)")]
    public static partial void RecycleDeleteFailed(ILogger logger, Exception exception, long seq);

    [LoggerMessage(EventId = 2037, Level = LogLevel.Critical, Message = "The DuckDB applier stopped while the server ran (event 2027 says why): DuckDB would hold no further event in this process. Nothing acknowledged is lost: DuckDB holds the journal up to seq {AppliedSeq}, the journal log every acknowledged event up to seq {LastSeq}. The write engine stops (new writes are refused as unavailable) and the server exits with the write engine's failure (event 1005) for the guard or systemd to restart it; the start replays into DuckDB what it lacks")]
    public static partial void ApplierEnded(ILogger logger, long appliedSeq, long lastSeq);

    [LoggerMessage(EventId = 2026, Level = LogLevel.Warning, Message = "A journal log segment could not be prepared ahead ({Cause}); the log writes into a growing file instead, which costs more per fsync and loses nothing ({Failures} such failure(s) since start)")]
    public static partial void SegmentNotPrepared(ILogger logger, string cause, long failures);

    [LoggerMessage(EventId = 2027, Level = LogLevel.Warning, Message = "Stopping with seq {AppliedSeq}..{LastSeq} not applied to DuckDB ({Reason}); they are durable in the journal log and the next start replays them")]
    public static partial void StoppedWithUnapplied(ILogger logger, long appliedSeq, long lastSeq, string reason);

    [LoggerMessage(EventId = 2028, Level = LogLevel.Critical, Message = "DuckDB failed for good: {DuckDbError}. After a FATAL error DuckDB invalidates the database, and it cannot be used again until it is reopened (a checkpoint that could not write for lack of disk space does this), so DuckDB could never catch up with the journal log in this process. Nothing acknowledged is lost: DuckDB holds the journal up to seq {AppliedSeq}, the journal log every acknowledged event up to seq {LastSeq}, and a start replays into DuckDB what it lacks. The write engine stops (new writes are refused as unavailable) and the server exits with the write engine's failure (event 1005) for the guard or systemd to restart it; if DuckDB's error says No space left on device, free space on the disk: until then a start stops with exit code 4 (the disk is full)")]
    public static partial void DuckDbInvalidated(ILogger logger, string duckDbError, long appliedSeq, long lastSeq);
}
