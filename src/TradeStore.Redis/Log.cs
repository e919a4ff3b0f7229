using Microsoft.Extensions.Logging;
using TradeStore.Core.Diagnostics;

namespace TradeStore.Redis;

/// <summary>Log messages of the Redis projection. Event ids are stable (3000-3099): dashboards and alerts key on them, so never renumber.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Redis projection catching up from seq {Checkpoint} (journal at {JournalLastSeq}) on {Endpoint}")]
    public static partial void CatchingUp(ILogger logger, long checkpoint, long journalLastSeq, string endpoint);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Redis projection caught up at seq {Checkpoint}")]
    public static partial void CaughtUp(ILogger logger, long checkpoint);

    /// <summary>
    /// By design with the exception (and its stack) only for the first failure of a run: a Redis away for an hour was
    /// logged every 5 s with a 3 KB stack and the whole StackExchange.Redis status each time; later failures carry the
    /// reason's first line.
    /// </summary>
    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Redis projection failed at seq {Checkpoint}; writes go on, retry {Attempt} in {Delay}: {Reason}. Repeats are logged at the 2nd, 4th, 8th, … attempt, then once a minute; event 3011 says when Redis takes writes again")]
    public static partial void ApplyFailed(ILogger logger, Exception? exception, long checkpoint, int attempt, LoggedDuration delay, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Redis projection reaches Redis again after {Failures} failed attempt(s) over {Lasted}; applied through seq {Checkpoint}")]
    public static partial void ReachesRedisAgain(ILogger logger, long failures, LoggedDuration lasted, long checkpoint);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Redis checkpoint moved to {Actual} (expected {Expected}), for example by a rebuild; re-applying from there")]
    public static partial void CheckpointMoved(ILogger logger, long expected, long actual);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Redis projection is ahead of the journal: Redis checkpoint {RedisCheckpoint}, journal ends at {JournalLastSeq}. Projection paused; run 'tradestore recover --from redis' or 'tradestore redis rebuild'")]
    public static partial void AheadOfJournal(ILogger logger, long redisCheckpoint, long journalLastSeq);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Recording the Redis checkpoint {Checkpoint} in DuckDB failed")]
    public static partial void DuckDbCheckpointFailed(ILogger logger, Exception exception, long checkpoint);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Redis projection stopped at seq {Checkpoint} (journal at {JournalLastSeq})")]
    public static partial void Stopped(ILogger logger, long checkpoint, long journalLastSeq);

    /// <summary>
    /// By design without the exception: a Redis that is away at shutdown is an expected state, said in one line (the
    /// stack of the cancelled wait told an operator nothing); ApplyFailed (3002) logged the failures with their exceptions.
    /// </summary>
    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Final Redis flush at shutdown did not finish: {Reason}; the projection catches up at the next start")]
    public static partial void FinalFlushFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Redis checkpoint is {Checkpoint}, behind {Known}, the {Source}: Redis on {Endpoint} lost what it held (FLUSHALL, a restart without persistence, a new server at the same address) or was cleared by `tradestore redis rebuild`. Re-applying {Events} journal events from seq {FirstSeq}")]
    public static partial void RedisLostEvents(ILogger logger, long checkpoint, long known, string source, long events, long firstSeq, string endpoint);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Redis projection could not read DuckDB's copy of its checkpoint or the journal's end at start; its lag reads from the next commit until Redis answers")]
    public static partial void CheckpointMirrorUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Redis projection stopped without having reached Redis (journal at {JournalLastSeq}); it catches up at the next start")]
    public static partial void StoppedUnreached(ILogger logger, long journalLastSeq);
}
