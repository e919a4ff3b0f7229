using Microsoft.Extensions.Logging;

namespace TradeStore.Storage;

/// <summary>Log messages of the storage layer. Event ids are stable: dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "WriteEngine started: {TradeCount} trades ({LiveCount} live), {KeyCount} idempotency keys, last seq {LastSeq}, loaded in {LoadMilliseconds} ms")]
    public static partial void EngineStarted(ILogger logger, int tradeCount, int liveCount, int keyCount, long lastSeq, long loadMilliseconds);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "WriteEngine stopping: no new commands accepted; committing {Queued} queued commands")]
    public static partial void EngineStopping(ILogger logger, int queued);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "WriteEngine stopped at seq {LastSeq}; database checkpointed")]
    public static partial void EngineStopped(ILogger logger, long lastSeq);

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

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "WriteEngine stopped at seq {LastSeq}; the database was NOT checkpointed (see event 2005): every commit is in the WAL and the next start replays it")]
    public static partial void EngineStoppedUncheckpointed(ILogger logger, long lastSeq);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "Commits still failing: {Failed} more batches failed and were rolled back (refused as storage-failure) since the last report; failing for {FailingSeconds:0} s: {Cause}")]
    public static partial void CommitsStillFailing(ILogger logger, long failed, double failingSeconds, string cause);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Commits succeed again after {FailedBatches} failed batches over {FailingSeconds:0.0} s")]
    public static partial void CommitsRecovered(ILogger logger, long failedBatches, double failingSeconds);
}
